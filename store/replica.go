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
	"github.com/google/uuid"
)

// A fleet: many stores, each a local Badger replica, writing through and
// following one shared log (the system of record, PostgreSQL in store/pg).
//
// The replica is a pure function of the log: a committed write is the list
// of key operations its Badger transaction made (LogOp), stored in the log
// at its revision together with its typed changes. A writer runs the change
// (plan, Rego checks, writes) on its local replica at revision r-1, appends
// the operations as revision r, and commits them locally only when the log
// took them. A revision is taken once: when another node took r first
// (ErrRevisionTaken), the writer applies what it missed and runs the change
// again on the newer state, so two nodes racing for the last admin role or
// the same e-mail see each other and exactly one wins. A node can only
// append r after it has applied r-1, so revisions are gap-free and their
// order is the commit order. Followers read the log by revision (the
// log's notifications only wake them) and apply each entry in one Badger
// transaction; a new node starts from a snapshot of the log's current state
// at one revision. Decisions read only the local replica.

// LogOp is one key written (or deleted) by a committed write.
type LogOp struct {
	Key    []byte
	Value  []byte
	Delete bool
}

// LogEntry is one committed write in the shared log.
type LogEntry struct {
	Revision uint64
	Ops      []LogOp
	// Changes is the JSON of the write's typed changes ([]Change).
	Changes []byte
	// Writer is a nonce of the write that appends the entry, so that a
	// writer whose commit was cut off can read back whether it landed.
	Writer string
}

// ErrRevisionTaken is Log.Append's answer when another node committed that
// revision first.
var ErrRevisionTaken = errors.New("store: revision taken by another node")

// ErrOutcomeUnknown is Log.Append's answer when the commit was cut off and
// the log cannot say whether it landed.
var ErrOutcomeUnknown = errors.New("store: the system of record did not confirm the write")

// Log is the shared system of record of a fleet (store/pg). Its methods
// are safe for concurrent use, except Wait, which one follower calls.
type Log interface {
	// Kind names the backend, e.g. "postgres" (the health answer's store.kind).
	Kind() string
	// Latest is the last committed revision (0: the log is empty).
	Latest(ctx context.Context) (uint64, error)
	// Append commits e at e.Revision, atomically with the state a snapshot
	// reads; ErrRevisionTaken when that revision exists.
	Append(ctx context.Context, e *LogEntry) error
	// Since reads at most limit entries after revision after, in order.
	Since(ctx context.Context, after uint64, limit int) ([]LogEntry, error)
	// Snapshot calls fn with every key and value of the state at one
	// revision, read consistently, and returns that revision.
	Snapshot(ctx context.Context, fn func(key, value []byte) error) (uint64, error)
	// Wait returns when an entry after revision after may exist, when d
	// has passed, or when ctx ends (a wake-up only: callers read Since).
	Wait(ctx context.Context, after uint64, d time.Duration) error
	// Meta stores value under name unless a value is there, and returns
	// the stored one (fleet-wide settings: the cluster id, the CPR key check).
	Meta(ctx context.Context, name string, value []byte) ([]byte, error)
	// Report records the revision a node has applied (the log is pruned
	// below what every live node has); Oldest is the first revision the
	// log still holds.
	Report(ctx context.Context, node string, applied uint64) error
	Oldest(ctx context.Context) (uint64, error)
	// ShipDecisions stores records of the stored decision log (one there
	// already is kept); DecisionsAfter reads those shipped after seq.
	ShipDecisions(ctx context.Context, recs []ShippedDecision) error
	DecisionsAfter(ctx context.Context, seq int64, limit int) ([]ShippedDecision, error)
	// ShipEvents stores side events of decisions of one kind (events.go);
	// Events reads the oldest ones with their seq, DeleteEvents deletes
	// folded ones.
	ShipEvents(ctx context.Context, kind string, bodies [][]byte) error
	Events(ctx context.Context, kind string, limit int) ([]int64, [][]byte, error)
	DeleteEvents(ctx context.Context, seqs []int64) error
	// Close releases the connections.
	Close() error
}

const (
	maxLogAttempts  = 20          // a write retried after another node took its revision
	followBatch     = 500         // entries read per poll
	followWait      = time.Second // the longest a follower sleeps without a wake-up
	followRetryWait = 500 * time.Millisecond
	// logCallTimeout bounds each call to the log made under the write lock
	// (a read of new entries, an append): a log that stops answering
	// without closing the connection makes writes fail, not hang.
	logCallTimeout = 5 * time.Second
	reportEvery    = 10 * time.Second // how often a node tells the log its applied revision
)

