package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

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
