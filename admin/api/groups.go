package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleCreateGroup is POST /v1/orgs/{cvr}/groups (CreateGroup).
func (s *Server) handleCreateGroup(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	var req admin.GroupCreateRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	rev, g, err := s.svc.CreateGroup(r.Context(), c, pathVar(r, "cvr"), &req)
	s.reply(w, r, http.StatusCreated, groupAnswer{Revision: rev, Group: g}, err)
}

// handleGetGroup is GET /v1/groups/{id} (GetGroup).
func (s *Server) handleGetGroup(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	v, err := s.svc.GetGroup(r.Context(), c, pathVar(r, "id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, groupViewAnswer{Revision: v.Revision, Group: v.Group, Members: nonNil(v.Members),
		MemberCount: v.MemberCount, MembersNextPageToken: v.MembersNext, Grants: nonNil(v.Grants)})
}

// handleDeleteGroup is DELETE /v1/groups/{id} (DeleteGroup).
func (s *Server) handleDeleteGroup(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	id := pathVar(r, "id")
	rev, err := s.svc.DeleteGroup(r.Context(), c, id)
	s.reply(w, r, http.StatusOK, deletedAnswer{Revision: rev, Deleted: id}, err)
}

// handleAddMember is POST /v1/groups/{id}/members (AddMember).
func (s *Server) handleAddMember(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	var req admin.MemberRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	id := pathVar(r, "id")
	rev, err := s.svc.AddMember(r.Context(), c, id, req.UserID)
	s.reply(w, r, http.StatusCreated, memberAnswer{Revision: rev, GroupID: id, UserID: req.UserID}, err)
}

// handleRemoveMember is DELETE /v1/groups/{id}/members/{user_id}
// (RemoveMember).
func (s *Server) handleRemoveMember(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	id, uid := pathVar(r, "id"), pathVar(r, "user_id")
	rev, err := s.svc.RemoveMember(r.Context(), c, id, uid)
	s.reply(w, r, http.StatusOK, memberAnswer{Revision: rev, GroupID: id, UserID: uid}, err)
}