// replica is the fleet state of a store attached to a Log.
type replica struct {
	log     Log
	node    string // this replica's id in the log's node table
	decSeq  int64  // the shipped decision records read so far (shipper goroutine only)
	cancel  context.CancelFunc
	done    chan struct{} // the follower stopped
	shipped chan struct{} // the login shipper stopped

	mu       sync.Mutex
	lastSync time.Time // the last poll that found the replica up to date
	lastErr  error     // the last failed poll or write (nil after a good one)
}

// ReplicaStatus is the fleet state of a store for /health.
type ReplicaStatus struct {
	// Kind is "badger" (no log) or the log's kind ("postgres").
	Kind string
	// Lag is how long ago the replica was last known to be up to date
	// with the log (0 without a log).
	Lag time.Duration
	// Err is why the log cannot be reached now (nil when it can).
	Err error
}

// ReplicaStatus reports the store's fleet state.
func (s *Store) ReplicaStatus() ReplicaStatus {
	r := s.replica
	if r == nil {
		return ReplicaStatus{Kind: "badger"}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return ReplicaStatus{Kind: r.log.Kind(), Lag: max(s.now().Sub(r.lastSync), 0), Err: r.lastErr}
}

func (r *replica) note(err error, synced bool, now time.Time) {
	r.mu.Lock()
	r.lastErr = err
	if synced {
		r.lastSync = now
	}
	r.mu.Unlock()
}

// logUnavailable is the error of a write the log could not take: nothing
// was written anywhere.
func logUnavailable(err error) error {
	return &Error{Code: EInternal, Reason: "store_unavailable",
		Message: "the system of record cannot be reached; nothing was written: " + err.Error()}
}

// attachLog joins the store to the log: it checks that both belong
// together, starts a new replica from a snapshot, catches up, and starts
// the follower. Called by Open before anything is written.
func (s *Store) attachLog(ctx context.Context, l Log) error {
	if err := s.checkCluster(ctx, l); err != nil {
		return err
	}
	latest, err := l.Latest(ctx)
	if err != nil {
		return fmt.Errorf("store: read the log: %w", err)
	}
	oldest, err := l.Oldest(ctx)
	if err != nil {
		return fmt.Errorf("store: read the log: %w", err)
	}
	local := s.rev.Load()
	switch {
	case local > latest:
		return fmt.Errorf("store: the local replica is at revision %d, ahead of the log's %d: it belongs to another system of record (move a store with `adgang store copy`)", local, latest)
	case local > 0 && oldest > local+1:
		// The log was pruned past this replica: start again from a snapshot.
		s.cfg.Logger.Warn().Uint64("revision", local).Uint64("log_oldest", oldest).
			Msg("the replica is older than the log's pruned horizon: it starts again from a snapshot")
		s.rev.Store(0)
		s.wrote()
		fallthrough
	case local == 0 && latest > 0:
		// A snapshot interrupted earlier (a crash, the log gone) may have
		// left keys behind: a replica starts from nothing but its own.
		if err := s.dropReplicated(); err != nil {
			return err
		}
		if err := s.loadSnapshot(ctx, l); err != nil {
			return err
		}
	}
	node, err := s.nodeID()
	if err != nil {
		return err
	}
	s.replica = &replica{log: l, node: node, done: make(chan struct{}), lastSync: s.now()}
	if _, err := s.pull(ctx); err != nil {
		return fmt.Errorf("store: catch up with the log: %w", err)
	}
	bg, cancel := context.WithCancel(context.Background())
	s.replica.cancel = cancel
	s.replica.shipped = make(chan struct{})
	go s.follow(bg)
	go s.shipAndPull(bg)
	return nil
}

// checkCluster ties the local replica to one log: the log's cluster id is
// kept in the replica (unreplicated), and the CPR key check value must be
// the log's, so every node of a fleet hashes CPR numbers alike.
func (s *Store) checkCluster(ctx context.Context, l Log) error {
	remote, err := l.Meta(ctx, "cluster_id", []byte(uuid.NewString()))
	if err != nil {
		return fmt.Errorf("store: read the log: %w", err)
	}
	local, err := s.getMeta(keyClusterID)
	if err != nil {
		return err
	}
	switch {
	case local == nil && s.rev.Load() > 0:
		return errors.New("store: the data directory holds a store that never followed this system of record: start with an empty --data directory, or move the store first with `adgang store copy`")
	case local == nil:
		if err := s.setMeta(keyClusterID, remote); err != nil {
			return err
		}
	case !bytes.Equal(local, remote):
		return errors.New("store: the data directory follows another system of record (cluster id differs): start with an empty --data directory")
	}
	check := s.cprKeyCheck()
	stored, err := l.Meta(ctx, "cpr_key_check", check)
	if err != nil {
		return fmt.Errorf("store: read the log: %w", err)
	}
	if !bytes.Equal(stored, check) {
		return errors.New("store: the CPR key differs from the one the system of record was written with: every node of a fleet needs the same key")
	}
	return nil
}

func (s *Store) getMeta(key string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(key))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		out, err = item.ValueCopy(nil)
		return err
	})
	return out, err
}

