package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleMe is GET /v1/me (Me).
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	u, p, err := s.svc.Me(r.Context(), c)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, meAnswer{Revision: p.Revision, User: u, Rights: p.Rights})
}
