package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// userRecord is the stored form of a user: the API form plus the secret
// fields the API form never shows (keyed CPR hash, password hashes).
type userRecord struct {
	User
	StoredCPRHash        string    `json:"cpr_hash,omitempty"`
	StoredCPREncrypted   []byte    `json:"cpr_encrypted,omitempty"`
	StoredPassword       *Password `json:"password,omitempty"`
	StoredActivationHash string    `json:"activation_hash,omitempty"`
}

func (tx *Tx) putUser(u *User) error {
	rec := *u
	rec.PasswordStatus = "" // computed for answers, never stored
	return tx.setJSON(prefixUser+u.ID, userRecord{User: rec, StoredCPRHash: u.CPRHash, StoredCPREncrypted: u.CPREncrypted,
		StoredPassword: u.Password, StoredActivationHash: u.ActivationHash})
}

func decodeUser(b []byte) (*User, error) {
	if u, ok := decodeUserFast(b); ok {
		return u, nil
	}
	return decodeUserJSON(b)
}

// decodeUserJSON reads a user record with encoding/json.
func decodeUserJSON(b []byte) (*User, error) {
	var r userRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode user: %w", err)
	}
	u := r.User
	u.CPRHash, u.CPREncrypted, u.Password, u.ActivationHash = r.StoredCPRHash, r.StoredCPREncrypted, r.StoredPassword, r.StoredActivationHash
	return &u, nil
}

// GetUser reads a user by UUID (ENotFound when there is none).
func (tx *Tx) GetUser(id string) (*User, error) {
	// Decoded in Badger's memory, not a copy of it: decodeUser keeps
	// nothing of the record's bytes (every login reads one user).
	var u *User
	err := tx.getWith(prefixUser+id, "user", func(b []byte) (err error) {
		u, err = decodeUser(b)
		return err
	})
	return u, err
}

func (tx *Tx) userByIndex(key string) (*User, error) {
	id, err := tx.getRaw(key, "user")
	if err != nil {
		return nil, err
	}
	return tx.GetUser(string(id))
}

// UserByEmail finds the user with this e-mail (case-insensitive).
func (tx *Tx) UserByEmail(email string) (*User, error) {
	return tx.userByIndex(prefixUserByEmail + lower(email))
}

// UserByUsername finds the user with this username (case-insensitive).
func (tx *Tx) UserByUsername(username string) (*User, error) {
	return tx.userByIndex(prefixUserByUsername + lower(username))
}

// UserByLegacyID finds the user with this CVR-RID id.
func (tx *Tx) UserByLegacyID(legacy string) (*User, error) {
	return tx.userByIndex(prefixUserByLegacyID + legacy)
}

// UserByCPRHash finds the user of org with the CPR hash. A CPR number is
// unique per organisation only (one person may be a user of several), so
// the look-up never sees another organisation's users.
func (tx *Tx) UserByCPRHash(org, hash string) (*User, error) {
	return tx.userByIndex(cprIndexKey(org, hash))
}

// cprIndexKey is the key of the per-organisation CPR index.
func cprIndexKey(org, hash string) string { return prefixUserByCPR + org + "/" + hash }

// cprDuplicateMessage is the message of the A12 refusal of a CPR number
// already held by a user of the same organisation (IsCPRDuplicate).
const cprDuplicateMessage = "CPR number already in use in the organisation"

// IsCPRDuplicate reports whether err is the A12 refusal of a CPR number
// that a user of the same organisation already holds.
func IsCPRDuplicate(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == EConflict && e.Rule == "A12" && e.Message == cprDuplicateMessage
}

type uniqueIndex struct {
	prefix, field string
	value         func(*User) string
}

var uniqueIndexes = []uniqueIndex{
	{prefixUserByEmail, "email", func(u *User) string { return lower(u.Email) }},
	{prefixUserByUsername, "username", func(u *User) string { return lower(u.Username) }},
	{prefixUserByLegacyID, "legacy id", func(u *User) string { return u.LegacyID }},
	// CPR numbers are unique per organisation (ic/<cvr>/<hash>): a person
	// may be a user of several, and a refusal must not tell one
	// organisation that another knows the person.
	{prefixUserByCPR, "CPR number", func(u *User) string {
		if u.CPRHash == "" {
			return ""
		}
		return u.Org + "/" + u.CPRHash
	}},
}

// moveUserIndexes writes (or removes, when u is nil) the indexes of a
// user, moving only those that changed between old and u.
func (tx *Tx) moveUserIndexes(old, u *User) error {
	// Check every unique value first: a conflict found after some index
	// was already moved would leave the transaction half-written, and a
	// caller that reports the row and goes on (a non-atomic import) would
	// then commit a dangling index.
	if u != nil {
		if err := tx.checkUniqueIndexes(old, u); err != nil {
			return err
		}
	}
	for _, ix := range uniqueIndexes {
		var ov, nv string
		if old != nil {
			ov = ix.value(old)
		}
		if u != nil {
			nv = ix.value(u)
		}
		if ov == nv {
			continue
		}
		if nv != "" {
			if err := tx.set(ix.prefix+nv, []byte(u.ID)); err != nil {
				return err
			}
		}
		if ov != "" {
			if err := tx.del(ix.prefix + ov); err != nil {
				return err
			}
		}
	}
	return tx.moveUserOrgIndexes(old, u)
}

