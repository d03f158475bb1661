package pg

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// copyBatch is how many keys one INSERT of a copy carries.
const copyBatch = 1000

// Import fills an empty log with a whole store (adgang store copy): fill
// puts every key and value and answers the store's revision rev and CPR
// key check value. It is one transaction, so a
// failed copy leaves the database empty. The log gets one entry, rev,
// without operations: new nodes start from the state (a snapshot at rev)
// and the fleet's next write is rev+1.
func (l *Log) Import(ctx context.Context, fill func(put func(k, v []byte) error) (rev uint64, cprCheck []byte, err error)) error {
	return pgx.BeginFunc(ctx, l.pool, func(tx pgx.Tx) error {
		var n int64
		if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM adgang_log) + (SELECT count(*) FROM adgang_kv)`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return errors.New("the target database already holds a store: a copy goes into an empty one")
		}
		var keys, vals [][]byte
		flush := func() error {
			if len(keys) == 0 {
				return nil
			}
			_, err := tx.Exec(ctx, `INSERT INTO adgang_kv (key, value, revision)
				SELECT k, v, 0 FROM unnest($1::bytea[], $2::bytea[]) AS t(k, v)`, keys, vals)
			keys, vals = keys[:0], vals[:0]
			return err
		}
		var rev uint64
		var cprCheck []byte
		var err error
		rev, cprCheck, err = fill(func(k, v []byte) error {
			keys, vals = append(keys, k), append(vals, nonNil(v))
			if len(keys) >= copyBatch {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE adgang_kv SET revision = $1`, int64(rev)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO adgang_log (revision, ops, changes) VALUES ($1, '', '[]')`, int64(rev)); err != nil {
			return err
		}
		for name, v := range map[string][]byte{"cluster_id": []byte(uuid.NewString()), "cpr_key_check": cprCheck} {
			if _, err := tx.Exec(ctx, `INSERT INTO adgang_meta (name, value) VALUES ($1, $2)
				ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, nonNil(v)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Export reads the whole state in key order at one revision (a snapshot)
// and the CPR key check value the fleet was written with.
func (l *Log) Export(ctx context.Context, fn func(k, v []byte) error) (uint64, []byte, error) {
	var check []byte
	if err := l.pool.QueryRow(ctx, `SELECT value FROM adgang_meta WHERE name = 'cpr_key_check'`).Scan(&check); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, err
	}
	rev, err := l.Snapshot(ctx, fn)
	if err == nil && rev == 0 {
		err = fmt.Errorf("the source database holds no store")
	}
	return rev, check, err
}
