package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/adgang/adgang/pdp"
)

// reasonList is a decision's reasons as code/rule, in answer order.
func reasonList(d pdp.Decision) []string {
	out := make([]string, len(d.Reasons))
	for i, r := range d.Reasons {
		out[i] = r.Code + "/" + r.Rule
	}
	return out
}

// TestLoginReasonsOrderedByCause (issue 18 point 4, SPEC §8): reasons
// list the denying ones first in the order D6, D2, D3, D14, D15, D4, D5,
// D9, D10, D12, D1, then the ignored grants (D7, D8, D13), then
// information (D11) — not alphabetically.
func TestLoginReasonsOrderedByCause(t *testing.T) {
	e := newEnv(t, pdp.Config{})
	private := subj("karen", cvrA)
	private.Kind, private.CPRLinked = "private", false
	for _, tc := range []struct {
		name string
		req  pdp.LoginRequest
		want []string
	}{
		{"unknown user: D2 before D1", pdp.LoginRequest{Subject: subj("unknown", cvrA), Service: "eksamensdatabasen"},
			[]string{"unknown_user/D2", "no_grant/D1"}},
		{"unknown org: D6 first", pdp.LoginRequest{Subject: subj("alice", cvrNew), Service: "eksamensdatabasen"},
			[]string{"org_mismatch/D6", "unknown_user/D2", "no_grant/D1"}},
		{"inactive: D3 before D1", pdp.LoginRequest{Subject: subj("frank", cvrA), Service: "amp"},
			[]string{"user_inactive/D3", "no_grant/D1"}},
		{"private without CPR: D4 before D5", pdp.LoginRequest{Subject: private, Service: "eksamensdatabasen", Right: eks},
			[]string{"not_employee/D4", "cpr_not_linked/D5"}},
		{"group grant ignored: D1 before D7", pdp.LoginRequest{Subject: subj("carol", cvrA), Service: "eksamensdatabasen", Right: eks},
			[]string{"no_grant/D1", "grant_via_group/D7"}},
		{"SE grant ignored: D1 before D8", pdp.LoginRequest{Subject: subj("dave", cvrA), Service: "eksamensdatabasen", Right: eks},
			[]string{"no_grant/D1", "grant_on_se/D8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, code := e.login(tc.req)
			if code != http.StatusOK || d.Allow {
				t.Fatalf("status %d allow %v", code, d.Allow)
			}
			if got := reasonList(d); !slices.Equal(got, tc.want) {
				t.Fatalf("reasons %v, want %v", got, tc.want)
			}
		})
	}
}

// TestMetricsReasonIsTheCause: the metrics label reason is the first
// denying reason by cause: five unknown-user logins count as
// unknown_user, none as no_grant.
func TestMetricsReasonIsTheCause(t *testing.T) {
	e := newEnv(t, pdp.Config{})
	for range 5 {
		s := pdp.Subject{ID: uuid.NewString(), CVR: cvrB, Kind: "employee", CPRLinked: true}
		if d, code := e.login(pdp.LoginRequest{Subject: s, Service: "amp"}); code != http.StatusOK || d.Allow {
			t.Fatalf("status %d allow %v", code, d.Allow)
		}
	}
	resp, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var unknown, noGrant string
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "adgang_decisions_total{") || !strings.Contains(line, `result="deny"`) {
			continue
		}
		switch {
		case strings.Contains(line, `reason="unknown_user"`):
			unknown = line
		case strings.Contains(line, `reason="no_grant"`):
			noGrant = line
		}
	}
	if !strings.HasSuffix(unknown, " 5") || noGrant != "" {
		t.Fatalf("unknown_user series %q, no_grant series %q\n%s", unknown, noGrant, raw)
	}
}

// TestLoginKnockAnswer (SPEC §8): a D2 denial carries knock:{queued}; it
// is queued for an unknown employee of an org that allows knocks, not for
// a private person, an org without knocks or an id that is a user of
// another org; any other denial has no knock field.
func TestLoginKnockAnswer(t *testing.T) {
	e := newEnv(t, pdp.Config{})
	private := pdp.Subject{ID: uuid.NewString(), CVR: cvrA, Kind: "private", CPRLinked: true}
	for _, tc := range []struct {
		name   string
		req    pdp.LoginRequest
		queued *bool // nil: no knock field
	}{
		{"unknown employee, org allows knocks", pdp.LoginRequest{Subject: pdp.Subject{ID: uuid.NewString(), CVR: cvrA, Kind: "employee", CPRLinked: true}, Service: "eksamensdatabasen"}, ptr(true)},
		{"unknown private person", pdp.LoginRequest{Subject: private, Service: "eksamensdatabasen"}, ptr(false)},
		{"org without knocks", pdp.LoginRequest{Subject: pdp.Subject{ID: uuid.NewString(), CVR: cvrB, Kind: "employee", CPRLinked: true}, Service: "amp"}, ptr(false)},
		{"UUID of a user of another org", pdp.LoginRequest{Subject: subj("ida", cvrA), Service: "eksamensdatabasen"}, ptr(false)},
		{"not a D2 denial", pdp.LoginRequest{Subject: subj("frank", cvrA), Service: "eksamensdatabasen"}, nil},
		{"allowed", pdp.LoginRequest{Subject: subj("alice", cvrA), Service: "eksamensdatabasen"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var raw map[string]any
			if code := e.post("/v1/decisions/login", tc.req, &raw); code != http.StatusOK {
				t.Fatalf("status %d", code)
			}
			k, has := raw["knock"].(map[string]any)
			if tc.queued == nil {
				if _, present := raw["knock"]; present {
					t.Fatalf("knock field on a non-D2 answer: %v", raw)
				}
				return
			}
			if !has || k["queued"] != *tc.queued {
				t.Fatalf("knock %v, want queued %v (%v)", raw["knock"], *tc.queued, raw)
			}
		})
	}
	// Only the unknown employee's knock is in the queue: none for the
	// UUID that belongs to org B.
	ks := e.knocksAfterFlush(cvrA)
	if len(ks) != 1 || ks[0].SubjectID == uid["ida"] {
		t.Fatalf("knocks of org A: %+v", ks)
	}
}

// TestLoginScopeSENumbersNeverNull: a right's scope always has
// se_numbers, [] when empty, like p_numbers.
func TestLoginScopeSENumbersNeverNull(t *testing.T) {
	e := newEnv(t, pdp.Config{})
	raw, err := json.Marshal(pdp.LoginRequest{Subject: subj("alice", cvrA), Service: "eksamensdatabasen"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(e.srv.URL+"/v1/decisions/login", "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `"p_numbers":["`+pA1+`"],"se_numbers":[]`) {
		t.Fatalf("answer %s", body)
	}
}
