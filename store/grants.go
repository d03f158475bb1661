package store

import (
	"strings"
)

// GetGrant reads a grant by id (ENotFound when there is none).
func (tx *Tx) GetGrant(id string) (*Grant, error) {
	// Decoded in Badger's memory: decodeGrant keeps none of it.
	var g *Grant
	err := tx.getWith(prefixGrant+id, "grant", func(v []byte) (err error) {
		g, err = decodeGrant(v)
		return err
	})
	return g, err
}

// CreateGrant stores a new grant and indexes it by holder; an
// existing id is a conflict.
func (tx *Tx) CreateGrant(g *Grant) error {
	if g.ID == "" || strings.Contains(g.ID, "/") {
		return Errorf(EInvalid, "grant id must be non-empty without slashes")
	}
	if ok, err := tx.exists(prefixGrant + g.ID); err != nil {
		return err
	} else if ok {
		return RuleError(EConflict, "", "duplicate", "grant id already in use")
	}
	switch g.Scope.Type {
	case ScopeCVR, ScopeP, ScopeSE:
	default:
		return Errorf(EInvalid, "scope type must be cvr, p or se")
	}
	if g.Scope.Value == "" {
		return Errorf(EInvalid, "scope value is required")
	}
	if ok, err := tx.exists(prefixRight + g.Right); err != nil {
		return err
	} else if !ok {
		return Errorf(ENotFound, "right %s not found", g.Right)
	}
	userID := ""
	switch g.HolderType {
	case HolderUser:
		if _, err := tx.GetUser(g.HolderID); err != nil {
			return err
		}
		userID = g.HolderID
		if err := tx.set(prefixGrantByUser+g.HolderID+"/"+g.ID, nil); err != nil {
			return err
		}
	case HolderGroup:
		if _, err := tx.GetGroup(g.HolderID); err != nil {
			return err
		}
		if err := tx.set(prefixGrantByGroup+g.HolderID+"/"+g.ID, nil); err != nil {
			return err
		}
	default:
		return Errorf(EInvalid, "holder type must be user or group")
	}
	if g.GrantedAt.IsZero() {
		g.GrantedAt = tx.now
	}
	if err := tx.set(rightGrantKey(g.Right, g.ID), nil); err != nil {
		return err
	}
	if err := tx.setJSON(prefixGrant+g.ID, g); err != nil {
		return err
	}
	tx.Audit(grantEvent("grant.create", g, userID))
	tx.grantChanged(OpCreate, g)
	return nil
}

// DeleteGrant removes a grant and its index entries.
func (tx *Tx) DeleteGrant(id string) error {
	g, err := tx.GetGrant(id)
	if err != nil {
		return err
	}
	userID := ""
	if g.HolderType == HolderUser {
		userID = g.HolderID
		err = tx.del(prefixGrantByUser + g.HolderID + "/" + id)
	} else {
		err = tx.del(prefixGrantByGroup + g.HolderID + "/" + id)
	}
	if err != nil {
		return err
	}
	if err := tx.del(rightGrantKey(g.Right, id)); err != nil {
		return err
	}
	if err := tx.del(prefixGrant + id); err != nil {
		return err
	}
	tx.Audit(grantEvent("grant.delete", g, userID))
	tx.grantChanged(OpDelete, g)
	return nil
}

// grantEvent describes a grant change: the grant itself is gone after a
// delete, so the history keeps what it gave and to whom.
func grantEvent(typ string, g *Grant, userID string) AuditEvent {
	return AuditEvent{Type: typ, Org: g.Org, UserID: userID, Object: g.ID, Details: map[string]any{
		"right": g.Right, "holder_type": g.HolderType, "holder_id": g.HolderID,
		"scope": map[string]any{"type": g.Scope.Type, "value": g.Scope.Value}}}
}

// grantsUnder lists the grants under a holder index, each the caller's own
// copy.
func (tx *Tx) grantsUnder(prefix string) ([]*Grant, error) { return tx.grantsOf(prefix, true) }

