package api_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/adgang/adgang/pdp"
)

// decisionLogFields are the fields every decision-log line carries, login
// and Data API alike (issue 18 point 8).
var decisionLogFields = []string{"decision_id", "request_id", "path", "input", "allow", "reason", "reasons",
	"rights", "revision", "policy", "latency_ms"}

// TestDecisionLogSameFields: a login line and Data API lines have the same
// fields; the login line has the rights and their scopes; a request id is
// made when the client sends none and answered in X-Request-ID; the
// latency names its unit.
func TestDecisionLogSameFields(t *testing.T) {
	e := newEnv(t, pdp.Config{})
	req, _ := json.Marshal(pdp.LoginRequest{Subject: subj("alice", cvrA), Service: "eksamensdatabasen"})
	resp, err := http.Post(e.srv.URL+"/v1/decisions/login", "application/json", strings.NewReader(string(req)))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	madeID := resp.Header.Get("X-Request-ID")
	if madeID == "" {
		t.Fatal("no X-Request-ID answered for a request without one")
	}
	in := `{"input":` + string(req) + `}`
	e.send("/v1/data/adgang/login/decision", []byte(in), map[string]string{"X-Request-ID": "given-1"})
	e.send("/v1/data/adgang/login/allow", []byte(in), nil)

	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(e.declog.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 3 {
		t.Fatalf("%d decision-log lines, want 3:\n%s", len(lines), e.declog.String())
	}
	for i, l := range lines {
		for _, f := range decisionLogFields {
			if _, ok := l[f]; !ok {
				keys := make([]string, 0, len(l))
				for k := range l {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				t.Errorf("line %d (%v) lacks %q; has %v", i, l["path"], f, keys)
			}
		}
		if _, ok := l["latency"]; ok {
			t.Errorf("line %d: a latency without its unit", i)
		}
		if l["allow"] != true {
			t.Errorf("line %d: allow = %v, want true", i, l["allow"])
		}
		if id, _ := l["request_id"].(string); id == "" {
			t.Errorf("line %d: empty request_id", i)
		}
	}
	if lines[0]["request_id"] != madeID || lines[1]["request_id"] != "given-1" {
		t.Errorf("request ids %v, %v; want %s (made and answered) and given-1", lines[0]["request_id"], lines[1]["request_id"], madeID)
	}
	for _, i := range []int{0, 1} {
		rights, _ := lines[i]["rights"].([]any)
		if len(rights) == 0 || !strings.Contains(jsonText(t, rights), `"right":"eksamensdatabasen.view"`) ||
			!strings.Contains(jsonText(t, rights), `"scope":{`) {
			t.Errorf("line %d: rights %v, want the granted right with its scope", i, lines[i]["rights"])
		}
	}
}

func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestOpsMetricsAndHealth: Data API decisions are counted with their real
// result (allow/deny, not "other"); the cache's hits and misses and the
// store revision are metrics; /health names the store kind and revision.
func TestOpsMetricsAndHealth(t *testing.T) {
	e := newEnv(t, pdp.Config{})
	req, _ := json.Marshal(pdp.LoginRequest{Subject: subj("alice", cvrA), Service: "eksamensdatabasen"})
	e.send("/v1/data/adgang/login/decision", []byte(`{"input":`+string(req)+`}`), nil)
	deny, _ := json.Marshal(pdp.LoginRequest{Subject: subj("unknown", cvrA), Service: "eksamensdatabasen"})
	e.send("/v1/data/adgang/login/allow", []byte(`{"input":`+string(deny)+`}`), nil)
	e.send("/v1/decisions/login", req, nil)
	e.send("/v1/decisions/login", req, nil) // from the cache

	resp, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	metrics := string(raw)
	for _, want := range []string{
		`adgang_decisions_total{path="adgang/login/decision",reason="",result="allow"} 1`,
		`adgang_decisions_total{path="adgang/login/allow",reason="",result="deny"} 1`,
		`adgang_decision_cache_hits_total 1`,
		`adgang_decision_cache_misses_total 1`,
		`adgang_store_revision `,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(metrics, `result="other"`) {
		t.Errorf("a Data API decision counted as other:\n%s", metrics)
	}

	resp, err = http.Get(e.srv.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Status   string         `json:"status"`
		Reasons  []string       `json:"reasons"`
		Revision *uint64        `json:"revision"`
		Store    map[string]any `json:"store"`
		Policy   map[string]any `json:"policy"`
	}
	err = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if err != nil || h.Status != "ok" || h.Revision == nil || *h.Revision == 0 || h.Store["kind"] != "badger" ||
		h.Store["revision"] != float64(*h.Revision) || h.Policy["status"] != "ok" || h.Reasons == nil {
		t.Fatalf("health %+v (%v)", h, err)
	}
}
