package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/google/uuid"
)

// Side events of decisions in a fleet (issue 14): login times, knock
// attempts (D2) and password failures (L8) must neither wait for nor take
// a revision. A
// fleet node keeps each event in its replica (KeepEvents: durable at once,
// never replicated) and ships it within a second; the node holding the job
// lease folds the fleet's events into the store (ShippedEvents, then one
// ordinary write per batch, then DoneEvents), which every replica then
// applies.

// Kinds of side events.
const (
	EventLogin    = "login"
	EventKnock    = "knock"
	EventPassword = "password"
)

// errNothingToFold ends a fold's write without a change (no empty revision).
var errNothingToFold = errors.New("store: nothing to fold")

// KnockAttempt is one knock of a denied login (D2), as the decision
// service saw it.
type KnockAttempt struct {
	CVR       string    `json:"cvr"`
	SubjectID string    `json:"subject_id"`
	Name      string    `json:"name,omitempty"`
	Email     string    `json:"email,omitempty"`
	At        time.Time `json:"at"`
}

// Fleet reports whether the store is a fleet replica (it has a log).
func (s *Store) Fleet() bool { return s.replica != nil }

// KeepEvents keeps side events of kind (each JSON-encoded) on a fleet node
// until they are shipped, in order.
func (s *Store) KeepEvents(kind string, events []any) error {
	if s.closed.Load() {
		return &Error{Code: EInternal, Message: "store is closed"}
	}
	if err := s.disk.check(); err != nil {
		return err
	}
	now := time.Now().UnixNano()
	return s.db.Update(func(txn *badger.Txn) error {
		for i, e := range events {
			b, err := json.Marshal(e)
			if err != nil {
				return err
			}
			key := fmt.Sprintf("%s%s/%020d-%04d-%s", prefixPendingEvent, kind, now, i, uuid.NewString())
			if err := txn.Set([]byte(key), b); err != nil {
				return err
			}
		}
		return nil
	})
}

// shipEvents sends the kept events of kind to the log, in order.
func (s *Store) shipEvents(ctx context.Context, kind string) error {
	var keys, bodies [][]byte
	prefix := []byte(prefixPendingEvent + kind + "/")
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid() && len(keys) < shipDecisionBatch; it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			keys, bodies = append(keys, it.Item().KeyCopy(nil)), append(bodies, v)
		}
		return nil
	})
	if err != nil || len(keys) == 0 {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, logCallTimeout)
	defer cancel()
	if err := s.replica.log.ShipEvents(sctx, kind, bodies); err != nil {
		return err
	}
	return s.deleteKeys(keys)
}

// deleteKeys deletes node-local keys outside any revision (what a fleet
// node shipped, what a resync replaces), in one write batch.
func (s *Store) deleteKeys(keys [][]byte) error {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range keys {
		if err := wb.Delete(k); err != nil {
			return err
		}
	}
	return wb.Flush()
}

// ShippedEvents reads up to limit events of kind the fleet shipped, oldest
// first (JSON each), and a token for DoneEvents once they are in the
// store. Without a log it answers none.
func (s *Store) ShippedEvents(ctx context.Context, kind string, limit int) ([][]byte, []int64, error) {
	if s.replica == nil {
		return nil, nil, nil
	}
	if err := s.shipEvents(ctx, kind); err != nil { // this node's own first
		return nil, nil, err
	}
	seqs, bodies, err := s.replica.log.Events(ctx, kind, limit)
	return bodies, seqs, err
}

// DoneEvents deletes folded events from the log (a crash between the fold
// and this folds them once more).
func (s *Store) DoneEvents(ctx context.Context, seqs []int64) error {
	if s.replica == nil || len(seqs) == 0 {
		return nil
	}
	return s.replica.log.DeleteEvents(ctx, seqs)
}
