package admin

import (
	"context"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/adgang/adgang/store"
)

// GrantRequest is the body of POST /v1/users/{id}/grants and
// POST /v1/groups/{id}/grants.
type GrantRequest struct {
	Right         string      `json:"right"`
	Scope         *GrantScope `json:"scope"`
	ExpiresAt     *store.Time `json:"expires_at,omitempty"`
	Justification string      `json:"justification,omitempty"`
}

// GrantScope is the unit a grant applies to: a CVR, P- or SE-number.
type GrantScope struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// validate checks the shape of the request; whether the scope belongs to
// the organisation is A7 (Rego).
func (g *GrantRequest) validate(now time.Time) error {
	if err := validObjectID("right", g.Right); err != nil {
		return err
	}
	if g.Scope == nil {
		return invalid("scope is required: {type: cvr|p|se, value}")
	}
	var err error
	switch g.Scope.Type {
	case store.ScopeCVR:
		err = fieldErrOrNil("scope.value", store.ValidCVR(g.Scope.Value))
	case store.ScopeP:
		err = fieldErrOrNil("scope.value", store.ValidPNumber(g.Scope.Value))
	case store.ScopeSE:
		err = fieldErrOrNil("scope.value", store.ValidSE(g.Scope.Value))
	default:
		err = invalid("scope.type must be cvr, p or se")
	}
	if err != nil {
		return err
	}
	if g.ExpiresAt != nil && !g.ExpiresAt.After(now) {
		return invalid("expires_at must be in the future")
	}
	return validText("justification", g.Justification, 2000)
}

// planGrantCreate grants a right to a user or a group (grant.create). The
// grant belongs to the holder's organisation.
func (s *Service) planGrantCreate(c *Caller, holderType, holderID string, req *GrantRequest, out **store.Grant) planFunc {
	return s.planGrantCreateIn(c, "", holderType, holderID, req, out)
}

// planGrantCreateIn is planGrantCreate; a non-empty inOrg makes the grant
// belong to that org instead of the holder's (supplementary admins of
// another org, M17): the caller is authorised there, and the rules see
// the holder as a user of another org.
func (s *Service) planGrantCreateIn(c *Caller, inOrg, holderType, holderID string, req *GrantRequest, out **store.Grant) planFunc {
	return func(tx *store.Tx) (*plan, error) {
		var org string
		var target map[string]any
		switch {
		case inOrg != "":
			if err := validUserID(holderID); err != nil {
				return nil, err
			}
			if err := s.authorize(c, inOrg, "organisation", objGrant, actCreate); err != nil {
				return nil, err
			}
			u, err := loadUser(tx, holderID)
			if err != nil {
				return nil, err
			}
			org, target = inOrg, userTarget(u)
		case holderType == store.HolderUser:
			if err := validUserID(holderID); err != nil {
				return nil, err
			}
			u, err := s.authorizedUser(tx, c, holderID, objGrant, actCreate)
			if err != nil {
				return nil, err
			}
			org, target = u.Org, userTarget(u)
		default:
			if err := validGroupID(holderID); err != nil {
				return nil, err
			}
			g, err := loadGroup(tx, holderID)
			if err != nil {
				return nil, err
			}
			if err := s.authorize(c, g.Org, "group", objGrant, actCreate); err != nil {
				return nil, err
			}
			org, target = g.Org, groupTarget(g)
		}
		if err := req.validate(tx.Now()); err != nil {
			return nil, err
		}
		o, err := loadOrg(tx, org)
		if err != nil {
			return nil, err
		}
		right, err := tx.GetRight(req.Right)
		if store.IsNotFound(err) {
			return nil, invalid("right %s is not in the catalogue", req.Right)
		} else if err != nil {
			return nil, err
		}
		holders, err := s.adminHolders(tx, org)
		if err != nil {
			return nil, err
		}
		g := &store.Grant{ID: uuid.NewString(), Right: right.ID, HolderType: holderType, HolderID: holderID, Org: org,
			Scope: store.Scope{Type: req.Scope.Type, Value: req.Scope.Value}, GrantedBy: c.actor,
			ExpiresAt: req.ExpiresAt.Std(), Justification: req.Justification}
		in := s.baseInput(c, "grant.create", o)
		in["target"], in["grant"], in["right"], in["admin_holders"] = target, grantInput(g), rightInput(right), holders
		p := &plan{checks: []map[string]any{in}, apply: func(tx *store.Tx) error {
			if err := tx.CreateGrant(g); err != nil {
				return err
			}
			*out = g
			return nil
		}}
		if holderType == store.HolderUser {
			// A grant to a group gives its right's admin_role to every
			// member: A11 reads input.right for it.
			p.watchRoles(org, holderID)
		}
		return p, nil
	}
}

