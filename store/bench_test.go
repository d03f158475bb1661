package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

var loginBench struct {
	once sync.Once
	st   *store.Store
	err  error
}

// BenchmarkLoginView is the login read for a user with 10 direct and 5
// group grants in a store of 100k users.
func BenchmarkLoginView(b *testing.B) {
	loginBench.once.Do(func() {
		st := storetest.OpenPersistent(b)
		loginBench.st = st
		loginBench.err = storetest.LoadUsers(context.Background(), st, 100_000)
		if loginBench.err == nil { // not measured beside Badger's compaction of the load
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			loginBench.err = st.Settle(ctx)
		}
	})
	if loginBench.err != nil {
		b.Fatal(loginBench.err)
	}
	st := loginBench.st
	cvr, id := storetest.BenchOrg(0), storetest.BenchUserID(0)
	v, err := st.LoginView(context.Background(), cvr, id, "")
	if err != nil || len(v.Grants) != 15 {
		b.Fatalf("bench user: %v, %d grants", err, len(v.Grants))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := st.LoginView(context.Background(), cvr, id, ""); err != nil {
			b.Fatal(err)
		}
	}
}
