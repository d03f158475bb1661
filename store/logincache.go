package store

import "sync"

// depCacheSize bounds each cache of login-read parts (groups,
// organisations, P-units: shared by many users, never one entry per user).
const depCacheSize = 1 << 16

// depCache keeps parts of login reads that many users share — a group's
// grant list (an index scan, two of the four seeks of a typical read: the
// user's group and its P-unit's system group), an organisation, the system
// group of a P-unit — with the revision of the read that found them
// (LoginView.Revision). An entry is valid exactly as a cached decision is:
// while the dependency table shows no change of what it was read from
// since that revision. A read that cannot show that reads the store.
type depCache[T any] struct {
	mu sync.RWMutex
	m  map[string]depEntry[T]
}

type depEntry[T any] struct {
	rev uint64
	v   T // shared: never changed; callers copy what they change
}

// depCached returns the part named key for a login read labelled rev,
// whose snapshot is at rev or newer: from c while what it was read from
// (deps of the value) is unchanged since the entry's revision, else by
// read (and then kept). The value is shared: read it only. A write
// transaction, or a read without a label (rev 0), always reads.
//
// Writes are in the dependency table before their commit, and the checks
// are made inside the read's snapshot, so:
//   - an entry of revision e ≤ rev, unchanged since e, is what this
//     snapshot holds (a change it shows would be in the table);
//   - a value read from this snapshot is kept only when unchanged since
//     rev: it is then the value at rev too.
//
// An entry newer than rev is not for this read (its snapshot may be older).
func depCached[T any](tx *Tx, c *depCache[T], key string, rev uint64, deps func(T) []Dep, read func() (T, error)) (T, error) {
	if rev == 0 || tx.write { // not a labelled read of committed data
		return read()
	}
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if ok && e.rev <= rev && !tx.s.DepsChangedSince(deps(e.v), e.rev) {
		return e.v, nil
	}
	v, err := read()
	if err != nil || tx.s.DepsChangedSince(deps(v), rev) {
		return v, err // changed since the label: this value is of a later revision
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= depCacheSize {
		c.m = make(map[string]depEntry[T], 256)
	}
	if old, ok := c.m[key]; !ok || old.rev < rev {
		c.m[key] = depEntry[T]{rev: rev, v: v}
	}
	c.mu.Unlock()
	return v, nil
}

// loginCaches are the depCaches of login reads.
type loginCaches struct {
	groupGrants depCache[[]*Grant]         // group id → its grants
	orgs        depCache[*Org]             // cvr → organisation (nil: none)
	systemGroup depCache[systemGroupFound] // P-number → its system group
}

// groupGrants returns the grants of group gid for a login read labelled
// rev (depCached); shared, the caller copies them.
func (tx *Tx) groupGrants(gid string, rev uint64) ([]*Grant, error) {
	deps := []Dep{{DepGroup, gid}}
	return depCached(tx, &tx.s.login.groupGrants, gid, rev, func([]*Grant) []Dep { return deps },
		func() ([]*Grant, error) { return tx.grantsOf(prefixGrantByGroup+gid+"/", false) })
}

// loginOrg returns organisation cvr, nil if there is none, for a login
// read labelled rev (depCached; 0: no cache); shared, read it only.
func (tx *Tx) loginOrg(cvr string, rev uint64) (*Org, error) {
	read := func() (*Org, error) {
		o, err := getShared(tx, &tx.s.orgs, prefixOrg+cvr, "organisation")
		if IsNotFound(err) {
			return nil, nil
		}
		return o, err
	}
	deps := []Dep{{DepOrg, cvr}}
	return depCached(tx, &tx.s.login.orgs, cvr, rev, func(*Org) []Dep { return deps }, read)
}

// loginSystemGroup returns the system group of P-unit p, nil if there is
// none, for a login read labelled rev (depCached; 0: no cache); shared.
func (tx *Tx) loginSystemGroup(p string, rev uint64) (*Group, error) {
	sg, err := depCached(tx, &tx.s.login.systemGroup, p, rev, systemGroupFound.deps, func() (systemGroupFound, error) {
		found := systemGroupFound{p: p}
		id, err := tx.getRaw(prefixGroupByPUnit+p, "system group")
		if IsNotFound(err) {
			return found, nil
		} else if err != nil {
			return found, err
		}
		found.id = string(id)
		found.g, err = getShared(tx, &tx.s.groups, prefixGroup+found.id, "group")
		if IsNotFound(err) {
			return found, nil
		}
		return found, err
	})
	return sg.g, err
}

// systemGroupFound is what the look-up of a P-unit's system group found:
// the id its index entry names ("" for none) and that group (nil: none).
type systemGroupFound struct {
	p, id string
	g     *Group
}

// deps are what the look-up read: the P-unit's index entry and the record
// of the group it names.
func (f systemGroupFound) deps() []Dep {
	if f.id == "" {
		return []Dep{{DepPUnit, f.p}}
	}
	return []Dep{{DepPUnit, f.p}, {DepGroup, f.id}}
}