func (s *Store) setMeta(key string, v []byte) error {
	return s.db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(key), v) })
}

// nodeID is this replica's id among the fleet's nodes (kept in the replica,
// never replicated), made on first use.
func (s *Store) nodeID() (string, error) {
	id, err := s.getMeta(keyNodeID)
	if err != nil || id != nil {
		return string(id), err
	}
	n := uuid.NewString()
	return n, s.setMeta(keyNodeID, []byte(n))
}

// dropReplicated deletes every replicated key of a replica that starts
// again from a snapshot; what is the node's own (nodeLocal) stays.
func (s *Store) dropReplicated() error {
	var keys [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().KeyCopy(nil)
			if !nodeLocal(k) {
				keys = append(keys, k)
			}
		}
		return nil
	})
	if err != nil || len(keys) == 0 {
		return err
	}
	return s.deleteKeys(keys)
}

// loadSnapshot fills an empty replica with the log's state at one revision.
func (s *Store) loadSnapshot(ctx context.Context, l Log) error {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	rev, err := l.Snapshot(ctx, func(k, v []byte) error {
		if localKey(k) {
			return nil
		}
		return wb.Set(bytes.Clone(k), bytes.Clone(v))
	})
	if err != nil {
		return fmt.Errorf("store: read a snapshot of the log: %w", err)
	}
	var rb [8]byte
	binary.BigEndian.PutUint64(rb[:], rev)
	if err := wb.Set([]byte(keyRevision), rb[:]); err != nil {
		return err
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("store: write the snapshot: %w", err)
	}
	s.deps.flush(rev) // before the revision is published: no check labelled rev may pass unflushed
	s.rev.Store(rev)
	s.wrote()
	s.changes.floor = rev
	s.cfg.Logger.Info().Uint64("revision", rev).Msg("replica started from a snapshot of the system of record")
	return nil
}

// follow applies the log's new entries until ctx ends.
func (s *Store) follow(ctx context.Context) {
	r := s.replica
	defer close(r.done)
	var reported time.Time
	for ctx.Err() == nil {
		if time.Since(reported) >= reportEvery {
			rctx, cancel := context.WithTimeout(ctx, logCallTimeout)
			if err := r.log.Report(rctx, r.node, s.rev.Load()); err == nil {
				reported = time.Now()
			}
			cancel()
		}
		n, err := s.pull(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.cfg.Logger.Warn().Err(err).Msg("follow the system of record")
			}
			select {
			case <-ctx.Done():
			case <-time.After(followRetryWait):
			}
			continue
		}
		if n < followBatch {
			// Up to date, and while the log's connection waits without a
			// notification nothing new exists: the replica stays current.
			if err := r.log.Wait(ctx, s.rev.Load(), followWait); err == nil {
				r.note(nil, true, s.now())
			}
		}
	}
}

// pull applies the entries after the local revision (one batch) and says
// how many it applied.
func (s *Store) pull(ctx context.Context) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.pullLocked(ctx)
}

func (s *Store) pullLocked(ctx context.Context) (int, error) {
	r := s.replica
	if s.closed.Load() {
		return 0, errors.New("store is closed")
	}
	lctx, cancel := context.WithTimeout(ctx, logCallTimeout)
	defer cancel()
	entries, err := r.log.Since(lctx, s.rev.Load(), followBatch)
	if err != nil {
		r.note(err, false, s.now())
		return 0, err
	}
	for i := range entries {
		if err := s.applyEntry(&entries[i]); err != nil {
			r.note(err, false, s.now())
			return i, err
		}
	}
	r.note(nil, len(entries) < followBatch, s.now())
	return len(entries), nil
}

// catchUpLocked applies everything the log has after the local revision.
func (s *Store) catchUpLocked(ctx context.Context) error {
	for {
		n, err := s.pullLocked(ctx)
		if err != nil {
			return err
		}
		if n < followBatch {
			return nil
		}
	}
}

