package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
	pdpapi "github.com/adgang/adgang/pdp/api"
)

// handleSendActivation is POST /v1/users/{id}/activation (SendActivation).
func (s *Server) handleSendActivation(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	id := pathVar(r, "id")
	rev, out, err := s.svc.SendActivation(r.Context(), c, id)
	s.replyWith(w, r, http.StatusOK, err, func() any {
		return activationAnswer{Revision: rev, UserID: id, Method: out.Method, Code: out.Code, MailID: out.MailID}
	})
}

// handleBulkActivation is POST /v1/orgs/{cvr}/activations
// (BulkActivation).
func (s *Server) handleBulkActivation(w http.ResponseWriter, r *http.Request, c *admin.Caller, req *admin.BulkRequest) {
	rev, results, err := s.svc.BulkActivation(r.Context(), c, pathVar(r, "cvr"), req)
	s.reply(w, r, http.StatusOK, bulkAnswerOf(rev, results), err)
}

// handleActivate is POST /v1/activate (Activate): no admin credentials.
func (s *Server) handleActivate(w http.ResponseWriter, r *http.Request, _ *admin.Caller, req *admin.ActivateRequest) {
	rev, user, err := s.svc.Activate(r.Context(), pdpapi.SourceOf(r), req)
	s.replyWith(w, r, http.StatusOK, err, func() any {
		return activatedAnswer{Revision: rev, UserID: user.ID, Status: user.Status}
	})
}

// handleLoginActivity is GET /v1/orgs/{cvr}/login-activity
// (LoginActivity).
func (s *Server) handleLoginActivity(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	p, since, err := s.svc.LoginActivity(r.Context(), c, pathVar(r, "cvr"), r.URL.Query())
	s.replyWith(w, r, http.StatusOK, err, func() any {
		return activityPage{Revision: p.Revision, Users: nonNil(p.Items), NextPageToken: p.Next, NotSince: since}
	})
}

// handleBulkStatus is POST /v1/orgs/{cvr}/users:inactivate and
// …:activate (BulkStatus).
func (s *Server) handleBulkStatus(action string) bodyHandler[admin.BulkRequest] {
	return func(w http.ResponseWriter, r *http.Request, c *admin.Caller, req *admin.BulkRequest) {
		rev, results, err := s.svc.BulkStatus(r.Context(), c, pathVar(r, "cvr"), action, req)
		s.reply(w, r, http.StatusOK, bulkAnswerOf(rev, results), err)
	}
}

// handleCreateAssociation is POST /v1/orgs/{cvr}/associations
// (CreateAssociation).
func (s *Server) handleCreateAssociation(w http.ResponseWriter, r *http.Request, c *admin.Caller, req *admin.AssociationRequest) {
	rev, out, err := s.svc.CreateAssociation(r.Context(), c, pathVar(r, "cvr"), req)
	s.replyWith(w, r, http.StatusCreated, err, func() any { return userCreatedOf(rev, out) })
}

// handleConfirm is POST /v1/users/{id}/confirm (Confirm).
func (s *Server) handleConfirm(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	rev, out, err := s.svc.Confirm(r.Context(), c, pathVar(r, "id"))
	s.replyWith(w, r, http.StatusOK, err, func() any { return userAnswer{Revision: rev, User: out.User} })
}

// handleLifecyclePreview is GET /v1/orgs/{cvr}/lifecycle
// (LifecyclePreview).
func (s *Server) handleLifecyclePreview(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	p, at, err := s.svc.LifecyclePreview(r.Context(), c, pathVar(r, "cvr"), r.URL.Query())
	s.replyWith(w, r, http.StatusOK, err, func() any {
		return lifecyclePage{Revision: p.Revision, Actions: nonNil(p.Items), NextPageToken: p.Next, At: at}
	})
}

// handlePasswordReset is POST /v1/users/{id}/password:reset
// (ResetPassword): the temporary password, shown once.
func (s *Server) handlePasswordReset(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	id := pathVar(r, "id")
	rev, out, err := s.svc.ResetPassword(r.Context(), c, id)
	s.replyWith(w, r, http.StatusOK, err, func() any {
		return passwordResetAnswer{Revision: rev, UserID: id, TemporaryPassword: out.Password,
			PasswordStatus: "temporary", MailID: out.MailID}
	})
}

// handleUnblock is POST /v1/users/{id}/unblock (UnblockPassword).
func (s *Server) handleUnblock(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	id := pathVar(r, "id")
	rev, err := s.svc.UnblockPassword(r.Context(), c, id)
	s.reply(w, r, http.StatusOK, userIDAnswer{Revision: rev, UserID: id}, err)
}