// grantsOf lists the grants under a holder index. A read transaction's come
// from the grant cache; without own copies they are the cached grants
// themselves, for a caller that changes none (effectiveGrantsAndGroups,
// whose EffectiveGrants point at them: read-only, see EffectiveGrant).
func (tx *Tx) grantsOf(prefix string, own bool) ([]*Grant, error) {
	return tx.grantsAt(tx.keyRefs(prefix), own)
}

// grantsAt loads the listed grants as grantsOf does: a read transaction's
// through the grant cache, a write transaction's from the store (the
// versions of its pending writes are not final).
func (tx *Tx) grantsAt(refs []keyRef, own bool) ([]*Grant, error) {
	if tx.write {
		return loadAll(keyRefIDs(refs), tx.GetGrant)
	}
	return tx.cachedGrants(refs, own)
}

// rightGrantKey indexes grants by right (prefixGrantByRight), so the
// holders of a right (e.g. the admin roles) are found without a scan.
func rightGrantKey(right, id string) string { return prefixGrantByRight + right + "/" + id }

// GrantsOfRight returns every grant of a right (to users and to groups).
func (tx *Tx) GrantsOfRight(right string) ([]*Grant, error) {
	return loadAll(tx.keys(prefixGrantByRight+right+"/"), tx.GetGrant)
}

// GrantsOfUser lists the grants held directly by a user.
func (tx *Tx) GrantsOfUser(userID string) ([]*Grant, error) {
	return tx.grantsUnder(prefixGrantByUser + userID + "/")
}

// GrantsOfGroup lists the grants held by a group.
func (tx *Tx) GrantsOfGroup(groupID string) ([]*Grant, error) {
	return tx.grantsUnder(prefixGrantByGroup + groupID + "/")
}

// EffectiveGrants returns a user's direct grants and those of every group
// it is in (custom groups and the system group of its P-number).
func (tx *Tx) EffectiveGrants(userID string) ([]EffectiveGrant, error) {
	u, err := tx.GetUser(userID)
	if err != nil {
		return nil, err
	}
	return tx.effectiveGrants(u)
}

func (tx *Tx) effectiveGrants(u *User) ([]EffectiveGrant, error) {
	out, _, err := tx.effectiveGrantsAndGroups(u, 0)
	return out, err
}

// effectiveGrantsAndGroups is effectiveGrants with the ids of the groups
// (custom and system) whose grants it read. A login read passes its label
// (LoginView.Revision) to take group grants from the per-group cache
// (groupGrants); 0 reads the index.
func (tx *Tx) effectiveGrantsAndGroups(u *User, label uint64) ([]EffectiveGrant, []string, error) {
	refs, custom, err := tx.userRefs(u.ID)
	if err != nil {
		return nil, nil, err
	}
	direct, err := tx.grantsAt(refs, false)
	if err != nil {
		return nil, nil, err
	}
	groups, err := tx.withSystemGroup(u, custom, label)
	if err != nil {
		return nil, nil, err
	}
	// The groups' grants are read before the answer is made, so that it
	// is allocated once at its size (an EffectiveGrant is large; growing
	// the slice was a quarter of the login read's bytes).
	var byGroup [][]*Grant
	n := len(direct)
	if len(groups) > 0 {
		byGroup = make([][]*Grant, len(groups))
		for i, gid := range groups {
			if byGroup[i], err = tx.groupGrants(gid, label); err != nil {
				return nil, nil, err
			}
			n += len(byGroup[i])
		}
	}
	out := make([]EffectiveGrant, 0, n)
	for _, g := range direct {
		out = append(out, EffectiveGrant{Grant: g, Source: "direct"})
	}
	for i, gid := range groups {
		for _, g := range byGroup[i] {
			out = append(out, EffectiveGrant{Grant: g, Source: gid})
		}
	}
	return out, groups, nil
}
