package admin

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

// newTestService opens a store of n bench users (storetest.LoadUsers),
// writes what seed adds (nil: nothing) before the role links are built,
// and returns the change service on it with clock now (nil: time.Now) and
// a superadmin caller. Everything is closed when the test ends.
func newTestService(tb testing.TB, n int, now func() time.Time, seed func(tx *store.Tx) error) (*store.Store, *Service, *Caller) {
	tb.Helper()
	ctx := context.Background()
	st := storetest.Open(tb)
	if err := storetest.LoadUsers(ctx, st, n); err != nil {
		tb.Fatal(err)
	}
	if seed != nil {
		if _, err := st.Update(ctx, "test", seed); err != nil {
			tb.Fatal(err)
		}
	}
	const token = "adg_test_service_superadmin_0123456789abcdef"
	if _, err := Bootstrap(ctx, st, token); err != nil {
		tb.Fatal(err)
	}
	eng, err := pdp.New(ctx, st, pdp.Config{Logger: zerolog.Nop(), Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { eng.Close() })
	svc, err := New(ctx, Config{Store: st, Engine: eng, Logger: zerolog.Nop(), Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { svc.Close() })
	c, err := svc.Authenticate(ctx, token)
	if err != nil {
		tb.Fatal(err)
	}
	return st, svc, c
}
