package api

import (
	"io"
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleImportTemplate is GET /v1/imports/template.csv (admin.ImportTemplate).
func (s *Server) handleImportTemplate(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="adgang-import.csv"`)
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, admin.ImportTemplate())
}

// handleImport is POST /v1/orgs/{cvr}/imports (Import); the report is
// streamed.
func (s *Server) handleImport(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	rep, err := s.svc.Import(r.Context(), c, pathVar(r, "cvr"), r.URL.Query(), r.Body, r.ContentLength)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if err := rep.Encode(w); err != nil {
		s.log.Debug().Err(err).Msg("admin: write import report")
	}
}
