package store

import "sync"

// Changes: what a committed write changed, as typed values.
//
// Every write method of Tx records the changes it makes (beside the audit
// events it records for the history API). Update commits them with the
// revision, publishes them on the change feed (Subscribe) and keeps the
// recent ones in memory (ChangesSince), so consumers — the admin role
// index, the decision engine's rights catalogue, a future fleet change
// log — follow typed changes instead of parsing audit event types. Audit
// events stay as they are; they are the history, not the protocol.

// ChangeKind is the kind of record a change touched.
type ChangeKind string

// Kinds of changed records.
const (
	ChangeOrg          ChangeKind = "org"
	ChangeUser         ChangeKind = "user"
	ChangeGroup        ChangeKind = "group"
	ChangeMember       ChangeKind = "member" // a custom-group membership
	ChangeGrant        ChangeKind = "grant"
	ChangeRight        ChangeKind = "right"
	ChangeKnock        ChangeKind = "knock"
	ChangeToken        ChangeKind = "token"
	ChangeCertificate  ChangeKind = "certificate"
	ChangeImport       ChangeKind = "import"
	ChangeMail         ChangeKind = "mail"
	ChangeNotification ChangeKind = "notification"
	ChangeAnonymity    ChangeKind = "anonymity"
	ChangeMeta         ChangeKind = "meta"
)

// ChangeOp is what happened to the record.
type ChangeOp string

// Operations of a change.
const (
	OpCreate ChangeOp = "create"
	OpUpdate ChangeOp = "update"
	OpDelete ChangeOp = "delete"
)

// Change is one record a committed write created, updated or deleted.
// Object is the record's own id (a user's id, a grant's id, a right's id,
// a certificate's serial, a meta name …); UserID and GroupID name the user
// and the group the change concerns, where there is one (a grant's holder,
// a membership's two sides, a token's user); Org the organisation.
type Change struct {
	Revision uint64     `json:"revision"`
	Kind     ChangeKind `json:"kind"`
	Op       ChangeOp   `json:"op"`
	Org      string     `json:"org,omitempty"`
	UserID   string     `json:"user_id,omitempty"`
	GroupID  string     `json:"group_id,omitempty"`
	Object   string     `json:"object,omitempty"`
}

// Commit is one committed write as published on the change feed: its
// revision, the typed changes it made in the order they were made, and
// the audit events it recorded.
type Commit struct {
	Revision uint64
	Changes  []Change
	Events   []AuditEvent
}

// changed records a change of the transaction; Revision is filled in.
func (tx *Tx) changed(kind ChangeKind, op ChangeOp, org, userID, groupID, object string) {
	if !tx.write {
		return
	}
	tx.changes = append(tx.changes, Change{Revision: tx.rev, Kind: kind, Op: op,
		Org: org, UserID: userID, GroupID: groupID, Object: object})
}

// Changes returns the changes the transaction's writes made so far, in
// order. After Update returned, they are the changes it committed.
func (tx *Tx) Changes() []Change { return append([]Change(nil), tx.changes...) }

// maxChangeLog is how many recent commits ChangesSince can return.
const maxChangeLog = 4096

// changeLog keeps the most recent commits, oldest first, in memory.
type changeLog struct {
	mu      sync.RWMutex
	floor   uint64 // commits after floor are all in commits
	commits []Commit
}

// add appends the commit of the next revision.
func (l *changeLog) add(c Commit) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.commits = append(l.commits, c)
	if n := len(l.commits); n > 2*maxChangeLog {
		drop := n - maxChangeLog
		l.floor = l.commits[drop-1].Revision
		l.commits = append([]Commit(nil), l.commits[drop:]...)
	}
}

// ChangesSince returns the commits of the revisions after rev, in revision
// order (revisions that changed nothing included, with no changes). ok is
// false when the store no longer holds all of them in memory (the commits
// are kept for the last few thousand revisions since the store was
// opened): the caller must then rebuild what it derives from the store.
func (s *Store) ChangesSince(rev uint64) (commits []Commit, ok bool) {
	l := &s.changes
	l.mu.RLock()
	defer l.mu.RUnlock()
	if rev < l.floor {
		return nil, false
	}
	for i := len(l.commits) - 1; i >= 0 && l.commits[i].Revision > rev; i-- {
		commits = append(commits, l.commits[i])
	}
	for i, j := 0, len(commits)-1; i < j; i, j = i+1, j-1 {
		commits[i], commits[j] = commits[j], commits[i]
	}
	return commits, true
}

// ChangesOf returns the changes of the commits, in order.
func ChangesOf(commits []Commit) []Change {
	var out []Change
	for _, c := range commits {
		out = append(out, c.Changes...)
	}
	return out
}

// opOf is OpUpdate for a record that existed before the write, else OpCreate.
func opOf(existed bool) ChangeOp {
	if existed {
		return OpUpdate
	}
	return OpCreate
}

// grantChanged records a grant change under its holder.
func (tx *Tx) grantChanged(op ChangeOp, g *Grant) {
	userID, groupID := "", ""
	if g.HolderType == HolderGroup {
		groupID = g.HolderID
	} else {
		userID = g.HolderID
	}
	tx.changed(ChangeGrant, op, g.Org, userID, groupID, g.ID)
}
