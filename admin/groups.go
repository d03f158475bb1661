package admin

import (
	"context"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/adgang/adgang/store"
)

// GroupCreateRequest is the body of POST /v1/orgs/{cvr}/groups. Only
// custom groups are made by hand; system groups follow the P-units.
type GroupCreateRequest struct {
	Name string `json:"name"`
}

func (s *Service) planGroupCreate(c *Caller, cvr string, req *GroupCreateRequest, out **store.Group) planFunc {
	return func(tx *store.Tx) (*plan, error) {
		if err := validCVR(cvr); err != nil {
			return nil, err
		}
		if err := s.authorize(c, cvr, "organisation", objGroup, actCreate); err != nil {
			return nil, err
		}
		org, err := loadOrg(tx, cvr)
		if err != nil {
			return nil, err
		}
		name := strings.TrimSpace(req.Name)
		if name == "" {
			return nil, invalid("name is required")
		}
		if err := validText("name", name, 200); err != nil {
			return nil, err
		}
		g := &store.Group{ID: uuid.NewString(), Org: cvr, Name: name, Kind: store.GroupCustom}
		in := s.baseInput(c, "group.create", org)
		in["change"] = map[string]any{"id": g.ID, "name": g.Name, "kind": g.Kind, "org": g.Org}
		return &plan{checks: []map[string]any{in}, apply: func(tx *store.Tx) error {
			if err := tx.CreateGroup(g); err != nil {
				return err
			}
			*out = g
			return nil
		}}, nil
	}
}

// CreateGroup creates a custom group in cvr (group.create).
func (s *Service) CreateGroup(ctx context.Context, c *Caller, cvr string, req *GroupCreateRequest) (uint64, *store.Group, error) {
	var g *store.Group
	rev, err := s.write(ctx, c, s.planGroupCreate(c, cvr, req, &g))
	return rev, g, err
}

// GroupView is a group as GET /v1/groups/{id} shows it: its first
// members inline (MembersNext pages on), how many it has, and its grants.
type GroupView struct {
	Revision    uint64
	Group       *store.Group
	Members     []string
	MemberCount int
	MembersNext string
	Grants      []*store.Grant
}

// GetGroup reads the group id, its first members and its grants.
func (s *Service) GetGroup(ctx context.Context, c *Caller, id string) (*GroupView, error) {
	if err := validGroupID(id); err != nil {
		return nil, err
	}
	rev := s.st.Revision()
	var g *store.Group
	var members []string
	var grants []*store.Grant
	err := s.st.View(ctx, func(tx *store.Tx) error {
		var err error
		if g, err = loadGroup(tx, id); err != nil {
			return err
		}
		if err := s.authorize(c, g.Org, "group", objGroup, actRead); err != nil {
			return err
		}
		if members, err = tx.Members(id); err != nil {
			return err
		}
		grants, err = tx.GrantsOfGroup(id)
		return err
	})
	if err != nil {
		return nil, err
	}
	// A system group can hold every user of a P-unit: only the first
	// members are inline; GET /v1/groups/{id}/members pages through all.
	count := len(members)
	members, next := pageOf(page{Limit: groupInlineMembers}, members, func(id string) string { return id })
	return &GroupView{Revision: rev, Group: g, Members: members, MemberCount: count, MembersNext: next, Grants: grants}, nil
}

func (s *Service) planGroupDelete(c *Caller, id string) planFunc {
	return func(tx *store.Tx) (*plan, error) {
		if err := validGroupID(id); err != nil {
			return nil, err
		}
		g, err := loadGroup(tx, id)
		if err != nil {
			return nil, err
		}
		if err := s.authorize(c, g.Org, "group", objGroup, actDelete); err != nil {
			return nil, err
		}
		org, err := loadOrg(tx, g.Org)
		if err != nil {
			return nil, err
		}
		holders, err := s.adminHolders(tx, g.Org)
		if err != nil {
			return nil, err
		}
		in := s.baseInput(c, "group.delete", org)
		in["target"], in["admin_holders"] = groupTarget(g), holders
		// A13 (Rego) refuses a system group; the store keeps its own check.
		return &plan{checks: []map[string]any{in}, apply: func(tx *store.Tx) error { return tx.DeleteGroup(id) }}, nil
	}
}

// DeleteGroup deletes the group id (group.delete).
func (s *Service) DeleteGroup(ctx context.Context, c *Caller, id string) (uint64, error) {
	return s.write(ctx, c, s.planGroupDelete(c, id))
}

// MemberRequest is the body of POST /v1/groups/{id}/members. The user may
// belong to another organisation.
type MemberRequest struct {
	UserID string `json:"user_id"`
}

// planMember adds (group.member.add) or removes (group.member.remove) a
// member of a group.
func (s *Service) planMember(c *Caller, groupID, userID string, add bool) planFunc {
	return func(tx *store.Tx) (*plan, error) {
		if err := validGroupID(groupID); err != nil {
			return nil, err
		}
		if err := validUserID(userID); err != nil {
			return nil, err
		}
		g, err := loadGroup(tx, groupID)
		if err != nil {
			return nil, err
		}
		act, action := actCreate, "group.member.add"
		if !add {
			act, action = actDelete, "group.member.remove"
		}
		if err := s.authorize(c, g.Org, "group", objMember, act); err != nil {
			return nil, err
		}
		org, err := loadOrg(tx, g.Org)
		if err != nil {
			return nil, err
		}
		member := map[string]any{"id": userID}
		if u, err := loadUser(tx, userID); err == nil {
			member["kind"], member["org"] = u.Kind, u.Org
		} else if add || !store.IsNotFound(err) {
			return nil, err
		}
		if add {
			if g.Kind != store.GroupSystem {
				groups, err := tx.GroupsOfUser(userID)
				if err != nil {
					return nil, err
				}
				if slices.Contains(groups, groupID) {
					return nil, store.Errorf(store.EConflict, "the user is already a member of the group")
				}
			}
		}
		holders, err := s.adminHolders(tx, g.Org)
		if err != nil {
			return nil, err
		}
		in := s.baseInput(c, action, org)
		in["target"], in["change"], in["admin_holders"] = groupTarget(g), map[string]any{"user_id": userID}, holders
		in["member"] = member // A2: a function certificate user's memberships are fixed too
		return (&plan{checks: []map[string]any{in}, apply: func(tx *store.Tx) error {
			if add {
				return tx.AddMember(groupID, userID)
			}
			err := tx.RemoveMember(groupID, userID)
			if store.IsNotFound(err) {
				return notFound("member")
			}
			return err
		}}).watchRoles(g.Org, userID), nil
	}
}

// AddMember adds the user userID to the group id (group.member.add).
func (s *Service) AddMember(ctx context.Context, c *Caller, id, userID string) (uint64, error) {
	return s.write(ctx, c, s.planMember(c, id, userID, true))
}

// RemoveMember removes the user userID from the group id
// (group.member.remove).
func (s *Service) RemoveMember(ctx context.Context, c *Caller, id, userID string) (uint64, error) {
	return s.write(ctx, c, s.planMember(c, id, userID, false))
}
