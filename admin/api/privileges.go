package api

import (
	"io"
	"net/http"

	"github.com/adgang/adgang/admin"
	"github.com/adgang/adgang/pdp"
)

// handlePrivilegesCheck is POST /v1/orgs/{cvr}/privileges:check
// (PrivilegesCheck); the body is at most pdp.MaxPrivilegeList bytes.
func (s *Server) handlePrivilegesCheck(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, pdp.MaxPrivilegeList))
	if err != nil {
		s.writeError(w, r, invalid("privilege list larger than %d bytes", pdp.MaxPrivilegeList))
		return
	}
	ans, err := s.svc.PrivilegesCheck(r.Context(), c, pathVar(r, "cvr"), r.URL.Query().Get("user_id"), body)
	s.replyWith(w, r, http.StatusOK, err, func() any {
		return privilegesAnswer{Revision: ans.Revision, Grants: ans.Grants, Refused: ans.Refused}
	})
}
