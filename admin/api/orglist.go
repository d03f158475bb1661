package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleListOrgs is GET /v1/orgs (ListOrgs).
func (s *Server) handleListOrgs(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	p, err := s.svc.ListOrgs(r.Context(), c, r.URL.Query())
	answerPage(s, w, r, "orgs", p, err)
}
