package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
	"github.com/adgang/adgang/store"
)

// handleCreateUserGrant is POST /v1/users/{id}/grants (CreateGrant).
func (s *Server) handleCreateUserGrant(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	s.createGrant(w, r, c, store.HolderUser)
}

// handleCreateGroupGrant is POST /v1/groups/{id}/grants (CreateGrant).
func (s *Server) handleCreateGroupGrant(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	s.createGrant(w, r, c, store.HolderGroup)
}

// handleDeleteGrant is DELETE /v1/grants/{id} (DeleteGrant).
func (s *Server) handleDeleteGrant(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	id := pathVar(r, "id")
	rev, err := s.svc.DeleteGrant(r.Context(), c, id)
	s.reply(w, r, http.StatusOK, deletedAnswer{Revision: rev, Deleted: id}, err)
}

// handleListUserGrants is GET /v1/users/{id}/grants (ListUserGrants).
func (s *Server) handleListUserGrants(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	p, err := s.svc.ListUserGrants(r.Context(), c, pathVar(r, "id"), r.URL.Query())
	answerPage(s, w, r, "grants", p, err)
}

// createGrant grants a right to the user or group {id}.
func (s *Server) createGrant(w http.ResponseWriter, r *http.Request, c *admin.Caller, holderType string) {
	var req admin.GrantRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	rev, g, err := s.svc.CreateGrant(r.Context(), c, holderType, pathVar(r, "id"), &req)
	s.reply(w, r, http.StatusCreated, grantAnswer{Revision: rev, Grant: g}, err)
}
