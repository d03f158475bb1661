package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// The stored decision log in a fleet (S11, issue 14): a decision is logged
// on the node that made it, durable there at once (AppendDecisions, as on
// a store of its own), and marked for shipment (prefixPendingDecision).
// Every second each node ships its marked records to the log and reads
// the records other nodes shipped into its own replica, so an auditor's
// GET /v1/decisions answers the whole fleet's decisions on any node. The
// records take no revision; each node's retention job deletes its old
// ones, the lease holder the log's (cmd).

// ShippedDecision is one stored decision record in the fleet's log.
type ShippedDecision struct {
	Seq    int64 // the log's order of shipments (DecisionsAfter)
	ID     string
	Time   time.Time
	Record []byte // the DecisionRecord's JSON
}

const (
	shipDecisionBatch = 1000
	// decisionOverlap re-reads this many shipments before the last one
	// read, once a minute: a sequence does not give commit order, so a
	// shipment committed late is not missed (reading is idempotent).
	decisionOverlap = 10000
)

// shipDecisions sends up to shipDecisionBatch marked records to the log.
func (s *Store) shipDecisions(ctx context.Context) error {
	var recs []ShippedDecision
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixPendingDecision)})
		defer it.Close()
		for it.Rewind(); it.Valid() && len(recs) < shipDecisionBatch; it.Next() {
			id := string(it.Item().Key()[len(prefixPendingDecision):])
			item, err := txn.Get([]byte(prefixDecision + id))
			if errors.Is(err, badger.ErrKeyNotFound) {
				recs = append(recs, ShippedDecision{ID: id}) // deleted by retention: only unmark it
				continue
			} else if err != nil {
				return err
			}
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			var r DecisionRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			recs = append(recs, ShippedDecision{ID: id, Time: r.Time, Record: v})
		}
		return nil
	})
	if err != nil || len(recs) == 0 {
		return err
	}
	ship := make([]ShippedDecision, 0, len(recs))
	for _, r := range recs {
		if r.Record != nil {
			ship = append(ship, r)
		}
	}
	if len(ship) > 0 {
		sctx, cancel := context.WithTimeout(ctx, logCallTimeout)
		defer cancel()
		if err := s.replica.log.ShipDecisions(sctx, ship); err != nil {
			return err
		}
	}
	keys := make([][]byte, len(recs))
	for i, r := range recs {
		keys[i] = []byte(prefixPendingDecision + r.ID)
	}
	return s.deleteKeys(keys)
}

// pullDecisions reads the records other nodes shipped after the last one
// read (from decisionOverlap earlier when overlap is set) into the replica.
func (s *Store) pullDecisions(ctx context.Context, overlap bool) error {
	r := s.replica
	after := r.decSeq
	if overlap {
		after = max(after-decisionOverlap, 0)
	}
	for {
		pctx, cancel := context.WithTimeout(ctx, logCallTimeout)
		got, err := r.log.DecisionsAfter(pctx, after, shipDecisionBatch)
		cancel()
		if err != nil || len(got) == 0 {
			return err
		}
		var recs []*DecisionRecord
		err = s.db.View(func(txn *badger.Txn) error {
			for _, d := range got {
				if _, err := txn.Get([]byte(prefixDecision + d.ID)); err == nil {
					continue // this node's own, or read before
				} else if !errors.Is(err, badger.ErrKeyNotFound) {
					return err
				}
				var rec DecisionRecord
				if json.Unmarshal(d.Record, &rec) == nil {
					recs = append(recs, &rec)
				}
			}
			return nil
		})
		if err == nil {
			err = s.appendDecisions(ctx, recs, false, false)
		}
		if err != nil {
			return err
		}
		after = got[len(got)-1].Seq
		r.decSeq = max(r.decSeq, after)
		if len(got) < shipDecisionBatch {
			return nil
		}
	}
}
