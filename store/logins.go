package store

import (
	"context"
	"encoding/binary"
	"errors"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// Last-login times in a fleet (SPEC §8, issue 14): a login time is
// bookkeeping for the lifecycle jobs, written after a decision, never on
// its path. On a fleet node it must not take a revision, yet the node that
// runs the jobs must see every node's logins. So a node keeps its logins
// under prefixPendingLogin in its own replica (durable at once, never
// replicated), ships them to the log every second (ShipLogins: the later
// time wins, no revision), and deletes what was shipped. The job lease
// holder folds the shipped times into the user records (FoldLogins): one
// ordinary write per fold, which every replica then applies.

const shipEvery = time.Second

// loginFoldOverlap re-reads logins shipped shortly before the last fold:
// a shipment committed late is not missed (folding is idempotent).
const loginFoldOverlap = time.Minute

// keepLogins writes login times as pending shipment (fleet TouchLogins).
func (s *Store) keepLogins(logins map[string]time.Time) error {
	if s.closed.Load() {
		return &Error{Code: EInternal, Message: "store is closed"}
	}
	if err := s.disk.check(); err != nil {
		return err
	}
	return s.db.Update(func(txn *badger.Txn) error {
		for id, t := range logins {
			key := []byte(prefixPendingLogin + id)
			if item, err := txn.Get(key); err == nil {
				if v, err := item.ValueCopy(nil); err == nil && len(v) == 8 && int64(binary.BigEndian.Uint64(v)) >= t.UnixNano() {
					continue
				}
			} else if !errors.Is(err, badger.ErrKeyNotFound) {
				return err
			}
			var b [8]byte
			binary.BigEndian.PutUint64(b[:], uint64(t.UnixNano()))
			if err := txn.Set(key, b[:]); err != nil {
				return err
			}
		}
		return nil
	})
}

// shipLogins sends the pending login times and stored decisions to the log
// every second, and reads the other nodes' stored decisions
// (decisionship.go).
func (s *Store) shipLogins(ctx context.Context) {
	defer close(s.replica.shipped)
	t := time.NewTicker(shipEvery)
	defer t.Stop()
	var overlapAt time.Time // the last pull that re-read the overlap
	for {
		select {
		case <-ctx.Done():
			// What the last second kept, if the log answers quickly; else
			// it stays here and is shipped after the next start.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			_ = s.shipOnce(fctx)
			cancel()
			return
		case <-t.C:
			if err := s.shipOnce(ctx); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Warn().Err(err).Msg("ship login times to the system of record; kept for the next try")
			}
			for _, kind := range []string{EventKnock, EventPassword} {
				if err := s.shipEvents(ctx, kind); err != nil && ctx.Err() == nil {
					s.cfg.Logger.Warn().Err(err).Str("kind", kind).Msg("ship side events to the system of record; kept for the next try")
				}
			}
			if err := s.shipDecisions(ctx); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Warn().Err(err).Msg("ship stored decisions to the system of record; kept for the next try")
			}
			overlap := time.Since(overlapAt) >= time.Minute
			if err := s.pullDecisions(ctx, overlap); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Warn().Err(err).Msg("read the fleet's stored decisions")
			} else if overlap {
				overlapAt = time.Now()
			}
		}
	}
}

// shipOnce ships the pending logins and deletes those not touched since.
func (s *Store) shipOnce(ctx context.Context) error {
	pending := map[string][]byte{}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixPendingLogin)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			pending[string(it.Item().Key()[len(prefixPendingLogin):])] = v
		}
		return nil
	})
	if err != nil || len(pending) == 0 {
		return err
	}
	logins := make(map[string]time.Time, len(pending))
	for id, v := range pending {
		if len(v) == 8 {
			logins[id] = time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.replica.log.ShipLogins(sctx, logins); err != nil {
		return err
	}
	return s.db.Update(func(txn *badger.Txn) error {
		for id, v := range pending {
			key := []byte(prefixPendingLogin + id)
			item, err := txn.Get(key)
			if err != nil {
				continue
			}
			if now, err := item.ValueCopy(nil); err == nil && string(now) == string(v) {
				if err := txn.Delete(key); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// FoldLogins writes the login times every node of the fleet shipped since
// the last fold into the user records (a later time only), in one write;
// the node holding the job lease calls it before the lifecycle jobs read
// them. It answers how many users it updated. Without a log it does nothing.
func (s *Store) FoldLogins(ctx context.Context) (int, error) {
	r := s.replica
	if r == nil {
		return 0, nil
	}
	if err := s.shipOnce(ctx); err != nil { // this node's own first
		return 0, err
	}
	since := s.foldedAt.Load().(time.Time)
	logins, next, err := r.log.LoginsSince(ctx, since.Add(-loginFoldOverlap))
	if err != nil || len(logins) == 0 {
		if err == nil {
			s.foldedAt.Store(next)
		}
		return 0, err
	}
	newer := map[string]time.Time{}
	err = s.View(ctx, func(tx *Tx) error {
		for id, t := range logins {
			u, err := tx.GetUser(id)
			if err == nil && (u.LastLogin == nil || t.After(*u.LastLogin)) {
				newer[id] = t
			}
		}
		return nil
	})
	if err != nil || len(newer) == 0 {
		if err == nil {
			s.foldedAt.Store(next)
		}
		return 0, err
	}
	if _, err := s.Update(ctx, "system", func(tx *Tx) error { return touchAll(tx, newer) }); err != nil {
		return 0, err
	}
	s.foldedAt.Store(next)
	return len(newer), nil
}
