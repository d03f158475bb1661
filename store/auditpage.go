package store

import (
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// AuditCursor is an audit event's position in the audit indexes (its
// revision and sequence): the cursor of a paged audit list.
func AuditCursor(ev AuditEvent) string { return fmt.Sprintf("%016x/%04x", ev.Revision, ev.Seq) }

// HistoryPage is History continued after the event at cursor before (an
// AuditCursor; "" starts with the newest event): at most limit events,
// newest first.
func (tx *Tx) HistoryPage(userID, before string, from, to time.Time, typ string, limit int) ([]AuditEvent, error) {
	return tx.auditPage(prefixAuditByUser+userID+"/", before, from, to, typ, limit)
}

// OrgAuditPage is HistoryPage for every event of one org.
func (tx *Tx) OrgAuditPage(cvr, before string, from, to time.Time, typ string, limit int) ([]AuditEvent, error) {
	return tx.auditPage(prefixAuditByOrg+cvr+"/", before, from, to, typ, limit)
}

func (tx *Tx) auditPage(prefix, before string, from, to time.Time, typ string, limit int) ([]AuditEvent, error) {
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Reverse = true
	opts.Prefix = []byte(prefix)
	it := tx.txn.NewIterator(opts)
	defer it.Close()
	seek := append([]byte(prefix), 0xFF)
	if before != "" {
		seek = []byte(prefix + before)
	}
	var out []AuditEvent
	for it.Seek(seek); it.ValidForPrefix([]byte(prefix)); it.Next() {
		suffix := string(it.Item().Key()[len(prefix):])
		if before != "" && suffix >= before {
			continue
		}
		ev, err := getJSON[AuditEvent](tx, prefixAudit+suffix, "audit event")
		if err != nil {
			return nil, err
		}
		if (!from.IsZero() && ev.Time.Before(from)) || (!to.IsZero() && ev.Time.After(to)) || (typ != "" && ev.Type != typ) {
			continue
		}
		out = append(out, *ev)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out, nil
}
