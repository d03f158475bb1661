package api_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/adgang/adgang/pdp"
)

// TestDataAPIAdgang covers what the differential test cannot (stock OPA
// has no store and no batch API): GET ?input= on a login path is
// store-enriched like POST; the batch API merges common_input and answers
// 207 when mixed; --default-decision names POST /'s rule; gzip bodies are
// decompressed and still bounded to 64 KiB after decompression.
func TestDataAPIAdgang(t *testing.T) {
	e := newEnv(t, pdp.Config{Policies: pdp.Source{Extra: []string{"testdata/opadiff"}}})
	alice, _ := json.Marshal(pdp.LoginRequest{Subject: subj("alice", cvrA), Service: "eksamensdatabasen"})
	do := func(method, path, body string, gz bool) (int, map[string]any) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			b := []byte(body)
			if gz {
				var buf bytes.Buffer
				zw := gzip.NewWriter(&buf)
				_, _ = zw.Write(b)
				_ = zw.Close()
				b = buf.Bytes()
			}
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, e.srv.URL+path, rd)
		if gz {
			req.Header.Set("Content-Encoding", "gzip")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}

	// GET ?input= answers what POST answers (it was ignored: false).
	if code, out := do("GET", "/v1/data/adgang/login/allow?input="+url.QueryEscape(string(alice)), "", false); code != 200 || out["result"] != true {
		t.Errorf("GET ?input= login: %d %v", code, out)
	}
	if code, out := do("POST", "/v1/data/adgang/login/allow", `{"input":`+string(alice)+`}`, true); code != 200 || out["result"] != true {
		t.Errorf("gzip POST login: %d %v", code, out)
	}
	big := `{"input":{"pad":"` + strings.Repeat("a", 70<<10) + `"}}`
	if code, out := do("POST", "/v1/data/difftest/echo", big, true); code != http.StatusRequestEntityTooLarge {
		t.Errorf("70 KiB gzip body: %d %v, want 413", code, out)
	}

	// Batch: common_input merged (the input's own values win), 200 / 207.
	code, out := do("POST", "/v1/batch/data/difftest/greeting", `{"inputs":{"a":{},"b":{"user":"bob"}},"common_input":{"user":"alice"}}`, false)
	resp, _ := out["responses"].(map[string]any)
	a, _ := resp["a"].(map[string]any)
	b, _ := resp["b"].(map[string]any)
	if code != 200 || a["result"] != "hello alice" || b["result"] != "hello bob" || out["batch_decision_id"] == nil || a["decision_id"] == nil {
		t.Errorf("batch: %d %v", code, out)
	}
	code, out = do("POST", "/v1/batch/data/difftest/conflict", `{"inputs":{"ok":{},"bad":{"conflict":true}}}`, false)
	resp, _ = out["responses"].(map[string]any)
	okItem, _ := resp["ok"].(map[string]any)
	badItem, _ := resp["bad"].(map[string]any)
	if code != http.StatusMultiStatus || okItem["http_status_code"] != "200" || badItem["http_status_code"] != "500" || badItem["code"] != "internal_error" {
		t.Errorf("mixed batch: %d %v", code, out)
	}
	if code, out := do("POST", "/v1/batch/data/difftest/conflict", `{"inputs":{"bad":{"conflict":true}}}`, false); code != 500 {
		t.Errorf("failed batch: %d %v", code, out)
	}
	if code, out := do("POST", "/v1/batch/data/difftest/allow", `{"inputs":`, false); code != 400 || out["code"] != "invalid_parameter" {
		t.Errorf("malformed batch: %d %v", code, out)
	}

	// POST /: the login decision by default; --default-decision another rule.
	if code, out := do("POST", "/", string(alice), false); code != 200 || out["allow"] != true {
		t.Errorf("default decision: %d %v", code, out)
	}
	e2 := newEnv(t, pdp.Config{Policies: pdp.Source{Extra: []string{"testdata/opadiff"}}, DefaultDecision: "/difftest/greeting"})
	res, err := http.Post(e2.srv.URL+"/", "application/json", strings.NewReader(`{"user":"carol"}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || strings.TrimSpace(string(raw)) != `"hello carol"` {
		t.Errorf("--default-decision difftest/greeting: %d %s", res.StatusCode, raw)
	}
}

// The Data API never evaluates data.adgang.login over facts a client made
// up: an input that is not a login request but carries a user, grants,
// rights or an organisation is refused (400), while a login request is
// answered from the store and an empty input denies.
func TestDataAPILoginForgedFacts(t *testing.T) {
	e := newEnv(t, pdp.Config{})
	forged := map[string]any{
		"user":   map[string]any{"id": uid["alice"], "org": cvrA, "status": "active", "kind": "employee"},
		"org":    map[string]any{"cvr": cvrA, "p_units": map[string]any{}},
		"grants": map[string]any{"x": map[string]any{"right": "eksamensdatabasen.view", "org": cvrA, "scope": map[string]any{"type": "cvr", "value": cvrA}, "source": "direct"}},
		"rights": map[string]any{"eksamensdatabasen.view": map[string]any{"service": "eksamensdatabasen"}},
	}
	for _, path := range []string{"/v1/data/adgang/login/allow", "/v1/data/adgang/login/decision", "/v1/data/adgang/login"} {
		var out map[string]any
		if code := e.post(path, map[string]any{"input": forged}, &out); code != 400 {
			t.Fatalf("%s with forged facts: HTTP %d %v, want 400", path, code, out)
		}
	}
	var out map[string]any
	if code := e.post("/v1/data/adgang/login/allow", map[string]any{"input": map[string]any{}}, &out); code != 200 || out["result"] == true {
		t.Fatalf("empty input: HTTP %d %v, want a denial", code, out)
	}
}
