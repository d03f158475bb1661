package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleCreateGrant is POST /v1/users/{id}/grants and
// /v1/groups/{id}/grants (CreateGrant): a right granted to the user or
// group {id}, as holderType says.
func (s *Server) handleCreateGrant(holderType string) bodyHandler[admin.GrantRequest] {
	return func(w http.ResponseWriter, r *http.Request, c *admin.Caller, req *admin.GrantRequest) {
		rev, g, err := s.svc.CreateGrant(r.Context(), c, holderType, pathVar(r, "id"), req)
		s.reply(w, r, http.StatusCreated, grantAnswer{Revision: rev, Grant: g}, err)
	}
}
