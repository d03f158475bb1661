package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/store"
)

func startMain(t *testing.T, cfg Config) *Main {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	cfg.DecisionAddr = "127.0.0.1:0"
	cfg.AdminAddr = "127.0.0.1:0"
	if cfg.DecisionLog == "" {
		cfg.DecisionLog = "off"
	}
	m := &Main{Config: cfg, Logger: zerolog.Nop()}
	if err := m.Run(context.Background(), io.Discard); err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func postJSON(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestServeDemo runs the real wiring with demo data and checks the
// README's two example decisions.
func TestServeDemo(t *testing.T) {
	m := startMain(t, Config{Demo: true})
	login := func(id string) map[string]any {
		_, out := postJSON(t, m.DecisionURL+"/v1/decisions/login", `{"subject":{"id":"`+id+`","cvr":"`+demoSchoolCVR+
			`","kind":"employee","cpr_linked":true},"service":"eksamensdatabasen"}`)
		return out
	}
	if out := login(demoAlice); out["allow"] != true {
		t.Fatalf("alice: %v", out)
	}
	out := login(demoCarol)
	if out["allow"] != false || !strings.Contains(mustJSON(out["reasons"]), "grant_via_group") {
		t.Fatalf("carol: %v", out)
	}
	resp, err := http.Get(m.DecisionURL + "/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health: %v %v", err, resp)
	}
	resp.Body.Close()
}

// TestServeRunsLifecycle: the scheduler inside serve applies due L-rule
// actions; a demo user idle for years is inactivated on the first run.
func TestServeRunsLifecycle(t *testing.T) {
	dir := t.TempDir()
	m := startMain(t, Config{DataDir: dir, Demo: true})
	// Make Alice's last login ancient, then restart with the scheduler on.
	_, err := m.Store.Update(context.Background(), "test", func(tx *store.Tx) error {
		u, err := tx.GetUser(demoAlice)
		if err != nil {
			return err
		}
		old := time.Now().AddDate(-1, 0, 0)
		u.LastLogin, u.CreatedAt = &old, old
		return tx.UpdateUser(u)
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = m.Close()
	m2 := startMain(t, Config{DataDir: dir, LifecycleInterval: time.Hour})
	deadline := time.Now().Add(10 * time.Second)
	for {
		var status store.UserStatus
		_ = m2.Store.View(context.Background(), func(tx *store.Tx) error {
			u, err := tx.GetUser(demoAlice)
			if err == nil {
				status = u.Status
			}
			return err
		})
		if status == store.StatusInactive {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice still %s: the lifecycle scheduler did not run", status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeRestartKeepsData: a second start on the same directory keeps
// the data and the CPR key, and does not load the demo set twice.
func TestServeRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	m := startMain(t, Config{DataDir: dir, Demo: true})
	rev := m.Store.Revision()
	key, err := os.ReadFile(filepath.Join(dir, "cpr.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m2 := startMain(t, Config{DataDir: dir, Demo: true})
	if m2.Store.Revision() != rev {
		t.Fatalf("revision %d after restart, want %d", m2.Store.Revision(), rev)
	}
	key2, _ := os.ReadFile(filepath.Join(dir, "cpr.key"))
	if !bytes.Equal(key, key2) {
		t.Fatal("CPR key changed on restart")
	}
}

// TestServeRefusesBrokenPolicies: the server does not start on a policy
// directory that does not compile.
func TestServeRefusesBrokenPolicies(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.rego"), []byte("package x\nallow if {"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: Config{DataDir: t.TempDir(), PoliciesDir: dir, DecisionAddr: "127.0.0.1:0", DecisionLog: "off"}, Logger: zerolog.Nop()}
	err := m.Run(context.Background(), io.Discard)
	_ = m.Close()
	if err == nil || !strings.Contains(err.Error(), "x.rego") {
		t.Fatalf("Run = %v, want a compile error naming x.rego", err)
	}
}

func TestPolicyCommands(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"policy", "test"}, &out, io.Discard); err != nil {
		t.Fatalf("policy test: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "PASS ") || !strings.Contains(out.String(), " 0 failed") {
		t.Fatalf("policy test output:\n%s", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"policy", "check"}, &out, io.Discard); err != nil {
		t.Fatalf("policy check: %v", err)
	}
	bad := t.TempDir()
	_ = os.WriteFile(filepath.Join(bad, "b.rego"), []byte("package b\n\np if {\n  x := \n}\n"), 0o600)
	err := run(context.Background(), []string{"policy", "check", bad}, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "b.rego:") {
		t.Fatalf("policy check of a broken dir = %v, want file:line", err)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// call sends a JSON request with an optional bearer token.
func call(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestServeAdminSession is the README's curl session against the real
// wiring: the bootstrap token creates an org, a user and a grant, and the
// next login decision allows on that P-unit.
func TestServeAdminSession(t *testing.T) {
	const boot = "bootstrap-token-for-tests-0123456789"
	m := startMain(t, Config{BootstrapToken: boot})
	if s, _ := call(t, "GET", m.AdminURL+"/v1/rights", "", ""); s != http.StatusUnauthorized {
		t.Fatalf("no token: %d", s)
	}
	s, out := call(t, "POST", m.AdminURL+"/v1/orgs", boot,
		`{"cvr":"29190011","name":"Skolen","type":"institution","p_units":[{"p_number":"4000000001","name":"Nord"},{"p_number":"4000000002"}]}`)
	if s != http.StatusCreated {
		t.Fatalf("create org: %d %v", s, out)
	}
	s, out = call(t, "POST", m.AdminURL+"/v1/orgs/29190011/users", boot,
		`{"name":"Ulla Underviser","email":"ulla@skolen.example","p_number":"4000000001","kind":"employee"}`)
	if s != http.StatusCreated {
		t.Fatalf("create user: %d %v", s, out)
	}
	user, _ := out["user"].(map[string]any)
	id, _ := user["id"].(string)
	s, out = call(t, "POST", m.AdminURL+"/v1/users/"+id+"/grants", boot,
		`{"right":"eksamensdatabasen.view","scope":{"type":"p","value":"4000000001"}}`)
	if s != http.StatusCreated || out["revision"] == nil {
		t.Fatalf("grant: %d %v", s, out)
	}
	_, d := postJSON(t, m.DecisionURL+"/v1/decisions/login",
		`{"subject":{"id":"`+id+`","cvr":"29190011","kind":"employee","cpr_linked":true},"service":"eksamensdatabasen"}`)
	if d["allow"] != true || !strings.Contains(mustJSON(d["rights"]), `"p_numbers":["4000000001"]`) {
		t.Fatalf("decision after the grant: %v", d)
	}
}

// TestTokenCommand: `adgang token create --superadmin` on a stopped
// server's data directory prints a token the admin API then accepts.
func TestTokenCommand(t *testing.T) {
	dir := t.TempDir()
	m := startMain(t, Config{DataDir: dir})
	_ = m.Close()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"token", "create", "--superadmin", "--data", dir}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var token string
	for _, line := range strings.Split(out.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "token: "); ok {
			token = v
		}
	}
	m2 := startMain(t, Config{DataDir: dir})
	if s, body := call(t, "GET", m2.AdminURL+"/v1/rights", token, ""); s != http.StatusOK {
		t.Fatalf("token from the CLI refused: %d %v", s, body)
	}
}
