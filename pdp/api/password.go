package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// PasswordLogins is the password login (L8) the decision listener answers
// POST /v1/authn/password with; the change service (admin) implements it
// and cmd wires it in, so this package never imports admin.
type PasswordLogins interface {
	// Login checks req's password, records the attempt and answers with
	// the login decision; an error is a malformed request or an internal
	// failure, never a wrong password.
	Login(ctx context.Context, req *pdp.PasswordRequest, m pdp.RequestMeta) (*pdp.PasswordAnswer, error)
}

// handlePassword serves POST /v1/authn/password within the throttle's
// budgets; a failed login counts against its source.
func (s *Server) handlePassword(w http.ResponseWriter, r *http.Request) {
	var req pdp.PasswordRequest
	if err := DecodeJSON(w, r, &req); err != nil {
		WriteError(w, err)
		return
	}
	if req.Username == "" || req.Password == "" {
		WriteError(w, store.Errorf(store.EInvalid, "username and password are required"))
		return
	}
	if err := pdp.CheckLen("username", req.Username); err != nil {
		WriteError(w, err)
		return
	}
	source := SourceOf(r)
	if !s.throttle.allow(source, req.Username) {
		WriteError(w, pdp.ErrRateLimited)
		return
	}
	ans, err := s.passwords.Login(r.Context(), &req, meta(r))
	if err != nil {
		WriteError(w, err)
		return
	}
	for _, rs := range ans.Reasons {
		if rs.Code == pdp.ReasonInvalidCredentials || rs.Code == pdp.ReasonPasswordBlocked {
			s.throttle.failed(source)
			break
		}
	}
	WriteJSON(w, http.StatusOK, ans)
}

// Password login throttling (POST /v1/authn/password is reachable by
// anyone who reaches the decision listener). Over a budget the request is
// answered 429 rate_limited before any password is checked, so it never
// counts toward the account's block after repeated failures (L8): an
// outsider from one source can cause at most passwordSourceFailures
// failures per window, not lock accounts at will.
const (
	passwordSourceAttempts = 60 // attempts per source per minute
	passwordSourceFailures = 10 // failed logins per source per 15 minutes
	passwordUserAttempts   = 30 // attempts per username per minute
)

// passwordThrottle holds the budgets of the password login.
type passwordThrottle struct {
	sourceAttempts, sourceFailures, userAttempts *pdp.Throttle
}

func newPasswordThrottle(now func() time.Time) *passwordThrottle {
	return &passwordThrottle{
		sourceAttempts: pdp.NewThrottle(passwordSourceAttempts, time.Minute, now),
		sourceFailures: pdp.NewThrottle(passwordSourceFailures, 15*time.Minute, now),
		userAttempts:   pdp.NewThrottle(passwordUserAttempts, time.Minute, now),
	}
}

// allow reports whether a password attempt from source for username is
// within every budget, counting it if so.
func (p *passwordThrottle) allow(source, username string) bool {
	if p.sourceFailures.Limited(source) || !p.sourceAttempts.Take(source) {
		return false
	}
	return p.userAttempts.Take(strings.ToLower(username))
}

// failed counts a failed login (wrong password, unknown user, blocked
// account) against its source.
func (p *passwordThrottle) failed(source string) { p.sourceFailures.Add(source) }
