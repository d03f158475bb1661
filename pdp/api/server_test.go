package api_test

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/pdp/api"
	"github.com/adgang/adgang/policies"
	"github.com/adgang/adgang/store"
)

// copyPolicies writes the embedded policy set into a fresh directory.
func copyPolicies(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	err := fs.WalkDir(policies.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(policies.FS, path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, path), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second) // a hang detector: a policy reload runs every test of the set, slow under -race on a loaded machine
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func (e *env) health() (int, map[string]any) {
	resp, err := http.Get(e.srv.URL + "/health")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// TestPolicyReload: a broken .rego file written into the watched directory
// is refused and the previous set keeps answering; a set whose own tests
// fail is refused too; a good change is picked up without restart.
func TestPolicyReload(t *testing.T) {
	dir := copyPolicies(t)
	e := newEnv(t, pdp.Config{Policies: pdp.Source{Dir: dir}, WatchInterval: 20 * time.Millisecond})
	alice := pdp.LoginRequest{Subject: subj("alice", cvrA), Service: "eksamensdatabasen"}
	before, _ := e.login(alice)
	if !before.Allow {
		t.Fatalf("baseline deny: %+v", before.Reasons)
	}
	firstID := e.eng.Policy().ID

	// 1. A file that does not parse.
	broken := filepath.Join(dir, "broken.rego")
	if err := os.WriteFile(broken, []byte("package adgang.login\n\nallow if {\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "reload error", func() bool { return e.eng.PolicyError() != "" })
	if d, _ := e.login(alice); !d.Allow || d.Policy != firstID {
		t.Fatalf("after broken file: allow=%v policy=%s (want the old set %s)", d.Allow, d.Policy, firstID)
	}
	status, h := e.health()
	if status != http.StatusOK || !strings.Contains(h["policy"].(map[string]any)["error"].(string), "broken.rego") {
		t.Fatalf("health %d %v should stay ready and name the broken file", status, h)
	}

	// 2. A set that compiles but whose own tests fail.
	if err := os.Remove(broken); err != nil {
		t.Fatal(err)
	}
	failing := filepath.Join(dir, "zz_fail_test.rego")
	if err := os.WriteFile(failing, []byte("package adgang.zz_test\n\ntest_always_fails if {\n\tinput.never == 1\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "test-failure refusal", func() bool {
		return strings.Contains(e.eng.PolicyError(), "test_always_fails")
	})
	if d, _ := e.login(alice); !d.Allow || d.Policy != firstID {
		t.Fatalf("after failing tests: allow=%v policy=%s", d.Allow, d.Policy)
	}

	// 3. Restore: the good set is accepted again.
	if err := os.Remove(failing); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "recovery", func() bool { return e.eng.PolicyError() == "" })
	if d, _ := e.login(alice); !d.Allow {
		t.Fatal("deny after recovery")
	}
}

// TestStoreDeletedDenies: removing the data directory under a running
// server gives deny with a fail-closed reason, never allow.
func TestStoreDeletedDenies(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "badger")
	st, err := store.Open(store.Config{Dir: dir, CPRKey: []byte("0123456789abcdef0123456789abcdef"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() }) // reports the vanished directory
	e := newEnvWithStore(t, st, pdp.Config{})
	alice := pdp.LoginRequest{Subject: subj("alice", cvrA), Service: "eksamensdatabasen"}
	if d, _ := e.login(alice); !d.Allow {
		t.Fatalf("baseline deny: %+v", d.Reasons)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "deny after store deletion", func() bool {
		d, status := e.login(alice)
		return status == http.StatusOK && !d.Allow && codes(d)["store_unavailable/fail_closed"]
	})
	if status, _ := e.health(); status != http.StatusServiceUnavailable {
		t.Fatalf("health %d after the store vanished, want 503", status)
	}
}

// TestDataAPI: OPA Data API clients get OPA-shaped answers, with store
// enrichment for adgang/login and any other loaded rule evaluated as is.
func TestDataAPI(t *testing.T) {
	extra := t.TempDir()
	if err := os.WriteFile(filepath.Join(extra, "example.rego"), []byte(`package example

import rego.v1

default allow := false

allow if input.user == data.example.admins[_]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(extra, "example"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(extra, "example", "data.json"), []byte(`{"admins":["root"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, pdp.Config{Policies: pdp.Source{Extra: []string{extra}}})
	aliceInput := map[string]any{"input": map[string]any{
		"subject": map[string]any{"id": uid["alice"], "cvr": cvrA, "kind": "employee", "cpr_linked": true},
		"service": "eksamensdatabasen"}}
	tests := []struct {
		name   string
		path   string
		body   any
		want   any // expected "result"; nil = undefined (no result key)
		status int
	}{
		{"login allow enriched from the store", "/v1/data/adgang/login/allow", aliceInput, true, 200},
		{"unknown user denied", "/v1/data/adgang/login/allow", map[string]any{"input": map[string]any{
			"subject": map[string]any{"id": uid["unknown"], "cvr": cvrA}, "service": "eksamensdatabasen"}}, false, 200},
		{"extra policy with data file", "/v1/data/example/allow", map[string]any{"input": map[string]any{"user": "root"}}, true, 200},
		{"extra policy refuses", "/v1/data/example/allow", map[string]any{"input": map[string]any{"user": "eve"}}, false, 200},
		{"data document", "/v1/data/example/admins", map[string]any{}, []any{"root"}, 200},
		{"undefined rule", "/v1/data/example/nothing", map[string]any{"input": map[string]any{}}, nil, 200},
		{"malformed login input", "/v1/data/adgang/login/allow", map[string]any{"input": map[string]any{
			"subject": map[string]any{"id": "x", "cvr": "1"}, "service": "s"}}, nil, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out map[string]any
			status := e.post(tc.path, tc.body, &out)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, out)
			}
			if status != 200 {
				return
			}
			if _, ok := out["decision_id"].(string); !ok {
				t.Errorf("no decision_id: %v", out)
			}
			res, ok := out["result"]
			if tc.want == nil {
				if ok {
					t.Errorf("result %v, want undefined", res)
				}
				return
			}
			gotJSON, _ := json.Marshal(res)
			wantJSON, _ := json.Marshal(tc.want)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("result %s, want %s", gotJSON, wantJSON)
			}
		})
	}

	// The full login decision over the Data API has the same shape as
	// /v1/decisions/login.
	var out struct {
		Result pdp.Decision `json:"result"`
	}
	e.post("/v1/data/adgang/login/decision", aliceInput, &out)
	if !out.Result.Allow || len(out.Result.Rights) != 1 || out.Result.Rights[0].Scope.PNumbers[0] != pA1 {
		t.Fatalf("decision over the data API: %+v", out.Result)
	}
}

// TestAuthZEN: the spec's own examples against a custom entrypoint, the
// default login mapping, batch semantics and the metadata document.
func TestAuthZEN(t *testing.T) {
	extra := t.TempDir()
	// A policy in the style of the AuthZEN interop examples.
	if err := os.WriteFile(filepath.Join(extra, "todo.rego"), []byte(`package todo

import rego.v1

default decision := {"decision": false}

decision := {"decision": true} if {
	input.subject.id == "alice@acmecorp.com"
	input.action.name == "can_read"
}

decision := {"decision": true, "context": {"reason": "owner"}} if {
	input.subject.id == "alice@acmecorp.com"
	input.action.name == "can_edit"
	input.resource.id == "resource-search.md"
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	custom := newEnv(t, pdp.Config{Policies: pdp.Source{Extra: []string{extra}}, AuthZENEntrypoint: "todo/decision"})

	// AuthZEN 1.0 §6 example request.
	single := `{"subject":{"type":"user","id":"alice@acmecorp.com"},"resource":{"type":"account","id":"123"},
		"action":{"name":"can_read","properties":{"method":"GET"}},"context":{"time":"1985-10-26T01:22-07:00"}}`
	req, _ := http.NewRequest(http.MethodPost, custom.srv.URL+"/access/v1/evaluation", strings.NewReader(single))
	req.Header.Set("X-Request-ID", "req-42")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var one pdp.AZResponse
	_ = json.NewDecoder(resp.Body).Decode(&one)
	resp.Body.Close()
	if resp.StatusCode != 200 || !one.Decision || resp.Header.Get("X-Request-ID") != "req-42" {
		t.Fatalf("single evaluation: %d %+v request id %q", resp.StatusCode, one, resp.Header.Get("X-Request-ID"))
	}

	// AuthZEN 1.0 §7 example batch: defaults at the top, overrides per item.
	batch := func(semantic string) string {
		opts := ""
		if semantic != "" {
			opts = `,"options":{"evaluations_semantic":"` + semantic + `"}`
		}
		return `{"subject":{"type":"user","id":"alice@acmecorp.com"},"context":{"time":"2024-05-31T15:22-07:00"},
			"action":{"name":"can_read"},"evaluations":[
			{"resource":{"type":"document","id":"boxcarring.md"}},
			{"action":{"name":"can_delete"},"resource":{"type":"document","id":"subject-search.md"}},
			{"action":{"name":"can_edit"},"resource":{"type":"document","id":"resource-search.md"}}]` + opts + `}`
	}
	tests := []struct {
		semantic string
		want     []bool
	}{
		{"", []bool{true, false, true}},
		{"execute_all", []bool{true, false, true}},
		{"deny_on_first_deny", []bool{true, false}},
		{"permit_on_first_permit", []bool{true}},
	}
	for _, tc := range tests {
		t.Run("batch "+tc.semantic, func(t *testing.T) {
			var out struct {
				Evaluations []pdp.AZResponse `json:"evaluations"`
			}
			if status := custom.post("/access/v1/evaluations", batch(tc.semantic), &out); status != 200 {
				t.Fatalf("status %d", status)
			}
			if len(out.Evaluations) != len(tc.want) {
				t.Fatalf("got %d evaluations, want %d", len(out.Evaluations), len(tc.want))
			}
			for i, w := range tc.want {
				if out.Evaluations[i].Decision != w {
					t.Errorf("evaluation %d = %v, want %v", i, out.Evaluations[i].Decision, w)
				}
			}
		})
	}
	var bad api.ErrorBody
	if status := custom.post("/access/v1/evaluations", `{"evaluations":[],"options":{"evaluations_semantic":"maybe"}}`, &bad); status != 400 {
		t.Fatalf("unknown semantic: status %d", status)
	}

	// Default mapping: AuthZEN onto the login decision.
	def := newEnv(t, pdp.Config{})
	login := func(id, service string) string {
		return `{"subject":{"type":"user","id":"` + id + `","properties":{"cvr":"` + cvrA + `","kind":"employee","cpr_linked":true}},
			"resource":{"type":"service","id":"` + service + `"},"action":{"name":"login"}}`
	}
	var res pdp.AZResponse
	if def.post("/access/v1/evaluation", login(uid["alice"], "eksamensdatabasen"), &res); !res.Decision {
		t.Fatalf("alice over AuthZEN: %+v", res)
	}
	if def.post("/access/v1/evaluation", login(uid["carol"], "eksamensdatabasen"), &res); res.Decision {
		t.Fatalf("carol (group grant, D7) over AuthZEN: %+v", res)
	}
	if !strings.Contains(mustJSON(res.Context), "grant_via_group") {
		t.Fatalf("AuthZEN context lacks the reason: %v", res.Context)
	}

	resp, err = http.Get(def.srv.URL + "/.well-known/authzen-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	if meta["access_evaluation_endpoint"] != def.srv.URL+"/access/v1/evaluation" ||
		meta["access_evaluations_endpoint"] != def.srv.URL+"/access/v1/evaluations" || meta["policy_decision_point"] != def.srv.URL {
		t.Fatalf("metadata %v", meta)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestHealthAndMetrics: ready when policy and store are; metrics count
// decisions by result and reason.
func TestHealthAndMetrics(t *testing.T) {
	e := newEnv(t, pdp.Config{})
	if status, h := e.health(); status != 200 || h["status"] != "ok" {
		t.Fatalf("health %d %v", status, h)
	}
	e.login(pdp.LoginRequest{Subject: subj("alice", cvrA), Service: "eksamensdatabasen"})
	e.login(pdp.LoginRequest{Subject: subj("carol", cvrA), Service: "eksamensdatabasen"})
	resp, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`adgang_decisions_total{path="adgang/login",reason="",result="allow"} 1`,
		`adgang_decisions_total{path="adgang/login",reason="`, // a deny with its reason
		`adgang_decision_duration_seconds_bucket`,
		`adgang_policy_reloads_total{result="ok"} 1`,
		`adgang_store_errors_total 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if !strings.Contains(string(body), `result="deny"`) {
		t.Errorf("metrics lack the deny")
	}
}

// TestReadYourWrites: a grant written to the store is reflected by the
// very next decision.
func TestReadYourWrites(t *testing.T) {
	e := newEnv(t, pdp.Config{})
	req := pdp.LoginRequest{Subject: subj("alice", cvrA), Service: "eksamensdatabasen", PNumber: pA2}
	if d, _ := e.login(req); d.Allow {
		t.Fatal("allowed before the grant")
	}
	_, err := e.st.Update(context.Background(), "test", func(tx *store.Tx) error {
		return tx.CreateGrant(&store.Grant{ID: "00000000-0000-4000-b000-000000000001", Right: eks,
			HolderType: store.HolderUser, HolderID: uid["alice"], Org: cvrA,
			Scope: store.Scope{Type: store.ScopeP, Value: pA2}, GrantedBy: "test", GrantedAt: e.now})
	})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := e.login(req); !d.Allow {
		t.Fatalf("not allowed right after the grant: %+v", d.Reasons)
	}
}
