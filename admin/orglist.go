package admin

import (
	"context"
	"net/url"

	"github.com/adgang/adgang/store"
)

// ListOrgs lists the organisations the caller may see, by CVR: a
// superadmin every one, anyone else those where it holds a role that may
// read the organisation; a caller without any admin role gets 403.
func (s *Service) ListOrgs(ctx context.Context, c *Caller, q url.Values) (*Page[*store.Org], error) {
	// A caller without any admin role is refused (A14), like GET /v1/tokens.
	return checkedList(ctx, s, q, s.authorizeGlobal(c, objOrg, actRead), func(tx *store.Tx, pg page) ([]*store.Org, string, error) {
		orgs := []*store.Org{}
		if c.superadmin {
			all, err := tx.ListOrgs()
			if err != nil {
				return nil, "", err
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
					return nil, "", err
				}
				orgs = append(orgs, o)
			}
		}
		orgs, next := pageOf(pg, orgs, func(o *store.Org) string { return o.CVR })
		return orgs, next, nil
	})
}