// applyEntry commits one log entry to the replica, records what it
// touched for the decision caches and publishes it on the change feed, as
// the writing node did.
func (s *Store) applyEntry(e *LogEntry) error {
	if want := s.rev.Load() + 1; e.Revision != want {
		return fmt.Errorf("store: the log answered revision %d where %d was next (pruned past this replica: restart the node to start again from a snapshot)", e.Revision, want)
	}
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	tx := &Tx{s: s, txn: txn, write: true, now: s.now().UTC(), rev: e.Revision}
	var events []AuditEvent
	for _, op := range e.Ops {
		var err error
		if op.Delete {
			err = txn.Delete(op.Key)
		} else {
			err = txn.Set(op.Key, op.Value)
		}
		if err != nil {
			return fmt.Errorf("store: apply revision %d: %w", e.Revision, err)
		}
		key := string(op.Key)
		tx.touchKey(key)
		if !op.Delete && strings.HasPrefix(key, prefixAudit) {
			var ev AuditEvent
			if json.Unmarshal(op.Value, &ev) == nil {
				events = append(events, ev)
			}
		}
	}
	var rb [8]byte
	binary.BigEndian.PutUint64(rb[:], e.Revision)
	if err := txn.Set([]byte(keyRevision), rb[:]); err != nil {
		return err
	}
	var changes []Change
	if len(e.Changes) > 0 {
		if err := json.Unmarshal(e.Changes, &changes); err != nil {
			return fmt.Errorf("store: revision %d: changes: %w", e.Revision, err)
		}
	}
	s.deps.record(&tx.deps, e.Revision, changes) // before the commit, as writeOnce
	if err := txn.Commit(); err != nil {
		return fmt.Errorf("store: apply revision %d: %w", e.Revision, err)
	}
	s.committed(Commit{Revision: e.Revision, Changes: changes, Events: events})
	return nil
}

// committed makes a committed revision visible (what it touched was
// recorded in the dependency table before its commit): ChangesSince, the
// revision, then the feed and the revision waiters.
func (s *Store) committed(c Commit) {
	s.changes.add(c)
	s.rev.Store(c.Revision)
	s.wrote()
	s.revCond.broadcast()
	s.publish(c)
}

// appendLog hands a write's operations to the log before the local commit.
func (s *Store) appendLog(ctx context.Context, tx *Tx) error {
	changes, err := json.Marshal(tx.changes)
	if err != nil {
		return err
	}
	// Not cut short by the request: a half-sent commit leaves its outcome
	// unknown. Bounded, so a log that stops answering gives 503.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), logCallTimeout)
	defer cancel()
	err = s.replica.log.Append(actx, &LogEntry{Revision: tx.rev, Ops: tx.ops, Changes: changes, Writer: uuid.NewString()})
	switch {
	case errors.Is(err, ErrOutcomeUnknown):
		s.replica.note(err, false, s.now())
		return &Error{Code: EInternal, Reason: "store_unavailable",
			Message: "the system of record did not confirm the write: it may have been written, and then every node applies it; check before repeating it"}
	case err != nil && !errors.Is(err, ErrRevisionTaken):
		s.replica.note(err, false, s.now())
		return logUnavailable(err)
	}
	return err
}

// captureOp records a key operation of a write transaction for the log.
func (tx *Tx) captureOp(key string, val []byte, del bool) {
	if !tx.write || tx.s == nil || tx.s.replica == nil || key == keyRevision {
		return
	}
	tx.ops = append(tx.ops, LogOp{Key: []byte(key), Value: bytes.Clone(val), Delete: del})
}

// stopReplica stops the follower (Close).
func (s *Store) stopReplica() {
	r := s.replica
	if r == nil {
		return
	}
	if r.cancel != nil {
		r.cancel()
		<-r.done
		<-r.shipped
	}
	_ = r.log.Close()
}

// revCond lets readers wait for a revision (WaitRevision).
type revCond struct {
	mu sync.Mutex
	ch chan struct{}
}

func (c *revCond) wait() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch == nil {
		c.ch = make(chan struct{})
	}
	return c.ch
}

func (c *revCond) broadcast() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch != nil {
		close(c.ch)
		c.ch = nil
	}
}

// WaitRevision returns once the store has applied revision rev, or an
// error with reason revision_not_reached (503) when it has not within d
// or ctx ends first: an answer is never older than what its caller wrote.
func (s *Store) WaitRevision(ctx context.Context, rev uint64, d time.Duration) error {
	if s.rev.Load() >= rev {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		ch := s.revCond.wait()
		if s.rev.Load() >= rev {
			return nil
		}
		select {
		case <-ch:
		case <-t.C:
			return &Error{Code: EInternal, Reason: "revision_not_reached",
				Message: fmt.Sprintf("this node has applied revision %d, not yet %d; try again or ask another node", s.rev.Load(), rev)}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
