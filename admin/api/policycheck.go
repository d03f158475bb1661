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
	writeJSON(w, http.StatusOK, map[string]any{"action": res.Action, "allow": v.Allow, "reasons": nonNil(v.Reasons),
		"policy": v.Policy, "revision": res.Revision, "dry_run": true})
}
