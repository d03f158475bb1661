package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleTransferAdmin is POST /v1/users/{id}/transfer-admin
// (TransferAdmin).
func (s *Server) handleTransferAdmin(w http.ResponseWriter, r *http.Request, c *admin.Caller, req *admin.TransferRequest) {
	rev, g, err := s.svc.TransferAdmin(r.Context(), c, pathVar(r, "id"), req)
	s.reply(w, r, http.StatusOK, grantAnswer{Revision: rev, Grant: g}, err)
}
