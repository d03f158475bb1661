package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Decision log keys (S11, the queryable decision log):
//
//	dl/<decision id>                     the record (a DecisionRecord)
//	idlt/<time>/<decision id>            by time
//	idlu/<user id>/<time>/<decision id>  by user
//	idlc/<cvr>/<time>/<decision id>      by organisation
//
// where <time> is the decision's Unix time in nanoseconds, %020d, so each
// index is in time order. The index values hold the record's user id and
// CVR ("<user>\x00<cvr>") so retention can delete every key of a record
// without reading it.
//
// Decision log entries are not admin changes: writing or deleting them
// takes no revision, records no audit event and publishes nothing on the
// change feed, so decision caches (valid per revision) stay valid.

// DecisionRecord is one decision kept in the store's decision log. Input,
// Rights, Reasons and Result are JSON the decision service produced
// (Input masked, never a CPR number).
type DecisionRecord struct {
	DecisionID string          `json:"decision_id"`
	Time       time.Time       `json:"time"`
	Path       string          `json:"path"`
	UserID     string          `json:"user_id,omitempty"`
	CVR        string          `json:"cvr,omitempty"`
	Allow      bool            `json:"allow"`
	Input      json.RawMessage `json:"input,omitempty"`
	Rights     json.RawMessage `json:"rights,omitempty"`
	Reasons    json.RawMessage `json:"reasons,omitempty"`
	Result     json.RawMessage `json:"result,omitempty"`
	Revision   uint64          `json:"revision"`
	Policy     string          `json:"policy,omitempty"`
}

// DecisionQuery selects decision log records. Zero fields select all.
type DecisionQuery struct {
	UserID string
	CVR    string
	// Orgs, when not nil, limits the answer to records of these
	// organisations (the caller's A1 scope); an empty non-nil list
	// selects nothing.
	Orgs     []string
	From, To time.Time // inclusive bounds; zero: open
	Allow    *bool
	Limit    int    // at most this many (default 100)
	After    string // page token: continue after this index position
}

func decisionTimeKey(t time.Time) string { return fmt.Sprintf("%020d", t.UnixNano()) }

func decisionIndexKeys(r *DecisionRecord) []string {
	suffix := decisionTimeKey(r.Time) + "/" + r.DecisionID
	keys := []string{prefixDecisionByTime + suffix}
	if r.UserID != "" {
		keys = append(keys, prefixDecisionByUser+r.UserID+"/"+suffix)
	}
	if r.CVR != "" {
		keys = append(keys, prefixDecisionByOrg+r.CVR+"/"+suffix)
	}
	return keys
}

// validLogKeyPart refuses a key part that would break the key layout.
func validLogKeyPart(s string) bool {
	return len(s) <= 256 && !strings.ContainsAny(s, "/\x00")
}

// maxDecisionTxBytes bounds one decision-log write transaction, well under
// Badger's transaction limit (15% of the 32 MiB memtable).
const maxDecisionTxBytes = 1 << 20

// AppendDecisions stores decision records in Badger transactions of at most
// maxDecisionTxBytes,
// without a revision, an audit event or a change-feed publication. When
// sync is set and the store does not sync every write anyway, the write
// is fsynced before AppendDecisions returns, so every record is durable
// (lossless decision logging). A record with an id already stored is
// not written again.
func (s *Store) AppendDecisions(ctx context.Context, recs []*DecisionRecord, sync bool) error {
	return s.appendDecisions(ctx, recs, sync, s.replica != nil)
}

// appendDecisions is AppendDecisions; ship marks each record for shipment
// to the fleet's log (records read from the log are not).
func (s *Store) appendDecisions(ctx context.Context, recs []*DecisionRecord, sync, ship bool) error {
	if len(recs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.enter(); err != nil { // Close waits for this write as for a reader
		return err
	}
	defer s.leave()
	if err := s.disk.check(); err != nil {
		return err
	}
	// Records are encoded first and written in transactions of at most
	// maxDecisionTxBytes, so that one large batch never exceeds Badger's
	// transaction size and takes every other record of the batch with it.
	type encoded struct {
		r *DecisionRecord
		b []byte
	}
	encs := make([]encoded, 0, len(recs))
	for _, r := range recs {
		if r.DecisionID == "" || !validLogKeyPart(r.DecisionID) || !validLogKeyPart(r.UserID) || !validLogKeyPart(r.CVR) {
			return Errorf(EInvalid, "decision record: bad decision id, user id or cvr")
		}
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("decision record: %w", err)
		}
		encs = append(encs, encoded{r, b})
	}
	var err error
	for start := 0; start < len(encs) && err == nil; {
		end, size := start, 0
		for end < len(encs) && (end == start || size+len(encs[end].b) <= maxDecisionTxBytes) {
			size += len(encs[end].b) + 256 // the index keys
			end++
		}
		chunk := encs[start:end]
		err = s.db.Update(func(txn *badger.Txn) error {
			for _, e := range chunk {
				if err := txn.Set([]byte(prefixDecision+e.r.DecisionID), e.b); err != nil {
					return err
				}
				val := []byte(e.r.UserID + "\x00" + e.r.CVR)
				for _, k := range decisionIndexKeys(e.r) {
					if err := txn.Set([]byte(k), val); err != nil {
						return err
					}
				}
				if ship {
					if err := txn.Set([]byte(prefixPendingDecision+e.r.DecisionID), nil); err != nil {
						return err
					}
				}
			}
			return nil
		})
		start = end
	}
	if err != nil {
		return fmt.Errorf("store: decision log: %w", err)
	}
	if sync && s.cfg.NoSync && !s.cfg.InMemory {
		if err := s.db.Sync(); err != nil {
			return fmt.Errorf("store: decision log sync: %w", err)
		}
	}
	return nil
}

