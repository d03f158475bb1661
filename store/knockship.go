package store

import (
	"context"
	"encoding/json"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/google/uuid"
)

// Knock attempts in a fleet (D2's knock queue, issue 14): a login that
// knocks must not wait for, nor take, a revision. A fleet node keeps each
// attempt in its replica (KeepKnocks: durable at once, never replicated),
// ships it within a second, and the node holding the job lease folds the
// fleet's attempts into the knock queue (ShippedKnocks, then the engine's
// usual knock write, then DoneKnocks): one ordinary write per batch, which
// every replica then applies.

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

// KeepKnocks keeps knock attempts on a fleet node until they are shipped.
func (s *Store) KeepKnocks(attempts []KnockAttempt) error {
	if s.closed.Load() {
		return &Error{Code: EInternal, Message: "store is closed"}
	}
	if err := s.disk.check(); err != nil {
		return err
	}
	return s.db.Update(func(txn *badger.Txn) error {
		for _, a := range attempts {
			b, err := json.Marshal(a)
			if err != nil {
				return err
			}
			if err := txn.Set([]byte(prefixPendingKnock+uuid.NewString()), b); err != nil {
				return err
			}
		}
		return nil
	})
}

// shipKnocks sends the kept knock attempts to the log.
func (s *Store) shipKnocks(ctx context.Context) error {
	var keys, attempts [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, Prefix: []byte(prefixPendingKnock)})
		defer it.Close()
		for it.Rewind(); it.Valid() && len(keys) < shipDecisionBatch; it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			keys, attempts = append(keys, it.Item().KeyCopy(nil)), append(attempts, v)
		}
		return nil
	})
	if err != nil || len(keys) == 0 {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, logCallTimeout)
	defer cancel()
	if err := s.replica.log.ShipKnocks(sctx, attempts); err != nil {
		return err
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range keys {
		if err := wb.Delete(k); err != nil {
			return err
		}
	}
	return wb.Flush()
}

// ShippedKnocks reads up to limit knock attempts the fleet shipped, oldest
// first, and a token for DoneKnocks once they are in the store. Without a
// log it answers none.
func (s *Store) ShippedKnocks(ctx context.Context, limit int) ([]KnockAttempt, []int64, error) {
	if s.replica == nil {
		return nil, nil, nil
	}
	if err := s.shipKnocks(ctx); err != nil { // this node's own first
		return nil, nil, err
	}
	seqs, raw, err := s.replica.log.KnockAttempts(ctx, limit)
	if err != nil {
		return nil, nil, err
	}
	out := make([]KnockAttempt, 0, len(raw))
	for _, b := range raw {
		var a KnockAttempt
		if json.Unmarshal(b, &a) == nil {
			out = append(out, a)
		}
	}
	return out, seqs, nil
}

// DoneKnocks deletes folded knock attempts from the log (a crash between
// the fold and this counts them once more: the count is information).
func (s *Store) DoneKnocks(ctx context.Context, seqs []int64) error {
	if s.replica == nil || len(seqs) == 0 {
		return nil
	}
	return s.replica.log.DeleteKnockAttempts(ctx, seqs)
}
