package admin

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/adgang/adgang/store"
)

// Anonymity requests (MitID Erhverv: "Hvis eksisterende brugere ønsker
// anonymitet, modtager du som brugeradministrator én mail og én
// notifikation …, som du skal godkende. Herefter skal du oprette brugeren
// på ny"). Anonymity is set at creation only (A8); an existing user asks,
// the org's administrators are notified, and an approval re-creates the
// user as anonymous:
//
//   - a new user with a new UUID, anonymous: true, the same org, name,
//     kind, P-/SE-number, language, phone, identification means, source
//     and status (a user that was new stays new), and the old user's
//     e-mail, username, CPR number and local password;
//   - the old user is deactivated (no end date), its e-mail, username and
//     CPR number freed; its history stays under its old id, and an
//     audit event on both users links the two ids;
//   - the old user's direct grants of rights flagged anonymity_allowed
//     move to the new user; every other grant stays with the (now
//     deactivated, so inert) old user, and custom group memberships are
//     not carried over: like a user created anew, the anonymous user gets
//     only what works anonymously (services using NemLog-in as broker),
//     and an administrator adds the rest by hand. Membership of the
//     system group of its P-unit follows the P-number, as for any user.
//
// Who may ask: the user itself (a token made for it, or a JWT with its
// id as sub), with no administrator role needed, or an administrator
// whose role may change users in the user's org (Casbin user/update) on
// its behalf. Approving and rejecting need that role too. The rules
// (policies/admin.rego, A8): only a user holding some right flagged
// anonymity_allowed may ask or be approved (anonymity_not_offered, 422),
// an anonymous user cannot ask again (already_anonymous, 422), a user
// has at most one pending request (anonymity_request_pending, 409), and
// only a pending request is approved or rejected (anonymity_request_state,
// 409). An approval that would take the last org-admin or user-admin
// role from the organisation is refused by A10 (role_changes).

// AnonymityRequestBody is the optional body of POST
// /v1/users/{id}/anonymity-requests.
type AnonymityRequestBody struct {
	Reason string `json:"reason,omitempty"`
}

// anonymityRights returns the ids of the rights flagged
// anonymity_allowed that u holds in its own org through an unexpired
// effective grant (direct or through a group), sorted.
func (s *Service) anonymityRights(tx *store.Tx, u *store.User) ([]string, error) {
	grants, err := tx.EffectiveGrants(u.ID)
	if store.IsNotFound(err) { // a deleted user holds nothing
		return []string{}, nil
	} else if err != nil {
		return nil, err
	}
	now := s.now()
	out := []string{}
	for _, g := range grants {
		if g.Org != u.Org || (g.ExpiresAt != nil && !g.ExpiresAt.After(now)) || slices.Contains(out, g.Right) {
			continue
		}
		rt, err := tx.GetRight(g.Right)
		if store.IsNotFound(err) {
			continue
		} else if err != nil {
			return nil, err
		}
		if rt.AnonymityAllowed {
			out = append(out, g.Right)
		}
	}
	slices.Sort(out)
	return out, nil
}

// anonymityInput is the adgang.admin input of an anonymity action on u:
// the target user and the anonymity facts (the anonymity_allowed rights
// it holds, whether it has a pending request, the request decided on).
func (s *Service) anonymityInput(tx *store.Tx, c *Caller, action string, u *store.User, req *store.AnonymityRequest) (map[string]any, error) {
	org, err := loadOrg(tx, u.Org)
	if err != nil {
		return nil, err
	}
	rights, err := s.anonymityRights(tx, u)
	if err != nil {
		return nil, err
	}
	pending := false
	if _, err := tx.PendingAnonymityRequest(u.ID); err == nil {
		pending = true
	} else if !store.IsNotFound(err) {
		return nil, err
	}
	in := s.baseInput(c, action, org)
	in["target"] = userTarget(u)
	facts := map[string]any{"rights": rights, "pending": pending, "request": nil}
	if req != nil {
		facts["request"] = map[string]any{"id": req.ID, "status": req.Status, "user_id": req.UserID}
	}
	in["anonymity"] = facts
	return in, nil
}