// CreateGrant grants a right to the user or group holderID (holderType
// store.HolderUser or store.HolderGroup): the role check, then the
// adgang.admin rules, then one transaction.
func (s *Service) CreateGrant(ctx context.Context, c *Caller, holderType, holderID string, req *GrantRequest) (uint64, *store.Grant, error) {
	var g *store.Grant
	rev, err := s.write(ctx, c, s.planGrantCreate(c, holderType, holderID, req, &g))
	return rev, g, err
}

// DeleteGrant deletes the grant id (grant.delete).
func (s *Service) DeleteGrant(ctx context.Context, c *Caller, id string) (uint64, error) {
	return s.write(ctx, c, s.planGrantDelete(c, id))
}

// planGrantDelete deletes a grant (grant.delete); A10 reads the roles its
// holder keeps through other grants.
func (s *Service) planGrantDelete(c *Caller, id string) planFunc {
	return func(tx *store.Tx) (*plan, error) {
		if err := validObjectID("grant", id); err != nil {
			return nil, err
		}
		g, err := loadGrant(tx, id)
		if err != nil {
			return nil, err
		}
		var org string
		var target map[string]any
		remaining := []string{}
		if g.HolderType == store.HolderUser {
			u, err := loadUser(tx, g.HolderID)
			if store.IsNotFound(err) {
				return nil, notFound("grant")
			} else if err != nil {
				return nil, err
			}
			// A grant belongs to its org: the holder's, or the org that made
			// a user of another org its supplementary admin (M17).
			if err := s.authorize(c, g.Org, "grant", objGrant, actDelete); err != nil {
				return nil, err
			}
			if remaining, err = s.remainingRoles(tx, u, g.Org, g.ID); err != nil {
				return nil, err
			}
			org, target = g.Org, userTarget(u)
		} else {
			grp, err := loadGroup(tx, g.HolderID)
			if store.IsNotFound(err) {
				return nil, notFound("grant")
			} else if err != nil {
				return nil, err
			}
			if err := s.authorize(c, grp.Org, "grant", objGrant, actDelete); err != nil {
				return nil, err
			}
			org, target = grp.Org, groupTarget(grp)
		}
		o, err := loadOrg(tx, org)
		if err != nil {
			return nil, err
		}
		right := map[string]any{"id": g.Right, "admin_role": ""}
		if rr, err := tx.GetRight(g.Right); err == nil {
			right = rightInput(rr)
		} else if !store.IsNotFound(err) {
			return nil, err
		}
		holders, err := s.adminHolders(tx, org)
		if err != nil {
			return nil, err
		}
		in := s.baseInput(c, "grant.delete", o)
		in["target"], in["grant"], in["right"], in["admin_holders"], in["remaining_roles"] =
			target, grantInput(g), right, holders, remaining
		p := &plan{checks: []map[string]any{in}, apply: func(tx *store.Tx) error { return tx.DeleteGrant(id) }}
		if g.HolderType == store.HolderUser {
			p.watchRoles(org, g.HolderID)
		}
		return p, nil
	}
}

// EffectiveGrant is a grant as a user has it, with where it comes from
// ("direct" or the group id) and whether it has expired (D13).
type EffectiveGrant struct {
	store.EffectiveGrant
	Expired bool `json:"expired"`
}

// ListUserGrants pages through the grants the user id has, directly and
// through its groups, by right.
func (s *Service) ListUserGrants(ctx context.Context, c *Caller, id string, q url.Values) (*Page[EffectiveGrant], error) {
	now := s.now()
	return checkedList(ctx, s, q, validUserID(id), func(tx *store.Tx, pg page) ([]EffectiveGrant, string, error) {
		if _, err := s.authorizedUser(tx, c, id, objGrant, actRead); err != nil {
			return nil, "", err
		}
		gs, err := tx.EffectiveGrants(id)
		if err != nil {
			return nil, "", err
		}
		out := []EffectiveGrant{}
		for _, g := range gs {
			out = append(out, EffectiveGrant{EffectiveGrant: g, Expired: g.ExpiresAt != nil && !g.ExpiresAt.After(now)})
		}
		// By right, then grant id and source (a grant reaches a user once
		// per source).
		out, next := pageOf(pg, out, func(g EffectiveGrant) string { return g.Right + "\x00" + g.ID + "\x00" + g.Source })
		return out, next, nil
	})
}
