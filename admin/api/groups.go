package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
)

// handleCreateGroup is POST /v1/orgs/{cvr}/groups (CreateGroup).
func (s *Server) handleCreateGroup(w http.ResponseWriter, r *http.Request, c *admin.Caller, req *admin.GroupCreateRequest) {
	rev, g, err := s.svc.CreateGroup(r.Context(), c, pathVar(r, "cvr"), req)
	s.reply(w, r, http.StatusCreated, groupAnswer{Revision: rev, Group: g}, err)
}

// handleGetGroup is GET /v1/groups/{id} (GetGroup): the first members
// inline.
func (s *Server) handleGetGroup(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
	v, err := s.svc.GetGroup(r.Context(), c, pathVar(r, "id"))
	s.replyWith(w, r, http.StatusOK, err, func() any {
		return groupViewAnswer{Revision: v.Revision, Group: v.Group, Members: nonNil(v.Members),
			MemberCount: v.MemberCount, MembersNextPageToken: v.MembersNext, Grants: nonNil(v.Grants)}
	})
}

// handleAddMember is POST /v1/groups/{id}/members (AddMember).
func (s *Server) handleAddMember(w http.ResponseWriter, r *http.Request, c *admin.Caller, req *admin.MemberRequest) {
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
