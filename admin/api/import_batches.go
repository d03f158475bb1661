package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleRetireImport is POST /v1/imports/{id}/retire (RetireImport).
func (s *Server) handleRetireImport(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	rev, b, err := s.svc.RetireImport(r.Context(), c, pathVar(r, "id"))
	s.reply(w, r, http.StatusOK, importAnswer{Revision: rev, Import: b}, err)
}
