package store

import (
	"reflect"
	"slices"
	"strings"
	"sync"
)

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
	// Fields, on an update of a user, names the fields it changed (the
	// stored record's JSON names, updated_at included). Empty means not
	// known: a consumer must then assume anything changed (a change log
	// written before the field existed has none).
	Fields []string `json:"fields,omitempty"`
}

// NeutralUserUpdate reports whether c is an update of a user that changed
// only fields no login decision and no admin role reads (name, e-mail,
// last login …; DecisionNeutralUserFields): such a change leaves cached
// decisions and role links as they are. An update with unknown fields is
// never neutral.
func (c *Change) NeutralUserUpdate() bool {
	if c.Kind != ChangeUser || c.Op != OpUpdate || len(c.Fields) == 0 {
		return false
	}
	for _, f := range c.Fields {
		if !neutralUserFields[f] {
			return false
		}
	}
	return true
}

// neutralUserFields are the user fields that neither a login decision
// (pdp's login input and the store's LoginView) nor the admin role links
// (status, grants) read. Every other field — and any field added later —
// counts as read. pdp's TestNeutralUserFieldsNotInLoginInput changes each
// of these and checks that the login input stays the same.
var neutralUserFields = map[string]bool{
	"name": true, "email": true, "username": true, "phone": true, "language": true,
	"justification": true, "last_login": true, "updated_at": true, "status_changed_at": true,
	"confirmed_at": true, "source": true, "user_type": true, "class": true, "birth_date": true,
	"cpr": true, "identification_means": true, "anonymous": true,
}

// DecisionNeutralUserFields lists (sorted) the user fields whose change
// alone leaves every login decision and admin role as it was.
func DecisionNeutralUserFields() []string {
	out := make([]string, 0, len(neutralUserFields))
	for f := range neutralUserFields {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// neutralUsers reports, for each user that changes of kind user name,
// whether all of them are neutral updates (NeutralUserUpdate). One pass:
// a commit of many login times (FoldLogins) names thousands of users.
func neutralUsers(changes []Change) map[string]bool {
	out := map[string]bool{}
	for i := range changes {
		c := &changes[i]
		if c.Kind != ChangeUser {
			continue
		}
		neutral, seen := out[c.UserID]
		out[c.UserID] = (neutral || !seen) && c.NeutralUserUpdate()
	}
	return out
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

// changedUser records the update of user u from old, with the fields it
// changed.
func (tx *Tx) changedUser(old, u *User) {
	tx.changedUserFields(u, userFieldsChanged(old, u))
}

// changedUserFields records the update of user u that changed fields.
func (tx *Tx) changedUserFields(u *User, fields []string) {
	tx.changed(ChangeUser, OpUpdate, u.Org, u.ID, "", u.ID)
	if tx.write {
		tx.changes[len(tx.changes)-1].Fields = fields
	}
}

// userFields are User's fields with the names of the stored record: the
// JSON name, or for a secret field (json "-") its stored one.
var userFields = func() []userField {
	secret := map[string]string{"CPRHash": "cpr_hash", "CPREncrypted": "cpr_encrypted",
		"Password": "password", "ActivationHash": "activation_hash"}
	t := reflect.TypeFor[User]()
	var out []userField
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case f.Name == "PasswordStatus": // computed for answers, never stored
			continue
		case name == "-":
			name = secret[f.Name]
		}
		if name == "" {
			panic("store: user field " + f.Name + " has no stored name")
		}
		out = append(out, userField{i, name})
	}
	return out
}()

type userField struct {
	index int
	name  string
}

// userFieldsChanged names the fields of the stored user record that
// differ between old and u.
func userFieldsChanged(old, u *User) []string {
	var out []string
	a, b := reflect.ValueOf(old).Elem(), reflect.ValueOf(u).Elem()
	for _, f := range userFields {
		if !reflect.DeepEqual(a.Field(f.index).Interface(), b.Field(f.index).Interface()) {
			out = append(out, f.name)
		}
	}
	return out
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
