package store

import (
	"strings"
)

// GetGroup reads a group by id (ENotFound when there is none).
func (tx *Tx) GetGroup(id string) (*Group, error) { return getJSON[Group](tx, prefixGroup+id, "group") }

func (tx *Tx) putGroup(g *Group) error {
	if err := tx.setJSON(prefixGroup+g.ID, g); err != nil {
		return err
	}
	return tx.set(prefixGroupByOrg+g.Org+"/"+g.ID, nil)
}

// CreateGroup stores a new group of an organisation.
func (tx *Tx) CreateGroup(g *Group) error {
	if g.ID == "" || strings.Contains(g.ID, "/") {
		return Errorf(EInvalid, "group id must be non-empty without slashes")
	}
	if g.Kind == GroupSystem {
		return RuleError(EForbidden, "A13", "system_group_immutable", "system groups are made from P-units")
	}
	if strings.HasPrefix(g.ID, systemGroupID("")) {
		return Errorf(EInvalid, "group ids starting with %q are reserved for system groups", systemGroupID(""))
	}
	g.Kind = GroupCustom
	if ok, err := tx.exists(prefixGroup + g.ID); err != nil {
		return err
	} else if ok {
		return RuleError(EConflict, "", "duplicate", "group id already in use")
	}
	if ok, err := tx.exists(prefixOrg + g.Org); err != nil {
		return err
	} else if !ok {
		return Errorf(ENotFound, "organisation not found")
	}
	if g.CreatedAt.IsZero() {
		g.CreatedAt = tx.now
	}
	if err := tx.putGroup(g); err != nil {
		return err
	}
	tx.audit("group.create", g.Org, "", g.ID)
	tx.changed(ChangeGroup, OpCreate, g.Org, "", g.ID, g.ID)
	return nil
}

// DeleteGroup deletes a custom group with its grants and memberships.
// System groups go only with their P-unit (UpdateOrg): A13.
func (tx *Tx) DeleteGroup(id string) error {
	g, err := tx.GetGroup(id)
	if err != nil {
		return err
	}
	if g.Kind == GroupSystem {
		return RuleError(EForbidden, "A13", "system_group_immutable", "system groups follow the organisation's P-units")
	}
	return tx.deleteGroup(id)
}

func (tx *Tx) deleteGroup(id string) error {
	g, err := tx.GetGroup(id)
	if err != nil {
		return err
	}
	for _, gid := range tx.keys(prefixGrantByGroup + id + "/") {
		if err := tx.DeleteGrant(gid); err != nil {
			return err
		}
	}
	for _, uid := range tx.keys(prefixMemberByGroup + id + "/") {
		if err := tx.unlinkMember(id, uid); err != nil {
			return err
		}
		tx.changed(ChangeMember, OpDelete, g.Org, uid, id, id)
	}
	if g.Kind == GroupSystem {
		if err := tx.del(prefixGroupByPUnit + g.PNumber); err != nil {
			return err
		}
	}
	if err := tx.del(prefixGroupByOrg + g.Org + "/" + id); err != nil {
		return err
	}
	if err := tx.del(prefixGroup + id); err != nil {
		return err
	}
	tx.audit("group.delete", g.Org, "", id)
	tx.changed(ChangeGroup, OpDelete, g.Org, "", id, id)
	return nil
}

// ListGroups lists an organisation's groups, custom and system.
func (tx *Tx) ListGroups(cvr string) ([]*Group, error) {
	return loadAll(tx.keys(prefixGroupByOrg+cvr+"/"), tx.GetGroup)
}

// SystemGroup reads the system group of a P-unit.
func (tx *Tx) SystemGroup(pNumber string) (*Group, error) {
	id, err := tx.getRaw(prefixGroupByPUnit+pNumber, "system group")
	if err != nil {
		return nil, err
	}
	return tx.GetGroup(string(id))
}

// AddMember makes a user a member of a group (A13: not a system group).
func (tx *Tx) AddMember(groupID, userID string) error {
	g, err := tx.GetGroup(groupID)
	if err != nil {
		return err
	}
	if g.Kind == GroupSystem {
		return RuleError(EForbidden, "A13", "system_group_immutable", "system group membership follows the P-unit")
	}
	u, err := tx.GetUser(userID)
	if err != nil {
		return err
	}
	if ok, err := tx.exists(prefixMemberByGroup + groupID + "/" + userID); err != nil {
		return err
	} else if ok {
		return nil
	}
	if err := tx.set(prefixMemberByGroup+groupID+"/"+userID, nil); err != nil {
		return err
	}
	if err := tx.set(prefixGroupByMember+userID+"/"+groupID, nil); err != nil {
		return err
	}
	tx.Audit(AuditEvent{Type: "group.member.add", Org: g.Org, UserID: u.ID, Object: groupID})
	tx.changed(ChangeMember, OpCreate, g.Org, u.ID, groupID, groupID)
	return nil
}

// RemoveMember ends a user's membership of a group (A13: not a
// system group).
func (tx *Tx) RemoveMember(groupID, userID string) error {
	g, err := tx.GetGroup(groupID)
	if err != nil {
		return err
	}
	if g.Kind == GroupSystem {
		return RuleError(EForbidden, "A13", "system_group_immutable", "system group membership follows the P-unit")
	}
	if ok, err := tx.exists(prefixMemberByGroup + groupID + "/" + userID); err != nil {
		return err
	} else if !ok {
		return Errorf(ENotFound, "member not found")
	}
	if err := tx.unlinkMember(groupID, userID); err != nil {
		return err
	}
	tx.changed(ChangeMember, OpDelete, g.Org, userID, groupID, groupID)
	tx.Audit(AuditEvent{Type: "group.member.remove", Org: g.Org, UserID: userID, Object: groupID})
	return nil
}

// Members lists the user ids of a group's members.
func (tx *Tx) Members(groupID string) ([]string, error) {
	g, err := tx.GetGroup(groupID)
	if err != nil {
		return nil, err
	}
	if g.Kind == GroupSystem {
		return tx.keys(pUserKey(g.Org, g.PNumber, "")), nil
	}
	return tx.keys(prefixMemberByGroup + groupID + "/"), nil
}

// GroupsOfUser returns the ids of the custom groups the user is a member
// of and, last, the system group of its P-number when that P-unit belongs
// to the user's own org.
func (tx *Tx) GroupsOfUser(userID string) ([]string, error) {
	u, err := tx.GetUser(userID)
	if err != nil {
		return nil, err
	}
	return tx.groupsOf(u, 0)
}

// GroupsOf returns the ids of the groups u is a member of: its custom
// groups and the system group of its P-unit.
func (tx *Tx) GroupsOf(u *User) ([]string, error) { return tx.groupsOf(u, 0) }

func (tx *Tx) groupsOf(u *User, label uint64) ([]string, error) {
	return tx.withSystemGroup(u, tx.keys(prefixGroupByMember+u.ID+"/"), label)
}

// withSystemGroup is groups (the user's custom groups) with the system
// group of u's P-unit last, when that P-unit belongs to u's own org.
func (tx *Tx) withSystemGroup(u *User, groups []string, label uint64) ([]string, error) {
	if u.PNumber != "" {
		g, err := tx.loginSystemGroup(u.PNumber, label)
		if err != nil {
			return nil, err
		}
		if g != nil && g.Org == u.Org {
			groups = append(groups, g.ID)
		}
	}
	return groups, nil
}
