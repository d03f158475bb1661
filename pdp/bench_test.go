package pdp_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

var benchStore struct {
	once sync.Once
	st   *store.Store
	err  error
}

// openBenchStore builds (once per process) the shared 100k-user data set.
func openBenchStore(b *testing.B) *store.Store {
	benchStore.once.Do(func() {
		benchStore.st = storetest.OpenPersistent(b)
		benchStore.err = storetest.LoadUsers(context.Background(), benchStore.st, 100_000)
	})
	if benchStore.err != nil {
		b.Fatalf("bench store: %v", benchStore.err)
	}
	return benchStore.st
}

func benchEngine(b *testing.B, cfg pdp.Config) (*pdp.Engine, *pdp.LoginRequest) {
	st := openBenchStore(b)
	cfg.Logger = zerolog.Nop()
	eng, err := pdp.New(context.Background(), st, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { eng.Close() })
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
// off: every op reads the store and evaluates the policy.
func BenchmarkDecisionUncached(b *testing.B) {
	eng, req := benchEngine(b, pdp.Config{CacheSize: -1})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		r := *req
		if _, err := eng.Login(ctx, &r, pdp.RequestMeta{}); err != nil {
			b.Fatal(err)
		}
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
// (no network), to show the cost of JSON in and out.
func BenchmarkDecisionHTTP(b *testing.B) {
	eng, req := benchEngine(b, pdp.Config{})
	h := eng.Handler()
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
}
