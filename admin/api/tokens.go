package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleCreateToken is POST /v1/tokens (Service.CreateToken); the answer is
// never cached.
func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	var req admin.TokenRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	rev, tok, plain, capped, err := s.svc.CreateToken(r.Context(), c, &req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, tokenAnswer{Revision: rev, ID: tok.ID, Token: plain, UserID: tok.UserID,
		Superadmin: tok.Superadmin, ExpiresAt: tok.ExpiresAt, ExpiresAtCapped: capped})
}

// handleListTokens is GET /v1/tokens (ListTokens).
func (s *Server) handleListTokens(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	p, err := s.svc.ListTokens(r.Context(), c, r.URL.Query())
	answerPage(s, w, r, "tokens", p, err)
}

// handleDeleteToken is DELETE /v1/tokens/{id} (DeleteToken).
func (s *Server) handleDeleteToken(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	id := pathVar(r, "id")
	rev, err := s.svc.DeleteToken(r.Context(), c, id)
	s.reply(w, r, http.StatusOK, deletedAnswer{Revision: rev, Deleted: id}, err)
}
