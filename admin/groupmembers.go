package admin

import (
	"context"
	"net/url"

	"github.com/adgang/adgang/store"
)

// groupInlineMembers is how many member ids GET /v1/groups/{id} still
// shows inline (the first page, by user id); member_count says how many
// there are, and GET /v1/groups/{id}/members pages through all of them.
const groupInlineMembers = defaultPageLimit

// GroupMember is one line of GET /v1/groups/{id}/members.
type GroupMember struct {
	UserID string           `json:"user_id"`
	Name   string           `json:"name"`
	Email  string           `json:"email,omitempty"`
	Status store.UserStatus `json:"status"`
}

// ListMembers pages through a group's members, by user id.
func (s *Service) ListMembers(ctx context.Context, c *Caller, id string, q url.Values) (*Page[GroupMember], error) {
	return checkedList(ctx, s, q, validGroupID(id), func(tx *store.Tx, pg page) ([]GroupMember, string, error) {
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
		members := []GroupMember{}
		for _, uid := range ids {
			u, err := tx.GetUser(uid)
			if store.IsNotFound(err) {
				continue
			} else if err != nil {
				return nil, "", err
			}
			members = append(members, GroupMember{UserID: u.ID, Name: u.Name, Email: u.Email, Status: u.Status})
		}
		return members, next, nil
	})
}
