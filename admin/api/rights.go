package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleListRights is GET /v1/rights (ListRights).
func (s *Server) handleListRights(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	p, err := s.svc.ListRights(r.Context(), c, r.URL.Query())
	answerPage(s, w, r, "rights", p, err)
}

// handlePutRight is PUT /v1/rights/{id} (PutRight).
func (s *Server) handlePutRight(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	var req admin.RightRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	rev, right, created, err := s.svc.PutRight(r.Context(), c, pathVar(r, "id"), &req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, rightAnswer{Revision: rev, Right: right})
}
