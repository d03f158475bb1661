package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/adgang/adgang/pdp"
)

// TestDecisionLogMasksByField: the decision log masks by what a field is,
// not by digit count: a P-number stays intact, reason codes stay intact, a
// CPR in any free-text, unknown or numeric field (or a key) is masked.
func TestDecisionLogMasksByField(t *testing.T) {
	e := newEnv(t, pdp.Config{})
	// A Data API login decision: the subject's P-number is an identifier,
	// the D2 reason code is intact.
	in := pdp.LoginRequest{Subject: subj("unknown", cvrA), Service: "eksamensdatabasen", PNumber: pA1}
	in.Subject.PNumber = pA2
	if code := e.post("/v1/data/adgang/login/decision", map[string]any{"input": in}, nil); code != 200 {
		t.Fatalf("data API login: %d", code)
	}
	// Arbitrary Data API input.
	e.post("/v1/data/adgang/lib", `{"input":{"p_number":"1000000001","cvr":"0101901234","legacy_id":1212901234,
		"note":"borger 0101901234","0101901234":true,"nested":{"who":["x 311299-1234"]},"code":"Z9Q8-ACT-CODE"}}`, nil)
	// A login decision with a CPR in a free-text request field and header.
	req, _ := json.Marshal(pdp.LoginRequest{Subject: subj("alice", cvrA), Service: "svc 0202901234"})
	e.send("/v1/decisions/login", req, map[string]string{"X-Request-ID": "req-0303901234"})

	logged := e.declog.String()
	for _, leak := range []string{"0101901234", "1212901234", "311299-1234", "0202901234", "0303901234", "Z9Q8-ACT-CODE"} {
		if strings.Contains(logged, leak) {
			t.Errorf("decision log contains %q", leak)
		}
	}
	for _, want := range []string{`"p_number":"` + pA2 + `"`, `"p_number":"` + pA1 + `"`, `"p_number":"1000000001"`,
		`"code":"unknown_user"`, `"cvr":"010190-****"`, `"legacy_id":"121290-****"`, `"010190-****":true`,
		`"svc 020290-****"`, "req-030390-****"} {
		if !strings.Contains(logged, want) {
			t.Errorf("decision log lacks %s:\n%s", want, logged)
		}
	}
	if strings.Contains(logged, "100000-****") {
		t.Errorf("a P-number was masked as a CPR number:\n%s", logged)
	}
}
