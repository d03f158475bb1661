package api

import (
	"encoding/json"
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handlePolicyCheck is POST /v1/policy/check (PolicyCheck).
func (s *Server) handlePolicyCheck(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	var raw map[string]json.RawMessage
	if err := decodeBody(w, r, &raw); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.svc.PolicyCheck(r.Context(), c, raw)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v := res.Verdict
	writeJSON(w, http.StatusOK, checkAnswer{Action: res.Action, Allow: v.Allow, Reasons: nonNil(v.Reasons),
		Policy: v.Policy, Revision: res.Revision, DryRun: true})
}
