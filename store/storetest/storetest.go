// Package storetest opens real stores for tests of other packages.
package storetest

import (
	"testing"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/store"
)

// Key is the CPR hash key of test stores.
var Key = []byte("test-cpr-key-test-cpr-key-123456")

// Open opens a Badger store in a fresh temporary directory (sync writes
// off: tests do not need fsync) and closes it when the test ends.
func Open(tb testing.TB) *store.Store {
	tb.Helper()
	st, err := store.Open(store.Config{Dir: tb.TempDir(), NoSync: true, CPRKey: Key, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}
