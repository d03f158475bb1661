package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store/storetest"
)

// opaBinary is the stock opa CLI at go.mod's version: env ADGANG_OPA, or
// .tools/bin/opa in the repository root (`make tools`; `make test` builds
// it before the Go tests, so CI never skips the differential test).
func opaBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ADGANG_OPA"); p != "" {
		return p
	}
	p, err := filepath.Abs(filepath.Join("..", "..", ".tools", "bin", "opa"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the stock opa CLI is needed for the differential test: run `make tools` (or set ADGANG_OPA): %v", err)
	}
	return p
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// startOPA runs `opa run --server` on a free loopback port with the
// given files and returns its base URL.
func startOPA(t *testing.T, defaultDecision string, files ...string) string {
	t.Helper()
	addr := freePort(t)
	args := append([]string{"run", "--server", "--addr", addr, "--log-level", "error", "--skip-version-check",
		"--set", "default_decision=" + defaultDecision}, files...)
	cmd := exec.Command(opaBinary(t), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(base + "/health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("opa did not start: %v\n%s", err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// diffRequest is one request of the differential test.
type diffRequest struct {
	method, path, body string
	gzip               bool
	contentType        string
	// deviation: a deliberate difference — OPA answers a bad path with
	// 500 internal_error, Adgang (bad input is a 4xx) with 400
	// invalid_parameter; the message is the same.
	deviation bool
}

func (d diffRequest) String() string {
	s := d.method + " " + d.path
	if d.body != "" || d.method == "POST" {
		s += " " + d.body
	}
	if d.gzip {
		s += " (gzip)"
	}
	return s
}

// diffRequests builds the requests: every path × input × query
// parameter, GET (?input=) and POST ({input}), no input, bad input,
// gzip bodies, the default decision.
func diffRequests() []diffRequest {
	paths := []string{"difftest/allow", "difftest/deny", "difftest/users", "difftest/users/0", "difftest/users/1/name",
		"difftest/users/7", "difftest/matrix/1/0", "difftest/limits/max", "difftest/greeting", "difftest/echo",
		"difftest/count_users", "difftest/over_limit", "difftest/bad_number", "difftest/conflict", "difftest/main",
		"difftest/nope", "nope/deeper/still", "difftest/users/x"}
	inputs := []string{``, `{}`, `{"user":"alice"}`, `{"user":"bob","items":[1,2,3,4]}`, `{"user":"carol","conflict":true}`, `null`, `[1,2]`, `"text"`}
	params := []string{"", "pretty", "metrics", "provenance", "explain=notes", "explain=fails", "explain=full",
		"instrument", "strict-builtin-errors", "pretty=true&provenance=true", "explain=debug", "pretty=false"}
	var reqs []diffRequest
	for pi, p := range paths {
		for ii, in := range inputs {
			// Every path with every input; the query parameters rotate so
			// that each meets every path and every input.
			q := params[(pi+ii)%len(params)]
			target := "/v1/data/" + p
			if q != "" {
				target += "?" + q
			}
			body := `{"input":` + in + `}`
			if in == "" {
				body = `{}`
			}
			reqs = append(reqs, diffRequest{method: "POST", path: target, body: body})
			get := target
			if in != "" {
				sep := "?"
				if strings.Contains(get, "?") {
					sep = "&"
				}
				get += sep + "input=" + url.QueryEscape(in)
			}
			reqs = append(reqs, diffRequest{method: "GET", path: get})
		}
	}
	// Query parameters with inputs that make each one matter.
	for _, q := range params {
		reqs = append(reqs,
			diffRequest{method: "POST", path: "/v1/data/difftest/bad_number?" + q, body: `{"input":{"user":"x"}}`},
			diffRequest{method: "POST", path: "/v1/data/difftest/allow?" + q, body: `{"input":{"user":"alice"}}`},
			diffRequest{method: "GET", path: "/v1/data/difftest/deny?" + q + "&input=" + url.QueryEscape(`{"user":"bob"}`)})
	}
	// The root documents, bad input, odd paths, gzip, YAML.
	reqs = append(reqs,
		diffRequest{method: "POST", path: "/v1/data/difftest/allow", body: ``},
		diffRequest{method: "POST", path: "/v1/data/difftest/allow", body: `{`},
		diffRequest{method: "POST", path: "/v1/data/difftest/allow", body: `{"input":{"user":"alice"}} trailing`},
		diffRequest{method: "POST", path: "/v1/data/difftest/allow", body: `[1,2]`},
		diffRequest{method: "POST", path: "/v1/data/difftest/allow", body: `{"input":{"user":"alice"},"extra":1}`},
		diffRequest{method: "GET", path: "/v1/data/difftest/allow?input=" + url.QueryEscape(`{"user":`)},
		diffRequest{method: "GET", path: "/v1/data/difftest/allow?input=" + url.QueryEscape(`{"user":"alice"}`) + "&input=" + url.QueryEscape(`{"user":"bob"}`)},
		diffRequest{method: "GET", path: "/v1/data/difftest/allow?input="},
		diffRequest{method: "GET", path: "/v1/data/difftest/users/%31/name"},
		diffRequest{method: "GET", path: "/v1/data/difftest/users/-1"},
		diffRequest{method: "GET", path: "/v1/data/difftest/matrix/0/1?pretty"},
		diffRequest{method: "GET", path: "/v1/data/difftest/limits/max/deeper"},
		diffRequest{method: "GET", path: "/v1/data/difftest/a%22b", deviation: true},
		diffRequest{method: "POST", path: "/v1/data/difftest/allow", body: `{"input":{"user":"alice"}}`, gzip: true},
		diffRequest{method: "POST", path: "/v1/data/difftest/greeting?pretty", body: `{"input":{"user":"bob"}}`, gzip: true},
		diffRequest{method: "POST", path: "/v1/data/difftest/allow", body: "input:\n  user: alice\n", contentType: "application/x-yaml"},
	)
	// The default decision (POST /): the body is the input.
	for _, in := range []string{`{"user":"alice"}`, `{"user":"bob"}`, `{}`, ``, `{`, `[1]`, `null`} {
		reqs = append(reqs, diffRequest{method: "POST", path: "/", body: in})
	}
	return reqs
}

var (
	decisionIDField = regexp.MustCompile(`\s*"decision_id":\s*"[^"]*",?`)
	localVar        = regexp.MustCompile(`__local[0-9]+__`)
)

// diffAnswer is an answer reduced to what must agree.
type diffAnswer struct {
	Status      int
	ContentType string
	Indented    bool
	Body        any
}

// fetchDiff sends r to base and normalises the answer: decision ids,
// metrics values and provenance build fields aside.
func fetchDiff(t *testing.T, base string, r diffRequest) diffAnswer {
	t.Helper()
	var body io.Reader
	if r.method == "POST" {
		b := []byte(r.body)
		if r.gzip {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			_, _ = zw.Write(b)
			_ = zw.Close()
			b = buf.Bytes()
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), r.method, base+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if r.method == "POST" {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if r.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", r, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	// Stock OPA (without decision logging) has no decision ids: they are
	// not part of the comparison, nor of the indentation check.
	raw = decisionIDField.ReplaceAll(raw, nil)
	// Generated local variables are numbered across the compiler's
	// modules; Adgang's also holds its own policy set.
	raw = localVar.ReplaceAll(raw, []byte("__local__"))
	a := diffAnswer{Status: res.StatusCode, ContentType: res.Header.Get("Content-Type"), Indented: bytes.Contains(raw, []byte("\n  "))}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&a.Body); err != nil {
		a.Body = "non-JSON: " + string(raw)
		return a
	}
	sortLocals(a.Body)
	if m, ok := a.Body.(map[string]any); ok {
		delete(m, "decision_id")
		if _, ok := m["metrics"]; ok {
			m["metrics"] = "present"
		}
		if p, ok := m["provenance"].(map[string]any); ok {
			for _, k := range []string{"build_commit", "build_timestamp", "build_hostname"} {
				delete(p, k)
			}
		}
	}
	return a
}

// TestOPADifferential starts stock `opa run --server` (go.mod's version)
// and an Adgang decision listener with the same policy and data, sends
// both the same requests (GET and POST, every Data API query parameter,
// undefined paths, bad input, gzip, the default decision) and requires
// the same answers: status, content type, indentation and body, decision
// ids, metric values and provenance build fields aside.
func TestOPADifferential(t *testing.T) {
	files := []string{filepath.Join("testdata", "opadiff")}
	opa := startOPA(t, "/difftest/main", files...)
	st := storetest.Open(t)
	eng, err := pdp.New(context.Background(), st, pdp.Config{Policies: pdp.Source{Extra: files}, DefaultDecision: "difftest/main"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	srv := httptest.NewServer(handler(eng, st))
	t.Cleanup(srv.Close)

	reqs := diffRequests()
	if len(reqs) < 200 {
		t.Fatalf("only %d requests", len(reqs))
	}
	differ := 0
	for _, r := range reqs {
		want, got := fetchDiff(t, opa, r), fetchDiff(t, srv.URL, r)
		if r.deviation {
			wm, _ := want.Body.(map[string]any)
			gm, _ := got.Body.(map[string]any)
			if want.Status != 500 || got.Status != 400 || gm["code"] != "invalid_parameter" || wm["message"] != "invalid_parameter: "+fmt.Sprint(gm["message"]) {
				t.Errorf("%s: the known deviation changed:\n  opa:    %s\n  adgang: %s", r, show(want), show(got))
			}
			continue
		}
		if !reflect.DeepEqual(want, got) {
			differ++
			if differ <= 20 {
				t.Errorf("%s:\n  opa:    %s\n  adgang: %s", r, show(want), show(got))
			}
		}
	}
	if differ > 0 {
		t.Errorf("%d of %d answers differ from stock OPA", differ, len(reqs))
	}
	t.Logf("%d requests, %d answers differ from stock OPA", len(reqs), differ)
}

// sortLocals orders the "locals" of explanation events: they are listed
// by variable name, and generated names are numbered differently (see
// localVar).
func sortLocals(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, vv := range x {
			if l, ok := vv.([]any); ok && k == "locals" {
				sort.Slice(l, func(i, j int) bool {
					a, _ := json.Marshal(l[i])
					b, _ := json.Marshal(l[j])
					return string(a) < string(b)
				})
			}
			sortLocals(vv)
		}
	case []any:
		for _, vv := range x {
			sortLocals(vv)
		}
	}
}

func show(a diffAnswer) string {
	b, _ := json.Marshal(a.Body)
	if len(b) > 600 {
		b = append(b[:600], "…"...)
	}
	return fmt.Sprintf("%d %s indented=%v %s", a.Status, a.ContentType, a.Indented, b)
}
