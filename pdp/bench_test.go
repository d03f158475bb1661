package pdp_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// benchStore is a 100k-user store shared by the decision benchmarks.
var benchStore struct {
	once sync.Once
	st   *store.Store
	dir  string
	err  error
}

const benchUsers = 100_000

func benchUserID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// openBenchStore builds (once per process) a store of 100k users in 100
// orgs; user 0 holds 10 direct grants and 5 grants through 5 groups.
func openBenchStore(b *testing.B) *store.Store {
	benchStore.once.Do(func() {
		benchStore.dir, benchStore.err = os.MkdirTemp("", "adgang-bench-")
		if benchStore.err != nil {
			return
		}
		st, err := store.Open(store.Config{Dir: benchStore.dir, NoSync: true,
			CPRKey: []byte("bench-key-bench-key-bench-key-32"), Logger: zerolog.Nop()})
		if err != nil {
			benchStore.err = err
			return
		}
		benchStore.st = st
		ctx := context.Background()
		const orgs = 100
		cvr := func(i int) string { return validCVR(10000000 + i*1000) }
		pnum := func(org, j int) string { return fmt.Sprintf("%03d%07d", 100+org, j) }
		_, err = st.Update(ctx, "bench", func(tx *store.Tx) error {
			for o := range orgs {
				org := &store.Org{CVR: cvr(o), Name: fmt.Sprintf("Org %d", o), Type: store.OrgInstitution,
					Settings: store.OrgSettings{AllowKnock: true}}
				for j := range 10 {
					org.PUnits = append(org.PUnits, store.PUnit{PNumber: pnum(o, j)})
				}
				if err := tx.CreateOrg(org); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			benchStore.err = err
			return
		}
		rights := []string{eks, "amp.sagsbehandler", "imi.case_worker"}
		for start := 0; start < benchUsers && err == nil; start += 2000 {
			_, err = st.Update(ctx, "bench", func(tx *store.Tx) error {
				for i := start; i < start+2000 && i < benchUsers; i++ {
					o := i % orgs
					u := &store.User{ID: benchUserID(i), Org: cvr(o), Name: fmt.Sprintf("User %d", i),
						Email: fmt.Sprintf("u%d@example.dk", i), Kind: store.KindEmployee, CPRLinked: true,
						Status: store.StatusActive, PNumber: pnum(o, i%10)}
					if err := tx.CreateUser(u); err != nil {
						return err
					}
					g := &store.Grant{ID: fmt.Sprintf("10000000-0000-4000-8000-%012d", i), Right: rights[i%3],
						HolderType: store.HolderUser, HolderID: u.ID, Org: u.Org,
						Scope: store.Scope{Type: store.ScopeP, Value: u.PNumber}, GrantedBy: "bench"}
					if err := tx.CreateGrant(g); err != nil {
						return err
					}
				}
				return nil
			})
		}
		if err != nil {
			benchStore.err = err
			return
		}
		// User 0 (org 0): 10 direct grants (one already) and 5 group grants.
		_, err = st.Update(ctx, "bench", func(tx *store.Tx) error {
			u0 := benchUserID(0)
			for j := 1; j < 10; j++ {
				scope := store.Scope{Type: store.ScopeP, Value: pnum(0, j)}
				if j == 9 {
					scope = store.Scope{Type: store.ScopeCVR, Value: cvr(0)}
				}
				if err := tx.CreateGrant(&store.Grant{ID: fmt.Sprintf("20000000-0000-4000-8000-%012d", j),
					Right: rights[j%3], HolderType: store.HolderUser, HolderID: u0, Org: cvr(0),
					Scope: scope, GrantedBy: "bench"}); err != nil {
					return err
				}
			}
			for j := range 5 {
				gid := fmt.Sprintf("30000000-0000-4000-8000-%012d", j)
				if err := tx.CreateGroup(&store.Group{ID: gid, Org: cvr(0), Name: gid, Kind: store.GroupCustom}); err != nil {
					return err
				}
				if err := tx.AddMember(gid, u0); err != nil {
					return err
				}
				if err := tx.CreateGrant(&store.Grant{ID: fmt.Sprintf("40000000-0000-4000-8000-%012d", j),
					Right: rights[j%3], HolderType: store.HolderGroup, HolderID: gid, Org: cvr(0),
					Scope: store.Scope{Type: store.ScopeP, Value: pnum(0, j)}, GrantedBy: "bench"}); err != nil {
					return err
				}
			}
			return nil
		})
		benchStore.err = err
	})
	if benchStore.err != nil {
		b.Fatalf("bench store: %v", benchStore.err)
	}
	return benchStore.st
}

// validCVR returns the first CVR number ≥ n that passes modulus-11.
func validCVR(n int) string {
	w := []int{2, 7, 6, 5, 4, 3, 2, 1}
	for ; ; n++ {
		s := fmt.Sprintf("%08d", n)
		sum := 0
		for i, c := range s {
			sum += int(c-'0') * w[i]
		}
		if sum%11 == 0 && s[0] != '0' {
			return s
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchStore.st != nil {
		benchStore.st.Close()
		os.RemoveAll(benchStore.dir)
	}
	os.Exit(code)
}

func benchEngine(b *testing.B) (*pdp.Engine, *pdp.LoginRequest) {
	st := openBenchStore(b)
	eng, err := pdp.New(context.Background(), st, pdp.Config{Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { eng.Close() })
	req := &pdp.LoginRequest{Subject: pdp.Subject{ID: benchUserID(0), CVR: validCVR(10000000), Kind: "employee", CPRLinked: true},
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
	eng, req := benchEngine(b)
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
	eng, req := benchEngine(b)
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
	eng, req := benchEngine(b)
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
