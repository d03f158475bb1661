package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	opaversion "github.com/open-policy-agent/opa/v1/version"
	"github.com/rs/zerolog"
)

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDemoAdminTokenAndAdminOps: serve --demo on an empty store writes a
// superadmin token to DIR/demo-admin-token (0600) and names it in the
// start log; the admin listener answers /health like the decision
// listener and serves /metrics with the admin requests by route template
// and status; the start log names the policy, data dir and listeners.
func TestDemoAdminTokenAndAdminOps(t *testing.T) {
	dir := t.TempDir()
	var logBuf bytes.Buffer
	m := &Main{Config: Config{DataDir: dir, DecisionAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", DecisionLog: "off", Demo: true},
		Logger: zerolog.New(&logBuf)}
	if err := m.Run(context.Background(), io.Discard); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	m.logStarted()

	path := filepath.Join(dir, "demo-admin-token")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("demo token file: %v %v", fi, err)
	}
	raw, _ := os.ReadFile(path)
	token := strings.TrimSpace(string(raw))
	if code, body := get(t, m.AdminURL+"/v1/orgs/"+demoSchoolCVR, token); code != 200 {
		t.Fatalf("the demo token does not work: %d %s", code, body)
	}
	logged := logBuf.String()
	for _, want := range []string{`"token_file":"` + path + `"`, `"message":"adgang started"`, `"data":"` + dir + `"`,
		`"decision_url":"` + m.DecisionURL + `"`, `"admin_url":"` + m.AdminURL + `"`, `"policy":"` + m.Engine.PolicyID() + `"`} {
		if !strings.Contains(logged, want) {
			t.Errorf("start log lacks %s:\n%s", want, logged)
		}
	}
	if strings.Contains(logged, token) {
		t.Error("the start log shows the token itself")
	}

	code, body := get(t, m.AdminURL+"/health", "")
	var h map[string]any
	if err := json.Unmarshal([]byte(body), &h); code != 200 || err != nil || h["status"] != "ok" {
		t.Fatalf("admin /health: %d %s", code, body)
	}
	if st, _ := h["store"].(map[string]any); st["kind"] != "badger" || h["revision"] == nil || h["reasons"] == nil || h["policy"] == nil {
		t.Fatalf("admin /health shape: %s", body)
	}
	get(t, m.AdminURL+"/v1/orgs/"+demoSchoolCVR, "wrong-token")
	code, body = get(t, m.AdminURL+"/metrics", "")
	for _, want := range []string{
		`adgang_admin_requests_total{method="GET",route="/v1/orgs/{cvr}",status="200"} 1`,
		`adgang_admin_requests_total{method="GET",route="/v1/orgs/{cvr}",status="401"} 1`,
		`adgang_admin_request_duration_seconds_bucket{method="GET",route="/v1/orgs/{cvr}"`,
		`adgang_store_revision `,
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("admin /metrics (%d) lacks %s", code, want)
		}
	}
	if strings.Contains(body, demoSchoolCVR) {
		t.Error("a raw path reached a metric label")
	}
}

// TestCLIHelpAndVersion: every subcommand's -h prints its usage and
// succeeds; --version and version print version, commit, Go and OPA.
func TestCLIHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"serve", "-h"}, {"policy", "-h"}, {"policy", "test", "-h"}, {"policy", "check", "-h"},
		{"token", "-h"}, {"token", "create", "-h"}, {"import", "-h"}, {"decide", "-h"}, {"version"}, {"--version"}} {
		var out, errb bytes.Buffer
		if err := run(context.Background(), args, &out, &errb); err != nil {
			t.Errorf("adgang %s: %v", strings.Join(args, " "), err)
		}
		if out.Len()+errb.Len() == 0 {
			t.Errorf("adgang %s printed nothing", strings.Join(args, " "))
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--version"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"adgang ", "commit: ", "go: go1.", "opa: " + opaversion.Version} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--version lacks %q:\n%s", want, out.String())
		}
	}
}

// TestLogLevelInvalid: an unknown --log-level is a usage error (exit 2)
// that lists the levels.
func TestLogLevelInvalid(t *testing.T) {
	err := run(context.Background(), []string{"serve", "--log-level", "verbose", "--data", t.TempDir()}, io.Discard, io.Discard)
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "debug, info, warn, error") {
		t.Fatalf("err = %v, want a usage error listing the levels", err)
	}
	if _, err := parseLogLevel("WARN"); err != nil {
		t.Fatal(err)
	}
}

