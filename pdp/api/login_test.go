package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/pdp/api"
	"github.com/adgang/adgang/store"
)

// TestLoginRules drives every D rule through the HTTP API, allowed and
// refused, and asserts the reasons.
func TestLoginRules(t *testing.T) {
	e := newEnv(t, pdp.Config{})
	withP := func(s pdp.Subject, p string) pdp.Subject { s.PNumber = p; return s }
	noCPR := func(s pdp.Subject) pdp.Subject { s.CPRLinked = false; return s }
	kind := func(s pdp.Subject, k string) pdp.Subject { s.Kind = k; return s }
	pw := func(s pdp.Subject) pdp.Subject { s.AuthMethod = "password"; return s }
	cert := func(s pdp.Subject, serial string) pdp.Subject {
		s.AuthMethod = "certificate"
		s.CertificateSerial = serial
		return s
	}

	tests := []struct {
		name      string
		req       pdp.LoginRequest
		allow     bool
		want      []string // code/rule that must be among the reasons
		notWant   []string
		scopeAll  *bool
		scopeP    []string
		rightsLen *int // nil: not checked
	}{
		{name: "D1 allowed with a direct P grant", req: pdp.LoginRequest{Subject: subj("alice", cvrA), Service: "eksamensdatabasen"},
			allow: true, scopeP: []string{pA1}, scopeAll: ptr(false), rightsLen: ptr(1)},
		{name: "D1 no grant for the service", req: pdp.LoginRequest{Subject: subj("alice", cvrA), Service: "amp"},
			want: []string{"no_grant/D1"}, rightsLen: ptr(0)},
		{name: "D1 asked right not held", req: pdp.LoginRequest{Subject: subj("ida", cvrB), Service: "amp", Right: "amp.lba"},
			want: []string{"no_grant/D1"}},
		{name: "D2 unknown user", req: pdp.LoginRequest{Subject: subj("unknown", cvrA), Service: "eksamensdatabasen"},
			want: []string{"unknown_user/D2"}},
		{name: "D2 user of another org", req: pdp.LoginRequest{Subject: subj("alice", cvrB), Service: "eksamensdatabasen"},
			want: []string{"unknown_user/D2"}},
		{name: "D2 legacy RID id allowed", req: pdp.LoginRequest{Subject: pdp.Subject{ID: olgaLegacy, CVR: cvrB, Kind: "employee", CPRLinked: true}, Service: "amp"},
			allow: true},
		{name: "D3 inactive user", req: pdp.LoginRequest{Subject: subj("frank", cvrA), Service: "eksamensdatabasen"},
			want: []string{"user_inactive/D3"}},
		{name: "D3 deactivated user", req: pdp.LoginRequest{Subject: subj("gina", cvrA), Service: "eksamensdatabasen"},
			want: []string{"user_inactive/D3"}},
		{name: "D4 private person refused", req: pdp.LoginRequest{Subject: kind(subj("karen", cvrA), "private"), Service: "eksamensdatabasen", Right: eks},
			want: []string{"not_employee/D4"}},
		{name: "D4 employee allowed", req: pdp.LoginRequest{Subject: subj("bob", cvrA), Service: "eksamensdatabasen", Right: eks},
			allow: true, notWant: []string{"not_employee/D4"}},
		{name: "D5 no linked CPR", req: pdp.LoginRequest{Subject: noCPR(subj("alice", cvrA)), Service: "eksamensdatabasen", Right: eks},
			want: []string{"cpr_not_linked/D5"}},
		{name: "D5 right without require_cpr allows without CPR", req: pdp.LoginRequest{Subject: noCPR(subj("ida", cvrB)), Service: "amp", Right: "amp.sagsbehandler"},
			allow: true},
		{name: "D6 unknown org", req: pdp.LoginRequest{Subject: subj("alice", cvrNew), Service: "eksamensdatabasen"},
			want: []string{"org_mismatch/D6"}},
		{name: "D6 P-number of another org", req: pdp.LoginRequest{Subject: withP(subj("alice", cvrA), pB1), Service: "eksamensdatabasen"},
			want: []string{"org_mismatch/D6"}},
		{name: "D6 own P-number allowed", req: pdp.LoginRequest{Subject: withP(subj("alice", cvrA), pA1), Service: "eksamensdatabasen"},
			allow: true},
		{name: "D7 group grant on no_group right ignored", req: pdp.LoginRequest{Subject: subj("carol", cvrA), Service: "eksamensdatabasen", Right: eks},
			want: []string{"grant_via_group/D7", "no_grant/D1"}},
		{name: "D7 group grant on an ordinary right allowed", req: pdp.LoginRequest{Subject: subj("pia", cvrA), Service: "imi", Right: "imi.case_worker"},
			allow: true, scopeP: []string{pA2}},
		{name: "D8 SE grant on no_se right ignored", req: pdp.LoginRequest{Subject: subj("dave", cvrA), Service: "eksamensdatabasen", Right: eks},
			want: []string{"grant_on_se/D8", "no_grant/D1"}},
		{name: "D8 SE grant on an ordinary right allowed", req: pdp.LoginRequest{Subject: subj("dave", cvrA), Service: "imi", Right: "imi.case_worker"},
			allow: true, notWant: []string{"grant_on_se/D8"}},
		{name: "D10 ordinary right of the service allowed", req: pdp.LoginRequest{Subject: subj("ida", cvrB), Service: "amp", Right: "amp.sagsbehandler"},
			allow: true, notWant: []string{"deprecated_right/D10"}},
		{name: "D3 active user allowed", req: pdp.LoginRequest{Subject: subj("erin", cvrA), Service: "eksamensdatabasen"},
			allow: true, notWant: []string{"user_inactive/D3"}},
		{name: "D9 forbidden LSS asked for", req: pdp.LoginRequest{Subject: subj("ida", cvrB), Service: "amp", Right: "amp.lss"},
			want: []string{"forbidden_right/D9"}},
		{name: "D9 forbidden Webservice asked for", req: pdp.LoginRequest{Subject: subj("ida", cvrB), Service: "amp", Right: "amp.webservice"},
			want: []string{"forbidden_right/D9"}},
		{name: "D9 forbidden grants reported while another right allows", req: pdp.LoginRequest{Subject: subj("ida", cvrB), Service: "amp"},
			allow: true, want: []string{"forbidden_right/D9"}, rightsLen: ptr(1)},
		{name: "D10 deprecated right gives nothing", req: pdp.LoginRequest{Subject: subj("jens", cvrB), Service: "amp"},
			want: []string{"deprecated_right/D10", "no_grant/D1"}},
		{name: "D11 CVR grant overrides P grant", req: pdp.LoginRequest{Subject: subj("bob", cvrA), Service: "eksamensdatabasen", Right: eks},
			allow: true, want: []string{"cvr_overrides_p/D11"}, scopeAll: ptr(true), scopeP: []string{pA1, pA2}},
		{name: "D11 two P grants add up", req: pdp.LoginRequest{Subject: subj("erin", cvrA), Service: "eksamensdatabasen", Right: eks},
			allow: true, scopeAll: ptr(false), scopeP: []string{pA1, pA2}, notWant: []string{"cvr_overrides_p/D11"}},
		{name: "D12 target P-unit outside scope", req: pdp.LoginRequest{Subject: subj("alice", cvrA), Service: "eksamensdatabasen", PNumber: pA2},
			want: []string{"outside_scope/D12"}},
		{name: "D12 target P-unit inside scope", req: pdp.LoginRequest{Subject: subj("alice", cvrA), Service: "eksamensdatabasen", PNumber: pA1},
			allow: true},
		{name: "D12 CVR scope covers every P-unit", req: pdp.LoginRequest{Subject: subj("bob", cvrA), Service: "eksamensdatabasen", PNumber: pA2},
			allow: true},
		{name: "D13 expired grant ignored", req: pdp.LoginRequest{Subject: subj("henrik", cvrA), Service: "eksamensdatabasen"},
			want: []string{"grant_expired/D13", "no_grant/D1"}},
		{name: "D13 grant expiring later still counts", req: pdp.LoginRequest{Subject: subj("alice", cvrA), Service: "eksamensdatabasen", Right: eks},
			allow: true, notWant: []string{"grant_expired/D13"}},
		{name: "D14 revoked certificate", req: pdp.LoginRequest{Subject: cert(subj("alice", cvrA), "REVOKED-1"), Service: "eksamensdatabasen"},
			want: []string{"certificate_revoked/D14"}},
		{name: "D14 issued certificate allowed", req: pdp.LoginRequest{Subject: cert(subj("alice", cvrA), "ISSUED-1"), Service: "eksamensdatabasen"},
			allow: true},
		{name: "D15 temporary password", req: pdp.LoginRequest{Subject: pw(subj("lars", cvrA)), Service: "imi"},
			want: []string{"password_change_required/D15"}},
		{name: "D15 expired password", req: pdp.LoginRequest{Subject: pw(subj("mette", cvrA)), Service: "imi"},
			want: []string{"password_change_required/D15"}},
		{name: "D15 valid password allowed", req: pdp.LoginRequest{Subject: pw(subj("nils", cvrA)), Service: "imi"},
			allow: true},
		{name: "D15 only applies to password logins", req: pdp.LoginRequest{Subject: subj("lars", cvrA), Service: "imi"},
			allow: true},
		{name: "function certificate user may log in", req: pdp.LoginRequest{Subject: noCPR(kind(subj("function", cvrA), "function")), Service: "imi"},
			allow: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, status := e.login(tc.req)
			if status != http.StatusOK {
				t.Fatalf("status %d", status)
			}
			if d.Allow != tc.allow {
				t.Fatalf("allow = %v, want %v; reasons %+v", d.Allow, tc.allow, d.Reasons)
			}
			got := codes(d)
			for _, w := range tc.want {
				if !got[w] {
					t.Errorf("reason %s missing; got %v", w, got)
				}
			}
			for _, w := range tc.notWant {
				if got[w] {
					t.Errorf("reason %s present; got %v", w, got)
				}
			}
			if d.DecisionID == "" || d.Revision == 0 {
				t.Errorf("decision_id %q revision %d", d.DecisionID, d.Revision)
			}
			if tc.allow && len(d.Rights) == 0 {
				t.Errorf("allowed without rights")
			}
			if tc.scopeAll != nil || tc.scopeP != nil {
				var sc *pdp.Scope
				for i := range d.Rights {
					if tc.req.Right == "" || d.Rights[i].Right == tc.req.Right {
						sc = &d.Rights[i].Scope
						break
					}
				}
				if sc == nil {
					t.Fatalf("no scope in %+v", d.Rights)
				}
				if tc.scopeAll != nil && sc.All != *tc.scopeAll {
					t.Errorf("scope.all = %v", sc.All)
				}
				if tc.scopeP != nil && !slices.Equal(sc.PNumbers, tc.scopeP) {
					t.Errorf("scope.p_numbers = %v, want %v", sc.PNumbers, tc.scopeP)
				}
			}
			if tc.rightsLen != nil && len(d.Rights) != *tc.rightsLen {
				t.Errorf("rights = %+v, want %d", d.Rights, *tc.rightsLen)
			}
			if !tc.allow && len(d.Rights) != 0 {
				t.Errorf("a deny has rights %+v", d.Rights)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestLoginBadInput: malformed requests get a 4xx JSON error, never a decision.
func TestLoginBadInput(t *testing.T) {
	e := newEnv(t, pdp.Config{})
	tests := []struct {
		name string
		body string
		want int
	}{
		{"not JSON", `{`, http.StatusBadRequest},
		{"unknown field", `{"subject":{"id":"` + uid["alice"] + `","cvr":"` + cvrA + `"},"service":"x","p_nummer":"1"}`, http.StatusBadRequest},
		{"bad CVR checksum", `{"subject":{"id":"` + uid["alice"] + `","cvr":"12345678"},"service":"x"}`, http.StatusBadRequest},
		{"bad subject id", `{"subject":{"id":"alice","cvr":"` + cvrA + `"},"service":"x"}`, http.StatusBadRequest},
		{"bad kind", `{"subject":{"id":"` + uid["alice"] + `","cvr":"` + cvrA + `","kind":"robot"},"service":"x"}`, http.StatusBadRequest},
		{"missing service", `{"subject":{"id":"` + uid["alice"] + `","cvr":"` + cvrA + `"}}`, http.StatusBadRequest},
		{"bad target P", `{"subject":{"id":"` + uid["alice"] + `","cvr":"` + cvrA + `"},"service":"x","p_number":"12"}`, http.StatusBadRequest},
		{"trailing data", `{"subject":{"id":"` + uid["alice"] + `","cvr":"` + cvrA + `"},"service":"x"} {}`, http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body api.ErrorBody
			if got := e.post("/v1/decisions/login", tc.body, &body); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
			if body.Error.Code == "" || body.Error.Message == "" {
				t.Fatalf("error body %+v", body)
			}
		})
	}
}

// TestKnockQueue: an unknown employee of an org that allows knocks is
// queued (once, with a count); other orgs and private persons are not.
func TestKnockQueue(t *testing.T) {
	e := newEnv(t, pdp.Config{})
	s := subj("unknown", cvrA)
	s.Name, s.Email = "Ukendt Medarbejder", "ukendt@example.dk"
	for range 3 {
		if d, _ := e.login(pdp.LoginRequest{Subject: s, Service: "eksamensdatabasen"}); d.Allow {
			t.Fatal("unknown user allowed")
		}
	}
	sb := subj("unknown", cvrB) // org B does not allow knocks
	e.login(pdp.LoginRequest{Subject: sb, Service: "amp"})

	var knocks []*store.Knock
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		_ = e.st.View(context.Background(), func(tx *store.Tx) error {
			var err error
			knocks, err = tx.ListKnocks(cvrA)
			return err
		})
		if len(knocks) == 1 && knocks[0].Count == 3 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(knocks) != 1 || knocks[0].Count != 3 || knocks[0].UUID != uid["unknown"] || knocks[0].Email != s.Email {
		t.Fatalf("knocks in A = %+v", knocks)
	}
	_ = e.st.View(context.Background(), func(tx *store.Tx) error {
		kb, _ := tx.ListKnocks(cvrB)
		if len(kb) != 0 {
			t.Errorf("knock recorded for an org that does not allow it: %+v", kb)
		}
		return nil
	})
}

// TestDecisionLogMasksCPR: no CPR number reaches the decision log, even
// when a client puts one into a Data API input.
func TestDecisionLogMasksCPR(t *testing.T) {
	e := newEnv(t, pdp.Config{})
	e.login(pdp.LoginRequest{Subject: subj("alice", cvrA), Service: "eksamensdatabasen"})
	var out map[string]any
	e.post("/v1/data/adgang/lib", `{"input":{"note":"borger 0101901234","cpr":"010190-1234","password":"Hemmelig1"}}`, &out)
	logged := e.declog.String()
	if !strings.Contains(logged, `"decision_id"`) || !strings.Contains(logged, uid["alice"]) {
		t.Fatalf("decision log lacks the login decision: %s", logged)
	}
	for _, leak := range []string{"0101901234", "010190-1234", "Hemmelig1"} {
		if strings.Contains(logged, leak) {
			t.Errorf("decision log contains %q: %s", leak, logged)
		}
	}
	if !strings.Contains(logged, "010190-****") {
		t.Errorf("decision log does not show the masked form: %s", logged)
	}
}

// TestDecisionCacheHonoursTime: a cached allow is not served past the
// expiry of a grant it relied on, even though no write happened.
func TestDecisionCacheHonoursTime(t *testing.T) {
	var mu sync.Mutex
	clock := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	e := newEnv(t, pdp.Config{Now: now})
	// Both deadlines fall inside the cache's 5-minute safety bound, so only
	// the policy's valid_until_ns can make the cache let go in time.
	exp := clock.Add(3 * time.Minute)
	_, err := e.st.Update(context.Background(), "test", func(tx *store.Tx) error {
		if err := tx.CreateGrant(&store.Grant{ID: "00000000-0000-4000-b000-0000000000e1", Right: "imi.case_worker",
			HolderType: store.HolderUser, HolderID: uid["alice"], Org: cvrA,
			Scope: store.Scope{Type: store.ScopeCVR, Value: cvrA}, ExpiresAt: &exp}); err != nil {
			return err
		}
		u, err := tx.GetUser(uid["bob"])
		if err != nil {
			return err
		}
		// A local password that reaches its 180-day limit in 2 minutes (D15).
		u.Password = &store.Password{Hash: "x", ChangedAt: clock.Add(-180*24*time.Hour + 2*time.Minute)}
		return tx.UpdateUser(u)
	})
	if err != nil {
		t.Fatal(err)
	}
	grantReq := pdp.LoginRequest{Subject: subj("alice", cvrA), Service: "imi"}
	pwSubject := subj("bob", cvrA)
	pwSubject.AuthMethod = "password"
	pwReq := pdp.LoginRequest{Subject: pwSubject, Service: "eksamensdatabasen"}
	for _, req := range []pdp.LoginRequest{grantReq, pwReq} {
		first, _ := e.login(req)
		second, _ := e.login(req)
		if !first.Allow || !second.Allow || first.DecisionID == second.DecisionID {
			t.Fatalf("%s before its deadline: %v %v ids %s %s %+v", req.Subject.ID, first.Allow, second.Allow,
				first.DecisionID, second.DecisionID, first.Reasons)
		}
	}
	advance(150 * time.Second) // past the password's limit, before the grant's expiry
	if d, _ := e.login(pwReq); d.Allow || !codes(d)["password_change_required/D15"] {
		t.Fatalf("after the password limit: allow=%v reasons %+v", d.Allow, d.Reasons)
	}
	if d, _ := e.login(grantReq); !d.Allow {
		t.Fatalf("grant denied before its expiry: %+v", d.Reasons)
	}
	advance(31 * time.Second) // past the grant's expiry
	if d, _ := e.login(grantReq); d.Allow || !codes(d)["grant_expired/D13"] {
		t.Fatalf("after expiry: allow=%v reasons %+v", d.Allow, d.Reasons)
	}
}
