package pdp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/adgang/adgang/store"
)

// PasswordRequest is a local (IMI-style) password login, optionally with
// a new password. Service, Right and PNumber are Adgang additions beside
// SPEC §5's fields: the login decision that follows is for that service
// (default "imi", the system with local accounts).
type PasswordRequest struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	NewPassword string `json:"new_password,omitempty"`
	Service     string `json:"service,omitempty"`
	Right       string `json:"right,omitempty"`
	PNumber     string `json:"p_number,omitempty"`
}

// DefaultPasswordService is the service a password login is decided for
// when the request names none.
const DefaultPasswordService = "imi"

// PasswordAnswer is the login decision after a password check, plus the
// reasons a new password was refused (L8), if one was given.
type PasswordAnswer struct {
	Decision
	// PasswordChangeRequired is true while the password is temporary or
	// expired (D15): the login is denied until new_password is accepted.
	PasswordChangeRequired bool     `json:"password_change_required"`
	PasswordChanged        bool     `json:"password_changed"`
	PasswordReasons        []Reason `json:"password_reasons,omitempty"`
}

// ReasonInvalidCredentials answers an unknown username and a wrong
// password alike, so the answer does not tell which usernames exist.
const ReasonInvalidCredentials = "invalid_credentials"

func (e *Engine) handlePassword(w http.ResponseWriter, r *http.Request) {
	var req PasswordRequest
	if err := DecodeJSON(w, r, &req); err != nil {
		WriteError(w, err)
		return
	}
	if req.Username == "" || req.Password == "" {
		WriteError(w, store.Errorf(store.EInvalid, "username and password are required"))
		return
	}
	if err := checkLen("username", req.Username); err != nil {
		WriteError(w, err)
		return
	}
	source := SourceOf(r)
	if !e.passwords.allow(source, req.Username) {
		WriteError(w, ErrRateLimited)
		return
	}
	ans, err := e.PasswordLogin(r.Context(), &req, meta(r))
	if err != nil {
		WriteError(w, err)
		return
	}
	for _, rs := range ans.Reasons {
		if rs.Code == ReasonInvalidCredentials || rs.Code == "password_blocked" {
			e.passwords.failed(source)
			break
		}
	}
	WriteJSON(w, http.StatusOK, ans)
}

