package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handlePutRight is PUT /v1/rights/{id} (PutRight): 201 when the entry
// is new, 200 when it is replaced.
func (s *Server) handlePutRight(w http.ResponseWriter, r *http.Request, c *admin.Caller, req *admin.RightRequest) {
	rev, right, created, err := s.svc.PutRight(r.Context(), c, pathVar(r, "id"), req)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	s.reply(w, r, status, rightAnswer{Revision: rev, Right: right}, err)
}
