package admin

import (
	"net/http"
	"sort"

	"github.com/adgang/adgang/store"
)

// adminRequest is the body of POST /v1/orgs/{cvr}/admins: make a user of
// this org (internal) or of another org (external) a supplementary
// administrator here (M17, Unilogin). Scope defaults to the whole CVR.
type adminRequest struct {
	UserID string `json:"user_id"`
	grantRequest
}

// handleCreateAdmin grants an administrator role in {cvr} to any user.
// The grant belongs to {cvr}, so an external admin acts only in the orgs
// that granted it; the adgang.admin rules refuse anything but an admin
// role for a user of another org (M17) and roles the caller lacks (A11).
func (s *Service) handleCreateAdmin(w http.ResponseWriter, r *http.Request, c *Caller) {
	cvr := pathVar(r, "cvr")
	if err := validCVR(cvr); err != nil {
		s.writeError(w, r, err)
		return
	}
	var req adminRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Scope == nil {
		req.Scope = &grantScope{Type: store.ScopeCVR, Value: cvr}
	}
	var g *store.Grant
	rev, err := s.write(r.Context(), c, s.planGrantCreateIn(c, cvr, store.HolderUser, req.UserID, &req.grantRequest, &g))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"revision": rev, "grant": g})
}

// adminEntry is one administrator of an org.
type adminEntry struct {
	UserID   string   `json:"user_id"`
	Name     string   `json:"name"`
	Org      string   `json:"org"`
	Roles    []string `json:"roles"`
	External bool     `json:"external"`
}

// handleListAdmins lists the org's active administrators with their
// roles; external ones (users of another org) are marked.
func (s *Service) handleListAdmins(w http.ResponseWriter, r *http.Request, c *Caller) {
	serveOrgList(s, w, r, c, "admins", objUser, func(tx *store.Tx, cvr string, pg page) ([]adminEntry, string, error) {
		holders, err := s.adminHolders(tx, cvr)
		if err != nil {
			return nil, "", err
		}
		byUser := map[string]*adminEntry{}
		for role, ids := range holders {
			for _, id := range ids.([]string) {
				e, ok := byUser[id]
				if !ok {
					u, err := tx.GetUser(id)
					if err != nil {
						return nil, "", err
					}
					e = &adminEntry{UserID: id, Name: u.Name, Org: u.Org, External: u.Org != cvr}
					byUser[id] = e
				}
				e.Roles = append(e.Roles, role)
			}
		}
		admins := []adminEntry{}
		for _, e := range byUser {
			sort.Strings(e.Roles)
			admins = append(admins, *e)
		}
		admins, next := pageOf(pg, admins, func(a adminEntry) string { return a.UserID })
		return admins, next, nil
	})
}
