package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

func auditKey(rev uint64, seq int) string { return prefixAudit + fmt.Sprintf("%016x/%04x", rev, seq) }

func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Tx is a store transaction. Methods return *Error values (not_found,
// conflict with Rule "A12"/Reason "duplicate", invalid …).
type Tx struct {
	s       *Store
	txn     *badger.Txn
	write   bool
	now     time.Time
	actor   string
	rev     uint64
	events  []AuditEvent
	changes []Change         // typed changes of the write methods (changes.go)
	it      *badger.Iterator // shared key iterator of a read transaction
	share   bool             // scans share it (shareIterator)
	// err is the first failed write (e.g. ErrTxnTooBig). A method that
	// fails half-way leaves the Badger txn partly written, so once set the
	// transaction can only be discarded: Update refuses to commit it even
	// if fn swallowed the error.
	err error
	// cprGuard, when set (GuardCPR), is asked before a CPR number newly
	// set on a user is checked against its organisation's index.
	cprGuard CPRGuard
	// deps collects what a write touched, for decision caches (deps.go).
	deps depWrites
	// ops are the key operations of a write, for the fleet's log (replica.go).
	ops []LogOp
	// wrote is set by the first key written or deleted (Wrote).
	wrote bool
	// indexOps are the keys of users' grant and membership indexes the
	// write set or deleted, in order, by user: their login index records
	// are rewritten at the commit (userindex.go).
	indexOps map[string][]indexOp
}

// CPRGuard limits what changes can learn about the CPR numbers of an
// organisation (see GuardCPR): Allow is called before a CPR number newly
// given to a user is checked against the organisation's index (an error
// refuses the change before the check), Duplicate when the number turned
// out to be in use there.
type CPRGuard interface {
	Allow() error
	Duplicate()
}

// GuardCPR makes g the CPRGuard of the transaction's user writes.
func (tx *Tx) GuardCPR(g CPRGuard) { tx.cprGuard = g }

func (tx *Tx) closeIterator() {
	if tx.it != nil {
		tx.it.Close()
		tx.it = nil
	}
}

// shareIterator makes the read transaction's prefix scans use one
// iterator, made by the first scan (a login read that finds everything
// in the user login index and the caches makes none).
func (tx *Tx) shareIterator() { tx.share = !tx.write }

// sharedIterator is the transaction's shared iterator, nil when its scans
// do not share one.
func (tx *Tx) sharedIterator() *badger.Iterator {
	if tx.it == nil && tx.share {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		tx.it = tx.txn.NewIterator(opts)
	}
	return tx.it
}

// Wrote reports whether the transaction has written or deleted a key: until
// it has, it reads exactly the state of the revision before its own.
func (tx *Tx) Wrote() bool { return tx.wrote }

// Now returns the transaction's clock reading (stable within one tx).
func (tx *Tx) Now() time.Time { return tx.now }

// Audit records an extra audit event; Revision, Seq, Time, Actor are filled in.
func (tx *Tx) Audit(ev AuditEvent) { tx.events = append(tx.events, ev) }

func (tx *Tx) audit(typ, org, userID, object string) {
	tx.events = append(tx.events, AuditEvent{Type: typ, Org: org, UserID: userID, Object: object})
}

func (tx *Tx) canWrite() error {
	if !tx.write {
		return &Error{Code: EInternal, Message: "write in a read-only transaction"}
	}
	return tx.err
}

// ReasonTooLarge is the reason code of the error a write method returns
// when one Update holds more than a Badger transaction can (ErrTxnTooBig).
// The store never splits a transaction by itself: callers such as bulk
// imports must use several Updates.
const ReasonTooLarge = "too_large"

// writeFailed records a failed Badger write and returns the error to give.
func (tx *Tx) writeFailed(err error) error {
	if errors.Is(err, badger.ErrTxnTooBig) {
		err = &Error{Code: EInvalid, Reason: ReasonTooLarge,
			Message: "change too large for one transaction; split it into several updates"}
	} else {
		err = fmt.Errorf("store: write: %w", err)
	}
	if tx.err == nil {
		tx.err = err
	}
	return err
}

func (tx *Tx) set(key string, val []byte) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	tx.wrote = true
	if err := tx.txn.Set([]byte(key), val); err != nil {
		return tx.writeFailed(err)
	}
	tx.touchKey(key)
	tx.noteUserIndexKey(key, false)
	tx.captureOp(key, val, false)
	return nil
}

