package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleListDecisions is GET /v1/decisions (ListDecisions): the answer
// has no revision.
func (s *Server) handleListDecisions(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	p, err := s.svc.ListDecisions(r.Context(), c, r.URL.Query())
	s.replyWith(w, r, http.StatusOK, err, func() any {
		return decisionsAnswer{Decisions: nonNil(p.Items), NextPageToken: p.Next}
	})
}

// handleGetDecision is GET /v1/decisions/{decision_id} (GetDecision).
func (s *Server) handleGetDecision(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	rec, err := s.svc.GetDecision(r.Context(), c, pathVar(r, "decision_id"))
	s.reply(w, r, http.StatusOK, rec, err)
}
