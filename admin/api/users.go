package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleCreateUser is POST /v1/orgs/{cvr}/users (CreateUser).
func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	var req admin.UserCreateRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	rev, out, act, err := s.svc.CreateUser(r.Context(), c, pathVar(r, "cvr"), &req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ans := userCreatedAnswer{Revision: rev, User: out.User, Grants: nonNil(out.Grants)}
	if act.Method != "" {
		ans.Activation = &activationInfo{Method: act.Method, Code: act.Code, MailID: act.MailID}
	}
	writeJSON(w, http.StatusCreated, ans)
}

// handleGetUser is GET /v1/users/{id} (GetUser).
func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	rev, u, roles, err := s.svc.GetUser(r.Context(), c, pathVar(r, "id"))
	s.reply(w, r, http.StatusOK, userViewAnswer{Revision: rev, User: u, AdminRoles: nonNil(roles)}, err)
}

// handlePatchUser is PATCH /v1/users/{id} (PatchUser).
func (s *Server) handlePatchUser(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	var req admin.UserPatchRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	rev, out, err := s.svc.PatchUser(r.Context(), c, pathVar(r, "id"), &req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userAnswer{Revision: rev, User: out.User})
}

// handleDeleteUser is DELETE /v1/users/{id} (DeleteUser).
func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	id := pathVar(r, "id")
	rev, err := s.svc.DeleteUser(r.Context(), c, id)
	s.reply(w, r, http.StatusOK, deletedAnswer{Revision: rev, Deleted: id}, err)
}

// handleUserStatus is POST /v1/users/{id}/inactivate, …/activate and
// …/deactivate (SetUserStatus).
func (s *Server) handleUserStatus(action string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
		var req admin.StatusRequest
		if err := decodeOptionalBody(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		rev, out, err := s.svc.SetUserStatus(r.Context(), c, pathVar(r, "id"), action, &req)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, userAnswer{Revision: rev, User: out.User})
	}
}

// handleListUsers is GET /v1/orgs/{cvr}/users (ListUsers).
func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	p, err := s.svc.ListUsers(r.Context(), c, pathVar(r, "cvr"), r.URL.Query())
	answerPage(s, w, r, "users", p, err)
}
