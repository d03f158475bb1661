package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleListMembers is GET /v1/groups/{id}/members (ListMembers).
func (s *Server) handleListMembers(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	p, err := s.svc.ListMembers(r.Context(), c, pathVar(r, "id"), r.URL.Query())
	answerPage(s, w, r, "members", p, err)
}
