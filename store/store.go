package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/rs/zerolog"
)

// Config configures Open. The zero value of each field is a safe default.
type Config struct {
	// Dir is the Badger directory. Required unless InMemory.
	Dir string
	// InMemory keeps everything in memory (tests and benchmarks only).
	InMemory bool
	// NoSync turns Badger's SyncWrites off. Default (false) = every
	// acknowledged write is fsynced and survives kill -9.
	NoSync bool
	// EncryptionKey (16, 24 or 32 bytes) enables Badger encryption at rest.
	EncryptionKey []byte
	// CPRKey is the HMAC secret for CPR look-up hashes. Required.
	CPRKey []byte
	// GCInterval is how often value-log GC runs (default 10m; <0 disables).
	GCInterval time.Duration
	// Logger receives store logs (never CPR numbers).
	Logger zerolog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// MinFreeDisk refuses writes (insufficient_storage) while the file
	// system of Dir has fewer bytes free; 0 disables the guard. Badger
	// maps its files into memory, so a full disk would crash the process.
	MinFreeDisk uint64
}

// Store is the Badger-backed system of record. Safe for concurrent use.
// Writes are serialised; each Update is one Badger transaction that bumps
// the store-wide revision and appends its audit events.
type Store struct {
	db     *badger.DB
	cfg    Config
	cpr    *CPRHasher
	now    func() time.Time
	closed atomic.Bool
	// readers counts View transactions in flight, so Close can wait for
	// them: Badger must not be closed under an open read transaction.
	readers atomic.Int64

	wmu sync.Mutex    // serialises writers
	rev atomic.Uint64 // last committed revision

	subMu sync.Mutex
	subs  map[int]chan Commit
	subID int

	changes changeLog // recent commits (ChangesSince)

	grants grantCache // decoded grants of read transactions
	deps   depTable   // last-change revisions of what decisions read
	orgs   recordCache[Org]
	groups recordCache[Group]
	disk   *diskGuard // free-space guard of writes (nil when off)

	healthMu   sync.Mutex
	healthAt   time.Time
	healthErr  error
	stopGC     chan struct{}
	gcDone     chan struct{}
	closeOnce  sync.Once
	closeError error
}

// badgerLogger adapts Badger's logger to zerolog, warnings and errors only.
type badgerLogger struct{ l zerolog.Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.l.Error().Msgf(strings.TrimSpace(f), a...) }
func (b badgerLogger) Warningf(f string, a ...any) { b.l.Warn().Msgf(strings.TrimSpace(f), a...) }
func (b badgerLogger) Infof(string, ...any)        {}
func (b badgerLogger) Debugf(string, ...any)       {}

// Open opens (creating if needed) the store. It fails with a clear error
// when another process holds the directory. On an empty store it seeds
// the default rights catalogue (DefaultRights).
func Open(cfg Config) (*Store, error) {
	if len(cfg.CPRKey) == 0 {
		return nil, errors.New("store: a CPR hash key is required")
	}
	if !cfg.InMemory && cfg.Dir == "" {
		return nil, errors.New("store: a data directory is required")
	}
	opts := badger.DefaultOptions(cfg.Dir).
		WithSyncWrites(!cfg.NoSync).
		WithLogger(badgerLogger{cfg.Logger}).
		WithNumVersionsToKeep(1).
		WithMetricsEnabled(false).
		// Sized for a sidecar, not Badger's server defaults (5×64 MB
		// memtables, 256 MB block cache): the login read is a few point
		// look-ups and Adgang keeps its own caches above the store.
		WithMemTableSize(32 << 20).
		WithNumMemtables(2).
		// No compression: blocks are then read straight from the
		// memory-mapped tables, with no block cache and no decompression
		// buffers (those were most of the heap at 100k users, and CPU on
		// every read). The data is small; the disk can take twice of it.
		WithCompression(options.None).
		WithBlockCacheSize(0)
	if cfg.InMemory {
		opts = opts.WithInMemory(true).WithDir("").WithValueDir("")
	}
	if len(cfg.EncryptionKey) > 0 {
		// Encrypted blocks are decrypted into the block cache.
		opts = opts.WithEncryptionKey(cfg.EncryptionKey).WithIndexCacheSize(64 << 20).WithBlockCacheSize(64 << 20)
	}
	db, err := badger.Open(opts)
	if err != nil {
		if strings.Contains(err.Error(), "Cannot acquire directory lock") || strings.Contains(err.Error(), "resource temporarily unavailable") {
			return nil, fmt.Errorf("store: data directory %q is in use by another process (badger lock): %w", cfg.Dir, err)
		}
		return nil, fmt.Errorf("store: open %q: %w", cfg.Dir, err)
	}
	s := &Store{db: db, cfg: cfg, cpr: NewCPRHasher(cfg.CPRKey), now: cfg.Now, subs: map[int]chan Commit{},
		stopGC: make(chan struct{}), gcDone: make(chan struct{})}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.MinFreeDisk > 0 && !cfg.InMemory {
		s.disk = &diskGuard{dir: cfg.Dir, min: cfg.MinFreeDisk, log: func(low bool, free uint64) {
			if low {
				cfg.Logger.Error().Uint64("free_bytes", free).Uint64("min_free_bytes", cfg.MinFreeDisk).
					Msg("disk nearly full: writes are refused (insufficient_storage) until space is freed; decisions go on")
			} else {
				cfg.Logger.Info().Uint64("free_bytes", free).Msg("disk space is back: writes are accepted again")
			}
		}}
	}
	err = db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(keyRevision))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) != 8 {
				return errors.New("corrupt revision")
			}
			s.rev.Store(binary.BigEndian.Uint64(v))
			s.changes.floor = s.rev.Load()
			return nil
		})
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: read revision: %w", err)
	}
	if err := s.migrate(); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	if err := s.checkCPRKey(); err != nil {
		db.Close()
		return nil, err
	}
	if s.rev.Load() == 0 {
		if _, err := s.Update(context.Background(), "system", func(tx *Tx) error {
			for _, r := range DefaultRights() {
				if err := tx.PutRight(&r); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			db.Close()
			return nil, fmt.Errorf("store: seed rights: %w", err)
		}
	}
	gc := cfg.GCInterval
	if gc == 0 {
		gc = 10 * time.Minute
	}
	if gc > 0 && !cfg.InMemory {
		go s.runGC(gc)
	} else {
		close(s.gcDone)
	}
	return s, nil
}

func (s *Store) runGC(every time.Duration) {
	defer close(s.gcDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stopGC:
			return
		case <-t.C:
			for s.disk.check() == nil && s.db.RunValueLogGC(0.5) == nil {
			}
		}
	}
}

