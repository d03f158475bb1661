package api

import (
	_ "embed"
	"net/http"

	"github.com/adgang/adgang/admin"
)

// openAPI is the OpenAPI 3 document of the admin API: every route the
// router serves (a test walks both and compares).
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the admin API's OpenAPI 3 document.
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

// handleOpenAPI is GET /openapi.json, unauthenticated.
func (s *Server) handleOpenAPI(w http.ResponseWriter, _ *http.Request, _ *admin.Caller) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPI)
}