func (tx *Tx) del(key string) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	tx.wrote = true
	if err := tx.txn.Delete([]byte(key)); err != nil {
		return tx.writeFailed(err)
	}
	tx.touchKey(key)
	tx.noteUserIndexKey(key, true)
	tx.captureOp(key, nil, true)
	return nil
}

func (tx *Tx) setJSON(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.set(key, b)
}

// getRaw returns a copy of a value, or not_found.
func (tx *Tx) getRaw(key, what string) (b []byte, err error) {
	err = tx.getWith(key, what, func(v []byte) error {
		b = bytes.Clone(v)
		return nil
	})
	return b, err
}

// getWith calls read with the value of key, in Badger's memory: valid only
// during the call, so read keeps nothing of it.
func (tx *Tx) getWith(key, what string, read func([]byte) error) error {
	item, err := tx.txn.Get([]byte(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return &Error{Code: ENotFound, Message: what + " not found"}
	}
	if err != nil {
		return err
	}
	return item.Value(read)
}

func (tx *Tx) exists(key string) (bool, error) {
	_, err := tx.txn.Get([]byte(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

func getJSON[T any](tx *Tx, key, what string) (*T, error) {
	b, err := tx.getRaw(key, what)
	if err != nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", what, err)
	}
	return v, nil
}

// keys returns the suffixes of every key under prefix, in order. A read
// transaction reuses one key iterator for all its scans: creating a Badger
// iterator costs more than the short scans the login read does.
func (tx *Tx) keys(prefix string) []string { return keyRefIDs(tx.keyRefs(prefix)) }

// keyRefIDs are the suffixes of refs.
func keyRefIDs(refs []keyRef) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.suffix
	}
	return out
}

// keysReverse returns suffixes under prefix, newest (largest) first.
func (tx *Tx) keysReverse(prefix string, fn func(suffix string) bool) {
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Reverse = true
	opts.Prefix = []byte(prefix)
	it := tx.txn.NewIterator(opts)
	defer it.Close()
	seek := append([]byte(prefix), 0xFF)
	for it.Seek(seek); it.ValidForPrefix([]byte(prefix)); it.Next() {
		if !fn(string(it.Item().Key()[len(prefix):])) {
			return
		}
	}
}

// loadAll loads every record whose id is in ids, in order.
func loadAll[T any](ids []string, get func(string) (*T, error)) ([]*T, error) {
	out := make([]*T, 0, len(ids))
	for _, id := range ids {
		v, err := get(id)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Update runs fn in one read-write transaction as actor. If fn returns an
// error nothing is written (audit included). On success the revision is
// bumped once, every audit event recorded by fn (explicitly or by the
// write methods) is stored with that revision, the commit is published on
// the feed, and the new revision is returned. Write does the same and
// also returns the typed changes.
func (s *Store) Update(ctx context.Context, actor string, fn func(tx *Tx) error) (uint64, error) {
	c, err := s.Write(ctx, actor, fn)
	return c.Revision, err
}

// Write is Update returning the whole commit: its revision, the typed
// changes the write methods recorded, in order, and the audit events.
func (s *Store) Write(ctx context.Context, actor string, fn func(tx *Tx) error) (Commit, error) {
	if err := ctx.Err(); err != nil {
		return Commit{}, err
	}
	if err := s.Healthy(); err != nil {
		return Commit{}, &Error{Code: EInternal, Message: err.Error()}
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed.Load() {
		return Commit{}, &Error{Code: EInternal, Message: "store is closed"}
	}
	if s.replica != nil {
		// A change is checked against the newest state, not a lagging
		// replica's: a refusal (not found, A12 …) is as exact as a success.
		if err := s.catchUpLocked(ctx); err != nil {
			return Commit{}, logUnavailable(err)
		}
	}
	for attempt := 1; ; attempt++ {
		c, err := s.writeOnce(ctx, actor, fn)
		if !errors.Is(err, ErrRevisionTaken) {
			return c, err
		}
		// Another node committed this revision first: apply it and run
		// the change again on the newer state.
		if attempt == maxLogAttempts {
			return Commit{}, &Error{Code: EConflict, Message: "concurrent changes on other nodes; try again"}
		}
		if err := s.catchUpLocked(ctx); err != nil {
			return Commit{}, logUnavailable(err)
		}
	}
}

// writeOnce runs fn in one Badger transaction at the next revision and
// commits it: first to the fleet's log, when there is one, then locally.
// Called with wmu held.
func (s *Store) writeOnce(ctx context.Context, actor string, fn func(tx *Tx) error) (Commit, error) {
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	rev := s.rev.Load() + 1
	tx := &Tx{s: s, txn: txn, write: true, now: s.now().UTC(), actor: actor, rev: rev}
	if err := fn(tx); err != nil {
		return Commit{}, err
	}
	if tx.err != nil {
		return Commit{}, tx.err
	}
	if err := tx.writeUserIndexes(); err != nil {
		return Commit{}, err
	}
	if err := tx.writeAudit(); err != nil {
		return Commit{}, err
	}
	var rb [8]byte
	binary.BigEndian.PutUint64(rb[:], rev)
	if err := tx.set(keyRevision, rb[:]); err != nil {
		return Commit{}, err
	}
	if s.replica == nil && s.userIndex.Load() {
		// This write kept the user login index (userindex.go).
		if err := tx.set(keyUserLoginIndex, rb[:]); err != nil {
			return Commit{}, err
		}
	}
	// Checked last, so a dry run (fn fails on purpose) works on a full disk.
	if err := s.disk.check(); err != nil {
		return Commit{}, err
	}
	// What the write touches is recorded before anyone can read it (the
	// log, the local commit): a read whose snapshot shows this write then
	// always finds it in the table too. Recorded for a write that fails
	// after all, it only costs cached answers a recomputation.
	s.deps.record(&tx.deps, rev, tx.changes)
	if s.replica != nil {
		if err := s.appendLog(ctx, tx); err != nil {
			return Commit{}, err
		}
	}
	if err := txn.Commit(); err != nil {
		if errors.Is(err, badger.ErrConflict) {
			return Commit{}, &Error{Code: EConflict, Message: "concurrent change; try again"}
		}
		// With a log, the write is committed there: the follower applies
		// it from the log (the local revision stays behind until then).
		return Commit{}, fmt.Errorf("store: commit: %w", err)
	}
	if s.afterCommit != nil {
		s.afterCommit() // tests: between the commit and the publication
	}
	c := Commit{Revision: rev, Changes: tx.changes, Events: tx.events}
	s.committed(c)
	return c, nil
}

// writeAudit stores the transaction's audit events with its revision.
func (tx *Tx) writeAudit() error {
	for i := range tx.events {
		ev := &tx.events[i]
		ev.Revision, ev.Seq, ev.Actor = tx.rev, i, tx.actor
		if ev.Time.IsZero() {
			ev.Time = tx.now
		}
		if err := tx.setJSON(auditKey(tx.rev, i), ev); err != nil {
			return err
		}
		suffix := fmt.Sprintf("%016x/%04x", tx.rev, i)
		if ev.UserID != "" {
			if err := tx.set(prefixAuditByUser+ev.UserID+"/"+suffix, nil); err != nil {
				return err
			}
		}
		if ev.Org != "" {
			if err := tx.set(prefixAuditByOrg+ev.Org+"/"+suffix, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) publish(c Commit) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	for _, ch := range s.subs {
		select {
		case ch <- c:
		default: // slow subscriber: it sees a revision gap
		}
	}
}

// Subscribe returns a channel of commits, in revision order, and a cancel
// func. Slow subscribers lose commits but never block writers; a lost
// commit shows as a revision gap, so followers compare revisions and read
// what they missed with ChangesSince.
func (s *Store) Subscribe(buffer int) (<-chan Commit, func()) {
	ch := make(chan Commit, max(buffer, 0))
	s.subMu.Lock()
	id := s.subID
	s.subID++
	if s.closed.Load() {
		close(ch)
	} else {
		s.subs[id] = ch
	}
	s.subMu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			s.subMu.Lock()
			if c, ok := s.subs[id]; ok {
				close(c)
				delete(s.subs, id)
			}
			s.subMu.Unlock()
		})
	}
}

// Revision is the revision a write transaction commits as (the state it
// reads is the one before it); 0 in a read transaction.
func (tx *Tx) Revision() uint64 {
	if !tx.write {
		return 0
	}
	return tx.rev
}
