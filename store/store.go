package store

import (
	"context"
	"encoding/binary"
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
	// DepTableSize bounds the dependency table of decision caches (deps.go;
	// 0: 65,536 things written). For tests.
	DepTableSize int
	// Logger receives store logs (never CPR numbers).
	Logger zerolog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// MinFreeDisk refuses writes (insufficient_storage) while the file
	// system of Dir has fewer bytes free; 0 disables the guard. Badger
	// maps its files into memory, so a full disk would crash the process.
	MinFreeDisk uint64
	// Log, when set, makes the store a replica in a fleet: writes go
	// through this shared system of record (store/pg) and the store follows
	// it (replica.go). Open takes ownership: Close closes it.
	Log Log
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
	// gen counts the writes a login read must see beyond the revision's
	// (wrote); snap is the login reads' shared snapshot (readsnap.go).
	gen  atomic.Uint64
	snap atomic.Pointer[readSnap]
	// userIndex: login reads may use the user login index (userindex.go).
	userIndex       atomic.Bool
	userIndexBuilds int // rebuilds of the index by this Store's Open (tests)

	subMu sync.Mutex
	subs  map[int]chan Commit
	subID int

	changes changeLog // recent commits (ChangesSince)

	grants grantCache // decoded grants of read transactions
	// login keeps the parts of login reads many users share (a group's
	// grants, an organisation, a P-unit's system group) while the
	// dependency table shows them unchanged (logincache.go).
	login  loginCaches
	deps   depTable // last-change revisions of what decisions read
	orgs   recordCache[Org]
	groups recordCache[Group]
	tokens recordCache[tokenRecord]
	disk   *diskGuard // free-space guard of writes (nil when off)

	replica *replica // the fleet's shared log (nil: a store on its own)
	// afterCommit, set by tests only, runs in a write between its commit
	// and the publication of its revision.
	afterCommit func()
	revCond     revCond // WaitRevision's wake-up

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
	db, err := badger.Open(badgerOptions(cfg))
	if err != nil {
		if strings.Contains(err.Error(), "Cannot acquire directory lock") || strings.Contains(err.Error(), "resource temporarily unavailable") {
			return nil, fmt.Errorf("store: data directory %q is in use by another process (badger lock): %w", cfg.Dir, err)
		}
		if tooManyFiles(err) {
			return nil, fmt.Errorf("store: open %q: the process may open no more files (one per table): raise the open-file limit (systemd LimitNOFILE, ulimit -n): %w", cfg.Dir, err)
		}
		return nil, fmt.Errorf("store: open %q: %w", cfg.Dir, err)
	}
	if !cfg.InMemory {
		warnFileLimit(cfg.Logger, len(db.Tables()))
	}
	s := newStore(db, cfg)
	if err := s.prepare(); err != nil {
		if s.replica != nil {
			s.stopReplica() // closes the log
		} else if cfg.Log != nil {
			_ = cfg.Log.Close()
		}
		db.Close()
		return nil, err
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

// badgerOptions are Badger's options for cfg.
func badgerOptions(cfg Config) badger.Options {
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
		// Level 0 tables overlap one another, so every point read and every
		// prefix scan of a login read looks into each of them; Badger's
		// default lets five gather before compacting. One: a flushed
		// memtable is compacted into the levels at once (more compaction
		// on writes, which are few; the 100k-user bench store read 25–30%
		// faster without its three level-0 tables).
		WithNumLevelZeroTables(1).
		// No compression: blocks are then read straight from the
		// memory-mapped tables, with no block cache and no decompression
		// buffers (those were most of the heap at 100k users, and CPU on
		// every read). The data is small; the disk can take twice of it.
		WithCompression(options.None).
		WithBlockCacheSize(0)
	// Badger's table sizes stay (2 MB at the base level, doubling with
	// each level down; ~800 tables at 1M users): smaller tables at every
	// level shrank the compactions' table buffers (2 MB: 20 MB of heap
	// instead of 112 MB at 1M users) but made ~2,800 files, which a start
	// from a cold page cache opened in 3.2 s instead of 1.5 s; 8 MB tables
	// kept the start and not the memory (docs/benchmarks.md, "Stop 36").
	if cfg.InMemory {
		opts = opts.WithInMemory(true).WithDir("").WithValueDir("")
	}
	if len(cfg.EncryptionKey) > 0 {
		// Encrypted blocks are decrypted into the block cache.
		opts = opts.WithEncryptionKey(cfg.EncryptionKey).WithIndexCacheSize(64 << 20).WithBlockCacheSize(64 << 20)
	}
	return opts
}

// newStore is the Store over the open db, with its free-space guard when
// cfg asks for one; nothing is read yet.
func newStore(db *badger.DB, cfg Config) *Store {
	s := &Store{db: db, cfg: cfg, cpr: NewCPRHasher(cfg.CPRKey), now: cfg.Now, subs: map[int]chan Commit{},
		stopGC: make(chan struct{}), gcDone: make(chan struct{})}
	s.deps.limit = cfg.DepTableSize
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
	return s
}

// prepare makes a just opened store ready: it reads the revision, brings
// the key layout up to SchemaVersion (migrate), checks the CPR key and
// seeds an empty store with the default rights.
func (s *Store) prepare() error {
	if err := s.loadRevision(); err != nil {
		return fmt.Errorf("store: read revision: %w", err)
	}
	if err := s.migrate(); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if err := s.checkCPRKey(); err != nil {
		return err
	}
	if s.cfg.Log != nil {
		if err := s.attachLog(context.Background(), s.cfg.Log); err != nil {
			return err
		}
	} else if id, err := s.getMeta(keyClusterID); err != nil {
		return err
	} else if id != nil {
		// Written on its own, a replica would diverge from its fleet for
		// good: its revisions would never be the log's.
		return errors.New("store: the data directory is a replica of a fleet's system of record: start it with --store (ADGANG_STORE) set to that database, or copy the store out with `adgang store copy`")
	} else if err := s.checkUserIndex(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if s.rev.Load() > 0 {
		return nil
	}
	if _, err := s.Update(context.Background(), "system", func(tx *Tx) error {
		// In a fleet another node may have seeded them meanwhile (the
		// write runs on the newest state).
		if rights, err := tx.ListRights(); err != nil {
			return err
		} else if len(rights) > 0 {
			return errSeeded // no empty revision
		}
		for _, r := range DefaultRights() {
			if err := tx.PutRight(&r); err != nil {
				return err
			}
		}
		return nil
	}); err != nil && !errors.Is(err, errSeeded) {
		return fmt.Errorf("store: seed rights: %w", err)
	}
	return nil
}

// errSeeded ends the rights seed's write without a change: another node of
// the fleet seeded them first.
var errSeeded = errors.New("store: rights already seeded")

// loadRevision reads the last committed revision (0 when there is none).
func (s *Store) loadRevision() error {
	return s.db.View(func(txn *badger.Txn) error {
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
		s.stopReplica()
		close(s.stopGC)
		<-s.gcDone
		for waited := time.Duration(0); s.readers.Load() > 0; waited += time.Millisecond {
			if waited > 0 && waited%(5*time.Second) == 0 {
				s.cfg.Logger.Warn().Int64("readers", s.readers.Load()).Msg("store close waits for read transactions")
			}
			time.Sleep(time.Millisecond)
		}
		if cur := s.snap.Swap(nil); cur != nil {
			cur.release() // no read uses it any more
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
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	return s.db.View(func(txn *badger.Txn) error { return s.readIn(txn, fn) })
}

// enter counts one use of the database that Close must wait for (a read,
// or a write outside the writers' lock) and checks the store is usable;
// leave ends it. Checked after counting: Close sets closed first and then
// waits for the count to drop, so no use starts on a closed DB.
func (s *Store) enter() error {
	s.readers.Add(1)
	if err := s.Healthy(); err != nil {
		s.readers.Add(-1)
		return &Error{Code: EInternal, Message: err.Error()}
	}
	return nil
}

func (s *Store) leave() { s.readers.Add(-1) }

// readIn runs fn in a read Tx over the Badger transaction txn, closing the
// Tx's shared iterator after (before the transaction may be discarded).
func (s *Store) readIn(txn *badger.Txn, fn func(tx *Tx) error) error {
	tx := &Tx{s: s, txn: txn, now: s.now().UTC()}
	defer tx.closeIterator()
	return fn(tx)
}

// Settle waits until Badger has no compaction left to do (no level-0
// table, no level over its target size, twice in a row 100 ms apart), or
// ctx ends. After a start or a bulk write Badger compacts in the
// background for a while; benchmarks settle first, so that they measure
// reads, not reads beside compaction.
func (s *Store) Settle(ctx context.Context) error {
	quiet := 0
	for quiet < 2 {
		busy := false
		for _, l := range s.db.Levels() {
			if (l.Level == 0 && l.NumTables > 0) || l.Adjusted >= 1 {
				busy = true
			}
		}
		if busy {
			quiet = 0
		} else {
			quiet++
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}
