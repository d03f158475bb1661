package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleCreateAnonymityRequest is POST /v1/users/{id}/anonymity-requests
// (CreateAnonymityRequest).
func (s *Server) handleCreateAnonymityRequest(w http.ResponseWriter, r *http.Request, c *admin.Caller, body *admin.AnonymityRequestBody) {
	rev, out, err := s.svc.CreateAnonymityRequest(r.Context(), c, pathVar(r, "id"), body)
	s.reply(w, r, http.StatusCreated, anonymityAnswer{Revision: rev, AnonymityRequest: out}, err)
}

// handleDecideAnonymityRequest is POST /v1/anonymity-requests/{id}/approve
// and …/reject (DecideAnonymityRequest).
func (s *Server) handleDecideAnonymityRequest(approve bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
		rev, out, created, err := s.svc.DecideAnonymityRequest(r.Context(), c, pathVar(r, "id"), approve)
		s.reply(w, r, http.StatusOK, anonymityAnswer{Revision: rev, AnonymityRequest: out, User: created}, err)
	}
}
