package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleAcceptKnock is POST /v1/knocks/{id}/accept (AcceptKnock).
func (s *Server) handleAcceptKnock(w http.ResponseWriter, r *http.Request, c *admin.Caller, req *admin.UserCreateRequest) {
	rev, out, err := s.svc.AcceptKnock(r.Context(), c, pathVar(r, "id"), req)
	s.replyWith(w, r, http.StatusCreated, err, func() any { return userCreatedOf(rev, out) })
}

// handleDeleteKnocks is POST /v1/orgs/{cvr}/knocks:delete (DeleteKnocks).
func (s *Server) handleDeleteKnocks(w http.ResponseWriter, r *http.Request, c *admin.Caller, req *admin.KnocksDeleteRequest) {
	rev, deleted, err := s.svc.DeleteKnocks(r.Context(), c, pathVar(r, "cvr"), req)
	s.reply(w, r, http.StatusOK, deletedListAnswer{Revision: rev, Deleted: deleted}, err)
}
