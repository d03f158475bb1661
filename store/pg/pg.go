// Package pg is the PostgreSQL system of record of an Adgang fleet: the
// store.Log that every node's local Badger replica writes through and
// follows (see store/replica.go for the protocol).
//
// Three tables: adgang_log holds each committed write at its revision (the
// primary key: a revision is taken once, so revisions are gap-free and in
// commit order), adgang_kv the state the log adds up to (written in the
// same transaction, read by new nodes as a snapshot), adgang_meta the
// fleet-wide settings. LISTEN/NOTIFY only wakes followers; they read the
// log by revision. The schema is versioned by embedded SQL files applied
// at start (adgang_schema_migrations): two tables do not need a migration
// framework, and the files stay plain SQL that CockroachDB accepts.
package pg

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/adgang/adgang/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// SchemaVersion is the number of the newest migration in migrations/.
const SchemaVersion = 6

const channel = "adgang_log"

// Log is a store.Log on PostgreSQL. Safe for concurrent use; Wait is
// called by one follower.
type Log struct {
	pool *pgxpool.Pool

	listenMu sync.Mutex
	listen   *pgx.Conn // the follower's LISTEN connection (Wait)
	// notify is false on CockroachDB, which has no LISTEN/NOTIFY:
	// followers then poll (Wait sleeps).
	notify bool
}

var _ store.Log = (*Log)(nil)

// Open connects to dsn (a postgres:// URL), applies the schema migrations
// and returns the log.
func Open(ctx context.Context, dsn string) (*Log, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	cfg.MaxConns = max(cfg.MaxConns, 4)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	l := &Log{pool: pool, notify: true}
	var version string
	if err := pool.QueryRow(ctx, `SELECT version()`).Scan(&version); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	l.notify = !strings.Contains(version, "CockroachDB")
	if err := l.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return l, nil
}

// migrate applies every migration not yet applied, each in its own
// transaction that first claims its version: nodes starting together
// apply each file once (the others wait on the claim, then skip it).
func (l *Log) migrate(ctx context.Context) error {
	if _, err := l.pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS adgang_schema_migrations (
		version INT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil && !isUniqueViolation(err) {
		return fmt.Errorf("postgres: schema: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		v, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(name, "migrations/"), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("postgres: migration %s: %w", name, err)
		}
		sql, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		if err := l.apply(ctx, v, string(sql)); err != nil {
			return fmt.Errorf("postgres: migration %s: %w", name, err)
		}
	}
	var newest int
	if err := l.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM adgang_schema_migrations`).Scan(&newest); err != nil {
		return fmt.Errorf("postgres: schema: %w", err)
	}
	if newest > SchemaVersion {
		return fmt.Errorf("postgres: the database has schema version %d, newer than this adgang's %d: upgrade adgang", newest, SchemaVersion)
	}
	return nil
}

// apply runs one migration and records its version, in one transaction:
// the statements first (CockroachDB takes no schema change after a write in
// a transaction; every file is written with IF NOT EXISTS, so running one
// again is harmless), then the version row. Nodes starting together may
// race on the catalog: a unique violation is retried.
func (l *Log) apply(ctx context.Context, version int, sql string) error {
	var done bool
	if err := l.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM adgang_schema_migrations WHERE version = $1)`, version).Scan(&done); err != nil || done {
		return err
	}
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = pgx.BeginFunc(ctx, l.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO adgang_schema_migrations (version) VALUES ($1) ON CONFLICT (version) DO NOTHING`, version)
			return err
		})
		if !isUniqueViolation(err) && !isSerializationFailure(err) {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
	}
	return err
}

// Kind is "postgres".
func (l *Log) Kind() string { return "postgres" }

// Latest is the last committed revision.
func (l *Log) Latest(ctx context.Context) (uint64, error) {
	var rev int64
	err := l.pool.QueryRow(ctx, `SELECT coalesce(max(revision), 0) FROM adgang_log`).Scan(&rev)
	return uint64(rev), err
}

// Append commits e and its state in one transaction; store.ErrRevisionTaken
// when the revision exists.
func (l *Log) Append(ctx context.Context, e *store.LogEntry) error {
	sets, setVals, dels := finalOps(e.Ops)
	// One round trip for the statements (a pipelined batch) between BEGIN
	// and COMMIT: an admin write pays for three, not seven.
	err := pgx.BeginFunc(ctx, l.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO adgang_log (revision, ops, changes, writer) VALUES ($1, $2, $3, $4)`, int64(e.Revision), encodeOps(e.Ops), e.Changes, e.Writer)
		// Only the successor of a committed revision may be written.
		b.Queue(`SELECT count(*) FROM adgang_log WHERE revision = $1`, int64(e.Revision-1))
		if len(sets) > 0 {
			b.Queue(`INSERT INTO adgang_kv (key, value, revision)
				SELECT k, v, $3 FROM unnest($1::bytea[], $2::bytea[]) AS t(k, v)
				ON CONFLICT (key) DO UPDATE SET value = excluded.value, revision = excluded.revision`,
				sets, setVals, int64(e.Revision))
		}
		if len(dels) > 0 {
			b.Queue(`DELETE FROM adgang_kv WHERE key = ANY($1::bytea[])`, dels)
		}
		if l.notify {
			b.Queue(`SELECT pg_notify($1, $2)`, channel, strconv.FormatUint(e.Revision, 10))
		}
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		if _, err := br.Exec(); err != nil {
			return err
		}
		var prev int64
		if err := br.QueryRow().Scan(&prev); err != nil {
			return err
		}
		if prev == 0 && e.Revision > 1 {
			return fmt.Errorf("revision %d is not in the log: the replica is ahead of it", e.Revision-1)
		}
		for range b.Len() - 2 {
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		return br.Close()
	})
	if isUniqueViolation(err) || isSerializationFailure(err) {
		// Another node took the revision, or (CockroachDB, a SERIALIZABLE
		// default) the transaction lost to a concurrent one: the writer
		// catches up and runs the change again.
		return store.ErrRevisionTaken
	}
	if err != nil && e.Writer != "" {
		return l.readBack(e, err)
	}
	return err
}

