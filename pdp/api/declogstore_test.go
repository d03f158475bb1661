package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

// listDecisions reads the stored decision log.
func listDecisions(t *testing.T, st *store.Store, q store.DecisionQuery) []*store.DecisionRecord {
	t.Helper()
	var recs []*store.DecisionRecord
	if err := st.View(context.Background(), func(tx *store.Tx) error {
		var err error
		recs, _, err = tx.ListDecisions(q)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestStoredDecisionLog: with the stored decision log on, every decision
// (login and Data API) is kept with its masked input, result, reasons,
// revision and policy id — and writing it takes no store revision and
// publishes nothing, so the decision cache stays valid.
func TestStoredDecisionLog(t *testing.T) {
	st := storetest.Open(t)
	e := newEnvWithStore(t, st, pdp.Config{DecisionStore: st})
	rev := st.Revision()
	feed, unsubscribe := st.Subscribe(16)
	defer unsubscribe()

	alice := pdp.LoginRequest{Subject: subj("alice", cvrA), Service: "eksamensdatabasen"}
	alice.Subject.Name = "Alice 0101901234" // a CPR number in free text
	var ids []string
	for range 2 { // the second one is answered from the cache
		d, code := e.login(alice)
		if code != 200 || !d.Allow {
			t.Fatalf("alice: %d %+v", code, d)
		}
		ids = append(ids, d.DecisionID)
	}
	denied, _ := e.login(pdp.LoginRequest{Subject: subj("frank", cvrA), Service: "eksamensdatabasen"}) // D3: no knock, which would be an admin change
	ids = append(ids, denied.DecisionID)
	var data struct {
		DecisionID string `json:"decision_id"`
	}
	e.post("/v1/data/adgang/login/allow", map[string]any{"input": alice}, &data)
	ids = append(ids, data.DecisionID)

	var recs []*store.DecisionRecord
	waitFor(t, "4 stored decisions", func() bool {
		recs = listDecisions(t, st, store.DecisionQuery{})
		return len(recs) == 4
	})
	byID := map[string]*store.DecisionRecord{}
	for _, r := range recs {
		byID[r.DecisionID] = r
		if strings.Contains(string(r.Input), "0101901234") {
			t.Errorf("stored input holds a CPR number: %s", r.Input)
		}
		if r.CVR != cvrA || r.Policy == "" || r.Revision != rev {
			t.Errorf("record %+v: want cvr %s, a policy id and revision %d", r, cvrA, rev)
		}
	}
	for i, id := range ids {
		r := byID[id]
		if r == nil {
			t.Fatalf("decision %d (%s) not stored", i, id)
		}
		switch i {
		case 0, 1:
			if !r.Allow || r.UserID != uid["alice"] || !strings.Contains(string(r.Rights), "eksamensdatabasen") || r.Path != "adgang/login" {
				t.Errorf("alice's login stored as %+v (rights %s)", r, r.Rights)
			}
			if !strings.Contains(string(r.Input), "010190-****") {
				t.Errorf("the masked name is missing from the input: %s", r.Input)
			}
		case 2:
			if r.Allow || !strings.Contains(string(r.Reasons), "D3") {
				t.Errorf("the D3 denial stored as %+v (reasons %s)", r, r.Reasons)
			}
		case 3:
			if !r.Allow || string(r.Result) != "true" || r.Path != "adgang/login/allow" {
				t.Errorf("the Data API decision stored as %+v (result %s)", r, r.Result)
			}
		}
	}
	if got := st.Revision(); got != rev {
		t.Errorf("decision log writes moved the revision %d → %d", rev, got)
	}
	select {
	case c := <-feed:
		t.Errorf("decision log writes were published on the change feed: %+v", c)
	default:
	}

	// Queries: by user, by allow, by organisation scope, newest first, paged.
	if got := listDecisions(t, st, store.DecisionQuery{UserID: uid["alice"]}); len(got) != 2 {
		t.Errorf("by user: %d records, want 2", len(got))
	}
	no := false
	if got := listDecisions(t, st, store.DecisionQuery{Allow: &no}); len(got) != 1 || got[0].DecisionID != ids[2] {
		t.Errorf("allow=false: %d records, want the D3 denial", len(got))
	}
	if got := listDecisions(t, st, store.DecisionQuery{Orgs: []string{cvrB}}); len(got) != 0 {
		t.Errorf("scoped to org B: %d records of org A", len(got))
	}
	var page []*store.DecisionRecord
	var next string
	seen := map[string]bool{}
	for {
		if err := st.View(context.Background(), func(tx *store.Tx) error {
			var err error
			page, next, err = tx.ListDecisions(store.DecisionQuery{Limit: 3, After: next})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			seen[r.DecisionID] = true
		}
		if next == "" {
			break
		}
	}
	if len(seen) != 4 {
		t.Errorf("paging by 3 saw %d of 4 decisions", len(seen))
	}
}

// TestDecisionLogLossless: in lossless mode an answered decision is in
// the store when the answer arrives; when its entry cannot be written (the
// disk guard refuses writes) the request fails closed with 503
// decision_log_unavailable, while best-effort mode answers anyway.
func TestDecisionLogLossless(t *testing.T) {
	dir := t.TempDir()
	open := func(minFree uint64) *store.Store {
		st, err := store.Open(store.Config{Dir: dir, NoSync: true, CPRKey: storetest.Key, Logger: zerolog.Nop(), GCInterval: -1, MinFreeDisk: minFree})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	st := open(0)
	seed(t, st, now)
	alice := pdp.LoginRequest{Subject: subj("alice", cvrA), Service: "eksamensdatabasen"}
	serve := func(st *store.Store, mode string) *env {
		eng, err := pdp.New(context.Background(), st, pdp.Config{Now: func() time.Time { return now }, DecisionStore: st, DecisionLogMode: mode})
		if err != nil {
			t.Fatal(err)
		}
		e := &env{t: t, st: st, eng: eng, srv: httptest.NewServer(handler(eng, st)), now: now}
		t.Cleanup(func() { e.srv.Close(); eng.Close() })
		return e
	}

	e := serve(st, pdp.DecisionLogLossless)
	for i := range 20 {
		d, code := e.login(alice)
		if code != 200 || !d.Allow {
			t.Fatalf("login %d: %d %+v", i, code, d)
		}
		// No waiting: an answered decision is already stored.
		var rec *store.DecisionRecord
		if err := st.View(context.Background(), func(tx *store.Tx) (err error) { rec, err = tx.GetDecision(d.DecisionID); return }); err != nil || !rec.Allow {
			t.Fatalf("answered decision %s not in the store: %v", d.DecisionID, err)
		}
	}
	e.srv.Close()
	e.eng.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	full := open(1 << 62) // the disk guard refuses every write; reads go on
	t.Cleanup(func() { full.Close() })
	for _, tc := range []struct {
		mode   string
		status int
		code   string
	}{
		{pdp.DecisionLogLossless, 503, pdp.ReasonDecisionLogUnavailable},
		{pdp.DecisionLogBestEffort, 200, ""},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			e := serve(full, tc.mode)
			var body map[string]any
			code := e.post("/v1/decisions/login", alice, &body)
			if code != tc.status {
				t.Fatalf("status %d, want %d: %v", code, tc.status, body)
			}
			if tc.code != "" {
				raw, _ := json.Marshal(body)
				if errObj, _ := body["error"].(map[string]any); errObj["code"] != tc.code || body["allow"] != nil {
					t.Errorf("answer %s, want error code %s and no decision", raw, tc.code)
				}
			}
		})
	}
}

// BenchmarkDecisionLogMode measures login decisions over HTTP (16
// parallel clients) with the stored decision log in best-effort and in
// lossless mode, on a store that fsyncs every write; the ratio of the two
// is the cost of lossless logging (docs/benchmarks.md).
func BenchmarkDecisionLogMode(b *testing.B) {
	for _, mode := range []string{pdp.DecisionLogBestEffort, pdp.DecisionLogLossless} {
		b.Run(mode, func(b *testing.B) {
			st, err := store.Open(store.Config{Dir: b.TempDir(), CPRKey: storetest.Key, Logger: zerolog.Nop(), GCInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
			seed(b, st, now)
			eng, err := pdp.New(context.Background(), st, pdp.Config{Now: func() time.Time { return now }, DecisionStore: st, DecisionLogMode: mode})
			if err != nil {
				b.Fatal(err)
			}
			defer eng.Close()
			srv := httptest.NewServer(handler(eng, st))
			defer srv.Close()
			body, _ := json.Marshal(pdp.LoginRequest{Subject: subj("alice", cvrA), Service: "eksamensdatabasen"})
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					res, err := client.Post(srv.URL+"/v1/decisions/login", "application/json", bytes.NewReader(body))
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != 200 {
						b.Errorf("status %d", res.StatusCode)
						return
					}
				}
			})
		})
	}
}

// TestDecisionLogRetention: the writer's background job deletes stored
// decisions older than the retention (record and every index), and keeps
// newer ones.
func TestDecisionLogRetention(t *testing.T) {
	st := storetest.Open(t)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	old := &store.DecisionRecord{DecisionID: "00000000-0000-4000-8000-0000000000a1", Time: now.Add(-721 * time.Hour), Path: "adgang/login", UserID: uid["alice"], CVR: cvrA}
	recent := &store.DecisionRecord{DecisionID: "00000000-0000-4000-8000-0000000000a2", Time: now.Add(-719 * time.Hour), Path: "adgang/login", UserID: uid["alice"], CVR: cvrA}
	if err := st.AppendDecisions(context.Background(), []*store.DecisionRecord{old, recent}, true); err != nil {
		t.Fatal(err)
	}
	newEnvWithStore(t, st, pdp.Config{DecisionStore: st, DecisionLogRetention: 720 * time.Hour})
	waitFor(t, "the old decision deleted", func() bool {
		return len(listDecisions(t, st, store.DecisionQuery{})) == 1
	})
	for _, q := range []store.DecisionQuery{{}, {UserID: uid["alice"]}, {CVR: cvrA}} {
		got := listDecisions(t, st, q)
		if len(got) != 1 || got[0].DecisionID != recent.DecisionID {
			t.Errorf("%+v: %d records left, want only the recent one", q, len(got))
		}
	}
	if err := st.View(context.Background(), func(tx *store.Tx) error {
		if _, err := tx.GetDecision(old.DecisionID); !store.IsNotFound(err) {
			t.Errorf("old record: %v, want not found", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
