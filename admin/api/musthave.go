package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleTransferAdmin is POST /v1/users/{id}/transfer-admin
// (TransferAdmin).
func (s *Server) handleTransferAdmin(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	var req admin.TransferRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	rev, g, err := s.svc.TransferAdmin(r.Context(), c, pathVar(r, "id"), &req)
	s.reply(w, r, http.StatusOK, grantAnswer{Revision: rev, Grant: g}, err)
}