// Close stops background work and closes Badger. Idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		close(s.stopGC)
		<-s.gcDone
		for waited := time.Duration(0); s.readers.Load() > 0; waited += time.Millisecond {
			if waited > 0 && waited%(5*time.Second) == 0 {
				s.cfg.Logger.Warn().Int64("readers", s.readers.Load()).Msg("store close waits for read transactions")
			}
			time.Sleep(time.Millisecond)
		}
		s.wmu.Lock()
		if _, err := os.Stat(filepath.Join(s.cfg.Dir, "MANIFEST")); err != nil && !s.cfg.InMemory {
			// The directory vanished under us: Badger's Close would retry
			// flushing the memtable into it forever. Nothing can be saved.
			s.closeError = fmt.Errorf("store: data directory %q is gone; closed without flushing: %w", s.cfg.Dir, err)
			s.cfg.Logger.Error().Err(s.closeError).Msg("store close")
		} else if free, ok := freeBytes(s.cfg.Dir); ok && !s.cfg.InMemory && free < flushRoom(s.cfg.Dir) {
			// Flushing the memtable would write a table into a (nearly)
			// full disk through a memory map: SIGBUS. Every acknowledged
			// write is already in the synced write-ahead log, which the
			// next Open replays, as after a crash.
			s.closeError = fmt.Errorf("store: only %s free on the data directory's disk: closed without flushing (the next start replays the write-ahead log)", formatBytes(free))
			s.cfg.Logger.Error().Err(s.closeError).Msg("store close")
		} else {
			s.closeError = s.db.Close()
		}
		s.wmu.Unlock()
		s.subMu.Lock()
		for id, ch := range s.subs {
			close(ch)
			delete(s.subs, id)
		}
		s.subMu.Unlock()
	})
	return s.closeError
}

// Revision returns the last committed revision (0 for an empty store).
func (s *Store) Revision() uint64 { return s.rev.Load() }

// Healthy returns nil when the store is open and its directory usable.
func (s *Store) Healthy() error {
	if s.closed.Load() {
		return errors.New("store is closed")
	}
	if s.cfg.InMemory {
		return nil
	}
	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	if time.Since(s.healthAt) < 250*time.Millisecond {
		return s.healthErr
	}
	s.healthAt = time.Now()
	s.healthErr = nil
	if _, err := os.Stat(filepath.Join(s.cfg.Dir, "MANIFEST")); err != nil {
		s.healthErr = fmt.Errorf("store directory unusable: %w", err)
	}
	return s.healthErr
}

// HashCPR returns the keyed hash used to look a CPR number up. cpr must be
// a normalised 10-digit/KOT CPR (see ParseCPR).
func (s *Store) HashCPR(cpr string) string { return s.cpr.Hash(cpr) }

