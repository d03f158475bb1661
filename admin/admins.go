package admin

import (
	"context"
	"net/url"
	"sort"

	"github.com/adgang/adgang/store"
)

// AdminRequest is the body of POST /v1/orgs/{cvr}/admins: make a user of
// this org (internal) or of another org (external) a supplementary
// administrator here (M17, Unilogin). Scope defaults to the whole CVR.
type AdminRequest struct {
	UserID string `json:"user_id"`
	GrantRequest
}

// CreateAdmin grants an administrator role in cvr to any user. The grant
// belongs to cvr, so an external admin acts only in the orgs that granted
// it; the adgang.admin rules refuse anything but an admin role for a user
// of another org (M17) and roles the caller lacks (A11).
func (s *Service) CreateAdmin(ctx context.Context, c *Caller, cvr string, req *AdminRequest) (uint64, *store.Grant, error) {
	if err := validCVR(cvr); err != nil {
		return 0, nil, err
	}
	if req.Scope == nil {
		req.Scope = &GrantScope{Type: store.ScopeCVR, Value: cvr}
	}
	var g *store.Grant
	rev, err := s.write(ctx, c, s.planGrantCreateIn(c, cvr, store.HolderUser, req.UserID, &req.GrantRequest, &g))
	return rev, g, err
}

// AdminEntry is one administrator of an org.
type AdminEntry struct {
	UserID   string   `json:"user_id"`
	Name     string   `json:"name"`
	Org      string   `json:"org"`
	Roles    []string `json:"roles"`
	External bool     `json:"external"`
}

// ListAdmins lists the org's active administrators with their roles;
// external ones (users of another org) are marked.
func (s *Service) ListAdmins(ctx context.Context, c *Caller, cvr string, q url.Values) (*Page[AdminEntry], error) {
	return orgList(ctx, s, c, cvr, q, objUser, func(tx *store.Tx, cvr string, pg page) ([]AdminEntry, string, error) {
		holders, err := s.adminHolders(tx, cvr)
		if err != nil {
			return nil, "", err
		}
		byUser := map[string]*AdminEntry{}
		for role, ids := range holders {
			for _, id := range ids.([]string) {
				e, ok := byUser[id]
				if !ok {
					u, err := tx.GetUser(id)
					if err != nil {
						return nil, "", err
					}
					e = &AdminEntry{UserID: id, Name: u.Name, Org: u.Org, External: u.Org != cvr}
					byUser[id] = e
				}
				e.Roles = append(e.Roles, role)
			}
		}
		admins := []AdminEntry{}
		for _, e := range byUser {
			sort.Strings(e.Roles)
			admins = append(admins, *e)
		}
		admins, next := pageOf(pg, admins, func(a AdminEntry) string { return a.UserID })
		return admins, next, nil
	})
}
