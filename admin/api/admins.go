package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleCreateAdmin is POST /v1/orgs/{cvr}/admins (CreateAdmin).
func (s *Server) handleCreateAdmin(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	cvr := pathVar(r, "cvr")
	var req admin.AdminRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	rev, g, err := s.svc.CreateAdmin(r.Context(), c, cvr, &req)
	s.reply(w, r, http.StatusCreated, grantAnswer{Revision: rev, Grant: g}, err)
}

// handleListAdmins is GET /v1/orgs/{cvr}/admins (ListAdmins).
func (s *Server) handleListAdmins(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	p, err := s.svc.ListAdmins(r.Context(), c, pathVar(r, "cvr"), r.URL.Query())
	answerPage(s, w, r, "admins", p, err)
}
