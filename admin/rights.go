package admin

import (
	"context"
	"net/url"
	"strings"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// ListRights pages through the rights catalogue, by id.
func (s *Service) ListRights(ctx context.Context, c *Caller, q url.Values) (*Page[*store.Right], error) {
	return checkedList(ctx, s, q, s.authorizeGlobal(c, objRight, actRead), func(tx *store.Tx, pg page) ([]*store.Right, string, error) {
		rights, err := tx.ListRights()
		rights, next := pageOf(pg, rights, func(r *store.Right) string { return r.ID })
		return rights, next, err
	})
}

// RightRequest is the body of PUT /v1/rights/{id}: the whole catalogue
// entry (flags absent = false). id, when given, must equal the path.
type RightRequest struct {
	ID            string          `json:"id,omitempty"`
	Title         string          `json:"title"`
	Service       string          `json:"service"`
	Forbidden     bool            `json:"forbidden"`
	Deprecated    bool            `json:"deprecated"`
	NoGroup       bool            `json:"no_group"`
	NoSE          bool            `json:"no_se"`
	RequireCPR    bool            `json:"require_cpr"`
	EmployeesOnly bool            `json:"employees_only"`
	AdminRole     store.AdminRole `json:"admin_role,omitempty"`
	// AnonymityAllowed: a service using NemLog-in as broker (anonymity
	// requests, see anonymity.go).
	AnonymityAllowed bool `json:"anonymity_allowed"`
	// Privilege is the OIO BPP privilege URI of NemLog-in privilege
	// lists (default urn:dk:adgang:<id>).
	Privilege string `json:"privilege,omitempty"`
}

// PutRight creates or replaces the catalogue entry id; created says
// which. Changing the catalogue is no adgang.admin action: only the role
// check (A14, superadmin) applies.
func (s *Service) PutRight(ctx context.Context, c *Caller, id string, req *RightRequest) (rev uint64, right *store.Right, created bool, err error) {
	right = &store.Right{ID: id, Title: strings.TrimSpace(req.Title), Service: strings.TrimSpace(req.Service),
		Forbidden: req.Forbidden, Deprecated: req.Deprecated, NoGroup: req.NoGroup, NoSE: req.NoSE,
		RequireCPR: req.RequireCPR, EmployeesOnly: req.EmployeesOnly, AdminRole: req.AdminRole,
		AnonymityAllowed: req.AnonymityAllowed,
		Privilege:        strings.TrimSpace(req.Privilege)}
	pf := func(tx *store.Tx) (*plan, error) {
		if err := s.authorizeGlobal(c, objRight, actUpdate); err != nil {
			return nil, err
		}
		if err := validObjectID("right", id); err != nil {
			return nil, err
		}
		if req.ID != "" && req.ID != id {
			return nil, invalid("id in the body must equal the id in the path")
		}
		if right.Title == "" || right.Service == "" {
			return nil, invalid("title and service are required")
		}
		if err := validText("title", right.Title, 200); err != nil {
			return nil, err
		}
		if err := validObjectID("service", right.Service); err != nil {
			return nil, err
		}
		switch right.AdminRole {
		case "", store.RoleOrgAdmin, store.RoleUserAdmin, store.RoleAuditor:
		default:
			return nil, invalid("admin_role must be empty, org-admin, user-admin or auditor")
		}
		if err := validPrivilegeURI(right); err != nil {
			return nil, err
		}
		others, err := tx.ListRights()
		if err != nil {
			return nil, err
		}
		for _, o := range others {
			if o.ID != id && pdp.PrivilegeURI(o) == right.Privilege {
				return nil, store.Errorf(store.EConflict, "privilege %s is already the privilege of right %s", right.Privilege, o.ID)
			}
		}
		_, err = tx.GetRight(id)
		if err != nil && !store.IsNotFound(err) {
			return nil, err
		}
		created = store.IsNotFound(err)
		return &plan{apply: func(tx *store.Tx) error { return tx.PutRight(right) }}, nil
	}
	rev, err = s.write(ctx, c, pf)
	if err != nil {
		return 0, nil, false, err
	}
	// The decision service follows the change feed too; refreshing here
	// makes the very next decision see the new flags.
	if err := s.eng.RefreshRights(ctx); err != nil {
		s.log.Error().Err(err).Msg("admin: refresh the decision service's rights catalogue")
	}
	return rev, right, created, nil
}

// validPrivilegeURI checks a right's privilege URI (empty gets the
// default urn:dk:adgang:<id>): an absolute URI of at most 256 bytes with
// no spaces or control characters. (The caller also keeps it unique in
// the catalogue, so that a privilege list reads back to one right.)
func validPrivilegeURI(r *store.Right) error {
	if r.Privilege == "" {
		r.Privilege = pdp.PrivilegeURI(r)
	}
	u, err := url.Parse(r.Privilege)
	if len(r.Privilege) > 256 || err != nil || u.Scheme == "" || strings.ContainsFunc(r.Privilege, func(c rune) bool {
		return c <= ' ' || c == 0x7f
	}) {
		return invalid("privilege must be an absolute URI (e.g. urn:dk:adgang:%s) of at most 256 bytes without spaces", r.ID)
	}
	return nil
}
