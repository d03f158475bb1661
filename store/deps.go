package store

import (
	"slices"
	"strings"
	"sync"
)

// Dependency tracking for decision caches.
//
// A login decision reads a handful of things: one user, its groups, one
// organisation, a certificate. A cache that keys validity on the global
// revision is emptied by every write anywhere; instead the store records,
// for each such thing, the revision of its last change, and a cached
// answer stays valid while none of the things it read has changed since
// the revision it was read at (DepsChangedSince).
//
// The table is updated from the keys a write transaction set or deleted,
// before the commit (and so before the new revision is published): a write
// answered with revision R is seen by every check that starts after it
// (read-your-writes), and a read whose snapshot shows a write finds it in
// the table too (a cache checked inside that snapshot, as the parts of
// login reads are, logincache.go, never mixes older cached data into it).
// A write that fails after being recorded only costs cached answers a
// recomputation. A key whose prefix is not known here invalidates
// everything: a new kind of record can only make the cache miss more,
// never serve a stale answer.

// DepKind is the kind of thing a login decision reads.
type DepKind uint8

// Kinds of dependencies.
const (
	// DepUser is a user by id or legacy id: its record, direct grants and
	// group memberships.
	DepUser DepKind = iota + 1
	// DepGroup is a group: its record and grants.
	DepGroup
	// DepOrg is an organisation record (settings, P-units, SE-numbers).
	DepOrg
	// DepPUnit is the system group of a P-number.
	DepPUnit
	// DepCert is a certificate by serial.
	DepCert
	// DepRights is the rights catalogue (one for all rights).
	DepRights
	// DepToken is an API token, by id (its record) and by hash (the
	// look-up by hash): what an admin request's authentication read.
	DepToken
)

// Dep names one thing a decision read.
type Dep struct {
	Kind DepKind
	ID   string
}

// maxDepTable bounds the table. When a write grows it past this, the older
// half of its entries goes and the floor rises to the newest revision that
// went: only a read labelled before that revision counts as changed, and a
// cached answer found exact later carries a later label (pdp's cache
// advances it), so steady writes spread over a large store never empty a
// cache at once.
const maxDepTable = 1 << 16

// pruneSample is how many revisions prune sorts to find its cut.
const pruneSample = 1024

// depTable is the last-change revision of every thing written since the
// floor; anything read before floor counts as changed.
type depTable struct {
	mu    sync.RWMutex
	floor uint64
	last  map[Dep]uint64
	limit int // maxDepTable when 0 (Config.DepTableSize)
}

// DepsChangedSince reports whether any of deps (or anything at all, when
// the table was cleared) changed after revision rev. A read labelled rev
// (LoginView.Revision) whose deps have not changed since is still exact.
func (s *Store) DepsChangedSince(deps []Dep, rev uint64) bool {
	return s.deps.changedSince(deps, rev)
}

func (t *depTable) changedSince(deps []Dep, rev uint64) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if rev < t.floor {
		return true
	}
	for _, d := range deps {
		if t.last[d] > rev {
			return true
		}
	}
	return false
}

