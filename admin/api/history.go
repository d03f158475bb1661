package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleHistory is GET /v1/users/{id}/history (UserHistory).
func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	p, err := s.svc.UserHistory(r.Context(), c, pathVar(r, "id"), r.URL.Query())
	answerPage(s, w, r, "events", p, err)
}

// handleOrgAudit is GET /v1/orgs/{cvr}/audit (OrgAudit).
func (s *Server) handleOrgAudit(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	p, err := s.svc.OrgAudit(r.Context(), c, pathVar(r, "cvr"), r.URL.Query())
	answerPage(s, w, r, "events", p, err)
}