// DeleteDecisionsBefore deletes every decision record older than t, at
// most max of them (0: no bound), and returns how many it deleted.
func (s *Store) DeleteDecisionsBefore(ctx context.Context, t time.Time, max int) (int, error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	type old struct{ suffix, user, cvr string }
	var olds []old
	end := prefixDecisionByTime + decisionTimeKey(t)
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte(prefixDecisionByTime)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := string(it.Item().Key())
			if k >= end || (max > 0 && len(olds) >= max) {
				break
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			user, cvr, _ := strings.Cut(string(v), "\x00")
			olds = append(olds, old{suffix: strings.TrimPrefix(k, prefixDecisionByTime), user: user, cvr: cvr})
		}
		return nil
	})
	if err != nil || len(olds) == 0 {
		return 0, err
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, o := range olds {
		_, id, _ := strings.Cut(o.suffix, "/")
		keys := []string{prefixDecision + id, prefixDecisionByTime + o.suffix}
		if o.user != "" {
			keys = append(keys, prefixDecisionByUser+o.user+"/"+o.suffix)
		}
		if o.cvr != "" {
			keys = append(keys, prefixDecisionByOrg+o.cvr+"/"+o.suffix)
		}
		for _, k := range keys {
			if err := wb.Delete([]byte(k)); err != nil {
				return 0, err
			}
		}
	}
	if err := wb.Flush(); err != nil {
		return 0, err
	}
	return len(olds), ctx.Err()
}

// GetDecision returns one decision record.
func (tx *Tx) GetDecision(id string) (*DecisionRecord, error) {
	if id == "" || !validLogKeyPart(id) {
		return nil, Errorf(ENotFound, "decision not found")
	}
	return getJSON[DecisionRecord](tx, prefixDecision+id, "decision")
}

// ListDecisions answers the records q selects, newest first, and the page
// token of the next page ("" on the last page).
func (tx *Tx) ListDecisions(q DecisionQuery) ([]*DecisionRecord, string, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	prefix := prefixDecisionByTime
	switch {
	case q.UserID != "":
		prefix = prefixDecisionByUser + q.UserID + "/"
	case q.CVR != "":
		prefix = prefixDecisionByOrg + q.CVR + "/"
	}
	if !validLogKeyPart(q.UserID) || !validLogKeyPart(q.CVR) || strings.Contains(q.After, "\x00") {
		return nil, "", Errorf(EInvalid, "bad decision query")
	}
	var orgs map[string]bool
	if q.Orgs != nil {
		orgs = make(map[string]bool, len(q.Orgs))
		for _, o := range q.Orgs {
			orgs[o] = true
		}
	}
	opts := badger.DefaultIteratorOptions
	opts.Reverse = true
	opts.Prefix = []byte(prefix)
	it := tx.txn.NewIterator(opts)
	defer it.Close()
	seek := prefix + "\xff"
	if q.After != "" {
		seek = prefix + q.After // positioned on it; skipped below
	} else if !q.To.IsZero() {
		seek = prefix + decisionTimeKey(q.To) + "/\xff"
	}
	var from string
	if !q.From.IsZero() {
		from = decisionTimeKey(q.From)
	}
	var out []*DecisionRecord
	next := ""
	for it.Seek([]byte(seek)); it.ValidForPrefix([]byte(prefix)); it.Next() {
		suffix := string(it.Item().Key()[len(prefix):])
		if suffix == q.After {
			continue
		}
		ts, id, _ := strings.Cut(suffix, "/")
		if !q.To.IsZero() && ts > decisionTimeKey(q.To) {
			continue
		}
		if from != "" && ts < from {
			break
		}
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return nil, "", err
		}
		user, cvr, _ := strings.Cut(string(v), "\x00")
		if q.UserID != "" && user != q.UserID || q.CVR != "" && cvr != q.CVR || orgs != nil && !orgs[cvr] {
			continue
		}
		r, err := tx.GetDecision(id)
		if IsNotFound(err) {
			continue // deleted by retention since the index was read
		}
		if err != nil {
			return nil, "", err
		}
		if q.Allow != nil && r.Allow != *q.Allow {
			continue
		}
		if len(out) == q.Limit {
			next = prevSuffix(out[len(out)-1])
			break
		}
		out = append(out, r)
	}
	return out, next, nil
}

// prevSuffix is the index position of r (the page token after it).
func prevSuffix(r *DecisionRecord) string {
	return decisionTimeKey(r.Time) + "/" + r.DecisionID
}
