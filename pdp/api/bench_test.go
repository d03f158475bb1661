package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/pdp/api"
	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

var benchStores struct {
	mu sync.Mutex
	m  map[int]*store.Store
}

// openBenchStore opens (once per process) the data set of n users. It is
// generated once into ../../.bench-data/users-<n> (git-ignored; ADGANG_BENCH_DATA
// names another directory) and reused by later runs: generating a million
// users takes minutes.
func openBenchStore(b *testing.B, n int) *store.Store {
	benchStores.mu.Lock()
	defer benchStores.mu.Unlock()
	if st := benchStores.m[n]; st != nil {
		return st
	}
	root := os.Getenv("ADGANG_BENCH_DATA")
	if root == "" {
		root = filepath.Join("..", "..", ".bench-data")
	}
	dir := filepath.Join(root, fmt.Sprintf("users-%d", n))
	done := filepath.Join(dir, "generated")
	if _, err := os.Stat(done); err != nil {
		_ = os.RemoveAll(dir) // a generation that did not finish
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	st, err := store.Open(store.Config{Dir: dir, NoSync: true, CPRKey: storetest.Key, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		b.Fatalf("bench store: %v", err)
	}
	if _, err := os.Stat(done); err != nil {
		b.Logf("generating %d users in %s (once)", n, dir)
		if err := storetest.LoadUsers(context.Background(), st, n); err != nil {
			b.Fatalf("bench store: %v", err)
		}
		if err := os.WriteFile(done, nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	settle(b, st)
	if benchStores.m == nil {
		benchStores.m = map[int]*store.Store{}
	}
	benchStores.m[n] = st
	return st
}

func benchEngine(b *testing.B, cfg pdp.Config) (*pdp.Engine, *pdp.LoginRequest) {
	return benchEngineN(b, 100_000, cfg)
}

func benchEngineN(b *testing.B, n int, cfg pdp.Config) (*pdp.Engine, *pdp.LoginRequest) {
	st := openBenchStore(b, n)
	cfg.Logger = zerolog.Nop()
	eng, err := pdp.New(context.Background(), st, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { eng.Close() })
	// The evaluators are compiled and checked in the background (the admin
	// plan runs the policy tests) after a start: not inside a measurement.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := eng.WaitSettled(ctx); err != nil {
		b.Fatal(err)
	}
	req := &pdp.LoginRequest{Subject: pdp.Subject{ID: storetest.BenchUserID(0), CVR: storetest.BenchOrg(0), Kind: "employee", CPRLinked: true},
		Service: "eksamensdatabasen"}
	d, err := eng.Login(context.Background(), req, pdp.RequestMeta{})
	if err != nil || !d.Allow {
		b.Fatalf("bench user not allowed: %v %+v", err, d)
	}
	return eng, req
}

// BenchmarkDecision is the in-process login decision for a user with 10
// direct and 5 group grants in a 100k-user store (target: < 50 µs/op).
func BenchmarkDecision(b *testing.B) {
	eng, req := benchEngine(b, pdp.Config{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		r := *req
		if _, err := eng.Login(ctx, &r, pdp.RequestMeta{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecisionUncached is BenchmarkDecision with the decision cache
// off: every op reads the store and evaluates the policy, at 100k and at
// 1M users (target: p50 ≤ 50 µs at 100k, at most 1.25× that at 1M; -short
// runs 100k only). Each size runs with each evaluator: plan (the default),
// wasm and topdown.
func BenchmarkDecisionUncached(b *testing.B) {
	sizes := []int{100_000, 1_000_000}
	if testing.Short() {
		sizes = sizes[:1]
	}
	for _, n := range sizes {
		// The evaluators side by side, in one run.
		for _, ev := range []string{pdp.EvaluatorPlan, pdp.EvaluatorWasm, pdp.EvaluatorTopdown} {
			b.Run(fmt.Sprintf("users=%d/evaluator=%s", n, ev), func(b *testing.B) {
				eng, req := uncachedEngine(b, n, ev)
				ctx := context.Background()
				b.ReportAllocs()
				lat := newLatencies()
				for b.Loop() {
					t0 := time.Now()
					r := *req
					if _, err := eng.Login(ctx, &r, pdp.RequestMeta{}); err != nil {
						b.Fatal(err)
					}
					lat.add(t0)
				}
				lat.report(b, "")
			})
		}
		// The plan evaluator over every user of the store in a scattered
		// order, each asking for the service of its one grant: no read
		// cache keyed per user could answer these (the op above asks for
		// one user only).
		b.Run(fmt.Sprintf("users=%d/evaluator=%s/spread", n, pdp.EvaluatorPlan), func(b *testing.B) {
			eng, _ := uncachedEngine(b, n, pdp.EvaluatorPlan)
			ctx := context.Background()
			services := []string{"eksamensdatabasen", "amp", "imi"}
			ids, orgs := make([]string, n), make([]string, storetest.BenchOrgs)
			for i := range ids {
				ids[i] = storetest.BenchUserID(i)
			}
			for o := range orgs {
				orgs[o] = storetest.BenchOrg(o)
			}
			reqOf := func(k int) pdp.LoginRequest {
				i := 1 + (k*7919)%(n-1) // users 1..n-1 (user 0 has the extra grants), 7919 prime
				return pdp.LoginRequest{Subject: pdp.Subject{ID: ids[i], CVR: orgs[i%storetest.BenchOrgs],
					Kind: "employee", CPRLinked: true}, Service: services[i%3]}
			}
			if r := reqOf(1); true {
				if d, err := eng.Login(ctx, &r, pdp.RequestMeta{}); err != nil || !d.Allow {
					b.Fatalf("spread user not allowed: %v %+v", err, d)
				}
			}
			b.ReportAllocs()
			lat := newLatencies()
			k := 0
			for b.Loop() {
				t0 := time.Now()
				r := reqOf(k)
				k++
				if _, err := eng.Login(ctx, &r, pdp.RequestMeta{}); err != nil {
					b.Fatal(err)
				}
				lat.add(t0)
			}
			lat.report(b, "")
		})
	}
}

// BenchmarkDecisionUncachedRatio is goal 1's 1M/100k ratio measured in
// one loop: user 0's uncached decision (plan evaluator) alternates between
// the 100k and the 1M store in blocks of ratioBlock decisions, so a change of
// the machine's speed during the run weighs on both sizes alike.
// BenchmarkDecisionUncached measures the two sizes a minute apart, and on a
// shared machine that minute alone moves either figure by a third. Reported:
// each size's p50 and p99 and the ratio of the p50s (goal: at most 1.25).
// Skipped under -short (the 1M store).
func BenchmarkDecisionUncachedRatio(b *testing.B) {
	if testing.Short() {
		b.Skip("needs the 1M-user store")
	}
	sizes := [2]int{100_000, 1_000_000}
	var engs [2]*pdp.Engine
	var reqs [2]*pdp.LoginRequest
	for i, n := range sizes {
		engs[i], reqs[i] = uncachedEngine(b, n, pdp.EvaluatorPlan)
	}
	ctx := context.Background()
	lats := [2]*latencies{newLatencies(), newLatencies()}
	b.ReportAllocs()
	k := 0
	for b.Loop() {
		i := (k / ratioBlock) % 2
		k++
		t0 := time.Now()
		r := *reqs[i]
		if _, err := engs[i].Login(ctx, &r, pdp.RequestMeta{}); err != nil {
			b.Fatal(err)
		}
		lats[i].add(t0)
	}
	p50, p50M := lats[0].report(b, "-100k"), lats[1].report(b, "-1M")
	if p50 > 0 && p50M > 0 {
		b.ReportMetric(p50M/p50, "1M/100k-p50")
	}
}

// uncachedEngine is the engine over the n-user bench store with the
// decision cache off, once evaluator ev answers.
func uncachedEngine(b *testing.B, n int, ev string) (*pdp.Engine, *pdp.LoginRequest) {
	eng, req := benchEngineN(b, n, pdp.Config{CacheSize: -1, LoginEvaluator: ev})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := eng.WaitLoginEvaluator(ctx, ev); err != nil {
		b.Fatal(err)
	}
	return eng, req
}

// ratioBlock is how many decisions BenchmarkDecisionUncachedRatio makes on
// one store before it turns to the other: long enough (~10 ms) for each
// store's working set to be warm in the caches again, short enough for the
// machine's speed to be the same for both.
const ratioBlock = 200

// latencies keeps each op's duration, for the p50 and p99 the goals are
// stated in (the mean, ns/op, includes the garbage collector's pauses and
// assists of other ops). The buffer is made before the timed loop, so it
// counts in no op's allocations; ops beyond its size are not sampled.
type latencies struct {
	d []time.Duration
	n int
}

func newLatencies() *latencies { return &latencies{d: make([]time.Duration, 1<<20)} }

func (l *latencies) add(t0 time.Time) {
	if l.n < len(l.d) {
		l.d[l.n] = time.Since(t0)
		l.n++
	}
}

// report adds p50<name>-ns and p99<name>-ns to the benchmark's line and
// returns the p50 in ns (0 when nothing was kept).
func (l *latencies) report(b *testing.B, name string) float64 {
	d := l.d[:l.n]
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	p50 := float64(d[len(d)/2].Nanoseconds())
	b.ReportMetric(p50, "p50"+name+"-ns")
	b.ReportMetric(float64(d[len(d)*99/100].Nanoseconds()), "p99"+name+"-ns")
	return p50
}

// cachedRequests is 1,000 requests like req for users of one organisation
// of the bench store, each decided once (so cached).
func cachedRequests(b *testing.B, eng *pdp.Engine, req *pdp.LoginRequest) []pdp.LoginRequest {
	reqs := make([]pdp.LoginRequest, 1000)
	for i := range reqs {
		reqs[i] = *req
		reqs[i].Subject.ID = storetest.BenchUserID(i * storetest.BenchOrgs)
		reqs[i].Subject.CVR = storetest.BenchOrg(0)
		r := reqs[i]
		if _, err := eng.Login(context.Background(), &r, pdp.RequestMeta{}); err != nil {
			b.Fatal(err)
		}
	}
	return reqs
}

// BenchmarkDecisionWriteMix is the cached decision over 1,000 users while
// other users are written (a harmless name change, as an administrator's
// PATCH would be): one write every 1,000, 100 or 10 decisions besides none.
// hit% is the share of decisions the cache answered; with validity keyed on
// what a decision read, writes to other users leave it where it was.
func BenchmarkDecisionWriteMix(b *testing.B) {
	for _, every := range []int{0, 1000, 100, 10} {
		name := "writes=none"
		if every > 0 {
			name = fmt.Sprintf("writes=1per%d", every)
		}
		b.Run(name, func(b *testing.B) {
			eng, req := benchEngine(b, pdp.Config{})
			st := openBenchStore(b, 100_000)
			ctx := context.Background()
			reqs := cachedRequests(b, eng, req)
			h0, m0 := eng.CacheCounts()
			b.ReportAllocs()
			i, w := 0, 0
			for b.Loop() {
				if every > 0 && i%every == 0 {
					// A user outside the decided set: users 1..99 of org 1.
					id := storetest.BenchUserID(1 + (w%99)*1 + storetest.BenchOrgs*(w/99%1000))
					w++
					if _, err := st.Update(ctx, "bench", func(tx *store.Tx) error {
						u, err := tx.GetUser(id)
						if err != nil {
							return err
						}
						u.Name = fmt.Sprintf("User %d", w)
						return tx.UpdateUser(u)
					}); err != nil {
						b.Fatal(err)
					}
				}
				r := reqs[i%len(reqs)]
				i++
				if _, err := eng.Login(ctx, &r, pdp.RequestMeta{}); err != nil {
					b.Fatal(err)
				}
			}
			h1, m1 := eng.CacheCounts()
			if n := (h1 - h0) + (m1 - m0); n > 0 {
				b.ReportMetric(100*float64(h1-h0)/float64(n), "hit%")
			}
		})
	}
}

// BenchmarkDecisionParallel runs the same decision from GOMAXPROCS goroutines.
func BenchmarkDecisionParallel(b *testing.B) {
	eng, req := benchEngine(b, pdp.Config{})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := *req
			if _, err := eng.Login(ctx, &r, pdp.RequestMeta{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDecisionHTTP is the same decision through the HTTP handler
// (no network), to show the cost of JSON in and out: with the decision
// cache (the default) and without it (every decision computed).
func BenchmarkDecisionHTTP(b *testing.B) {
	for _, c := range []struct {
		name  string
		cache int
	}{{"cached", 0}, {"uncached", -1}} {
		b.Run(c.name, func(b *testing.B) {
			eng, req := benchEngine(b, pdp.Config{CacheSize: c.cache})
			h := api.New(eng, api.Options{}).Handler()
			body := []byte(fmt.Sprintf(`{"subject":{"id":%q,"cvr":%q,"kind":"employee","cpr_linked":true},"service":"eksamensdatabasen"}`,
				req.Subject.ID, req.Subject.CVR))
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/decisions/login", bytes.NewReader(body)))
				if w.Code != 200 {
					b.Fatal(w.Code, w.Body.String())
				}
			}
		})
	}
}

// settle waits (at most ten minutes) for Badger's background compaction
// after an open or a generation, so that no benchmark measures beside it.
func settle(b *testing.B, st *store.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := st.Settle(ctx); err != nil {
		b.Fatalf("bench store: compaction did not settle: %v", err)
	}
}
