package store

// grantOrgs loads the organisations, other than u's own, whose groups give
// u grants: the orgs where u is an external group member (M16). The login
// decision needs their P- and SE-units to scope those grants. Nil when
// there are none.
func (tx *Tx) grantOrgs(u *User, grants []EffectiveGrant, label uint64) (map[string]*Org, error) {
	var out map[string]*Org
	for i := range grants {
		g := &grants[i]
		if g.Source == "direct" || g.Org == u.Org {
			continue
		}
		if _, ok := out[g.Org]; ok {
			continue
		}
		o, err := tx.loginOrg(g.Org, label)
		if err != nil {
			return nil, err
		}
		if o == nil {
			continue
		}
		if out == nil {
			out = map[string]*Org{}
		}
		out[g.Org] = o
	}
	return out, nil
}
