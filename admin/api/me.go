package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleMe is GET /v1/me (Me).
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	u, p, err := s.svc.Me(r.Context(), c)
	s.replyWith(w, r, http.StatusOK, err, func() any { return meAnswer{Revision: p.Revision, User: u, Rights: p.Rights} })
}
