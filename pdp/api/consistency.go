package api

import (
	"net/http"
	"strconv"

	"github.com/adgang/adgang/store"
)

// MinRevisionHeader carries the consistency token on every route (SPEC §8):
// the answer is checked valid at this store revision or a later one.
const MinRevisionHeader = "Adgang-Min-Revision"

// MinRevision reads the Adgang-Min-Revision header (0 when absent).
func MinRevision(r *http.Request) (uint64, error) {
	h := r.Header.Get(MinRevisionHeader)
	if h == "" {
		return 0, nil
	}
	rev, err := strconv.ParseUint(h, 10, 64)
	if err != nil {
		return 0, store.Errorf(store.EInvalid, "%s must be a store revision (a whole number)", MinRevisionHeader)
	}
	return rev, nil
}

// withConsistency makes every decision route wait for the request's
// Adgang-Min-Revision (503 revision_not_reached after --min-revision-wait),
// and refuse with 503 while the replica is older than --max-staleness.
// /health and /metrics answer regardless: they report that state.
func (s *Server) withConsistency(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" || r.URL.Path == "/metrics" {
			next.ServeHTTP(w, r)
			return
		}
		if err := s.eng.Fresh(); err != nil {
			WriteError(w, err)
			return
		}
		rev, err := MinRevision(r)
		if err == nil {
			err = s.eng.WaitRevision(r.Context(), rev)
		}
		if err != nil {
			WriteError(w, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}
