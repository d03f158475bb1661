package admin

import (
	"net/http"

	"github.com/adgang/adgang/store"
)

// handleListOrgs lists the organisations the caller may see, by CVR: a
// superadmin every one, anyone else those where it holds a role that may
// read the organisation; a caller without any admin role gets 403.
func (s *Server) handleListOrgs(w http.ResponseWriter, r *http.Request, c *caller) {
	if err := s.authorizeGlobal(c, objOrg, actRead); err != nil {
		s.writeError(w, r, err) // a caller without any admin role (A14), like GET /v1/tokens
		return
	}
	pg, err := parsePage(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rev := s.st.Revision()
	orgs := []*store.Org{}
	next := ""
	err = s.st.View(r.Context(), func(tx *store.Tx) error {
		if c.superadmin {
			all, err := tx.ListOrgs()
			if err != nil {
				return err
			}
			orgs = all
		} else {
			for _, cvr := range s.roles.domainsOf(c.subject) {
				if s.authorize(c, cvr, "organisation", objOrg, actRead) != nil {
					continue
				}
				o, err := tx.GetOrg(cvr)
				if store.IsNotFound(err) {
					continue
				} else if err != nil {
					return err
				}
				orgs = append(orgs, o)
			}
		}
		orgs, next = pageOf(pg, orgs, func(o *store.Org) string { return o.CVR })
		return nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writePage(w, rev, "orgs", orgs, next)
}
