package admin

import (
	"context"
	"errors"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// PrivilegesAnswer is what a NemLog-in privilege list would grant in an
// org, and what adgang.admin refuses of it.
type PrivilegesAnswer struct {
	Revision uint64
	Grants   []pdp.PrivilegeGrant
	Refused  []pdp.PrivilegeRefusal
}

// PrivilegesCheck is POST /v1/orgs/{cvr}/privileges:check: a NemLog-in
// privilege list (OIO BPP XML, its base64, or {"privileges": base64}) read
// into the grants it corresponds to in the org, each asked of adgang.admin
// as a grant.create would be (A3, A4, A6 no SE scope for no_se rights, A7
// scope outside the org, A11 …). Nothing is stored. With ?user_id= the
// whole grant-create path of that user of the org is dry-run (A2 and the
// role checks included); without it the holder is a new employee of the org.
// Answer: {grants:[{right, privilege, scope}], refused:[{scope, privilege?,
// right?, code, rule?, message}]}.
func (s *Service) PrivilegesCheck(ctx context.Context, c *Caller, cvr, userID string, body []byte) (*PrivilegesAnswer, error) {
	var (
		o      *store.Org
		rights []*store.Right
	)
	err := s.st.View(ctx, func(tx *store.Tx) error {
		if err := store.ValidCVR(cvr); err != nil {
			return notFound("organisation")
		}
		if err := s.authorize(c, cvr, "organisation", objGrant, actCreate); err != nil {
			return err
		}
		var err error
		if o, err = loadOrg(tx, cvr); err != nil {
			return err
		}
		if userID != "" {
			if err := validUserID(userID); err != nil {
				return err
			}
			u, err := loadUser(tx, userID)
			if err != nil {
				return err
			}
			if u.Org != cvr {
				return notFound("user")
			}
		}
		rights, err = tx.ListRights()
		return err
	})
	if err != nil {
		return nil, err
	}
	list, err := pdp.PrivilegeListFromBody(body)
	if err != nil {
		return nil, invalid("%v", err)
	}
	parsed, refused := pdp.GrantsOfPrivileges(list, rights)
	byID := map[string]*store.Right{}
	for _, rt := range rights {
		byID[rt.ID] = rt
	}
	grants := []pdp.PrivilegeGrant{}
	for _, g := range parsed {
		reason, err := s.checkPrivilegeGrant(ctx, c, o, userID, g, byID[g.Right])
		if err != nil {
			return nil, err
		}
		if reason == nil {
			grants = append(grants, g)
			continue
		}
		refused = append(refused, pdp.PrivilegeRefusal{Scope: pdp.ScopeURI(g.Scope), Privilege: g.Privilege,
			Right: g.Right, Code: reason.Code, Rule: reason.Rule, Message: pdp.MaskCPR(reason.Message)})
	}
	return &PrivilegesAnswer{Revision: s.st.Revision(), Grants: grants, Refused: refused}, nil
}

// checkPrivilegeGrant asks adgang.admin whether g may be granted in o: the
// first deny reason, or nil when allowed.
func (s *Service) checkPrivilegeGrant(ctx context.Context, c *Caller, o *store.Org, userID string, g pdp.PrivilegeGrant, right *store.Right) (*pdp.Reason, error) {
	req := &GrantRequest{Right: g.Right, Scope: &GrantScope{Type: g.Scope.Type, Value: g.Scope.Value}}
	if userID != "" {
		var out *store.Grant
		v, err := s.dryRun(ctx, c, s.planGrantCreate(c, store.HolderUser, userID, req, &out))
		var se *store.Error
		switch {
		case err == nil:
			return refusalReason(v), nil
		case errors.As(err, &se) && se.Code == store.EInvalid:
			return &pdp.Reason{Code: se.ReasonCode(), Rule: se.Rule, Message: se.Message}, nil
		default:
			return nil, err
		}
	}
	if err := req.validate(s.now()); err != nil {
		var se *store.Error
		if errors.As(err, &se) {
			return &pdp.Reason{Code: se.ReasonCode(), Rule: se.Rule, Message: se.Message}, nil
		}
		return nil, err
	}
	var verdict *pdp.Verdict
	err := s.st.View(ctx, func(tx *store.Tx) error {
		holders, err := s.adminHolders(tx, o.CVR)
		if err != nil {
			return err
		}
		in := s.baseInput(c, "grant.create", o)
		// The holder is a new employee of the org: no A2 (function
		// certificate) or anonymity facts apply to it.
		in["target"] = map[string]any{"id": "", "kind": string(store.KindEmployee), "anonymous": false,
			"status": string(store.StatusNew), "org": o.CVR, "cpr_linked": false, "birth_date": "", "source": "", "association": ""}
		in["grant"] = map[string]any{"id": "", "right": g.Right, "org": o.CVR, "holder_type": store.HolderUser,
			"holder_id": "", "scope": map[string]any{"type": g.Scope.Type, "value": g.Scope.Value}}
		in["right"], in["admin_holders"] = rightInput(right), holders
		verdict, _ = s.check(ctx, in)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return refusalReason(verdict), nil
}

// refusalReason is the reason a verdict refuses, nil when it allows. A
// refusal that names no denying reason is refused as fail_closed, never
// reported as accepted.
func refusalReason(v *pdp.Verdict) *pdp.Reason {
	if v == nil {
		return &pdp.Reason{Code: pdp.ReasonPolicyError, Rule: pdp.RuleFailClosed, Message: "the policy gave no verdict"}
	}
	if v.Allow {
		return nil
	}
	if r := v.First(); r != nil {
		return r
	}
	return &pdp.Reason{Code: pdp.ReasonPolicyError, Rule: pdp.RuleFailClosed, Message: "the policy refused without a reason"}
}
