package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleReadNotification is POST /v1/notifications/{id}/read
// (ReadNotification).
func (s *Server) handleReadNotification(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	rev, n, err := s.svc.ReadNotification(r.Context(), c, pathVar(r, "id"))
	s.reply(w, r, http.StatusOK, notificationAnswer{Revision: rev, Notification: n}, err)
}
