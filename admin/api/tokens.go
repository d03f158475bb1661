package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleCreateToken is POST /v1/tokens (Service.CreateToken); the answer is
// never cached.
func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request, c *admin.Caller, req *admin.TokenRequest) {
	rev, tok, plain, capped, err := s.svc.CreateToken(r.Context(), c, req)
	s.replyWith(w, r, http.StatusCreated, err, func() any {
		w.Header().Set("Cache-Control", "no-store") // the secret's answer only, not a refusal
		return tokenAnswer{Revision: rev, ID: tok.ID, Token: plain, UserID: tok.UserID,
			Superadmin: tok.Superadmin, ExpiresAt: tok.ExpiresAt, ExpiresAtCapped: capped}
	})
}
