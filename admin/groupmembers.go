package admin

import (
	"net/http"

	"github.com/adgang/adgang/store"
)

// groupInlineMembers is how many member ids GET /v1/groups/{id} still
// shows inline (the first page, by user id); member_count says how many
// there are, and GET /v1/groups/{id}/members pages through all of them.
const groupInlineMembers = defaultPageLimit

// groupMember is one line of GET /v1/groups/{id}/members.
type groupMember struct {
	UserID string           `json:"user_id"`
	Name   string           `json:"name"`
	Email  string           `json:"email,omitempty"`
	Status store.UserStatus `json:"status"`
}

// handleListMembers pages through a group's members, by user id.
func (s *Service) handleListMembers(w http.ResponseWriter, r *http.Request, c *Caller) {
	id := pathVar(r, "id")
	serveCheckedList(s, w, r, "members", validGroupID(id), func(tx *store.Tx, pg page) ([]groupMember, string, error) {
		g, err := loadGroup(tx, id)
		if err != nil {
			return nil, "", err
		}
		if err := s.authorize(c, g.Org, "group", objGroup, actRead); err != nil {
			return nil, "", err
		}
		ids, err := tx.Members(id)
		if err != nil {
			return nil, "", err
		}
		ids, next := pageOf(pg, ids, func(id string) string { return id })
		members := []groupMember{}
		for _, uid := range ids {
			u, err := tx.GetUser(uid)
			if store.IsNotFound(err) {
				continue
			} else if err != nil {
				return nil, "", err
			}
			members = append(members, groupMember{UserID: u.ID, Name: u.Name, Email: u.Email, Status: u.Status})
		}
		return members, next, nil
	})
}