// TestShutdownGraceAndConfigFile: --shutdown-grace (env
// ADGANG_SHUTDOWN_GRACE, default 10s) bounds the shutdown at grace+5s; a
// --config YAML file sets flags by name, and flags and the environment
// override it; an unknown setting is refused.
func TestShutdownGraceAndConfigFile(t *testing.T) {
	for _, k := range []string{"ADGANG_SHUTDOWN_GRACE", "ADGANG_LOG_LEVEL", "ADGANG_DECISION_ADDR", "ADGANG_DATA", "ADGANG_CONFIG", "ADGANG_DECISION_CACHE"} {
		t.Setenv(k, "")
	}
	cfg, err := parseServeFlags(nil, io.Discard)
	if err != nil || cfg.ShutdownGrace != 10*time.Second {
		t.Fatalf("default grace: %v %v", cfg, err)
	}
	if m := (&Main{Config: *cfg}); m.shutdownBound() != 15*time.Second {
		t.Fatalf("bound %v", m.shutdownBound())
	}
	t.Setenv("ADGANG_SHUTDOWN_GRACE", "7s")
	if cfg, err = parseServeFlags(nil, io.Discard); err != nil || cfg.ShutdownGrace != 7*time.Second {
		t.Fatalf("env grace: %v", err)
	}
	if cfg, err = parseServeFlags([]string{"--shutdown-grace", "3s"}, io.Discard); err != nil || cfg.ShutdownGrace != 3*time.Second {
		t.Fatalf("flag grace: %v", err)
	}
	if m := (&Main{Config: *cfg}); m.shutdownBound() != 8*time.Second {
		t.Fatalf("bound %v", m.shutdownBound())
	}
	t.Setenv("ADGANG_SHUTDOWN_GRACE", "")

	file := filepath.Join(t.TempDir(), "adgang.yaml")
	os.WriteFile(file, []byte("data: /srv/adgang\ndecision-addr: 127.0.0.1:9181\nlog_level: debug\nshutdown-grace: 2s\ndecision-cache: 5\n"), 0o600)
	cfg, err = parseServeFlags([]string{"--config", file}, io.Discard)
	if err != nil || cfg.DataDir != "/srv/adgang" || cfg.DecisionAddr != "127.0.0.1:9181" || cfg.LogLevel != "debug" ||
		cfg.ShutdownGrace != 2*time.Second || cfg.DecisionCache != 5 {
		t.Fatalf("from the file: %+v %v", cfg, err)
	}
	t.Setenv("ADGANG_LOG_LEVEL", "warn")
	cfg, err = parseServeFlags([]string{"--decision-addr", "127.0.0.1:7000", "--config", file}, io.Discard)
	if err != nil || cfg.DecisionAddr != "127.0.0.1:7000" || cfg.LogLevel != "warn" || cfg.DataDir != "/srv/adgang" {
		t.Fatalf("flag and env over the file: %+v %v", cfg, err)
	}
	os.WriteFile(file, []byte("dta: x\n"), 0o600)
	if _, err := parseServeFlags([]string{"--config", file}, io.Discard); err == nil || !strings.Contains(err.Error(), `unknown setting "dta"`) {
		t.Fatalf("unknown setting: %v", err)
	}
}

// TestDecideCommand: `adgang decide` asks a running decision API, from
// flags, from a JSON file and through the Data API.
func TestDecideCommand(t *testing.T) {
	m := startMain(t, Config{Demo: true})
	var out bytes.Buffer
	err := run(context.Background(), []string{"decide", "--decision-addr", m.DecisionURL, "--subject-id", demoAlice,
		"--cvr", demoSchoolCVR, "--service", "eksamensdatabasen"}, &out, io.Discard)
	if err != nil || !strings.Contains(out.String(), `"allow": true`) || !strings.Contains(out.String(), "eksamensdatabasen.view") {
		t.Fatalf("decide: %v\n%s", err, out.String())
	}
	file := filepath.Join(t.TempDir(), "req.json")
	os.WriteFile(file, []byte(`{"subject":{"id":"`+demoCarol+`","cvr":"`+demoSchoolCVR+`","kind":"employee","cpr_linked":true},"service":"eksamensdatabasen"}`), 0o600)
	out.Reset()
	if err := run(context.Background(), []string{"decide", "--decision-addr", m.DecisionURL, "--input", file}, &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), `"allow": false`) || !strings.Contains(out.String(), "grant_via_group") {
		t.Fatalf("decide --input: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"decide", "--decision-addr", m.DecisionURL, "--input", file, "--path", "adgang/login/allow"}, &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), `"result": false`) {
		t.Fatalf("decide --path: %v\n%s", err, out.String())
	}
	if err := run(context.Background(), []string{"decide", "--decision-addr", m.DecisionURL, "--cvr", demoSchoolCVR}, io.Discard, io.Discard); err == nil {
		t.Fatal("decide without a subject: no error")
	}
}

// TestImportProgress: the progress line shows rows sent, the rate and the
// time left, and the last line the totals.
func TestImportProgress(t *testing.T) {
	file := "header\n" + strings.Repeat("row;x\n", 1000)
	var out bytes.Buffer
	pr := newProgressReader(strings.NewReader(file), int64(len(file)), &out)
	clock := pr.start
	pr.now = func() time.Time { clock = clock.Add(300 * time.Millisecond); return clock }
	buf := make([]byte, 600)
	for {
		if _, err := pr.Read(buf); err != nil {
			break
		}
	}
	pr.finish()
	got := out.String()
	for _, want := range []string{"rows sent, ", " rows/s, ETA ", "1000 rows sent in "} {
		if !strings.Contains(got, want) {
			t.Errorf("progress lacks %q:\n%q", want, got)
		}
	}
	if isTerminal(&out) {
		t.Error("a buffer taken for a terminal")
	}
}