// CreateAnonymityRequest: POST /v1/users/{id}/anonymity-requests.
func (s *Service) CreateAnonymityRequest(ctx context.Context, c *Caller, id string, body *AnonymityRequestBody) (rev uint64, out *store.AnonymityRequest, err error) {
	body.Reason = strings.TrimSpace(body.Reason)
	rev, err = s.write(ctx, c, func(tx *store.Tx) (*plan, error) {
		if err := validUserID(id); err != nil {
			return nil, err
		}
		if err := validText("reason", body.Reason, 2000); err != nil {
			return nil, err
		}
		u, err := loadUser(tx, id)
		if err != nil {
			return nil, err
		}
		if c.userID != u.ID { // on the user's behalf: an administrator of its org
			if err := s.authorize(c, u.Org, "user", objUser, actUpdate); err != nil {
				return nil, err
			}
		}
		in, err := s.anonymityInput(tx, c, "user.anonymity.request", u, nil)
		if err != nil {
			return nil, err
		}
		return &plan{checks: []map[string]any{in}, apply: func(tx *store.Tx) error {
			out = &store.AnonymityRequest{ID: uuid.NewString(), Org: u.Org, UserID: u.ID, Status: store.AnonymityPending,
				RequestedBy: c.actor, Reason: body.Reason, CreatedAt: tx.Now()}
			if err := tx.PutAnonymityRequest(out); err != nil {
				return err
			}
			return s.Notify(tx, store.Notification{Org: u.Org, Kind: store.NotifyAnonymity, Object: out.ID, UserID: u.ID,
				Subject: "A user asks for anonymity",
				Body: fmt.Sprintf("%s (%s) asks to become anonymous. Approve or reject the request %s: POST /v1/anonymity-requests/%s/approve or /reject.",
					u.Name, u.ID, out.ID, out.ID)}, true)
		}}, nil
	})
	return rev, out, err
}

// loadAnonymityRequest loads request id and authorises act on users of
// its org: an unknown request and one of an org where the caller has no
// role both answer not_found (A1).
func (s *Service) loadAnonymityRequest(tx *store.Tx, c *Caller, id, act string) (*store.AnonymityRequest, error) {
	if err := store.ValidUUID(id); err != nil {
		return nil, fieldErr("anonymity request id", err)
	}
	req, err := tx.GetAnonymityRequest(id)
	if store.IsNotFound(err) {
		return nil, notFound("anonymity request")
	} else if err != nil {
		return nil, err
	}
	if err := s.authorize(c, req.Org, "anonymity request", objUser, act); err != nil {
		return nil, err
	}
	return req, nil
}

// DecideAnonymityRequest approves or rejects the anonymity request id;
// an approval re-creates the user anonymous (created).
func (s *Service) DecideAnonymityRequest(ctx context.Context, c *Caller, id string, approve bool) (rev uint64, out *store.AnonymityRequest, created *store.User, err error) {
	action := "user.anonymity.reject"
	if approve {
		action = "user.anonymity.approve"
	}
	rev, err = s.write(ctx, c, func(tx *store.Tx) (*plan, error) {
		req, err := s.loadAnonymityRequest(tx, c, id, actUpdate)
		if err != nil {
			return nil, err
		}
		u, err := loadUser(tx, req.UserID)
		if store.IsNotFound(err) && !approve {
			// The user was deleted while its request waited: the
			// request can still be rejected (and so leave the list).
			u, err = &store.User{ID: req.UserID, Org: req.Org, Kind: store.KindEmployee, Status: store.StatusDeleted}, nil
		}
		if err != nil {
			return nil, err
		}
		in, err := s.anonymityInput(tx, c, action, u, req)
		if err != nil {
			return nil, err
		}
		p := &plan{checks: []map[string]any{in}}
		decide := func(tx *store.Tx, status string) error {
			at := tx.Now()
			req.Status, req.DecidedBy, req.DecidedAt = status, c.actor, &at
			out = req
			return tx.PutAnonymityRequest(req)
		}
		if !approve {
			p.apply = func(tx *store.Tx) error { return decide(tx, store.AnonymityRejected) }
			return p, nil
		}
		holders, err := s.adminHolders(tx, u.Org)
		if err != nil {
			return nil, err
		}
		in["admin_holders"] = holders
		newID := uuid.NewString()
		p.apply = func(tx *store.Tx) error {
			nu, err := s.recreateAnonymous(tx, c, u, newID, req.ID)
			if err != nil {
				return err
			}
			created = nu
			req.NewUserID = nu.ID
			return decide(tx, store.AnonymityApproved)
		}
		return p.watchRoles(u.Org, u.ID, newID), nil
	})
	return rev, out, created, err
}

