package api_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/adgang/adgang/pdp"
)

// seriesCount counts the exposition lines of the decision metrics.
func (e *env) seriesCount() int {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	n := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "adgang_decisions_total{") || strings.HasPrefix(l, "adgang_decision_duration_seconds_count{") {
			n++
		}
	}
	return n
}

// TestDataMetricsBounded: requests to random /v1/data paths do not create
// new metric series; the label is the path only when the policy defines it.
func TestDataMetricsBounded(t *testing.T) {
	e := newEnv(t, pdp.Config{})
	e.post("/v1/data/random/first", `{"input":{}}`, nil)
	e.post("/v1/data/adgang/login/allow", `{"input":{}}`, nil)
	before := e.seriesCount()
	for i := range 50 {
		e.post(fmt.Sprintf("/v1/data/r%d/%s", i, uuid.NewString()), `{"input":{}}`, nil)
	}
	if after := e.seriesCount(); after != before {
		t.Errorf("50 random data paths grew the decision series from %d to %d", before, after)
	}
	resp, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(raw), `path="adgang/login/allow"`) || !strings.Contains(string(raw), `path="other"`) {
		t.Errorf("metrics lack the known path or the other label:\n%s", raw)
	}
}
