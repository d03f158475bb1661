package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleListKnocks is GET /v1/orgs/{cvr}/knocks (ListKnocks).
func (s *Server) handleListKnocks(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	p, err := s.svc.ListKnocks(r.Context(), c, pathVar(r, "cvr"), r.URL.Query())
	answerPage(s, w, r, "knocks", p, err)
}

// handleAcceptKnock is POST /v1/knocks/{id}/accept (AcceptKnock).
func (s *Server) handleAcceptKnock(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	var req admin.UserCreateRequest
	if err := decodeOptionalBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	rev, out, err := s.svc.AcceptKnock(r.Context(), c, pathVar(r, "id"), &req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, userCreatedAnswer{Revision: rev, User: out.User, Grants: nonNil(out.Grants)})
}

// handleDeleteKnock is DELETE /v1/knocks/{id} (DeleteKnock).
func (s *Server) handleDeleteKnock(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	id := pathVar(r, "id")
	rev, err := s.svc.DeleteKnock(r.Context(), c, id)
	s.reply(w, r, http.StatusOK, deletedAnswer{Revision: rev, Deleted: id}, err)
}

// handleDeleteKnocks is POST /v1/orgs/{cvr}/knocks:delete (DeleteKnocks).
func (s *Server) handleDeleteKnocks(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	var req admin.KnocksDeleteRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	rev, deleted, err := s.svc.DeleteKnocks(r.Context(), c, pathVar(r, "cvr"), &req)
	s.reply(w, r, http.StatusOK, deletedListAnswer{Revision: rev, Deleted: deleted}, err)
}
