package pdp

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/store/storetest"
)

// TestDecisionCacheBytes: the decision cache's byte accounting (the
// --decision-cache-bytes bound) is the heap its entries really take, within
// a fifth below and half above. Real decisions of 2,000 users fill a cache;
// the heap is measured after the store's own caches were warmed by the
// same decisions without a cache. (Before this test the accounting left
// out the map slot and rounded nothing: it counted 922 B of 1,251, so a
// 128 MiB bound held some 175 MiB.) Long: skipped under -short.
func TestDecisionCacheBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("long: measures the heap of 2,000 decisions")
	}
	ctx := context.Background()
	st := storetest.Open(t)
	const n = 2000
	if err := storetest.LoadUsers(ctx, st, n); err != nil {
		t.Fatal(err)
	}
	// decideAll decides for every user with an engine of the given cache
	// size and returns the heap it left behind per decision, and the engine.
	decideAll := func(cacheSize int) (float64, *Engine) {
		eng, err := New(ctx, st, Config{Logger: zerolog.Nop(), CacheSize: cacheSize})
		if err != nil {
			t.Fatal(err)
		}
		// The plans are checked in the background after a start (the admin
		// one runs the policy tests): settled first, not measured.
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := eng.WaitSettled(wctx); err != nil {
			t.Fatal(err)
		}
		before := heapInUse()
		for i := range n {
			req := &LoginRequest{Subject: Subject{ID: storetest.BenchUserID(i), CVR: storetest.BenchOrg(i % storetest.BenchOrgs),
				Kind: "employee", CPRLinked: true}, Service: "eksamensdatabasen"}
			if _, err := eng.Login(ctx, req, RequestMeta{}); err != nil {
				t.Fatal(err)
			}
		}
		return float64(int64(heapInUse())-int64(before)) / n, eng
	}
	for range 3 { // the store's block and decode caches take what they keep
		grew, eng := decideAll(-1)
		eng.Close()
		t.Logf("without a cache the heap grew %.0f B per decision", grew)
	}
	grew, eng := decideAll(0)
	defer eng.Close()
	entries, bytes := eng.CacheStats()
	if entries != n {
		t.Fatalf("%d cached decisions, want %d", entries, n)
	}
	counted := float64(bytes) / float64(entries)
	t.Logf("cached: the heap grew %.0f B per decision; the cache counts %.0f B per entry", grew, counted)
	if counted < 0.8*grew || counted > 1.5*grew {
		t.Errorf("the cache counts %.0f B per entry for %.0f B of heap: the byte bound is off by %.2f×", counted, grew, grew/counted)
	}
}

func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
