package pdp

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/adgang/adgang/store"
)

// RequireBearer guards the decision listener with a shared secret
// (ADGANG_DECISION_TOKEN): every request must carry
// `Authorization: Bearer <token>`, compared in constant time, or it is
// answered 401 with the JSON error shape. GET /health stays open, so
// load balancers and orchestrators can probe readiness without the
// secret; /metrics is guarded like the decision routes.
func RequireBearer(token string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			next.ServeHTTP(w, r)
			return
		}
		scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		// Hashing both sides makes the comparison independent of the
		// length of a guess as well as of its content.
		got := sha256.Sum256([]byte(strings.TrimSpace(cred)))
		if !ok || !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="adgang-decision"`)
			WriteError(w, store.Errorf(store.EUnauthorized, "the decision API needs Authorization: Bearer with the decision token"))
			return
		}
		next.ServeHTTP(w, r)
	})
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
	sourceAttempts, sourceFailures, userAttempts *Throttle
}

func newPasswordThrottle(now func() time.Time) *passwordThrottle {
	return &passwordThrottle{
		sourceAttempts: NewThrottle(passwordSourceAttempts, time.Minute, now),
		sourceFailures: NewThrottle(passwordSourceFailures, 15*time.Minute, now),
		userAttempts:   NewThrottle(passwordUserAttempts, time.Minute, now),
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
