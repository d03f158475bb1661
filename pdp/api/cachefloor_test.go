package api_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

// TestCacheSurvivesManyWrites: writes elsewhere, more distinct things than
// the store's dependency table holds (here 16), never empty the cache: a
// decision asked between them stays a cache hit throughout, and one left
// unasked since before the table pruned past its revision is recomputed
// (its label is older than the table's floor) and answers as before.
func TestCacheSurvivesManyWrites(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(store.Config{Dir: t.TempDir(), NoSync: true, CPRKey: storetest.Key, Logger: zerolog.Nop(),
		GCInterval: -1, DepTableSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e := newEnvWithStore(t, st, pdp.Config{})
	reqs := cacheReqs()
	used, idle := reqs["alice"], reqs["bob"]
	ask := func(req pdp.LoginRequest) (pdp.Decision, bool) {
		t.Helper()
		h0, _ := e.eng.CacheCounts()
		d, code := e.login(req)
		if code != 200 {
			t.Fatalf("status %d", code)
		}
		h1, _ := e.eng.CacheCounts()
		return d, h1 > h0
	}
	firstUsed, _ := ask(used)
	firstIdle, _ := ask(idle)
	for i := range 100 {
		if _, err := st.Update(ctx, "test", func(tx *store.Tx) error {
			return tx.CreateUser(&store.User{ID: fmt.Sprintf("00000000-0000-4000-a000-%012d", i), Org: cvrB,
				Name: "filler", Email: fmt.Sprintf("filler%d@example.dk", i), Kind: store.KindEmployee,
				CPRLinked: true, Status: store.StatusActive})
		}); err != nil {
			t.Fatal(err)
		}
		d, hit := ask(used)
		if !hit {
			t.Fatalf("write %d: the decision in use was recomputed", i)
		}
		if d.Allow != firstUsed.Allow || d.Revision != st.Revision() {
			t.Fatalf("write %d: allow %v revision %d, want %v at %d", i, d.Allow, d.Revision, firstUsed.Allow, st.Revision())
		}
	}
	d, hit := ask(idle)
	if hit {
		t.Error("a decision read before the dependency table's floor was served from the cache")
	}
	if d.Allow != firstIdle.Allow {
		t.Errorf("recomputed decision allow %v, before %v", d.Allow, firstIdle.Allow)
	}
}
