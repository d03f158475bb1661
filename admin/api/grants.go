package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
	"github.com/adgang/adgang/store"
)

func (s *Server) handleCreateUserGrant(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	s.createGrant(w, r, c, store.HolderUser)
}

func (s *Server) handleCreateGroupGrant(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	s.createGrant(w, r, c, store.HolderGroup)
}

func (s *Server) handleDeleteGrant(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	id := pathVar(r, "id")
	rev, err := s.svc.DeleteGrant(r.Context(), c, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deletedAnswer{Revision: rev, Deleted: id})
}

func (s *Server) handleListUserGrants(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	p, err := s.svc.ListUserGrants(r.Context(), c, pathVar(r, "id"), r.URL.Query())
	answerPage(s, w, r, "grants", p, err)
}

func (s *Server) createGrant(w http.ResponseWriter, r *http.Request, c *admin.Caller, holderType string) {
	var req admin.GrantRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	rev, g, err := s.svc.CreateGrant(r.Context(), c, holderType, pathVar(r, "id"), &req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, grantAnswer{Revision: rev, Grant: g})
}
