package admin

import (
	"context"
	"sync"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// PasswordLogin is the local (IMI-style) password login of L8: it checks
// a password, records failures and password changes with their audit
// events, and answers with the login decision for auth_method "password".
// The rules themselves (block after failures, the password rules, the
// blocked account) are decided in Rego; the decision listener reaches it
// through pdp/api.PasswordLogins.
type PasswordLogin struct {
	eng    *pdp.Engine
	st     *store.Store
	recent recentFailures // a fleet node's own recent failures (passwordfleet.go)
}

// NewPasswordLogin returns the password login over eng and st.
func NewPasswordLogin(eng *pdp.Engine, st *store.Store) *PasswordLogin {
	return &PasswordLogin{eng: eng, st: st}
}

// dummyHash makes checks for unknown users cost what a real one costs. It
// is made on first use: argon2 does not run when the package loads.
var dummyHash = sync.OnceValue(func() string {
	h, _ := store.HashPassword("not a real password")
	return h
})

const msgInvalidCredentials = "unknown username or wrong password"

// Login verifies a local password (L8), records failures (the policy says
// when they block the account), changes the password when a new one is
// given and passes the adgang.password rules, and answers with the login
// decision for the user with auth_method "password": D15 decides whether
// a temporary or expired password must be changed first, L8 denies a
// blocked password.
func (p *PasswordLogin) Login(ctx context.Context, req *pdp.PasswordRequest, m pdp.RequestMeta) (*pdp.PasswordAnswer, error) {
	var user *store.User
	err := p.st.View(ctx, func(tx *store.Tx) error {
		var err error
		user, err = tx.UserByUsername(req.Username)
		return err
	})
	if store.IsNotFound(err) || err == nil && user.Password == nil {
		store.VerifyPassword(dummyHash(), req.Password) // same work as a real check
		return p.deny(pdp.ReasonInvalidCredentials, msgInvalidCredentials), nil
	}
	if err != nil {
		p.eng.StoreFailed()
		return p.unavailable("the store could not be read"), nil
	}
	if !store.VerifyPassword(user.Password.Hash, req.Password) {
		if p.st.Fleet() {
			return p.failedInFleet(ctx, user), nil
		}
		return p.failed(ctx, user), nil
	}
	if p.st.Fleet() {
		if refused := p.rightInFleet(ctx, user); refused != nil {
			return refused, nil
		}
	}
	ans := &pdp.PasswordAnswer{}
	if req.NewPassword != "" {
		if refused, err := p.change(ctx, user, req.NewPassword, ans); refused != nil || err != nil {
			return refused, err
		}
	} else if user.Password.Failures > 0 && !user.Password.Blocked && !p.st.Fleet() {
		// A blocked account keeps its count until an administrator
		// lifts the block.
		p.resetFailures(ctx, user.ID)
	}
	return p.decide(ctx, user, req, m, ans)
}

// deny is a password login denied by L8 before any login decision.
func (p *PasswordLogin) deny(code, msg string) *pdp.PasswordAnswer {
	return &pdp.PasswordAnswer{Decision: *pdp.Denied(code, "L8", msg, p.st.Revision())}
}

// unavailable is a password login denied because the store failed.
func (p *PasswordLogin) unavailable(msg string) *pdp.PasswordAnswer {
	return &pdp.PasswordAnswer{Decision: *pdp.Denied(pdp.ReasonStoreUnavailable, pdp.RuleFailClosed, msg, p.st.Revision())}
}

// failed records a wrong password; the policy says whether the count of
// failures in a row blocks the account.
func (p *PasswordLogin) failed(ctx context.Context, user *store.User) *pdp.PasswordAnswer {
	wasBlocked, blocked := user.Password.Blocked, false
	_, err := p.st.Update(ctx, "system:authn", func(tx *store.Tx) error {
		u, err := tx.GetUser(user.ID)
		if err != nil || u.Password == nil {
			return err
		}
		u.Password.Failures++
		u.Password.Blocked = u.Password.Blocked || p.eng.PasswordBlocks(ctx, u.Password.Failures)
		blocked = u.Password.Blocked
		tx.Audit(store.AuditEvent{Type: "password.failure", Org: u.Org, UserID: u.ID, Object: u.ID,
			Details: map[string]any{"failures": u.Password.Failures, "blocked": u.Password.Blocked}})
		return tx.UpdateUser(u)
	})
	switch {
	case err != nil:
		p.eng.StoreFailed()
		return p.unavailable("the failed attempt could not be recorded")
	case wasBlocked:
		return p.deny(pdp.ReasonPasswordBlocked, "the password is blocked; an administrator must unblock it")
	case blocked:
		return p.deny(pdp.ReasonPasswordBlocked, "too many wrong passwords; an administrator must unblock the account")
	default:
		return p.deny(pdp.ReasonInvalidCredentials, msgInvalidCredentials)
	}
}

// change stores newPassword when adgang.password accepts it (a blocked
// password is not changed, L8); a refusal is kept in ans. The returned
// answer is non-nil only when the store failed.
func (p *PasswordLogin) change(ctx context.Context, user *store.User, newPassword string, ans *pdp.PasswordAnswer) (*pdp.PasswordAnswer, error) {
	verdict := p.eng.CheckPasswordChange(ctx, pdp.PasswordCheck{Password: newPassword,
		ReusedAt: user.Password.PasswordReusedAt(newPassword), Blocked: user.Password.Blocked})
	if !verdict.Allow {
		ans.PasswordReasons = verdict.Reasons
		return nil, nil
	}
	hash, err := store.HashPassword(newPassword)
	if err != nil {
		return nil, err
	}
	if _, err := p.st.Update(ctx, "system:authn", func(tx *store.Tx) error {
		u, err := tx.GetUser(user.ID)
		if err != nil {
			return err
		}
		u.Password.SetPassword(hash, false, tx.Now())
		tx.Audit(store.AuditEvent{Type: "password.change", Org: u.Org, UserID: u.ID, Object: u.ID})
		return tx.UpdateUser(u)
	}); err != nil {
		p.eng.StoreFailed()
		return p.unavailable("the new password could not be stored"), nil
	}
	ans.PasswordChanged = true
	return nil, nil
}

// resetFailures clears the count of wrong passwords after a right one.
func (p *PasswordLogin) resetFailures(ctx context.Context, userID string) {
	_, _ = p.st.Update(ctx, "system:authn", func(tx *store.Tx) error {
		u, err := tx.GetUser(userID)
		if err != nil || u.Password == nil {
			return err
		}
		u.Password.Failures = 0
		return tx.UpdateUser(u)
	})
}

// decide answers with the login decision for the user, auth_method
// "password", for req's service (default DefaultPasswordService).
func (p *PasswordLogin) decide(ctx context.Context, user *store.User, req *pdp.PasswordRequest, m pdp.RequestMeta, ans *pdp.PasswordAnswer) (*pdp.PasswordAnswer, error) {
	service := req.Service
	if service == "" {
		service = pdp.DefaultPasswordService
	}
	lr := &pdp.LoginRequest{
		Subject: pdp.Subject{ID: user.ID, CVR: user.Org, Kind: string(user.Kind), CPRLinked: user.CPRLinked,
			AuthMethod: "password", Name: user.Name, Email: user.Email},
		Service: service, Right: req.Right, PNumber: req.PNumber,
	}
	d, err := p.eng.Login(ctx, lr, m)
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