// readBack settles an append whose commit may have been cut off: landed
// (nil), another node's (ErrRevisionTaken), not written (err), or not
// known (ErrOutcomeUnknown, when the log cannot be read either).
func (l *Log) readBack(e *store.LogEntry, err error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var writer string
	switch rerr := l.pool.QueryRow(ctx, `SELECT writer FROM adgang_log WHERE revision = $1`, int64(e.Revision)).Scan(&writer); {
	case errors.Is(rerr, pgx.ErrNoRows):
		return err
	case rerr != nil:
		return fmt.Errorf("%w: %v", store.ErrOutcomeUnknown, err)
	case writer == e.Writer:
		return nil
	default:
		return store.ErrRevisionTaken
	}
}

// finalOps reduces a write's operations to the last one per key.
func finalOps(ops []store.LogOp) (sets, vals, dels [][]byte) {
	last := make(map[string]int, len(ops))
	for i, op := range ops {
		last[string(op.Key)] = i
	}
	for i, op := range ops {
		if last[string(op.Key)] != i {
			continue
		}
		if op.Delete {
			dels = append(dels, op.Key)
		} else {
			sets, vals = append(sets, op.Key), append(vals, nonNil(op.Value))
		}
	}
	return sets, vals, dels
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Since reads at most limit entries after revision after.
func (l *Log) Since(ctx context.Context, after uint64, limit int) ([]store.LogEntry, error) {
	rows, err := l.pool.Query(ctx, `SELECT revision, ops, changes FROM adgang_log WHERE revision > $1 ORDER BY revision LIMIT $2`,
		int64(after), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.LogEntry
	for rows.Next() {
		var rev int64
		var ops, changes []byte
		if err := rows.Scan(&rev, &ops, &changes); err != nil {
			return nil, err
		}
		decoded, err := decodeOps(ops)
		if err != nil {
			return nil, fmt.Errorf("revision %d: %w", rev, err)
		}
		out = append(out, store.LogEntry{Revision: uint64(rev), Ops: decoded, Changes: changes})
	}
	return out, rows.Err()
}

// Snapshot reads the state, in key order, and its revision in one
// REPEATABLE READ transaction.
func (l *Log) Snapshot(ctx context.Context, fn func(key, value []byte) error) (uint64, error) {
	var rev int64
	err := pgx.BeginTxFunc(ctx, l.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(revision), 0) FROM adgang_log`).Scan(&rev); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT key, value FROM adgang_kv ORDER BY key`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k, v []byte
			if err := rows.Scan(&k, &v); err != nil {
				return err
			}
			if err := fn(k, v); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	return uint64(rev), err
}

// Wait listens for the log's notifications on a connection of its own
// (reconnected after an error) and returns at the first one, after d, or
// when ctx ends.
func (l *Log) Wait(ctx context.Context, _ uint64, d time.Duration) error {
	if !l.notify {
		sleep(ctx, d)
		return nil
	}
	l.listenMu.Lock()
	defer l.listenMu.Unlock()
	if l.listen == nil || l.listen.IsClosed() {
		// The pool's settings, without its own (pool_*) parameters.
		conn, err := pgx.ConnectConfig(ctx, l.pool.Config().ConnConfig.Copy())
		if err != nil {
			sleep(ctx, d)
			return err
		}
		if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
			conn.Close(context.Background())
			sleep(ctx, d)
			return err
		}
		l.listen = conn
	}
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	_, err := l.listen.WaitForNotification(wctx)
	if err != nil && wctx.Err() == nil {
		l.listen.Close(context.Background())
		l.listen = nil
		return err
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// Meta stores value under name unless one is there; it returns the stored one.
func (l *Log) Meta(ctx context.Context, name string, value []byte) ([]byte, error) {
	if _, err := l.pool.Exec(ctx, `INSERT INTO adgang_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
		name, nonNil(value)); err != nil {
		return nil, err
	}
	var out []byte
	err := l.pool.QueryRow(ctx, `SELECT value FROM adgang_meta WHERE name = $1`, name).Scan(&out)
	return out, err
}

// Close closes the connections.
func (l *Log) Close() error {
	l.listenMu.Lock()
	if l.listen != nil {
		l.listen.Close(context.Background())
		l.listen = nil
	}
	l.listenMu.Unlock()
	l.pool.Close()
	return nil
}

// Acquire takes or renews the lease name for holder until ttl from now,
// by the database's clock; false when another holder's lease has not
// expired.
func (l *Log) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	rows, err := l.pool.Query(ctx, `INSERT INTO adgang_lease (name, holder, expires_at)
		VALUES ($1, $2, now() + $3 * interval '1 millisecond')
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE adgang_lease.holder = excluded.holder OR adgang_lease.expires_at < now()
		RETURNING holder`, name, holder, ttl.Milliseconds())
	if err != nil {
		return false, err
	}
	defer rows.Close()
	got := rows.Next()
	return got, rows.Err()
}

// Release gives the lease up if holder has it.
func (l *Log) Release(ctx context.Context, name, holder string) error {
	_, err := l.pool.Exec(ctx, `DELETE FROM adgang_lease WHERE name = $1 AND holder = $2`, name, holder)
	return err
}

// ShipDecisions stores decision records (JSON) of the stored decision log;
// one already there is kept.
func (l *Log) ShipDecisions(ctx context.Context, recs []store.ShippedDecision) error {
	ids := make([]string, len(recs))
	ats := make([]time.Time, len(recs))
	bodies := make([][]byte, len(recs))
	for i, r := range recs {
		ids[i], ats[i], bodies[i] = r.ID, r.Time.UTC(), r.Record
	}
	_, err := l.pool.Exec(ctx, `INSERT INTO adgang_decisions (decision_id, decided_at, record)
		SELECT i, t, r FROM unnest($1::text[], $2::timestamptz[], $3::bytea[]) AS x(i, t, r)
		ON CONFLICT (decision_id) DO NOTHING`, ids, ats, bodies)
	return err
}

// DecisionsAfter reads at most limit shipped decision records after seq,
// in seq order.
func (l *Log) DecisionsAfter(ctx context.Context, seq int64, limit int) ([]store.ShippedDecision, error) {
	rows, err := l.pool.Query(ctx, `SELECT seq, decision_id, decided_at, record FROM adgang_decisions WHERE seq > $1 ORDER BY seq LIMIT $2`, seq, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.ShippedDecision
	for rows.Next() {
		var d store.ShippedDecision
		if err := rows.Scan(&d.Seq, &d.ID, &d.Time, &d.Record); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// PruneDecisions deletes the shipped decision records older than before.
func (l *Log) PruneDecisions(ctx context.Context, before time.Time) (int64, error) {
	tag, err := l.pool.Exec(ctx, `DELETE FROM adgang_decisions WHERE decided_at < $1`, before)
	return tag.RowsAffected(), err
}

// ShipEvents stores side events of one kind (knock attempts, password
// failures), in order.
func (l *Log) ShipEvents(ctx context.Context, kind string, bodies [][]byte) error {
	_, err := l.pool.Exec(ctx, `INSERT INTO adgang_events (kind, body) SELECT $1, b FROM unnest($2::bytea[]) WITH ORDINALITY AS x(b, n) ORDER BY n`, kind, bodies)
	return err
}

// Events reads at most limit shipped events of kind, oldest first, with
// their seq (for DeleteEvents).
func (l *Log) Events(ctx context.Context, kind string, limit int) ([]int64, [][]byte, error) {
	rows, err := l.pool.Query(ctx, `SELECT seq, body FROM adgang_events WHERE kind = $1 ORDER BY seq LIMIT $2`, kind, limit)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var seqs []int64
	var out [][]byte
	for rows.Next() {
		var seq int64
		var b []byte
		if err := rows.Scan(&seq, &b); err != nil {
			return nil, nil, err
		}
		seqs, out = append(seqs, seq), append(out, b)
	}
	return seqs, out, rows.Err()
}

// DeleteEvents deletes folded events.
func (l *Log) DeleteEvents(ctx context.Context, seqs []int64) error {
	_, err := l.pool.Exec(ctx, `DELETE FROM adgang_events WHERE seq = ANY($1::bigint[])`, seqs)
	return err
}

// Report records that node has applied revision applied.
func (l *Log) Report(ctx context.Context, node string, applied uint64) error {
	_, err := l.pool.Exec(ctx, `INSERT INTO adgang_nodes (node, applied) VALUES ($1, $2)
		ON CONFLICT (node) DO UPDATE SET applied = excluded.applied, seen_at = now()`, node, int64(applied))
	return err
}

// Oldest is the first revision the log still holds (0: it is empty).
func (l *Log) Oldest(ctx context.Context) (uint64, error) {
	var rev int64
	err := l.pool.QueryRow(ctx, `SELECT coalesce(min(revision), 0) FROM adgang_log`).Scan(&rev)
	return uint64(rev), err
}

// Prune deletes the log entries that every node seen within live has
// applied, keeping margin entries below the oldest of them and always the
// newest entry; without a live node it deletes nothing. Nodes not seen
// within live are forgotten: one that comes back further behind starts
// again from a snapshot. It answers how many entries it deleted.
func (l *Log) Prune(ctx context.Context, live time.Duration, margin uint64) (int64, error) {
	var floor *int64
	if err := l.pool.QueryRow(ctx, `SELECT min(applied) FROM adgang_nodes WHERE seen_at > now() - $1 * interval '1 millisecond'`,
		live.Milliseconds()).Scan(&floor); err != nil {
		return 0, err
	}
	if floor == nil || uint64(*floor) <= margin {
		return 0, nil
	}
	tag, err := l.pool.Exec(ctx, `DELETE FROM adgang_log WHERE revision < $1 AND revision < (SELECT max(revision) FROM adgang_log)`,
		*floor-int64(margin))
	if err != nil {
		return 0, err
	}
	if _, err := l.pool.Exec(ctx, `DELETE FROM adgang_nodes WHERE seen_at <= now() - $1 * interval '1 millisecond'`, live.Milliseconds()); err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// isSerializationFailure is SQLSTATE 40001 (serialization_failure) or
// 40P01 (deadlock_detected): the transaction may succeed when retried.
func isSerializationFailure(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