// record applies the things one write touched, at its revision rev (before
// its commit).
// A user record the commit's changes show only neutrally updated (a name,
// a login time; Change.NeutralUserUpdate) counts as unchanged: no decision
// read what changed.
func (t *depTable) record(w *depWrites, rev uint64, changes []Change) {
	if w == nil {
		return
	}
	if len(w.users) > 0 {
		neutral := neutralUsers(changes)
		for id := range w.users {
			if !neutral[id] {
				w.add(DepUser, id)
			}
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	limit := t.limit
	if limit <= 0 {
		limit = maxDepTable
	}
	if w.all || len(w.set) > limit/2 {
		t.floor = rev
		t.last = nil
		return
	}
	if t.last == nil {
		t.last = make(map[Dep]uint64, len(w.set))
	}
	for d := range w.set {
		t.last[d] = rev
	}
	if len(t.last) > limit {
		t.prune()
	}
}

// prune drops about the older half of the entries (by revision) and
// raises the floor to the newest revision dropped. A read labelled at or
// after the floor is judged as before: every entry newer than its label
// is kept. The cut is the median of a sample of at most pruneSample
// revisions, so the write lock is held for two passes over the map, not a
// sort of it (every decision-cache hit waits on that lock).
func (t *depTable) prune() {
	step := max(1, len(t.last)/pruneSample)
	revs := make([]uint64, 0, pruneSample+1)
	i := 0
	for _, r := range t.last {
		if i%step == 0 {
			revs = append(revs, r)
		}
		i++
	}
	slices.Sort(revs)
	cut := revs[len(revs)/2]
	for d, r := range t.last {
		if r <= cut {
			delete(t.last, d)
		}
	}
	t.floor = max(t.floor, cut)
}

// flush counts every read before rev as changed: for a state that came
// without its writes' keys (a replica's snapshot of the log).
func (t *depTable) flush(rev uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.floor, t.last = rev, nil
}

// depWrites collects what one write transaction touched.
type depWrites struct {
	all bool
	set map[Dep]struct{}
	// users are the user records written (u/<id>): a DepUser each, unless
	// the commit's changes show the update neutral (record).
	users map[string]struct{}
}

func (w *depWrites) addUser(id string) {
	if w.users == nil {
		w.users = map[string]struct{}{}
	}
	w.users[id] = struct{}{}
}

func (w *depWrites) add(k DepKind, id string) {
	if w.set == nil {
		w.set = map[Dep]struct{}{}
	}
	if len(w.set) > maxDepTable {
		w.all = true
		return
	}
	w.set[Dep{k, id}] = struct{}{}
}

// depIgnored are key prefixes no login decision reads: audit, indexes of
// other look-ups, knocks, mail, imports, meta keys.
var depIgnored = []string{
	prefixAudit, prefixAuditByUser, prefixAuditByOrg, prefixSystem, prefixMeta,
	prefixKnock, prefixKnockByOrg, prefixKnockBySubject,
	prefixImport, prefixMail, prefixMailByTo, prefixMailByUser, prefixMailPending,
	prefixGrantByRight, prefixUserByEmail, prefixUserByUsername, prefixUserByCPR,
	prefixUserByPUnit, prefixUserByOrg, prefixGroupByOrg, prefixImportByOrg,
	prefixMemberByGroup, // group → members; a login reads the member's side (ium/)
	// Records that came after the dependency table, which no login
	// decision reads: notifications, anonymity requests, the stored
	// decision log, the per-org certificate index (a login reads c/).
	prefixNotification, prefixNotificationByRecipient, prefixNotificationUnread,
	prefixAnonymity, prefixAnonymityByUser, prefixAnonymityByOrg, prefixAnonymityPending,
	prefixDecision, prefixDecisionByTime, prefixDecisionByUser, prefixDecisionByOrg,
	prefixCertificateByOrg,
}

// touchKey records the dependency a written or deleted key belongs to.
func (tx *Tx) touchKey(key string) {
	if !tx.write {
		return
	}
	w := &tx.deps
	first, rest, ok := strings.Cut(key, "/")
	if !ok {
		w.all = true
		return
	}
	owner, _, _ := strings.Cut(rest, "/")
	switch key[:len(first)+1] { // the prefix, with its slash
	case prefixUser:
		w.addUser(owner)
		return
	case prefixUserByLegacyID, prefixGrantByUser, prefixGroupByMember, prefixUserLoginIndex:
		w.add(DepUser, owner)
		return
	case prefixGroup, prefixGrantByGroup:
		w.add(DepGroup, owner)
		return
	case prefixOrg:
		w.add(DepOrg, owner)
		return
	case prefixGroupByPUnit:
		w.add(DepPUnit, owner)
		return
	case prefixCertificate:
		w.add(DepCert, owner)
		return
	case prefixRight:
		w.add(DepRights, "")
		return
	case prefixToken, prefixTokenByHash:
		w.add(DepToken, owner)
		return
	case prefixGrant:
		// A grant record is written and removed together with its
		// holder's index entry (iug/, igg/), which names the holder.
		return
	}
	for _, p := range depIgnored {
		if strings.HasPrefix(key, p) {
			return
		}
	}
	w.all = true
}

// loginDeps lists what a login read of subjectID for cvr depends on.
func loginDeps(v *LoginView, cvr, subjectID, certSerial string, groups []string) []Dep {
	deps := make([]Dep, 0, 4+len(groups))
	deps = append(deps, Dep{DepUser, subjectID}, Dep{DepOrg, cvr}, Dep{DepRights, ""})
	if u := v.User; u != nil {
		if u.ID != subjectID {
			deps = append(deps, Dep{DepUser, u.ID})
		}
		if u.PNumber != "" {
			// The system group is read (or found absent) by P-number.
			deps = append(deps, Dep{DepPUnit, u.PNumber}, Dep{DepGroup, systemGroupID(u.PNumber)})
		}
	}
	for _, g := range groups {
		deps = append(deps, Dep{DepGroup, g})
	}
	// M16: the organisations whose custom groups give the user grants are
	// read too (their P-units scope those grants).
	for o := range v.GrantOrgs {
		deps = append(deps, Dep{DepOrg, o})
	}
	if certSerial != "" {
		deps = append(deps, Dep{DepCert, certSerial})
	}
	return deps
}
