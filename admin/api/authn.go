package api

import (
	"net/http"
	"strings"

	"github.com/adgang/adgang/admin"
	"github.com/adgang/adgang/store"
)

// authenticate resolves the bearer credentials of r to a caller
// (admin.Service.Authenticate), or refuses them with 401 unauthorized.
func (s *Server) authenticate(r *http.Request) (*admin.Caller, error) {
	scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	cred = strings.TrimSpace(cred)
	if !ok || !strings.EqualFold(scheme, "Bearer") || cred == "" {
		return nil, store.Errorf(store.EUnauthorized, "%s", "a bearer token is required")
	}
	return s.svc.Authenticate(r.Context(), cred)
}
