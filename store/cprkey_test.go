package store_test

import (
	"errors"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"

	"github.com/adgang/adgang/store"
)

// TestCPRKeyCheckValue: the store keeps a check value of its CPR key; a
// different key is refused on open, also for a store made before check
// values existed (it gets one on its first open).
func TestCPRKeyCheckValue(t *testing.T) {
	dir := t.TempDir()
	keyA, keyB := []byte("0123456789abcdef-key-A"), []byte("0123456789abcdef-key-B")
	open := func(key []byte) (*store.Store, error) {
		return store.Open(store.Config{Dir: dir, CPRKey: key, Logger: zerolog.Nop(), GCInterval: -1})
	}
	st, err := open(keyA)
	if err != nil {
		t.Fatal(err)
	}
	rev := st.Revision()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := open(keyB); !errors.Is(err, store.ErrCPRKeyMismatch) {
		t.Fatalf("open with another key = %v, want ErrCPRKeyMismatch", err)
	}

	// A store from before the check value: drop it, as older versions
	// never wrote it. The first open stores it again.
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.DropPrefix([]byte("m/cpr-key-check")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = open(keyA)
	if err != nil {
		t.Fatalf("open of a store without a check value: %v", err)
	}
	if st.Revision() != rev {
		t.Errorf("storing the check value changed the revision: %d, want %d", st.Revision(), rev)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := open(keyB); !errors.Is(err, store.ErrCPRKeyMismatch) {
		t.Fatalf("open with another key after the check value was added = %v, want ErrCPRKeyMismatch", err)
	}
	st, err = open(keyA)
	if err != nil {
		t.Fatalf("open with the right key: %v", err)
	}
	_ = st.Close()
}