// recreateAnonymous carries out an approval in tx (see the package
// comment above): it frees the old user's e-mail, username and CPR
// number, deactivates it, creates the anonymous user newID with them and
// moves the old user's direct grants of anonymity_allowed rights.
func (s *Service) recreateAnonymous(tx *store.Tx, c *Caller, old *store.User, newID, requestID string) (*store.User, error) {
	nu := *old
	nu.ID, nu.Anonymous, nu.LegacyID = newID, true, ""
	nu.LastLogin, nu.ConfirmedAt, nu.DeactivatedUntil, nu.ActivationHash = nil, nil, nil, ""
	nu.CreatedAt, nu.UpdatedAt, nu.StatusChangedAt = tx.Now(), tx.Now(), tx.Now()
	if !nu.Status.Usable() {
		nu.Status = store.StatusNew
	}
	nu.IdentificationMeans = slices.Clone(old.IdentificationMeans)
	nu.PasswordStatus = ""

	freed := *old
	freed.Email, freed.Username = "", ""
	freed.CPRHash, freed.CPRMasked, freed.CPREncrypted, freed.CPRLinked = "", "", nil, false
	freed.Password, freed.ActivationHash = nil, ""
	freed.Status, freed.StatusChangedAt, freed.DeactivatedUntil = store.StatusDeactivated, tx.Now(), nil
	if err := tx.UpdateUser(&freed); err != nil {
		return nil, err
	}
	if err := tx.CreateUser(&nu); err != nil {
		return nil, err
	}
	grants, err := tx.GrantsOfUser(old.ID)
	if err != nil {
		return nil, err
	}
	moved := []string{}
	for _, g := range grants {
		rt, err := tx.GetRight(g.Right)
		if store.IsNotFound(err) {
			continue
		} else if err != nil {
			return nil, err
		}
		if !rt.AnonymityAllowed {
			continue
		}
		ng := *g
		ng.ID, ng.HolderID, ng.GrantedBy, ng.GrantedAt = uuid.NewString(), nu.ID, c.actor, tx.Now()
		if err := tx.DeleteGrant(g.ID); err != nil {
			return nil, err
		}
		if err := tx.CreateGrant(&ng); err != nil {
			return nil, err
		}
		moved = append(moved, g.Right)
	}
	details := map[string]any{"request_id": requestID, "old_user_id": old.ID, "new_user_id": nu.ID, "rights_moved": moved}
	tx.Audit(store.AuditEvent{Type: "user.anonymity", Org: old.Org, UserID: old.ID, Object: old.ID, Details: details})
	tx.Audit(store.AuditEvent{Type: "user.anonymity", Org: old.Org, UserID: nu.ID, Object: nu.ID, Details: details})
	return &nu, nil
}

// ListAnonymityRequests: GET /v1/orgs/{cvr}/anonymity-requests
// ?status=pending|all&limit=&page_token=, oldest first (pending by
// default: the administrators' to-do list).
func (s *Service) ListAnonymityRequests(ctx context.Context, c *Caller, cvr string, q url.Values) (*Page[*store.AnonymityRequest], error) {
	if err := validCVR(cvr); err != nil {
		return nil, err
	}
	pendingOnly := true
	switch q.Get("status") {
	case "", store.AnonymityPending:
	case "all":
		pendingOnly = false
	default:
		return nil, invalid("status must be pending or all")
	}
	p, err := parseCursorPage(q, validOrderKey)
	if err != nil {
		return nil, err
	}
	rev := s.st.Revision()
	var list []*store.AnonymityRequest
	var next string
	err = s.st.View(ctx, func(tx *store.Tx) error {
		if err := s.authorize(c, cvr, "organisation", objUser, actRead); err != nil {
			return err
		}
		if _, err := loadOrg(tx, cvr); err != nil {
			return err
		}
		var err error
		list, next, err = tx.ListAnonymityRequests(cvr, pendingOnly, p.After, p.Limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Page[*store.AnonymityRequest]{Revision: rev, Items: list, Next: nextToken(next)}, nil
}
