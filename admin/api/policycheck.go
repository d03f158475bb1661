package api

import (
	"encoding/json"
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handlePolicyCheck is POST /v1/policy/check (PolicyCheck): a dry run.
func (s *Server) handlePolicyCheck(w http.ResponseWriter, r *http.Request, c *admin.Caller, raw *map[string]json.RawMessage) {
	res, err := s.svc.PolicyCheck(r.Context(), c, *raw)
	s.replyWith(w, r, http.StatusOK, err, func() any {
		v := res.Verdict
		return checkAnswer{Action: res.Action, Allow: v.Allow, Reasons: nonNil(v.Reasons),
			Policy: v.Policy, Revision: res.Revision, DryRun: true}
	})
}
