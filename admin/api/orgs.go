package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleCreateOrg is POST /v1/orgs (CreateOrg).
func (s *Server) handleCreateOrg(w http.ResponseWriter, r *http.Request, c *admin.Caller, req *admin.OrgCreateRequest) {
	rev, o, err := s.svc.CreateOrg(r.Context(), c, req)
	s.reply(w, r, http.StatusCreated, orgAnswer{Revision: rev, Org: o}, err)
}

// handleGetOrg is GET /v1/orgs/{cvr} (GetOrg).
func (s *Server) handleGetOrg(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	rev, o, groups, err := s.svc.GetOrg(r.Context(), c, pathVar(r, "cvr"))
	s.reply(w, r, http.StatusOK, orgViewAnswer{Revision: rev, Org: o, Groups: nonNil(groups)}, err)
}

// handlePatchOrg is PATCH /v1/orgs/{cvr} (PatchOrg).
func (s *Server) handlePatchOrg(w http.ResponseWriter, r *http.Request, c *admin.Caller, req *admin.OrgPatchRequest) {
	rev, o, err := s.svc.PatchOrg(r.Context(), c, pathVar(r, "cvr"), req)
	s.reply(w, r, http.StatusOK, orgAnswer{Revision: rev, Org: o}, err)
}
