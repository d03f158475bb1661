package store

import (
	"encoding/json"
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

func (tx *Tx) auditUnder(prefix string, from, to time.Time, typ string, limit int) ([]AuditEvent, error) {
	var out []AuditEvent
	var ferr error
	tx.keysReverse(prefix, func(suffix string) bool {
		ev, err := getJSON[AuditEvent](tx, prefixAudit+suffix, "audit event")
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
	return tx.auditUnder(prefixAuditByUser+userID+"/", from, to, typ, limit)
}

// OrgAudit is History for every event of one org.
func (tx *Tx) OrgAudit(cvr string, from, to time.Time, typ string, limit int) ([]AuditEvent, error) {
	return tx.auditUnder(prefixAuditByOrg+cvr+"/", from, to, typ, limit)
}

// AuditSince returns every audit event with revision > rev, oldest first.
func (tx *Tx) AuditSince(rev uint64) ([]AuditEvent, error) {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = []byte(prefixAudit)
	it := tx.txn.NewIterator(opts)
	defer it.Close()
	var out []AuditEvent
	for it.Seek([]byte(prefixAudit + fmt.Sprintf("%016x/", rev+1))); it.ValidForPrefix(opts.Prefix); it.Next() {
		var ev AuditEvent
		if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &ev) }); err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}
