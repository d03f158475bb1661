package store

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Outbox keys:
//
//	x/<id>                             the mail (a mailRecord)
//	imt/<to, lower-case>/<order>       by recipient
//	imu/<user id>/<order>              by user
//	imp/<order>                        pending (not yet sent), oldest first
//
// where <order> is "<created-ns %020d>-<id>", so each index is in creation
// order.

// mailRecord is the stored form of a mail: the API form plus the one-time
// secret the API form never shows (see OutboxMail.Secret).
type mailRecord struct {
	OutboxMail
	StoredSecret string `json:"secret,omitempty"`
}

func decodeMail(b []byte) (*OutboxMail, error) {
	var r mailRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode mail: %w", err)
	}
	m := r.OutboxMail
	m.Secret = r.StoredSecret
	return &m, nil
}

// GetMail returns one mail, with its secret if it has not been sent yet.
func (tx *Tx) GetMail(id string) (*OutboxMail, error) {
	b, err := tx.getRaw(prefixMail+id, "mail")
	if err != nil {
		return nil, err
	}
	return decodeMail(b)
}

// PutMail stores a mail (new or changed). A mail with SentAt set is sent:
// its secret is wiped (in m too) and it leaves the pending index.
func (tx *Tx) PutMail(m *OutboxMail) error {
	return tx.putMail(m, "mail.put")
}

func (tx *Tx) putMail(m *OutboxMail, event string) error {
	if m.ID == "" || strings.Contains(m.ID, "/") {
		return Errorf(EInvalid, "mail id must be non-empty without slashes")
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = tx.now
	}
	if m.SentAt != nil {
		// A sent secret has done its job; keeping it would only leak it.
		m.Secret = ""
	}
	// A mail put again (marked sent, say) keeps one entry per index.
	old, err := tx.GetMail(m.ID)
	if err != nil && !IsNotFound(err) {
		return err
	}
	keys := mailIndexKeys(m)
	if old != nil {
		for _, k := range mailIndexKeys(old) {
			if !slices.Contains(keys, k) {
				if err := tx.del(k); err != nil {
					return err
				}
			}
		}
	}
	if err := tx.setJSON(prefixMail+m.ID, mailRecord{OutboxMail: *m, StoredSecret: m.Secret}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := tx.set(k, []byte(m.ID)); err != nil {
			return err
		}
	}
	tx.audit(event, "", m.UserID, m.ID)
	tx.changed(ChangeMail, opOf(old != nil), "", m.UserID, "", m.ID)
	return nil
}

// mailIndexKeys are the outbox indexes of m: by recipient, by user and,
// while it is unsent, pending; each ordered by creation time.
func mailIndexKeys(m *OutboxMail) []string {
	order := mailOrder(m)
	keys := []string{prefixMailByTo + lower(m.To) + "/" + order}
	if m.UserID != "" {
		keys = append(keys, prefixMailByUser+m.UserID+"/"+order)
	}
	if m.SentAt == nil {
		keys = append(keys, prefixMailPending+order)
	}
	return keys
}

func mailOrder(m *OutboxMail) string {
	return fmt.Sprintf("%020d-%s", m.CreatedAt.UnixNano(), m.ID)
}

// mailIDOf returns the mail id at the end of an index key suffix.
func mailIDOf(suffix string) string {
	_, id, _ := strings.Cut(suffix[strings.LastIndex(suffix, "/")+1:], "-")
	return id
}

// ListMail lists mails to an address and/or about a user, newest first.
func (tx *Tx) ListMail(to, userID string) ([]*OutboxMail, error) {
	var prefix string
	switch {
	case to != "":
		prefix = prefixMailByTo + lower(to) + "/"
	case userID != "":
		prefix = prefixMailByUser + userID + "/"
	default:
		prefix = prefixMailByTo
	}
	var out []*OutboxMail
	var ferr error
	tx.keysReverse(prefix, func(suffix string) bool {
		m, err := tx.GetMail(mailIDOf(suffix))
		if err != nil {
			ferr = err
			return false
		}
		if userID == "" || m.UserID == userID {
			out = append(out, m)
		}
		return true
	})
	// Each index is in time order per recipient; across recipients (no
	// filter) the order comes from sorting.
	slices.SortStableFunc(out, func(a, b *OutboxMail) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, ferr
}

// PendingMail returns up to limit unsent mails (limit <= 0: all), oldest
// first, with their secrets. It reads only the pending index, so its cost
// does not grow with the number of mails already sent.
func (tx *Tx) PendingMail(limit int) ([]*OutboxMail, error) {
	const prefix = prefixMailPending
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = []byte(prefix)
	// Collect the ids first: a read-write Badger transaction allows one
	// open iterator, and the look-ups below must not hold it.
	var ids []string
	it := tx.txn.NewIterator(opts)
	for it.Seek([]byte(prefix)); it.ValidForPrefix([]byte(prefix)); it.Next() {
		ids = append(ids, mailIDOf(string(it.Item().Key()[len(prefix):])))
		if limit > 0 && len(ids) >= limit {
			break
		}
	}
	it.Close()
	return loadAll(ids, tx.GetMail)
}

// MarkMailSent records that mail id was sent at at: SentAt is set, the
// secret wiped and the mail leaves the pending index. Marking a mail that
// is already sent changes nothing (no write, no audit event).
func (tx *Tx) MarkMailSent(id string, at time.Time) error {
	m, err := tx.GetMail(id)
	if err != nil {
		return err
	}
	if m.SentAt != nil {
		return nil
	}
	at = at.UTC()
	m.SentAt = &at
	return tx.putMail(m, "mail.sent")
}
