package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleCreateUser is POST /v1/orgs/{cvr}/users (CreateUser): the
// activation issued at creation, if any, is shown once.
func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request, c *admin.Caller, req *admin.UserCreateRequest) {
	rev, out, act, err := s.svc.CreateUser(r.Context(), c, pathVar(r, "cvr"), req)
	s.replyWith(w, r, http.StatusCreated, err, func() any {
		ans := userCreatedOf(rev, out)
		if act.Method != "" {
			ans.Activation = &activationInfo{Method: act.Method, Code: act.Code, MailID: act.MailID}
		}
		return ans
	})
}

// handleGetUser is GET /v1/users/{id} (GetUser).
func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	rev, u, roles, err := s.svc.GetUser(r.Context(), c, pathVar(r, "id"))
	s.reply(w, r, http.StatusOK, userViewAnswer{Revision: rev, User: u, AdminRoles: nonNil(roles)}, err)
}

// handlePatchUser is PATCH /v1/users/{id} (PatchUser).
func (s *Server) handlePatchUser(w http.ResponseWriter, r *http.Request, c *admin.Caller, req *admin.UserPatchRequest) {
	rev, out, err := s.svc.PatchUser(r.Context(), c, pathVar(r, "id"), req)
	s.replyWith(w, r, http.StatusOK, err, func() any { return userAnswer{Revision: rev, User: out.User} })
}

// handleUserStatus is POST /v1/users/{id}/inactivate, …/activate and
// …/deactivate (SetUserStatus).
func (s *Server) handleUserStatus(action string) bodyHandler[admin.StatusRequest] {
	return func(w http.ResponseWriter, r *http.Request, c *admin.Caller, req *admin.StatusRequest) {
		rev, out, err := s.svc.SetUserStatus(r.Context(), c, pathVar(r, "id"), action, req)
		s.replyWith(w, r, http.StatusOK, err, func() any { return userAnswer{Revision: rev, User: out.User} })
	}
}