// PasswordLogin verifies a local password (L8), records failures (5 in a
// row block the account), changes the password when a new one is given
// and passes the adgang.password rules, and answers with the login
// decision for the user with auth_method "password" (D15 decides whether
// a temporary or expired password must be changed first).
func (e *Engine) PasswordLogin(ctx context.Context, req *PasswordRequest, m RequestMeta) (*PasswordAnswer, error) {
	deny := func(code, rule, msg string) *PasswordAnswer {
		d := &Decision{Rights: []RightScope{}, Reasons: []Reason{{Code: code, Rule: rule, Message: msg}}, Revision: e.store.Revision()}
		d.DecisionID = newDecisionID()
		return &PasswordAnswer{Decision: *d}
	}
	var user *store.User
	err := e.store.View(ctx, func(tx *store.Tx) error {
		var err error
		user, err = tx.UserByUsername(req.Username)
		return err
	})
	if store.IsNotFound(err) {
		store.VerifyPassword(dummyHash, req.Password) // same work as a real check
		return deny(ReasonInvalidCredentials, "L8", "unknown username or wrong password"), nil
	}
	if err != nil {
		e.metrics.storeErrors.Inc()
		return deny(ReasonStoreUnavailable, RuleFailClosed, "the store could not be read"), nil
	}
	if user.Password == nil {
		store.VerifyPassword(dummyHash, req.Password)
		return deny(ReasonInvalidCredentials, "L8", "unknown username or wrong password"), nil
	}
	if user.Password.Blocked {
		return deny("password_blocked", "L8", "the password is blocked; an administrator must unblock it"), nil
	}
	if !store.VerifyPassword(user.Password.Hash, req.Password) {
		blocked := false
		_, err := e.store.Update(ctx, "system:authn", func(tx *store.Tx) error {
			u, err := tx.GetUser(user.ID)
			if err != nil || u.Password == nil {
				return err
			}
			u.Password.Failures++
			blocked = e.PasswordBlocks(ctx, u.Password.Failures)
			u.Password.Blocked = u.Password.Blocked || blocked
			tx.Audit(store.AuditEvent{Type: "password.failure", Org: u.Org, UserID: u.ID, Object: u.ID,
				Details: map[string]any{"failures": u.Password.Failures, "blocked": u.Password.Blocked}})
			return tx.UpdateUser(u)
		})
		if err != nil {
			e.metrics.storeErrors.Inc()
			return deny(ReasonStoreUnavailable, RuleFailClosed, "the failed attempt could not be recorded"), nil
		}
		if blocked {
			return deny("password_blocked", "L8", "too many wrong passwords; an administrator must unblock the account"), nil
		}
		return deny(ReasonInvalidCredentials, "L8", "unknown username or wrong password"), nil
	}

	ans := &PasswordAnswer{}
	if req.NewPassword != "" {
		verdict := e.CheckPassword(ctx, req.NewPassword, user.Password.PasswordReused(req.NewPassword))
		if !verdict.Allow {
			ans.PasswordReasons = verdict.Reasons
		} else {
			hash, err := store.HashPassword(req.NewPassword)
			if err != nil {
				return nil, err
			}
			if _, err := e.store.Update(ctx, "system:authn", func(tx *store.Tx) error {
				u, err := tx.GetUser(user.ID)
				if err != nil {
					return err
				}
				u.Password.SetPassword(hash, false, tx.Now())
				tx.Audit(store.AuditEvent{Type: "password.change", Org: u.Org, UserID: u.ID, Object: u.ID})
				return tx.UpdateUser(u)
			}); err != nil {
				e.metrics.storeErrors.Inc()
				return deny(ReasonStoreUnavailable, RuleFailClosed, "the new password could not be stored"), nil
			}
			ans.PasswordChanged = true
		}
	} else if user.Password.Failures > 0 {
		_, _ = e.store.Update(ctx, "system:authn", func(tx *store.Tx) error {
			u, err := tx.GetUser(user.ID)
			if err != nil || u.Password == nil {
				return err
			}
			u.Password.Failures = 0
			return tx.UpdateUser(u)
		})
	}
	service := req.Service
	if service == "" {
		service = DefaultPasswordService
	}
	lr := &LoginRequest{
		Subject: Subject{ID: user.ID, CVR: user.Org, Kind: string(user.Kind), CPRLinked: user.CPRLinked,
			AuthMethod: "password", Name: user.Name, Email: user.Email},
		Service: service, Right: req.Right, PNumber: req.PNumber,
	}
	d, err := e.Login(ctx, lr, m)
	if err != nil {
		return nil, err
	}
	ans.Decision = *d
	for _, r := range d.Reasons {
		if r.Code == "password_change_required" {
			ans.PasswordChangeRequired = true
		}
	}
	return ans, nil
}

// PasswordBlockQuery decides whether a count of wrong passwords in a row
// blocks the account (L8, adgang.password).
const PasswordBlockQuery = "data.adgang.password.block_after_failures"

// PasswordStatusQuery is the status of a stored password shown to
// administrators: blocked, temporary, expired or valid.
const PasswordStatusQuery = "data.adgang.password.status"

// PasswordBlocks asks the policy whether failures wrong passwords in a
// row block the account. A policy that cannot answer does not block (the
// login is denied anyway); it is logged.
func (e *Engine) PasswordBlocks(ctx context.Context, failures int) bool {
	res, _, err := e.Evaluate(ctx, PasswordBlockQuery, []byte(fmt.Sprintf(`{"failures":%d}`, failures)))
	if err != nil {
		e.log.Error().Err(err).Msg("password block rule could not be evaluated")
		return false
	}
	b, _ := res.(bool)
	return b
}

// PasswordStatus is the status of a user's local password at now, as the
// adgang.password rules see it; "" when the user has none or the policy
// cannot answer.
func (e *Engine) PasswordStatus(ctx context.Context, p *store.Password, org *store.Org, now time.Time) string {
	if p == nil {
		return ""
	}
	in := map[string]any{
		"password": map[string]any{"blocked": p.Blocked, "temporary": p.Temporary, "changed_at_ns": p.ChangedAt.UnixNano()},
		"now_ns":   now.UnixNano(),
	}
	if org != nil {
		in["org"] = map[string]any{"settings": org.Settings}
	}
	raw, err := json.Marshal(in)
	if err != nil {
		return ""
	}
	res, _, err := e.Evaluate(ctx, PasswordStatusQuery, raw)
	if err != nil {
		e.log.Error().Err(err).Msg("password status rule could not be evaluated")
		return ""
	}
	st, _ := res.(string)
	return st
}

// dummyHash makes checks for unknown users cost what a real one costs.
var dummyHash = func() string {
	h, _ := store.HashPassword("not a real password")
	return h
}()
