// Package storetest opens real stores for tests of other packages.
package storetest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/pg"
	"github.com/adgang/adgang/store/pgtest"
)

// Key is the CPR hash key of test stores.
var Key = []byte("test-cpr-key-test-cpr-key-123456")

// Backend is the store kind Open gives: ADGANG_TEST_STORE=postgres makes
// every store a fleet node following a fresh PostgreSQL database (the
// store contract tests run once that way, make gotest); default badger.
func Backend() string {
	if os.Getenv("ADGANG_TEST_STORE") == "postgres" {
		return "postgres"
	}
	return "badger"
}

// Open opens a Badger store in a fresh temporary directory (sync writes
// off: tests do not need fsync) and closes it when the test ends. With
// ADGANG_TEST_STORE=postgres it is a fleet node of a new database
// (the test binary's TestMain must be pgtest.Main).
func Open(tb testing.TB) *store.Store {
	tb.Helper()
	cfg := store.Config{Dir: tb.TempDir(), NoSync: true, CPRKey: Key, Logger: zerolog.Nop(), GCInterval: -1}
	if Backend() == "postgres" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		l, err := pg.Open(ctx, pgtest.NewDatabase(tb))
		if err != nil {
			tb.Fatalf("open log: %v", err)
		}
		cfg.Log = l
	}
	st, err := store.Open(cfg)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}
