package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// PutMeta stores a small JSON value under a name (job checkpoints etc.).
func (tx *Tx) PutMeta(name string, v any) error {
	if err := tx.setJSON(prefixMeta+name, v); err != nil {
		return err
	}
	tx.changed(ChangeMeta, OpUpdate, "", "", "", name)
	return nil
}

// GetMeta loads a value stored with PutMeta; not_found if absent.
func (tx *Tx) GetMeta(name string, v any) error {
	b, err := tx.getRaw(prefixMeta+name, name)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// cprKeyCheckLabel is what keyCPRKeyCheck holds the HMAC-SHA256 of, under
// the CPR key, hex: it tells whether the store is opened with the key its
// CPR hashes were made with, and reveals nothing of the key.
const cprKeyCheckLabel = "adgang-cpr-key-check"

// ErrCPRKeyMismatch is returned by Open when the CPR key is not the one the
// store was first opened with: every CPR look-up would silently miss.
var ErrCPRKeyMismatch = errors.New("store: the CPR key does not match this store's check value: it is not the key its CPR numbers were stored with")

// checkCPRKey compares the CPR key with the store's check value, storing
// the value on the first open (also of stores made before it existed).
func (s *Store) checkCPRKey() error {
	want := s.cprKeyCheck()
	have, err := s.getMeta(keyCPRKeyCheck)
	if err != nil {
		return fmt.Errorf("store: read the CPR key check value: %w", err)
	}
	if have != nil {
		if !hmac.Equal(have, want) {
			return fmt.Errorf("%w; start with that key (ADGANG_CPR_KEY or --cpr-key-file) — a new key means re-entering every CPR number", ErrCPRKeyMismatch)
		}
		return nil
	}
	if err := s.disk.check(); err != nil {
		s.cfg.Logger.Warn().Err(err).Msg("the CPR key check value is stored on a later start")
		return nil
	}
	if err := s.setMeta(keyCPRKeyCheck, want); err != nil {
		return fmt.Errorf("store: store the CPR key check value: %w", err)
	}
	return nil
}

// cprKeyCheck is the check value of the store's CPR key (an HMAC of a
// fixed label), as kept under keyCPRKeyCheck.
func (s *Store) cprKeyCheck() []byte {
	m := hmac.New(sha256.New, s.cfg.CPRKey)
	m.Write([]byte(cprKeyCheckLabel))
	return []byte(hex.EncodeToString(m.Sum(nil)))
}

// migrate adds indexes that stores written by earlier versions lack, the
// SchemaVersion layout changes in order (keys.go): the grants-by-right
// index, the per-organisation CPR index and the outbox pending index.
// Each is marked done by its own key. It changes no record (no revision, no audit), is
// done in bounded batches, and is marked done only after the last one, so
// an interrupted migration is simply redone on the next start.
func (s *Store) migrate() error {
	if err := s.buildIndex(keyGrantRightIndex, prefixGrant, func(v []byte) (map[string][]byte, error) {
		var g struct {
			ID    string `json:"id"`
			Right string `json:"right"`
		}
		if err := json.Unmarshal(v, &g); err != nil {
			return nil, err
		}
		return map[string][]byte{rightGrantKey(g.Right, g.ID): nil}, nil
	}); err != nil {
		return err
	}
	if err := s.migrateCPRIndex(); err != nil {
		return err
	}
	// Mails stored before the pending index existed are delivered too.
	return s.buildIndex(keyMailPendingIndex, prefixMail, func(v []byte) (map[string][]byte, error) {
		var m struct {
			ID        string     `json:"id"`
			CreatedAt time.Time  `json:"created_at"`
			SentAt    *time.Time `json:"sent_at"`
		}
		if err := json.Unmarshal(v, &m); err != nil {
			return nil, err
		}
		if m.SentAt != nil {
			return nil, nil
		}
		return map[string][]byte{prefixMailPending + mailOrder(&OutboxMail{ID: m.ID, CreatedAt: m.CreatedAt}): []byte(m.ID)}, nil
	})
}

// migrateCPRIndex rebuilds a store-wide CPR index as the per-organisation
// one, once. Stores written before kept one store-wide index (ic/<hash>),
// whose refusals told any organisation that a CPR number was known in
// another. It deletes the old-format keys (ic/<hash>, no second slash)
// in bounded batches and then indexes every user's CPR hash under its
// organisation. Both steps are idempotent, so an interrupted migration is
// redone on the next start; the old index was unique store-wide, so the
// new one holds no clash.
func (s *Store) migrateCPRIndex() error {
	if done, err := s.migrated(keyCPRPerOrgIndex); err != nil || done {
		return err
	}
	for {
		var old [][]byte
		if err := s.db.View(func(txn *badger.Txn) error {
			opts := badger.DefaultIteratorOptions
			opts.Prefix, opts.PrefetchValues = []byte(prefixUserByCPR), false
			it := txn.NewIterator(opts)
			defer it.Close()
			for it.Rewind(); it.Valid() && len(old) < 5000; it.Next() {
				if k := it.Item().Key(); !strings.Contains(string(k[len(prefixUserByCPR):]), "/") {
					old = append(old, it.Item().KeyCopy(nil))
				}
			}
			return nil
		}); err != nil {
			return err
		}
		if len(old) == 0 {
			break
		}
		if err := s.db.Update(func(txn *badger.Txn) error {
			for _, k := range old {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return s.buildIndex(keyCPRPerOrgIndex, prefixUser, func(v []byte) (map[string][]byte, error) {
		var u struct {
			ID      string `json:"id"`
			Org     string `json:"org"`
			CPRHash string `json:"cpr_hash"`
		}
		if err := json.Unmarshal(v, &u); err != nil {
			return nil, err
		}
		if u.CPRHash == "" {
			return nil, nil
		}
		return map[string][]byte{cprIndexKey(u.Org, u.CPRHash): []byte(u.ID)}, nil
	})
}

// migrated reports whether the one-time migration marked by meta is done.
func (s *Store) migrated(meta string) (bool, error) {
	err := s.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get([]byte(meta))
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// buildIndex adds the index entries keysOf derives from every record
// under prefix, in batches, once: meta records that it is done. Index
// entries are idempotent, so a crash mid-way only repeats work.
func (s *Store) buildIndex(meta, prefix string, keysOf func(v []byte) (map[string][]byte, error)) error {
	if done, err := s.migrated(meta); err != nil || done {
		return err
	}
	pending := map[string][]byte{}
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		if err := s.disk.check(); err != nil {
			return err
		}
		err := s.db.Update(func(txn *badger.Txn) error {
			for k, v := range pending {
				if err := txn.Set([]byte(k), v); err != nil {
					return err
				}
			}
			return nil
		})
		clear(pending)
		return err
	}
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte(prefix)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var keys map[string][]byte
			if err := it.Item().Value(func(v []byte) error {
				var err error
				keys, err = keysOf(v)
				return err
			}); err != nil {
				return fmt.Errorf("%s: %w", it.Item().Key(), err)
			}
			for k, v := range keys {
				pending[k] = v
			}
			if len(pending) >= 5000 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return err
	}
	if err := s.disk.check(); err != nil {
		return err
	}
	return s.db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(meta), []byte{1}) })
}
