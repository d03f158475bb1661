package pg_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

// BenchmarkWrite is one admin-style write (a user created) on Badger alone
// and on a fleet node (through PostgreSQL, then locally).
func BenchmarkWrite(b *testing.B) {
	for _, kind := range []string{"badger", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			var st *store.Store
			if kind == "badger" {
				var err error
				st, err = store.Open(store.Config{Dir: b.TempDir(), NoSync: true, CPRKey: storetest.Key, Logger: zerolog.Nop(), GCInterval: -1})
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
			} else {
				var err error
				if st, err = openNode(pgtestDB(b), b.TempDir()); err != nil {
					b.Fatal(err)
				}
				defer st.Close()
			}
			if _, err := st.Update(context.Background(), "bench", func(tx *store.Tx) error {
				return tx.CreateOrg(&store.Org{CVR: cvr, Name: "Bench", Type: store.OrgInstitution})
			}); err != nil {
				b.Fatal(err)
			}
			i := 0
			for b.Loop() {
				if _, err := createUser(st, userID(i), fmt.Sprintf("w%d@example.dk", i)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkReplicationLag is the time from a write's answer on one node to
// the same revision applied on another, at 10 and 100 writes per second:
// p50 and p99 (target: p99 ≤ 100 ms).
func BenchmarkReplicationLag(b *testing.B) {
	for _, rate := range []int{10, 100} {
		b.Run(fmt.Sprintf("writes=%d/s", rate), func(b *testing.B) {
			dsn := pgtestDB(b)
			a, err := openNode(dsn, b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer a.Close()
			f, err := openNode(dsn, b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			if _, err := a.Update(context.Background(), "bench", func(tx *store.Tx) error {
				return tx.CreateOrg(&store.Org{CVR: cvr, Name: "Bench", Type: store.OrgInstitution})
			}); err != nil {
				b.Fatal(err)
			}
			feed, cancel := f.Subscribe(4096)
			defer cancel()
			var mu sync.Mutex
			answered := map[uint64]time.Time{}
			var lags []time.Duration
			done := make(chan struct{})
			go func() {
				defer close(done)
				for c := range feed {
					now := time.Now()
					mu.Lock()
					if t, ok := answered[c.Revision]; ok {
						lags = append(lags, now.Sub(t))
						delete(answered, c.Revision)
					} else {
						answered[c.Revision] = now // applied before the writer's answer was noted
					}
					mu.Unlock()
				}
			}()
			tick := time.NewTicker(time.Second / time.Duration(rate))
			defer tick.Stop()
			i := 0
			for b.Loop() {
				<-tick.C
				rev, err := createUser(a, userID(i), fmt.Sprintf("l%d@example.dk", i))
				if err != nil {
					b.Fatal(err)
				}
				now := time.Now()
				mu.Lock()
				if t, ok := answered[rev]; ok { // the follower was first
					lags = append(lags, max(t.Sub(now), 0))
					delete(answered, rev)
				} else {
					answered[rev] = now
				}
				mu.Unlock()
				i++
			}
			_ = f.WaitRevision(context.Background(), a.Revision(), 5*time.Second)
			time.Sleep(50 * time.Millisecond)
			mu.Lock()
			defer mu.Unlock()
			if len(lags) == 0 {
				return
			}
			sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
			b.ReportMetric(float64(lags[len(lags)/2].Microseconds())/1000, "p50-lag-ms")
			b.ReportMetric(float64(lags[len(lags)*99/100].Microseconds())/1000, "p99-lag-ms")
		})
	}
}
