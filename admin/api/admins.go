package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleCreateAdmin is POST /v1/orgs/{cvr}/admins (CreateAdmin).
func (s *Server) handleCreateAdmin(w http.ResponseWriter, r *http.Request, c *admin.Caller, req *admin.AdminRequest) {
	rev, g, err := s.svc.CreateAdmin(r.Context(), c, pathVar(r, "cvr"), req)
	s.reply(w, r, http.StatusCreated, grantAnswer{Revision: rev, Grant: g}, err)
}
