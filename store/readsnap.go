package store

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// readSnap is one read-only Badger transaction that the login reads
// (LoginView) of one store state share, instead of each opening its own.
// Opening and discarding a Badger read transaction is not free: besides
// the allocation, Badger's read watermark hands each begin and each end to
// a goroutine of its own over a channel, so every read woke it twice —
// on an otherwise idle core, with a system call each time (profile in
// docs/decision-path.md, "Stop 33"). A decision reads a few keys; the
// transaction around them cost as much as one of the reads.
//
// A snapshot is used only by reads that find the store in the state it
// was opened in: the same revision (every write of the data; Revision) and
// the same write generation (s.gen: bumped by the writes that change what
// a login read reads without a revision, such as the last-login times).
// So a read never sees older data than its own transaction would have.
// A snapshot is current for at most snapMaxAge, so no transaction stays
// open long: Badger keeps what is newer than its oldest open transaction.
type readSnap struct {
	txn      *badger.Txn
	rev, gen uint64
	// refs counts the reads using it, plus one while it is the store's
	// current snapshot; the transaction is discarded when it drops to 0.
	refs atomic.Int64
}

// snapMaxAge is how long a snapshot stays current at most: reads after
// that take a new one (a variable for the tests).
var snapMaxAge = time.Second

// acquire counts one more read of sn, unless sn is already discarded.
func (sn *readSnap) acquire() bool {
	for {
		n := sn.refs.Load()
		if n <= 0 {
			return false
		}
		if sn.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release ends one use; the last discards the transaction.
func (sn *readSnap) release() {
	if sn.refs.Add(-1) == 0 {
		sn.txn.Discard()
	}
}

// snapshotAt returns a counted snapshot at least as new as revision rev
// (read by the caller before) and the current write generation: the
// current one when it was opened in that state, else a new one, made
// current. Release it when done.
func (s *Store) snapshotAt(rev uint64) *readSnap {
	gen := s.gen.Load()
	for {
		cur := s.snap.Load()
		if cur != nil && cur.rev == rev && cur.gen == gen && cur.acquire() {
			return cur
		}
		// Opened after rev and gen were read: it holds at least what they
		// name.
		n := &readSnap{txn: s.db.NewTransaction(false), rev: rev, gen: gen}
		n.refs.Store(2) // current, and this read
		if s.snap.CompareAndSwap(cur, n) {
			if cur != nil {
				cur.release()
			}
			// Let go of it after snapMaxAge even without a write that does:
			// Badger keeps every version and every commit's conflict record
			// newer than an open transaction (the decision log and the
			// fleet's events are written without wrote()), and an idle store
			// would hold it until the next write.
			time.AfterFunc(snapMaxAge, func() {
				if s.snap.CompareAndSwap(n, nil) {
					n.release()
				}
			})
			return n
		}
		n.txn.Discard() // another read made one first: look again
	}
}

// wrote marks that a write changed data a login read may read (called
// after the write is committed and visible): reads that start from now
// on take a new snapshot. The current one is let go at once, so an idle
// store holds no transaction that keeps Badger from discarding the
// versions the write replaced.
func (s *Store) wrote() {
	s.gen.Add(1)
	if cur := s.snap.Swap(nil); cur != nil {
		cur.release()
	}
}

// viewShared is View for the login read: its transaction is the shared
// snapshot of the state labelled rev (snapshotAt).
func (s *Store) viewShared(_ context.Context, rev uint64, fn func(tx *Tx) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	sn := s.snapshotAt(rev)
	defer sn.release()
	return s.readIn(sn.txn, fn) // its iterator closed before the release: Badger refuses a discard with one open
}
