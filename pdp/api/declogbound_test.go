package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/adgang/adgang/pdp"
)

// TestDecisionLogBoundsBatchInputs: a batch whose common_input is large
// is fanned out into one decision per input; each decision-log line
// carries at most a bounded input ({"truncated":true,...}), so a 64 KiB
// request cannot write a thousand copies of itself.
func TestDecisionLogBoundsBatchInputs(t *testing.T) {
	e := newEnv(t, pdp.Config{Policies: pdp.Source{Extra: []string{"testdata/opadiff"}}})
	pad := strings.Repeat("x", 40_000)
	inputs := make([]string, 50)
	for i := range inputs {
		inputs[i] = fmt.Sprintf(`"i%d":{}`, i)
	}
	body := `{"inputs":{` + strings.Join(inputs, ",") + `},"common_input":{"user":"alice","pad":"` + pad + `"}}`
	res, err := http.Post(e.srv.URL+"/v1/batch/data/difftest/greeting", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("batch: %d", res.StatusCode)
	}
	log := e.declog.String()
	if n := strings.Count(log, `"truncated":true`); n != len(inputs) {
		t.Errorf("%d of %d decision-log lines have a truncated input", n, len(inputs))
	}
	if len(log) > 1<<20 {
		t.Errorf("decision log grew by %d bytes for one %d-byte request", len(log), len(body))
	}
}