// View runs fn in a read-only transaction. Write methods on tx fail.
func (s *Store) View(ctx context.Context, fn func(tx *Tx) error) error {
	s.readers.Add(1)
	defer s.readers.Add(-1)
	// Checked after counting this reader: Close sets closed first and then
	// waits for the count to drop, so no reader starts on a closed DB.
	if err := s.Healthy(); err != nil {
		return &Error{Code: EInternal, Message: err.Error()}
	}
	return s.db.View(func(txn *badger.Txn) error {
		tx := &Tx{s: s, txn: txn, now: s.now().UTC()}
		defer tx.closeIterator()
		return fn(tx)
	})
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
	if err := tx.writeAudit(); err != nil {
		return Commit{}, err
	}
	var rb [8]byte
	binary.BigEndian.PutUint64(rb[:], rev)
	if err := tx.set(keyRevision, rb[:]); err != nil {
		return Commit{}, err
	}
	// Checked last, so a dry run (fn fails on purpose) works on a full disk.
	if err := s.disk.check(); err != nil {
		return Commit{}, err
	}
	if err := txn.Commit(); err != nil {
		if errors.Is(err, badger.ErrConflict) {
			return Commit{}, &Error{Code: EConflict, Message: "concurrent change; try again"}
		}
		return Commit{}, fmt.Errorf("store: commit: %w", err)
	}
	// What the write touched is recorded before the revision is published:
	// a decision cache checking after this Update returns sees it, and so
	// does ChangesSince.
	s.deps.record(&tx.deps, rev)
	c := Commit{Revision: rev, Changes: tx.changes, Events: tx.events}
	s.changes.add(c)
	s.rev.Store(rev)
	s.publish(c)
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
			if err := tx.set("iau/"+ev.UserID+"/"+suffix, nil); err != nil {
				return err
			}
		}
		if ev.Org != "" {
			if err := tx.set("iao/"+ev.Org+"/"+suffix, nil); err != nil {
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

// LoginView returns what a login decision needs about subjectID (a UUID or
// a CVR:…-RID:… legacy id) logging in for cvr: the user (nil if unknown),
// the org (nil if unknown), its direct grants and the grants of every group
// it is a member of (custom and the system group of its P-number), and the
// certificate with certSerial if given and known. Point look-ups only.
func (s *Store) LoginView(ctx context.Context, cvr, subjectID, certSerial string) (*LoginView, error) {
	// The revision is read before the snapshot is taken: the view is then
	// at least as new as its label, never older, so a cache keyed by the
	// label can never serve data older than the revision it names.
	v := &LoginView{Revision: s.rev.Load()}
	err := s.View(ctx, func(tx *Tx) error {
		tx.shareIterator()
		u, err := tx.GetUser(subjectID)
		if IsNotFound(err) && strings.HasPrefix(subjectID, "CVR:") {
			u, err = tx.UserByLegacyID(subjectID)
		}
		switch {
		case err == nil:
			v.User = u
		case !IsNotFound(err):
			return err
		}
		if o, err := getShared(tx, &s.orgs, "o/"+cvr, "organisation"); err == nil {
			v.Org = o
		} else if !IsNotFound(err) {
			return err
		}
		var groups []string
		if v.User != nil {
			if v.Grants, groups, err = tx.effectiveGrantsAndGroups(v.User); err != nil {
				return err
			}
			if v.GrantOrgs, err = tx.grantOrgs(v.User, v.Grants); err != nil {
				return err
			}
		}
		v.Deps = loginDeps(v, cvr, subjectID, certSerial, groups)
		if certSerial != "" {
			if c, err := tx.GetCertificate(certSerial); err == nil {
				v.Certificate = c
			} else if !IsNotFound(err) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// --- keys ---

const keyRevision = "m/rev"

func auditKey(rev uint64, seq int) string { return fmt.Sprintf("a/%016x/%04x", rev, seq) }

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

// shareIterator makes the read transaction's prefix scans use one iterator.
func (tx *Tx) shareIterator() {
	if tx.it == nil && !tx.write {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		tx.it = tx.txn.NewIterator(opts)
	}
}

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
	if err := tx.txn.Set([]byte(key), val); err != nil {
		return tx.writeFailed(err)
	}
	tx.touchKey(key)
	return nil
}

func (tx *Tx) del(key string) error {
	if err := tx.canWrite(); err != nil {
		return err
	}
	if err := tx.txn.Delete([]byte(key)); err != nil {
		return tx.writeFailed(err)
	}
	tx.touchKey(key)
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
func (tx *Tx) getRaw(key, what string) ([]byte, error) {
	item, err := tx.txn.Get([]byte(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, &Error{Code: ENotFound, Message: what + " not found"}
	}
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
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
func (tx *Tx) keys(prefix string) []string {
	refs := tx.keyRefs(prefix)
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

// --- organisations ---

func (tx *Tx) GetOrg(cvr string) (*Org, error) { return getJSON[Org](tx, "o/"+cvr, "organisation") }

func (tx *Tx) ListOrgs() ([]*Org, error) {
	return loadAll(tx.keys("o/"), tx.GetOrg)
}

// CreateOrg stores a new org (conflict if it exists) and its system groups.
func (tx *Tx) CreateOrg(o *Org) error {
	if err := ValidCVR(o.CVR); err != nil {
		return err
	}
	if ok, err := tx.exists("o/" + o.CVR); err != nil {
		return err
	} else if ok {
		return RuleError(EConflict, "", "duplicate", "organisation %s exists", o.CVR)
	}
	if err := tx.checkPUnits(o); err != nil {
		return err
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = tx.now
	}
	o.UpdatedAt = tx.now
	if err := tx.setJSON("o/"+o.CVR, o); err != nil {
		return err
	}
	tx.audit("org.create", o.CVR, "", o.CVR)
	tx.changed(ChangeOrg, OpCreate, o.CVR, "", "", o.CVR)
	return tx.syncSystemGroups(o, nil)
}

// UpdateOrg replaces an org and keeps its system groups in step with P-units.
func (tx *Tx) UpdateOrg(o *Org) error {
	old, err := tx.GetOrg(o.CVR)
	if err != nil {
		return err
	}
	if err := tx.checkPUnits(o); err != nil {
		return err
	}
	o.CreatedAt = old.CreatedAt
	o.UpdatedAt = tx.now
	if err := tx.setJSON("o/"+o.CVR, o); err != nil {
		return err
	}
	tx.audit("org.update", o.CVR, "", o.CVR)
	tx.changed(ChangeOrg, OpUpdate, o.CVR, "", "", o.CVR)
	return tx.syncSystemGroups(o, old)
}

// checkPUnits refuses, before anything is written, P-units that are
// malformed, repeated, or already another org's (a P-number belongs to
// exactly one CVR).
func (tx *Tx) checkPUnits(o *Org) error {
	seen := make(map[string]bool, len(o.PUnits))
	for _, p := range o.PUnits {
		if err := ValidPNumber(p.PNumber); err != nil {
			return err
		}
		if seen[p.PNumber] {
			return Errorf(EInvalid, "P-number %s is listed twice", p.PNumber)
		}
		seen[p.PNumber] = true
		gid, err := tx.getRaw("ips/"+p.PNumber, "system group")
		if IsNotFound(err) {
			continue
		} else if err != nil {
			return err
		}
		g, err := tx.GetGroup(string(gid))
		if err != nil {
			return err
		}
		if g.Org != o.CVR {
			return Errorf(EConflict, "P-number %s belongs to another organisation", p.PNumber)
		}
	}
	return nil
}

// systemGroupID is the id of the system group of P-number p. CreateGroup
// refuses ids with this prefix, so a custom group never takes it.
func systemGroupID(p string) string { return "sys-" + p }

func (tx *Tx) syncSystemGroups(o, old *Org) error {
	for _, p := range o.PUnits {
		if gid, err := tx.getRaw("ips/"+p.PNumber, "system group"); err == nil {
			g, err := tx.GetGroup(string(gid))
			if err != nil {
				return err
			}
			if g.Org != o.CVR {
				return Errorf(EConflict, "P-number %s belongs to another organisation", p.PNumber)
			}
			name := p.Name
			if name == "" {
				name = p.PNumber
			}
			if g.Name != name {
				g.Name = name
				if err := tx.setJSON("G/"+g.ID, g); err != nil {
					return err
				}
				tx.changed(ChangeGroup, OpUpdate, g.Org, "", g.ID, g.ID)
			}
			continue
		} else if !IsNotFound(err) {
			return err
		}
		name := p.Name
		if name == "" {
			name = p.PNumber
		}
		g := &Group{ID: systemGroupID(p.PNumber), Org: o.CVR, Name: name, Kind: GroupSystem, PNumber: p.PNumber, CreatedAt: tx.now}
		if err := tx.putGroup(g); err != nil {
			return err
		}
		if err := tx.set("ips/"+p.PNumber, []byte(g.ID)); err != nil {
			return err
		}
		tx.audit("group.create", o.CVR, "", g.ID)
		tx.changed(ChangeGroup, OpCreate, o.CVR, "", g.ID, g.ID)
	}
	if old != nil {
		for _, p := range old.PUnits {
			if o.HasPUnit(p.PNumber) {
				continue
			}
			gid, err := tx.getRaw("ips/"+p.PNumber, "system group")
			if IsNotFound(err) {
				continue
			} else if err != nil {
				return err
			}
			if err := tx.deleteGroup(string(gid)); err != nil {
				return err
			}
		}
	}
	return nil
}

// --- users ---

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
	return tx.setJSON("u/"+u.ID, userRecord{User: rec, StoredCPRHash: u.CPRHash, StoredCPREncrypted: u.CPREncrypted,
		StoredPassword: u.Password, StoredActivationHash: u.ActivationHash})
}

func decodeUser(b []byte) (*User, error) {
	var r userRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode user: %w", err)
	}
	u := r.User
	u.CPRHash, u.CPREncrypted, u.Password, u.ActivationHash = r.StoredCPRHash, r.StoredCPREncrypted, r.StoredPassword, r.StoredActivationHash
	return &u, nil
}

func (tx *Tx) GetUser(id string) (*User, error) {
	b, err := tx.getRaw("u/"+id, "user")
	if err != nil {
		return nil, err
	}
	return decodeUser(b)
}

func (tx *Tx) userByIndex(key string) (*User, error) {
	id, err := tx.getRaw(key, "user")
	if err != nil {
		return nil, err
	}
	return tx.GetUser(string(id))
}

func (tx *Tx) UserByEmail(email string) (*User, error) { return tx.userByIndex("ie/" + lower(email)) }
func (tx *Tx) UserByUsername(username string) (*User, error) {
	return tx.userByIndex("in/" + lower(username))
}
func (tx *Tx) UserByLegacyID(legacy string) (*User, error) { return tx.userByIndex("il/" + legacy) }

// UserByCPRHash finds the user of org with the CPR hash. A CPR number is
// unique per organisation only (one person may be a user of several), so
// the look-up never sees another organisation's users.
func (tx *Tx) UserByCPRHash(org, hash string) (*User, error) {
	return tx.userByIndex(cprIndexKey(org, hash))
}

// cprIndexKey is the key of the per-organisation CPR index.
func cprIndexKey(org, hash string) string { return "ic/" + org + "/" + hash }

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
	{"ie/", "email", func(u *User) string { return lower(u.Email) }},
	{"in/", "username", func(u *User) string { return lower(u.Username) }},
	{"il/", "legacy id", func(u *User) string { return u.LegacyID }},
	// CPR numbers are unique per organisation (ic/<cvr>/<hash>): a person
	// may be a user of several, and a refusal must not tell one
	// organisation that another knows the person.
	{"ic/", "CPR number", func(u *User) string {
		if u.CPRHash == "" {
			return ""
		}
		return u.Org + "/" + u.CPRHash
	}},
}

// userIndexes writes (or removes, when u is nil) the indexes of a user,
// moving only those that changed between old and u.
func (tx *Tx) moveUserIndexes(old, u *User) error {
	// Check every unique value first: a conflict found after some index
	// was already moved would leave the transaction half-written, and a
	// caller that reports the row and goes on (a non-atomic import) would
	// then commit a dangling index.
	if u != nil {
		for _, ix := range uniqueIndexes {
			nv := ix.value(u)
			if nv == "" || (old != nil && ix.value(old) == nv) {
				continue
			}
			cpr := ix.prefix == "ic/" && tx.cprGuard != nil
			if cpr {
				if err := tx.cprGuard.Allow(); err != nil {
					return err
				}
			}
			if holder, err := tx.getRaw(ix.prefix+nv, "index"); err == nil && string(holder) != u.ID {
				if ix.prefix == "ic/" {
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
	oldOrgP, newOrgP := "", ""
	if old != nil {
		oldOrgP = old.Org + "/" + old.PNumber + "/" + old.ID
	}
	if u != nil {
		newOrgP = u.Org + "/" + u.PNumber + "/" + u.ID
	}
	if oldOrgP != newOrgP {
		if old != nil {
			if err := tx.del("iou/" + old.Org + "/" + old.ID); err != nil {
				return err
			}
			if old.PNumber != "" {
				if err := tx.del(pUserKey(old.Org, old.PNumber, old.ID)); err != nil {
					return err
				}
			}
		}
		if u != nil {
			if err := tx.set("iou/"+u.Org+"/"+u.ID, nil); err != nil {
				return err
			}
			if u.PNumber != "" {
				if err := tx.set(pUserKey(u.Org, u.PNumber, u.ID), nil); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// pUserKey indexes the users of an org by home P-number: the implicit
// members of that P-unit's system group. The org is part of the key so a
// user whose P-number names another org's P-unit joins no system group.
func pUserKey(org, p, userID string) string { return "iup/" + org + "/" + p + "/" + userID }

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
	if ok, err := tx.exists("u/" + u.ID); err != nil {
		return err
	} else if ok {
		return RuleError(EConflict, "A12", "duplicate", "user id already in use")
	}
	if ok, err := tx.exists("o/" + u.Org); err != nil {
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
		if ok, err := tx.exists("o/" + u.Org); err != nil {
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
	tx.changed(ChangeUser, OpUpdate, u.Org, u.ID, "", u.ID)
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
	for id, t := range logins {
		if err := tx.TouchLogin(id, t); err != nil && !IsNotFound(err) {
			return err
		}
	}
	return txn.Commit()
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
	tx.changed(ChangeUser, OpUpdate, u.Org, u.ID, "", u.ID)
	return nil
}

// unlinkMember removes both index entries of one custom-group membership.
func (tx *Tx) unlinkMember(groupID, userID string) error {
	if err := tx.del("igm/" + groupID + "/" + userID); err != nil {
		return err
	}
	return tx.del("ium/" + userID + "/" + groupID)
}

// DeleteUser removes a user, its indexes, direct grants and memberships.
// Its audit history stays.
func (tx *Tx) DeleteUser(id string) error {
	u, err := tx.GetUser(id)
	if err != nil {
		return err
	}
	for _, gid := range tx.keys("iug/" + id + "/") {
		if err := tx.DeleteGrant(gid); err != nil {
			return err
		}
	}
	for _, gid := range tx.keys("ium/" + id + "/") {
		if err := tx.unlinkMember(gid, id); err != nil {
			return err
		}
		tx.changed(ChangeMember, OpDelete, "", id, gid, gid)
	}
	if err := tx.moveUserIndexes(u, nil); err != nil {
		return err
	}
	if err := tx.del("u/" + id); err != nil {
		return err
	}
	tx.audit("user.delete", u.Org, u.ID, u.ID)
	tx.changed(ChangeUser, OpDelete, u.Org, u.ID, "", u.ID)
	return nil
}

// ListUsers lists an org's users ordered by id, starting after `after`.
func (tx *Tx) ListUsers(cvr, after string, limit int) (users []*User, next string, err error) {
	prefix := "iou/" + cvr + "/"
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
	opts.Prefix = []byte("u/")
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

// --- rights ---

func (tx *Tx) GetRight(id string) (*Right, error) { return getJSON[Right](tx, "r/"+id, "right") }

func (tx *Tx) PutRight(r *Right) error {
	if r.ID == "" || strings.ContainsAny(r.ID, "/ ") {
		return Errorf(EInvalid, "right id must be non-empty without spaces or slashes")
	}
	if err := tx.setJSON("r/"+r.ID, r); err != nil {
		return err
	}
	tx.audit("right.put", "", "", r.ID)
	tx.changed(ChangeRight, OpUpdate, "", "", "", r.ID)
	return nil
}

func (tx *Tx) ListRights() ([]*Right, error) {
	return loadAll(tx.keys("r/"), tx.GetRight)
}

// --- grants ---

func (tx *Tx) GetGrant(id string) (*Grant, error) { return getJSON[Grant](tx, "g/"+id, "grant") }

func (tx *Tx) CreateGrant(g *Grant) error {
	if g.ID == "" || strings.Contains(g.ID, "/") {
		return Errorf(EInvalid, "grant id must be non-empty without slashes")
	}
	if ok, err := tx.exists("g/" + g.ID); err != nil {
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
	if ok, err := tx.exists("r/" + g.Right); err != nil {
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
		if err := tx.set("iug/"+g.HolderID+"/"+g.ID, nil); err != nil {
			return err
		}
	case HolderGroup:
		if _, err := tx.GetGroup(g.HolderID); err != nil {
			return err
		}
		if err := tx.set("igg/"+g.HolderID+"/"+g.ID, nil); err != nil {
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
	if err := tx.setJSON("g/"+g.ID, g); err != nil {
		return err
	}
	tx.Audit(grantEvent("grant.create", g, userID))
	tx.grantChanged(OpCreate, g)
	return nil
}

func (tx *Tx) DeleteGrant(id string) error {
	g, err := tx.GetGrant(id)
	if err != nil {
		return err
	}
	userID := ""
	if g.HolderType == HolderUser {
		userID = g.HolderID
		err = tx.del("iug/" + g.HolderID + "/" + id)
	} else {
		err = tx.del("igg/" + g.HolderID + "/" + id)
	}
	if err != nil {
		return err
	}
	if err := tx.del(rightGrantKey(g.Right, id)); err != nil {
		return err
	}
	if err := tx.del("g/" + id); err != nil {
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

func (tx *Tx) grantsUnder(prefix string) ([]*Grant, error) {
	if !tx.write {
		return tx.cachedGrants(prefix)
	}
	return loadAll(tx.keys(prefix), tx.GetGrant)
}

// rightGrantKey indexes grants by right ("igr/<right>/<grant id>"), so the
// holders of a right (e.g. the admin roles) are found without a scan.
func rightGrantKey(right, id string) string { return "igr/" + right + "/" + id }

// GrantsOfRight returns every grant of a right (to users and to groups).
func (tx *Tx) GrantsOfRight(right string) ([]*Grant, error) {
	return loadAll(tx.keys("igr/"+right+"/"), tx.GetGrant)
}

func (tx *Tx) GrantsOfUser(userID string) ([]*Grant, error) {
	return tx.grantsUnder("iug/" + userID + "/")
}

func (tx *Tx) GrantsOfGroup(groupID string) ([]*Grant, error) {
	return tx.grantsUnder("igg/" + groupID + "/")
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
	out, _, err := tx.effectiveGrantsAndGroups(u)
	return out, err
}

// effectiveGrantsAndGroups is effectiveGrants with the ids of the groups
// (custom and system) whose grants it read.
func (tx *Tx) effectiveGrantsAndGroups(u *User) ([]EffectiveGrant, []string, error) {
	direct, err := tx.GrantsOfUser(u.ID)
	if err != nil {
		return nil, nil, err
	}
	out := make([]EffectiveGrant, 0, len(direct)+4)
	for _, g := range direct {
		out = append(out, EffectiveGrant{Grant: *g, Source: "direct"})
	}
	groups, err := tx.groupsOf(u)
	if err != nil {
		return nil, nil, err
	}
	for _, gid := range groups {
		gs, err := tx.GrantsOfGroup(gid)
		if err != nil {
			return nil, nil, err
		}
		for _, g := range gs {
			out = append(out, EffectiveGrant{Grant: *g, Source: gid})
		}
	}
	return out, groups, nil
}

// --- groups ---

func (tx *Tx) GetGroup(id string) (*Group, error) { return getJSON[Group](tx, "G/"+id, "group") }

func (tx *Tx) putGroup(g *Group) error {
	if err := tx.setJSON("G/"+g.ID, g); err != nil {
		return err
	}
	return tx.set("iog/"+g.Org+"/"+g.ID, nil)
}

func (tx *Tx) CreateGroup(g *Group) error {
	if g.ID == "" || strings.Contains(g.ID, "/") {
		return Errorf(EInvalid, "group id must be non-empty without slashes")
	}
	if g.Kind == GroupSystem {
		return RuleError(EForbidden, "A13", "system_group_immutable", "system groups are made from P-units")
	}
	if strings.HasPrefix(g.ID, systemGroupID("")) {
		return Errorf(EInvalid, "group ids starting with %q are reserved for system groups", systemGroupID(""))
	}
	g.Kind = GroupCustom
	if ok, err := tx.exists("G/" + g.ID); err != nil {
		return err
	} else if ok {
		return RuleError(EConflict, "", "duplicate", "group id already in use")
	}
	if ok, err := tx.exists("o/" + g.Org); err != nil {
		return err
	} else if !ok {
		return Errorf(ENotFound, "organisation not found")
	}
	if g.CreatedAt.IsZero() {
		g.CreatedAt = tx.now
	}
	if err := tx.putGroup(g); err != nil {
		return err
	}
	tx.audit("group.create", g.Org, "", g.ID)
	tx.changed(ChangeGroup, OpCreate, g.Org, "", g.ID, g.ID)
	return nil
}

// DeleteGroup deletes a custom group with its grants and memberships.
// System groups go only with their P-unit (UpdateOrg): A13.
func (tx *Tx) DeleteGroup(id string) error {
	g, err := tx.GetGroup(id)
	if err != nil {
		return err
	}
	if g.Kind == GroupSystem {
		return RuleError(EForbidden, "A13", "system_group_immutable", "system groups follow the organisation's P-units")
	}
	return tx.deleteGroup(id)
}

func (tx *Tx) deleteGroup(id string) error {
	g, err := tx.GetGroup(id)
	if err != nil {
		return err
	}
	for _, gid := range tx.keys("igg/" + id + "/") {
		if err := tx.DeleteGrant(gid); err != nil {
			return err
		}
	}
	for _, uid := range tx.keys("igm/" + id + "/") {
		if err := tx.unlinkMember(id, uid); err != nil {
			return err
		}
		tx.changed(ChangeMember, OpDelete, g.Org, uid, id, id)
	}
	if g.Kind == GroupSystem {
		if err := tx.del("ips/" + g.PNumber); err != nil {
			return err
		}
	}
	if err := tx.del("iog/" + g.Org + "/" + id); err != nil {
		return err
	}
	if err := tx.del("G/" + id); err != nil {
		return err
	}
	tx.audit("group.delete", g.Org, "", id)
	tx.changed(ChangeGroup, OpDelete, g.Org, "", id, id)
	return nil
}

func (tx *Tx) ListGroups(cvr string) ([]*Group, error) {
	return loadAll(tx.keys("iog/"+cvr+"/"), tx.GetGroup)
}

func (tx *Tx) SystemGroup(pNumber string) (*Group, error) {
	id, err := tx.getRaw("ips/"+pNumber, "system group")
	if err != nil {
		return nil, err
	}
	return tx.GetGroup(string(id))
}

// systemGroupShared is SystemGroup, through the decoded-record cache in
// a read transaction (the group is then shared: read it only).
func (tx *Tx) systemGroupShared(pNumber string) (*Group, error) {
	if tx.write {
		return tx.SystemGroup(pNumber)
	}
	id, err := tx.getRaw("ips/"+pNumber, "system group")
	if err != nil {
		return nil, err
	}
	return getShared(tx, &tx.s.groups, "G/"+string(id), "group")
}

func (tx *Tx) AddMember(groupID, userID string) error {
	g, err := tx.GetGroup(groupID)
	if err != nil {
		return err
	}
	if g.Kind == GroupSystem {
		return RuleError(EForbidden, "A13", "system_group_immutable", "system group membership follows the P-unit")
	}
	u, err := tx.GetUser(userID)
	if err != nil {
		return err
	}
	if ok, err := tx.exists("igm/" + groupID + "/" + userID); err != nil {
		return err
	} else if ok {
		return nil
	}
	if err := tx.set("igm/"+groupID+"/"+userID, nil); err != nil {
		return err
	}
	if err := tx.set("ium/"+userID+"/"+groupID, nil); err != nil {
		return err
	}
	tx.Audit(AuditEvent{Type: "group.member.add", Org: g.Org, UserID: u.ID, Object: groupID})
	tx.changed(ChangeMember, OpCreate, g.Org, u.ID, groupID, groupID)
	return nil
}

func (tx *Tx) RemoveMember(groupID, userID string) error {
	g, err := tx.GetGroup(groupID)
	if err != nil {
		return err
	}
	if g.Kind == GroupSystem {
		return RuleError(EForbidden, "A13", "system_group_immutable", "system group membership follows the P-unit")
	}
	if ok, err := tx.exists("igm/" + groupID + "/" + userID); err != nil {
		return err
	} else if !ok {
		return Errorf(ENotFound, "member not found")
	}
	if err := tx.unlinkMember(groupID, userID); err != nil {
		return err
	}
	tx.changed(ChangeMember, OpDelete, g.Org, userID, groupID, groupID)
	tx.Audit(AuditEvent{Type: "group.member.remove", Org: g.Org, UserID: userID, Object: groupID})
	return nil
}

func (tx *Tx) Members(groupID string) ([]string, error) {
	g, err := tx.GetGroup(groupID)
	if err != nil {
		return nil, err
	}
	if g.Kind == GroupSystem {
		return tx.keys(pUserKey(g.Org, g.PNumber, "")), nil
	}
	return tx.keys("igm/" + groupID + "/"), nil
}

// GroupsOfUser returns the ids of the custom groups the user is a member
// of and, last, the system group of its P-number when that P-unit belongs
// to the user's own org.
func (tx *Tx) GroupsOfUser(userID string) ([]string, error) {
	u, err := tx.GetUser(userID)
	if err != nil {
		return nil, err
	}
	return tx.groupsOf(u)
}

// GroupsOf returns the ids of the groups u is a member of: its custom
// groups and the system group of its P-unit.
func (tx *Tx) GroupsOf(u *User) ([]string, error) { return tx.groupsOf(u) }

func (tx *Tx) groupsOf(u *User) ([]string, error) {
	groups := tx.keys("ium/" + u.ID + "/")
	if u.PNumber != "" {
		g, err := tx.systemGroupShared(u.PNumber)
		switch {
		case err == nil && g.Org == u.Org:
			groups = append(groups, g.ID)
		case err != nil && !IsNotFound(err):
			return nil, err
		}
	}
	return groups, nil
}

// --- knock queue ---

func (tx *Tx) GetKnock(id string) (*Knock, error) { return getJSON[Knock](tx, "k/"+id, "knock") }

func (tx *Tx) KnockBySubject(cvr, subjectID string) (*Knock, error) {
	id, err := tx.getRaw("iks/"+cvr+"/"+subjectID, "knock")
	if err != nil {
		return nil, err
	}
	return tx.GetKnock(string(id))
}

// PutKnock creates or replaces a knock. At most one knock exists per
// (org, subject): another knock of the same subject is a conflict.
func (tx *Tx) PutKnock(k *Knock) error {
	if k.ID == "" || strings.Contains(k.ID, "/") {
		return Errorf(EInvalid, "knock id must be non-empty without slashes")
	}
	if k.Org == "" || strings.Contains(k.Org, "/") || k.SubjectID == "" {
		return Errorf(EInvalid, "knock needs an org and a subject")
	}
	if len(k.SubjectID) > MaxKnockField || len(k.Name) > MaxKnockField || len(k.Email) > MaxKnockField {
		return Errorf(EInvalid, "knock subject, name and e-mail are at most %d bytes", MaxKnockField)
	}
	if holder, err := tx.getRaw("iks/"+k.Org+"/"+k.SubjectID, "knock"); err == nil && string(holder) != k.ID {
		return Errorf(EConflict, "the subject already has a knock in this org")
	} else if err != nil && !IsNotFound(err) {
		return err
	}
	old, err := tx.GetKnock(k.ID)
	if err != nil && !IsNotFound(err) {
		return err
	}
	if old != nil && (old.Org != k.Org || old.SubjectID != k.SubjectID) {
		if err := tx.del("iok/" + old.Org + "/" + old.ID); err != nil {
			return err
		}
		if err := tx.del("iks/" + old.Org + "/" + old.SubjectID); err != nil {
			return err
		}
	}
	if err := tx.setJSON("k/"+k.ID, k); err != nil {
		return err
	}
	if err := tx.set("iok/"+k.Org+"/"+k.ID, nil); err != nil {
		return err
	}
	if err := tx.set("iks/"+k.Org+"/"+k.SubjectID, []byte(k.ID)); err != nil {
		return err
	}
	tx.audit("knock.put", k.Org, "", k.ID)
	tx.changed(ChangeKnock, opOf(old != nil), k.Org, "", "", k.ID)
	return nil
}

func (tx *Tx) DeleteKnock(id string) error {
	k, err := tx.GetKnock(id)
	if err != nil {
		return err
	}
	for _, key := range []string{"k/" + id, "iok/" + k.Org + "/" + id, "iks/" + k.Org + "/" + k.SubjectID} {
		if err := tx.del(key); err != nil {
			return err
		}
	}
	tx.audit("knock.delete", k.Org, "", id)
	tx.changed(ChangeKnock, OpDelete, k.Org, "", "", id)
	return nil
}

// MaxKnockField bounds a knock's subject id, name and e-mail, in bytes
// (the decision API's identifier limit, SPEC §8).
const MaxKnockField = 256

// CountKnocks counts the pending knocks of one organisation, or of all
// when cvr is "", reading keys only and stopping at limit: enough to keep
// the queue bounded without loading it.
func (tx *Tx) CountKnocks(cvr string, limit int) int {
	prefix := "iok/"
	if cvr != "" {
		prefix += cvr + "/"
	}
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = []byte(prefix)
	it := tx.txn.NewIterator(opts)
	defer it.Close()
	n := 0
	for it.Seek([]byte(prefix)); n < limit && it.ValidForPrefix([]byte(prefix)); it.Next() {
		n++
	}
	return n
}

func (tx *Tx) ListKnocks(cvr string) ([]*Knock, error) {
	return loadAll(tx.keys("iok/"+cvr+"/"), tx.GetKnock)
}

// --- tokens ---

// PutToken creates or replaces a token. A replaced token's old hash stops
// resolving at once (rotation); a hash held by another token conflicts.
func (tx *Tx) PutToken(t *Token) error {
	if t.ID == "" || t.Hash == "" || strings.Contains(t.ID, "/") {
		return Errorf(EInvalid, "token needs an id and a hash")
	}
	if holder, err := tx.getRaw("ith/"+t.Hash, "token"); err == nil && string(holder) != t.ID {
		return Errorf(EConflict, "token hash already in use")
	} else if err != nil && !IsNotFound(err) {
		return err
	}
	old, err := tx.GetToken(t.ID)
	if err != nil && !IsNotFound(err) {
		return err
	}
	typ := "token.create"
	if old != nil {
		typ = "token.update"
		if old.Hash != t.Hash {
			if err := tx.del("ith/" + old.Hash); err != nil {
				return err
			}
		}
	}
	// The hash is not part of the JSON form; keep it in its own record.
	if err := tx.setJSON("t/"+t.ID, tokenRecord{Token: *t, StoredHash: t.Hash}); err != nil {
		return err
	}
	if err := tx.set("ith/"+t.Hash, []byte(t.ID)); err != nil {
		return err
	}
	tx.audit(typ, "", t.UserID, t.ID)
	tx.changed(ChangeToken, opOf(old != nil), "", t.UserID, "", t.ID)
	return nil
}

type tokenRecord struct {
	Token
	StoredHash string `json:"hash"`
}

func (tx *Tx) GetToken(id string) (*Token, error) {
	r, err := getJSON[tokenRecord](tx, "t/"+id, "token")
	if err != nil {
		return nil, err
	}
	t := r.Token
	t.Hash = r.StoredHash
	return &t, nil
}

func (tx *Tx) TokenByHash(hash string) (*Token, error) {
	id, err := tx.getRaw("ith/"+hash, "token")
	if err != nil {
		return nil, err
	}
	return tx.GetToken(string(id))
}

func (tx *Tx) DeleteToken(id string) error {
	t, err := tx.GetToken(id)
	if err != nil {
		return err
	}
	if err := tx.del("ith/" + t.Hash); err != nil {
		return err
	}
	if err := tx.del("t/" + id); err != nil {
		return err
	}
	tx.audit("token.delete", "", t.UserID, id)
	tx.changed(ChangeToken, OpDelete, "", t.UserID, "", id)
	return nil
}

func (tx *Tx) ListTokens() ([]*Token, error) {
	return loadAll(tx.keys("t/"), tx.GetToken)
}

// --- certificates ---

// GetCertificate returns the certificate with serial, or not_found.
func (tx *Tx) GetCertificate(serial string) (*Certificate, error) {
	return getJSON[Certificate](tx, "c/"+serial, "certificate")
}

// PutCertificate stores c (new or changed), indexed by its org, with a
// certificate.put audit event. Revocation is irreversible.
func (tx *Tx) PutCertificate(c *Certificate) error {
	return tx.SaveCertificate(c, "certificate.put")
}

// SaveCertificate stores c (new or changed), indexed by its org
// (ioc/<org>/<serial>), with an audit event of type event. A revoked
// certificate stays revoked, and a certificate never changes org.
func (tx *Tx) SaveCertificate(c *Certificate, event string) error {
	if c.Serial == "" || strings.ContainsAny(c.Serial, "/\x00") {
		return Errorf(EInvalid, "certificate serial is required")
	}
	old, err := tx.GetCertificate(c.Serial)
	switch {
	case err == nil:
		if old.Status == CertRevoked && c.Status != CertRevoked {
			return Errorf(EInvalid, "revocation is irreversible")
		}
		if old.Org != c.Org {
			return Errorf(EInvalid, "a certificate cannot move to another organisation")
		}
	case !IsNotFound(err):
		return err
	}
	if err := tx.setJSON("c/"+c.Serial, c); err != nil {
		return err
	}
	if err := tx.set("ioc/"+c.Org+"/"+c.Serial, nil); err != nil {
		return err
	}
	tx.audit(event, c.Org, c.UserID, c.Serial)
	tx.changed(ChangeCertificate, opOf(old != nil), c.Org, c.UserID, "", c.Serial)
	return nil
}

// DeleteCertificate removes a certificate record and its index entry.
func (tx *Tx) DeleteCertificate(serial string) error {
	c, err := tx.GetCertificate(serial)
	if err != nil {
		return err
	}
	if err := tx.del("c/" + serial); err != nil {
		return err
	}
	if err := tx.del("ioc/" + c.Org + "/" + serial); err != nil {
		return err
	}
	tx.audit("certificate.delete", c.Org, c.UserID, serial)
	tx.changed(ChangeCertificate, OpDelete, c.Org, c.UserID, "", serial)
	return nil
}

// EachCertificate calls fn for the certificates of org in serial order,
// starting after the serial after ("" from the first); fn returns false
// to stop.
func (tx *Tx) EachCertificate(org, after string, fn func(*Certificate) (bool, error)) error {
	prefix := "ioc/" + org + "/"
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
		c, err := tx.GetCertificate(string(it.Item().Key()[len(prefix):]))
		if err != nil {
			return err
		}
		more, err := fn(c)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// --- audit ---

func (tx *Tx) auditUnder(prefix string, from, to time.Time, typ string, limit int) ([]AuditEvent, error) {
	var out []AuditEvent
	var ferr error
	tx.keysReverse(prefix, func(suffix string) bool {
		ev, err := getJSON[AuditEvent](tx, "a/"+suffix, "audit event")
		if err != nil {
			ferr = err
			return false
		}
		if (!from.IsZero() && ev.Time.Before(from)) || (!to.IsZero() && ev.Time.After(to)) || (typ != "" && ev.Type != typ) {
			return true
		}
		out = append(out, *ev)
		return limit <= 0 || len(out) < limit
	})
	return out, ferr
}

// History returns a user's latest audit events (newest first), optionally
// filtered by time range (zero = open) and type, at most limit.
func (tx *Tx) History(userID string, from, to time.Time, typ string, limit int) ([]AuditEvent, error) {
	return tx.auditUnder("iau/"+userID+"/", from, to, typ, limit)
}

// OrgAudit is History for every event of one org.
func (tx *Tx) OrgAudit(cvr string, from, to time.Time, typ string, limit int) ([]AuditEvent, error) {
	return tx.auditUnder("iao/"+cvr+"/", from, to, typ, limit)
}

// AuditSince returns every audit event with revision > rev, oldest first.
func (tx *Tx) AuditSince(rev uint64) ([]AuditEvent, error) {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = []byte("a/")
	it := tx.txn.NewIterator(opts)
	defer it.Close()
	var out []AuditEvent
	for it.Seek([]byte(fmt.Sprintf("a/%016x/", rev+1))); it.ValidForPrefix(opts.Prefix); it.Next() {
		var ev AuditEvent
		if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &ev) }); err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// --- imports, outbox, job state ---

func (tx *Tx) PutImport(b *ImportBatch) error {
	if b.ID == "" || strings.Contains(b.ID, "/") {
		return Errorf(EInvalid, "import id must be non-empty without slashes")
	}
	old, err := tx.GetImport(b.ID)
	if err == nil && old.Org != b.Org {
		if err := tx.del("ioi/" + old.Org + "/" + old.ID); err != nil {
			return err
		}
	} else if err != nil && !IsNotFound(err) {
		return err
	}
	if err := tx.setJSON("i/"+b.ID, b); err != nil {
		return err
	}
	if err := tx.set("ioi/"+b.Org+"/"+b.ID, nil); err != nil {
		return err
	}
	tx.audit("import.put", b.Org, "", b.ID)
	tx.changed(ChangeImport, opOf(old != nil), b.Org, "", "", b.ID)
	return nil
}

func (tx *Tx) GetImport(id string) (*ImportBatch, error) {
	return getJSON[ImportBatch](tx, "i/"+id, "import")
}

func (tx *Tx) ListImports(cvr string) ([]*ImportBatch, error) {
	return loadAll(tx.keys("ioi/"+cvr+"/"), tx.GetImport)
}

// PutMeta stores a small JSON value under a name (job checkpoints etc.).
func (tx *Tx) PutMeta(name string, v any) error {
	if err := tx.setJSON("M/"+name, v); err != nil {
		return err
	}
	tx.changed(ChangeMeta, OpUpdate, "", "", "", name)
	return nil
}

// GetMeta loads a value stored with PutMeta; not_found if absent.
func (tx *Tx) GetMeta(name string, v any) error {
	b, err := tx.getRaw("M/"+name, name)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// keyCPRKeyCheck holds HMAC-SHA256(CPR key, cprKeyCheckLabel), hex: it
// tells whether the store is opened with the key its CPR hashes were made
// with, and reveals nothing of the key.
const (
	keyCPRKeyCheck   = "m/cpr-key-check"
	cprKeyCheckLabel = "adgang-cpr-key-check"
)

// ErrCPRKeyMismatch is returned by Open when the CPR key is not the one the
// store was first opened with: every CPR look-up would silently miss.
var ErrCPRKeyMismatch = errors.New("store: the CPR key does not match this store's check value: it is not the key its CPR numbers were stored with")

// checkCPRKey compares the CPR key with the store's check value, storing
// the value on the first open (also of stores made before it existed).
func (s *Store) checkCPRKey() error {
	m := hmac.New(sha256.New, s.cfg.CPRKey)
	m.Write([]byte(cprKeyCheckLabel))
	want := []byte(hex.EncodeToString(m.Sum(nil)))
	var have []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(keyCPRKeyCheck))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		have, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: read the CPR key check value: %w", err)
	}
	if have != nil {
		if !hmac.Equal(have, want) {
			return fmt.Errorf("%w; start with that key (ADGANG_CPR_KEY or --cpr-key-file) — a new key means re-entering every CPR number", ErrCPRKeyMismatch)
		}
		return nil
	}
	if err := s.disk.check(); err != nil {
		s.cfg.Logger.Warn().Err(err).Msg("the CPR key check value is stored on a later start")
		return nil
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(keyCPRKeyCheck), want) }); err != nil {
		return fmt.Errorf("store: store the CPR key check value: %w", err)
	}
	return nil
}

// keyGrantRightIndex marks a store whose grants are indexed by right.
const keyGrantRightIndex = "m/index/grants-by-right"

// migrate adds indexes that stores written by earlier versions lack: the
// grants-by-right index, the per-organisation CPR index and the outbox
// pending index. It changes no record (no revision, no audit), is
// done in bounded batches, and is marked done only after the last one, so
// an interrupted migration is simply redone on the next start.
func (s *Store) migrate() error {
	if err := s.buildIndex(keyGrantRightIndex, "g/", func(v []byte) (map[string][]byte, error) {
		var g struct {
			ID    string `json:"id"`
			Right string `json:"right"`
		}
		if err := json.Unmarshal(v, &g); err != nil {
			return nil, err
		}
		return map[string][]byte{rightGrantKey(g.Right, g.ID): nil}, nil
	}); err != nil {
		return err
	}
	if err := s.migrateCPRIndex(); err != nil {
		return err
	}
	// Mails stored before the pending index existed are delivered too.
	return s.buildIndex(keyMailPendingIndex, "x/", func(v []byte) (map[string][]byte, error) {
		var m struct {
			ID        string     `json:"id"`
			CreatedAt time.Time  `json:"created_at"`
			SentAt    *time.Time `json:"sent_at"`
		}
		if err := json.Unmarshal(v, &m); err != nil {
			return nil, err
		}
		if m.SentAt != nil {
			return nil, nil
		}
		return map[string][]byte{fmt.Sprintf("imp/%020d-%s", m.CreatedAt.UnixNano(), m.ID): []byte(m.ID)}, nil
	})
}

// keyCPRPerOrgIndex marks a store whose CPR index is per organisation
// (ic/<cvr>/<hash>). Stores written before kept one store-wide index
// (ic/<hash>), whose refusals told any organisation that a CPR number
// was known in another.
const keyCPRPerOrgIndex = "m/index/cpr-per-org"

// migrateCPRIndex rebuilds a store-wide CPR index as the per-organisation
// one, once: it deletes the old-format keys (ic/<hash>, no second slash)
// in bounded batches and then indexes every user's CPR hash under its
// organisation. Both steps are idempotent, so an interrupted migration is
// redone on the next start; the old index was unique store-wide, so the
// new one holds no clash.
func (s *Store) migrateCPRIndex() error {
	if done, err := s.migrated(keyCPRPerOrgIndex); err != nil || done {
		return err
	}
	for {
		var old [][]byte
		if err := s.db.View(func(txn *badger.Txn) error {
			opts := badger.DefaultIteratorOptions
			opts.Prefix, opts.PrefetchValues = []byte("ic/"), false
			it := txn.NewIterator(opts)
			defer it.Close()
			for it.Rewind(); it.Valid() && len(old) < 5000; it.Next() {
				if k := it.Item().Key(); !strings.Contains(string(k[len("ic/"):]), "/") {
					old = append(old, it.Item().KeyCopy(nil))
				}
			}
			return nil
		}); err != nil {
			return err
		}
		if len(old) == 0 {
			break
		}
		if err := s.db.Update(func(txn *badger.Txn) error {
			for _, k := range old {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return s.buildIndex(keyCPRPerOrgIndex, "u/", func(v []byte) (map[string][]byte, error) {
		var u struct {
			ID      string `json:"id"`
			Org     string `json:"org"`
			CPRHash string `json:"cpr_hash"`
		}
		if err := json.Unmarshal(v, &u); err != nil {
			return nil, err
		}
		if u.CPRHash == "" {
			return nil, nil
		}
		return map[string][]byte{cprIndexKey(u.Org, u.CPRHash): []byte(u.ID)}, nil
	})
}

// migrated reports whether the one-time migration marked by meta is done.
func (s *Store) migrated(meta string) (bool, error) {
	err := s.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get([]byte(meta))
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// keyMailPendingIndex marks a store whose outbox pending index is built.
const keyMailPendingIndex = "m/index/mail-pending"

// buildIndex adds the index entries keysOf derives from every record
// under prefix, in batches, once: meta records that it is done. Index
// entries are idempotent, so a crash mid-way only repeats work.
func (s *Store) buildIndex(meta, prefix string, keysOf func(v []byte) (map[string][]byte, error)) error {
	if done, err := s.migrated(meta); err != nil || done {
		return err
	}
	pending := map[string][]byte{}
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		if err := s.disk.check(); err != nil {
			return err
		}
		err := s.db.Update(func(txn *badger.Txn) error {
			for k, v := range pending {
				if err := txn.Set([]byte(k), v); err != nil {
					return err
				}
			}
			return nil
		})
		clear(pending)
		return err
	}
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte(prefix)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var keys map[string][]byte
			if err := it.Item().Value(func(v []byte) error {
				var err error
				keys, err = keysOf(v)
				return err
			}); err != nil {
				return fmt.Errorf("%s: %w", it.Item().Key(), err)
			}
			for k, v := range keys {
				pending[k] = v
			}
			if len(pending) >= 5000 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return err
	}
	if err := s.disk.check(); err != nil {
		return err
	}
	return s.db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(meta), []byte{1}) })
}