// checkUniqueIndexes refuses (A12) a unique value of u that another user
// holds; values unchanged from old are not looked up again.
func (tx *Tx) checkUniqueIndexes(old, u *User) error {
	for _, ix := range uniqueIndexes {
		nv := ix.value(u)
		if nv == "" || (old != nil && ix.value(old) == nv) {
			continue
		}
		cpr := ix.prefix == prefixUserByCPR && tx.cprGuard != nil
		if cpr {
			if err := tx.cprGuard.Allow(); err != nil {
				return err
			}
		}
		if holder, err := tx.getRaw(ix.prefix+nv, "index"); err == nil && string(holder) != u.ID {
			if ix.prefix == prefixUserByCPR {
				if cpr {
					tx.cprGuard.Duplicate()
				}
				return RuleError(EConflict, "A12", "duplicate", cprDuplicateMessage)
			}
			return RuleError(EConflict, "A12", "duplicate", "%s already in use", ix.field)
		} else if err != nil && !IsNotFound(err) {
			return err
		}
	}
	return nil
}

// moveUserOrgIndexes moves a user's entries in its organisation's user
// index and P-unit index when its organisation, P-number or id changed.
func (tx *Tx) moveUserOrgIndexes(old, u *User) error {
	oldOrgP, newOrgP := "", ""
	if old != nil {
		oldOrgP = old.Org + "/" + old.PNumber + "/" + old.ID
	}
	if u != nil {
		newOrgP = u.Org + "/" + u.PNumber + "/" + u.ID
	}
	if oldOrgP == newOrgP {
		return nil
	}
	if old != nil {
		if err := tx.del(prefixUserByOrg + old.Org + "/" + old.ID); err != nil {
			return err
		}
		if old.PNumber != "" {
			if err := tx.del(pUserKey(old.Org, old.PNumber, old.ID)); err != nil {
				return err
			}
		}
	}
	if u != nil {
		if err := tx.set(prefixUserByOrg+u.Org+"/"+u.ID, nil); err != nil {
			return err
		}
		if u.PNumber != "" {
			if err := tx.set(pUserKey(u.Org, u.PNumber, u.ID), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// pUserKey indexes the users of an org by home P-number: the implicit
// members of that P-unit's system group. The org is part of the key so a
// user whose P-number names another org's P-unit joins no system group.
func pUserKey(org, p, userID string) string { return prefixUserByPUnit + org + "/" + p + "/" + userID }

// checkUserRefs validates the parts of a user that become index keys.
func checkUserRefs(u *User) error {
	if u.PNumber != "" {
		if err := ValidPNumber(u.PNumber); err != nil {
			return err
		}
	}
	return nil
}

// CreateUser stores a new user; unique index clashes (email, username,
// legacy id, id; the CPR hash within the org) give conflict/A12/duplicate.
func (tx *Tx) CreateUser(u *User) error {
	if err := ValidUUID(u.ID); err != nil {
		return err
	}
	if ok, err := tx.exists(prefixUser + u.ID); err != nil {
		return err
	} else if ok {
		return RuleError(EConflict, "A12", "duplicate", "user id already in use")
	}
	if ok, err := tx.exists(prefixOrg + u.Org); err != nil {
		return err
	} else if !ok {
		return Errorf(ENotFound, "organisation not found")
	}
	if err := checkUserRefs(u); err != nil {
		return err
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = tx.now
	}
	if u.StatusChangedAt.IsZero() {
		u.StatusChangedAt = u.CreatedAt
	}
	if u.Status == "" {
		u.Status = StatusNew
	}
	u.UpdatedAt = tx.now
	if err := tx.moveUserIndexes(nil, u); err != nil {
		return err
	}
	if err := tx.putUser(u); err != nil {
		return err
	}
	tx.audit("user.create", u.Org, u.ID, u.ID)
	tx.changed(ChangeUser, OpCreate, u.Org, u.ID, "", u.ID)
	return nil
}

// UpdateUser replaces a user, moving every index that changed.
func (tx *Tx) UpdateUser(u *User) error {
	old, err := tx.GetUser(u.ID)
	if err != nil {
		return err
	}
	if u.Org != old.Org {
		if ok, err := tx.exists(prefixOrg + u.Org); err != nil {
			return err
		} else if !ok {
			return Errorf(ENotFound, "organisation not found")
		}
	}
	if err := checkUserRefs(u); err != nil {
		return err
	}
	u.CreatedAt = old.CreatedAt
	u.UpdatedAt = tx.now
	if err := tx.moveUserIndexes(old, u); err != nil {
		return err
	}
	if err := tx.putUser(u); err != nil {
		return err
	}
	tx.audit("user.update", u.Org, u.ID, u.ID)
	tx.changedUser(old, u)
	return nil
}

// TouchLogins records last-login times for many users in one transaction
// without an audit event and without bumping the revision: a login time
// is bookkeeping for the lifecycle jobs (L1), never an input to a
// decision, so it must not invalidate decision caches.
func (s *Store) TouchLogins(ctx context.Context, logins map[string]time.Time) error {
	if len(logins) == 0 {
		return nil
	}
	if s.replica != nil {
		// In a fleet the user record is replicated data: the times are kept
		// here and shipped without a revision (logins.go).
		return s.keepLogins(logins)
	}
	if err := s.Healthy(); err != nil {
		return &Error{Code: EInternal, Message: err.Error()}
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed.Load() {
		return &Error{Code: EInternal, Message: "store is closed"}
	}
	if err := s.disk.check(); err != nil {
		return err
	}
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	tx := &Tx{s: s, txn: txn, write: true, now: s.now().UTC()}
	if err := touchAll(tx, logins); err != nil {
		return err
	}
	// No login time touches a grant or a membership; were one to, its
	// user's login index is kept here as by every write.
	if err := tx.writeUserIndexes(); err != nil {
		return err
	}
	if err := txn.Commit(); err != nil {
		return err
	}
	// Not a revision, but a login read reads the user record: the shared
	// snapshot must show the new times (readsnap.go).
	s.wrote()
	return nil
}

func touchAll(tx *Tx, logins map[string]time.Time) error {
	for id, t := range logins {
		if err := tx.TouchLogin(id, t); err != nil && !IsNotFound(err) {
			return err
		}
	}
	return nil
}

// TouchLogin sets a user's last login time without an audit event.
func (tx *Tx) TouchLogin(id string, t time.Time) error {
	u, err := tx.GetUser(id)
	if err != nil {
		return err
	}
	if u.LastLogin != nil && !t.After(*u.LastLogin) {
		return nil
	}
	u.LastLogin = &t
	if err := tx.putUser(u); err != nil {
		return err
	}
	tx.changedUserFields(u, []string{"last_login"})
	return nil
}

// unlinkMember removes both index entries of one custom-group membership.
func (tx *Tx) unlinkMember(groupID, userID string) error {
	if err := tx.del(prefixMemberByGroup + groupID + "/" + userID); err != nil {
		return err
	}
	return tx.del(prefixGroupByMember + userID + "/" + groupID)
}

// DeleteUser removes a user, its indexes, direct grants and memberships.
// Its audit history stays.
func (tx *Tx) DeleteUser(id string) error {
	u, err := tx.GetUser(id)
	if err != nil {
		return err
	}
	for _, gid := range tx.keys(prefixGrantByUser + id + "/") {
		if err := tx.DeleteGrant(gid); err != nil {
			return err
		}
	}
	for _, gid := range tx.keys(prefixGroupByMember + id + "/") {
		if err := tx.unlinkMember(gid, id); err != nil {
			return err
		}
		tx.changed(ChangeMember, OpDelete, "", id, gid, gid)
	}
	if err := tx.moveUserIndexes(u, nil); err != nil {
		return err
	}
	if err := tx.del(prefixUser + id); err != nil {
		return err
	}
	tx.audit("user.delete", u.Org, u.ID, u.ID)
	tx.changed(ChangeUser, OpDelete, u.Org, u.ID, "", u.ID)
	return nil
}

// ListUsers lists an org's users ordered by id, starting after `after`.
func (tx *Tx) ListUsers(cvr, after string, limit int) (users []*User, next string, err error) {
	prefix := prefixUserByOrg + cvr + "/"
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = []byte(prefix)
	it := tx.txn.NewIterator(opts)
	defer it.Close()
	start := []byte(prefix + after)
	if after != "" {
		start = append(start, 0)
	}
	for it.Seek(start); it.ValidForPrefix([]byte(prefix)); it.Next() {
		if limit > 0 && len(users) == limit {
			return users, users[len(users)-1].ID, nil
		}
		id := string(it.Item().Key()[len(prefix):])
		u, err := tx.GetUser(id)
		if err != nil {
			return nil, "", err
		}
		users = append(users, u)
	}
	return users, "", nil
}

// EachUser calls fn for every user of every org (lifecycle jobs).
func (tx *Tx) EachUser(fn func(*User) error) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = []byte(prefixUser)
	it := tx.txn.NewIterator(opts)
	defer it.Close()
	for it.Rewind(); it.ValidForPrefix(opts.Prefix); it.Next() {
		var u *User
		if err := it.Item().Value(func(v []byte) (err error) { u, err = decodeUser(v); return err }); err != nil {
			return err
		}
		if err := fn(u); err != nil {
			return err
		}
	}
	return nil
}
