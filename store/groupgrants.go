package store

import "sync"

// groupGrantsCacheSize bounds the cache of group grant lists (groups, not
// users: every member of a group shares its entry).
const groupGrantsCacheSize = 1 << 16

// groupGrantsCache keeps the grants of a group as a login read found them,
// with the revision that read was labelled with (LoginView.Revision).
//
// A group's grant list is a prefix scan (igg/<group>/), two of the four
// seeks of a typical login read: the user's group and its P-unit's system
// group. The list is shared by every member, so it is kept per group and
// is valid exactly as a cached decision is: while the dependency table
// shows no change of the group (DepGroup: its record and grants) since the
// revision it was read at. A read that cannot show that reads the index.
type groupGrantsCache struct {
	mu sync.RWMutex
	m  map[string]groupGrantsEntry
}

type groupGrantsEntry struct {
	rev    uint64
	grants []*Grant // shared: never changed, copied by the reader
}

// groupGrants returns the grants of group gid for a login read labelled
// rev, whose snapshot is at rev or newer: from the cache while they are
// unchanged since the revision they were read at, else from the index (and
// then kept). The grants are shared; the caller copies them.
//
// Writes are in the dependency table before their commit, and the checks
// are made inside the read's snapshot, so:
//   - an entry of revision e ≤ rev, unchanged since e, is what this
//     snapshot holds (a change it shows would be in the table);
//   - a list read from this snapshot is kept only when the group is
//     unchanged since rev: it is then the group's list at rev too.
//
// An entry newer than rev is not for this read (its snapshot may be older).
func (tx *Tx) groupGrants(gid string, rev uint64) ([]*Grant, error) {
	c := &tx.s.groupGrants
	deps := []Dep{{DepGroup, gid}}
	c.mu.RLock()
	e, ok := c.m[gid]
	c.mu.RUnlock()
	if ok && e.rev <= rev && !tx.s.DepsChangedSince(deps, e.rev) {
		return e.grants, nil
	}
	grants, err := tx.grantsOf(prefixGrantByGroup+gid+"/", false)
	if err != nil {
		return nil, err
	}
	if tx.s.DepsChangedSince(deps, rev) {
		return grants, nil // changed since the label: this list is of a later revision
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= groupGrantsCacheSize {
		c.m = make(map[string]groupGrantsEntry, 256)
	}
	if old, ok := c.m[gid]; !ok || old.rev < rev {
		c.m[gid] = groupGrantsEntry{rev: rev, grants: grants}
	}
	c.mu.Unlock()
	return grants, nil
}
