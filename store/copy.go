package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"sort"
	"strings"

	badger "github.com/dgraph-io/badger/v4"
)

// Moving a store whole between backends (adgang store copy): every key of
// the replicated state with its value, at one revision, and a count and a
// checksum per kind of key to show that both sides hold the same.

// localKey reports the keys that belong to one replica, never copied: the
// revision (written by the copy itself), the fleet it follows and its id
// there, the CPR key check (copied on its own), the user login index's
// marker (the copy's first Open rebuilds the index), and what a fleet node
// has not shipped yet.
func localKey(k []byte) bool {
	s := string(k)
	return s == keyRevision || s == keyClusterID || s == keyNodeID || s == keyCPRKeyCheck || s == keyUserLoginIndex ||
		strings.HasPrefix(s, prefixPendingEvent) || strings.HasPrefix(s, prefixPendingDecision)
}

// KindSums counts and checksums keys by kind (the key's first segment:
// "u" users, "g" grants, "a" audit events …), over keys in key order.
type KindSums struct {
	kinds map[string]*kindSum
}

type kindSum struct {
	n int
	h hash.Hash
}

// Add adds one key and its value (in key order).
func (s *KindSums) Add(k, v []byte) {
	if s.kinds == nil {
		s.kinds = map[string]*kindSum{}
	}
	kind, _, _ := strings.Cut(string(k), "/")
	ks := s.kinds[kind]
	if ks == nil {
		ks = &kindSum{h: sha256.New()}
		s.kinds[kind] = ks
	}
	ks.n++
	var l [8]byte
	binary.BigEndian.PutUint64(l[:], uint64(len(k)))
	ks.h.Write(l[:])
	ks.h.Write(k)
	binary.BigEndian.PutUint64(l[:], uint64(len(v)))
	ks.h.Write(l[:])
	ks.h.Write(v)
}

// KindSum is one kind's count and checksum (hex SHA-256).
type KindSum struct {
	Kind  string
	Count int
	Sum   string
}

// List is the kinds in order.
func (s *KindSums) List() []KindSum {
	out := make([]KindSum, 0, len(s.kinds))
	for k, ks := range s.kinds {
		out = append(out, KindSum{Kind: k, Count: ks.n, Sum: hex.EncodeToString(ks.h.Sum(nil))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}

// Equal reports whether both hold the same kinds, counts and checksums.
func (s *KindSums) Equal(o *KindSums) bool {
	a, b := s.List(), o.List()
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ExportDir reads the Badger store in dir without opening it for writing
// (no server may hold it): fn gets every replicated key and value in key
// order, from one consistent read. It returns the store's revision and its
// CPR key check value.
func ExportDir(dir string, encryptionKey []byte, fn func(k, v []byte) error) (rev uint64, cprCheck []byte, err error) {
	if _, err := os.Stat(dir); err != nil {
		return 0, nil, fmt.Errorf("store: %w", err)
	}
	db, err := badger.Open(badgerOptions(Config{Dir: dir, EncryptionKey: encryptionKey}).WithReadOnly(true))
	if err != nil {
		return 0, nil, fmt.Errorf("store: open %q: %w", dir, err)
	}
	defer db.Close()
	err = db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			k := item.KeyCopy(nil)
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			switch string(k) {
			case keyRevision:
				if len(v) != 8 {
					return errors.New("corrupt revision")
				}
				rev = binary.BigEndian.Uint64(v)
			case keyCPRKeyCheck:
				cprCheck = v
			}
			if localKey(k) {
				continue
			}
			if err := fn(k, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil && rev == 0 {
		err = errors.New("store: the source store is empty")
	}
	return rev, cprCheck, err
}

// CreateDir writes a new Badger store in dir (which must be missing or
// empty): fill puts every key and value and answers the store's revision
// and CPR key check value, kept so the store opens with the same key.
func CreateDir(dir string, encryptionKey []byte, fill func(put func(k, v []byte) error) (rev uint64, cprCheck []byte, err error)) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("store: %s is not empty: a copy goes into a new directory", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	db, err := badger.Open(badgerOptions(Config{Dir: dir, EncryptionKey: encryptionKey}))
	if err != nil {
		return fmt.Errorf("store: open %q: %w", dir, err)
	}
	wb := db.NewWriteBatch()
	rev, cprCheck, err := fill(func(k, v []byte) error {
		if localKey(k) {
			return nil
		}
		return wb.Set(bytes.Clone(k), bytes.Clone(v))
	})
	if err == nil {
		var rb [8]byte
		binary.BigEndian.PutUint64(rb[:], rev)
		err = wb.Set([]byte(keyRevision), rb[:])
	}
	if err == nil && len(cprCheck) > 0 {
		err = wb.Set([]byte(keyCPRKeyCheck), cprCheck)
	}
	if err == nil {
		err = wb.Flush()
	} else {
		wb.Cancel()
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}
