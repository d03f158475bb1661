package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleListImports is GET /v1/orgs/{cvr}/imports (ListImports).
func (s *Server) handleListImports(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	p, err := s.svc.ListImports(r.Context(), c, pathVar(r, "cvr"), r.URL.Query())
	answerPage(s, w, r, "imports", p, err)
}

// handleRetireImport is POST /v1/imports/{id}/retire.
func (s *Server) handleRetireImport(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	if err := decodeOptionalBody(w, r, &struct{}{}); err != nil {
		s.writeError(w, r, err)
		return
	}
	rev, b, err := s.svc.RetireImport(r.Context(), c, pathVar(r, "id"))
	s.reply(w, r, http.StatusOK, importAnswer{Revision: rev, Import: b}, err)
}
