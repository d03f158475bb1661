package admin

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/adgang/adgang/store"
)

// A17 must-have roles: an org's settings.must_have_roles are rights that
// must keep at least one active holder, "a user whose login decision for
// that right allows" (SPEC §8). Go gathers, per right, whether it was
// held before a change and is held after it (in the same transaction);
// adgang.admin decides (must_have_role).

// mustHaveState is what runPlan remembers before it applies a change.
type mustHaveState struct {
	org    string
	marked []string        // the rights marked before the change
	held   map[string]bool // whether each was held before
}

// mustHaveOrg is the org a plan's first check acts in, or "" when the
// plan's action cannot change who holds a right.
func mustHaveOrg(p *plan) string {
	if len(p.checks) == 0 {
		return ""
	}
	in := p.checks[0]
	action, _ := in["action"].(string)
	if strings.HasPrefix(action, "certificate.") || action == "user.import" {
		return ""
	}
	o, _ := in["org"].(map[string]any)
	cvr, _ := o["cvr"].(string)
	return cvr
}

// mustHaveBefore reads, before p is applied, whether each right its org
// marks is held. nil when the plan cannot change holders.
func (s *Service) mustHaveBefore(ctx context.Context, tx *store.Tx, p *plan) (*mustHaveState, error) {
	cvr := mustHaveOrg(p)
	if cvr == "" {
		return nil, nil
	}
	o, err := tx.GetOrg(cvr)
	if store.IsNotFound(err) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if action, _ := p.checks[0]["action"].(string); len(o.Settings.MustHaveRoles) == 0 && action != "org.update" {
		return nil, nil // only a settings change can mark a right
	}
	st := &mustHaveState{org: cvr, marked: o.Settings.MustHaveRoles, held: map[string]bool{}}
	for _, r := range st.marked {
		if st.held[r], err = s.rightHeld(ctx, tx, o, r); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// mustHaveAfter is the must_have fact after the change (read in tx, which
// holds it): one entry per right the org marks now. ok is false when every
// such right is still held (nothing for the rule to refuse).
func (s *Service) mustHaveAfter(ctx context.Context, tx *store.Tx, st *mustHaveState) (facts []any, ok bool, err error) {
	o, err := tx.GetOrg(st.org)
	if err != nil {
		return nil, false, err
	}
	for _, r := range o.Settings.MustHaveRoles {
		held, err := s.rightHeld(ctx, tx, o, r)
		if err != nil {
			return nil, false, err
		}
		marked := slices.Contains(st.marked, r)
		facts = append(facts, map[string]any{"right": r, "marked_before": marked,
			"held_before": marked && st.held[r], "held_after": held})
		if !held {
			ok = true
		}
	}
	return facts, ok, nil
}

// rightHeld reports whether some user of org o holds right: an active
// user whose login decision for the right allows. Candidates are the
// holders of the right's grants in o (users, and members of groups); the
// first that the login rules allow answers.
func (s *Service) rightHeld(ctx context.Context, tx *store.Tx, o *store.Org, right string) (bool, error) {
	r, err := tx.GetRight(right)
	if store.IsNotFound(err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	grants, err := tx.GrantsOfRight(right)
	if err != nil {
		return false, err
	}
	seen := map[string]bool{}
	for _, g := range grants {
		if g.Org != o.CVR {
			continue
		}
		users := []string{g.HolderID}
		if g.HolderType == store.HolderGroup {
			if users, err = tx.Members(g.HolderID); store.IsNotFound(err) {
				continue
			} else if err != nil {
				return false, err
			}
		}
		for _, id := range users {
			if seen[id] {
				continue
			}
			seen[id] = true
			u, err := tx.GetUser(id)
			if store.IsNotFound(err) {
				continue
			} else if err != nil {
				return false, err
			}
			if u.Org != o.CVR || !u.Status.Usable() {
				continue
			}
			eff, err := tx.EffectiveGrants(u.ID)
			if err != nil {
				return false, err
			}
			ok, err := s.eng.AllowsRight(ctx, &store.LoginView{User: u, Org: o, Grants: eff}, r.Service, r.ID)
			if err != nil {
				return false, fmt.Errorf("A17: login rules for %s: %w", right, err)
			}
			if ok {
				return true, nil
			}
		}
	}
	return false, nil
}

// knownRights checks that every right of an org's must_have_roles is in
// the catalogue.
func knownRights(tx *store.Tx, ids []string) error {
	for _, id := range ids {
		if _, err := tx.GetRight(id); store.IsNotFound(err) {
			return invalid("settings.must_have_roles: right %s is not in the catalogue", id)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// TransferRequest is the body of POST /v1/users/{id}/transfer-admin.
type TransferRequest struct {
	ToUserID string `json:"to_user_id"`
	Right    string `json:"right"`
}

// transferParties reads and checks a transfer-admin request: the user
// id that hands over, the user that takes over, the admin right, and
// the direct grants of it that id holds in its organisation.
func (s *Service) transferParties(tx *store.Tx, c *Caller, id string, req *TransferRequest) (from, to *store.User, right *store.Right, old []*store.Grant, err error) {
	if err := validUserID(id); err != nil {
		return nil, nil, nil, nil, err
	}
	if err := validUserID(req.ToUserID); err != nil {
		return nil, nil, nil, nil, fieldErr("to_user_id", err)
	}
	if err := validObjectID("right", req.Right); err != nil {
		return nil, nil, nil, nil, err
	}
	from, err = s.authorizedUser(tx, c, id, objGrant, actDelete)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	to, err = s.authorizedUser(tx, c, req.ToUserID, objGrant, actCreate)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if to.ID == from.ID {
		return nil, nil, nil, nil, invalid("to_user_id is the user itself")
	}
	if to.Org != from.Org {
		return nil, nil, nil, nil, invalid("to_user_id must be a user of the same organisation")
	}
	right, err = tx.GetRight(req.Right)
	if store.IsNotFound(err) {
		return nil, nil, nil, nil, invalid("right %s is not in the catalogue", req.Right)
	} else if err != nil {
		return nil, nil, nil, nil, err
	}
	if right.AdminRole == "" {
		return nil, nil, nil, nil, invalid("right %s gives no admin role; only admin roles are transferred", right.ID)
	}
	direct, err := tx.GrantsOfUser(from.ID)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	for _, g := range direct {
		if g.Right == right.ID && g.Org == from.Org {
			old = append(old, g)
		}
	}
	if len(old) == 0 {
		return nil, nil, nil, nil, store.Errorf(store.EConflict, "user %s holds no direct grant of %s to hand over", from.ID, right.ID)
	}
	return from, to, right, old, nil
}

// planTransferAdmin hands an admin right over from user id to another
// user of its org in one transaction: the new holder gets a grant of the
// right with the old holder's scope, and the old holder's direct grants
// of it (in that org) are deleted. It is checked as the grant.create of
// the new grant and a grant.delete of each old one and, once applied,
// with both users' role changes (A11 for both, A10 and A17 see that the
// role moves rather than disappears; A2 protects function certificate
// users on either side).
func (s *Service) planTransferAdmin(c *Caller, id string, req *TransferRequest, out **store.Grant) planFunc {
	return func(tx *store.Tx) (*plan, error) {
		from, to, right, old, err := s.transferParties(tx, c, id, req)
		if err != nil {
			return nil, err
		}
		org := from.Org
		o, err := loadOrg(tx, org)
		if err != nil {
			return nil, err
		}
		holders, err := s.adminHolders(tx, org)
		if err != nil {
			return nil, err
		}
		g := &store.Grant{ID: uuid.NewString(), Right: right.ID, HolderType: store.HolderUser, HolderID: to.ID, Org: org,
			Scope: old[0].Scope, GrantedBy: c.actor, Justification: "transfer-admin from " + from.ID}
		in := s.baseInput(c, "grant.create", o)
		in["target"], in["grant"], in["right"], in["admin_holders"] = userTarget(to), grantInput(g), rightInput(right), holders
		checks := []map[string]any{in}
		// Each revoke is a grant.delete (A2, A11), with the holders as
		// the hand-over leaves them: the new holder holds the role (A10).
		after := map[string]any{}
		for role, ids := range holders {
			after[role] = ids
		}
		role := string(right.AdminRole)
		if ids, _ := after[role].([]string); !slices.Contains(ids, to.ID) {
			after[role] = append(slices.Clone(ids), to.ID)
		}
		for _, og := range old {
			din := s.baseInput(c, "grant.delete", o)
			din["target"], din["grant"], din["right"], din["admin_holders"] = userTarget(from), grantInput(og), rightInput(right), after
			checks = append(checks, din)
		}
		return (&plan{checks: checks, apply: func(tx *store.Tx) error {
			if err := tx.CreateGrant(g); err != nil {
				return err
			}
			revoked := make([]string, len(old))
			for i, og := range old {
				if err := tx.DeleteGrant(og.ID); err != nil {
					return err
				}
				revoked[i] = og.ID
			}
			tx.Audit(store.AuditEvent{Type: "user.transfer_admin", Org: org, UserID: from.ID, Object: g.ID,
				Details: map[string]any{"right": right.ID, "to_user_id": to.ID, "revoked_grants": revoked}})
			*out = g
			return nil
		}}).watchRoles(org, from.ID, to.ID), nil
	}
}

// TransferAdmin hands the admin role req.Right of the user id over to
// req.ToUserID in one transaction (planTransferAdmin).
func (s *Service) TransferAdmin(ctx context.Context, c *Caller, id string, req *TransferRequest) (uint64, *store.Grant, error) {
	var g *store.Grant
	rev, err := s.write(ctx, c, s.planTransferAdmin(c, id, req, &g))
	return rev, g, err
}
