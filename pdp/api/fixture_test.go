package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/adgang/adgang/admin"
	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/pdp/api"
	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

// Fixture identities. CVRs and SE-numbers pass modulus-11.
const (
	cvrA   = "12345674" // institution, allows knocks
	cvrB   = "55133018" // a-kasse, no knocks
	cvrNew = "12345682" // valid, not stored
	pA1    = "1000000001"
	pA2    = "1000000002"
	pB1    = "2000000001"
	seA    = "29190003"

	eks = "eksamensdatabasen.view"
)

// users: name → id
var uid = map[string]string{
	"alice":    "00000000-0000-4000-8000-000000000001", // P-grant on pA1
	"bob":      "00000000-0000-4000-8000-000000000002", // CVR grant + P grant (D11)
	"carol":    "00000000-0000-4000-8000-000000000003", // grant only via custom group (D7)
	"dave":     "00000000-0000-4000-8000-000000000004", // grant only on SE (D8)
	"erin":     "00000000-0000-4000-8000-000000000005", // two P grants add up
	"frank":    "00000000-0000-4000-8000-000000000006", // inactive (D3)
	"gina":     "00000000-0000-4000-8000-000000000007", // deactivated (D3)
	"henrik":   "00000000-0000-4000-8000-000000000008", // expired grant (D13)
	"ida":      "00000000-0000-4000-8000-000000000009", // org B: lss + webservice + sagsbehandler (D9)
	"jens":     "00000000-0000-4000-8000-00000000000a", // org B: deprecated right only (D10)
	"karen":    "00000000-0000-4000-8000-00000000000b", // private person (D4)
	"lars":     "00000000-0000-4000-8000-00000000000c", // temporary password (D15)
	"mette":    "00000000-0000-4000-8000-00000000000d", // password changed long ago (D15)
	"nils":     "00000000-0000-4000-8000-00000000000e", // valid password login
	"olga":     "00000000-0000-4000-8000-00000000000f", // org B, legacy RID id, sagsbehandler
	"pia":      "00000000-0000-4000-8000-000000000010", // group grant on non-no_group right (allowed)
	"unknown":  "00000000-0000-4000-8000-0000000000ff", // not stored (D2)
	"function": "00000000-0000-4000-8000-000000000011", // function certificate user with a grant
}

const olgaLegacy = "CVR:55133018-RID:1234567890"

// env is a running decision service over a seeded store.
type env struct {
	t      *testing.T
	st     *store.Store
	eng    *pdp.Engine
	srv    *httptest.Server
	declog *syncWriter
	now    time.Time
}

func seed(t testing.TB, st *store.Store, now time.Time) {
	t.Helper()
	past := now.Add(-time.Hour)
	_, err := st.Update(context.Background(), "test", func(tx *store.Tx) error {
		for _, o := range []*store.Org{
			{CVR: cvrA, Name: "Gymnasium A", Type: store.OrgInstitution,
				PUnits: []store.PUnit{{PNumber: pA1}, {PNumber: pA2}}, SENumbers: []string{seA},
				Settings: store.OrgSettings{AllowKnock: true}},
			{CVR: cvrB, Name: "A-kasse B", Type: store.OrgAKasse, PUnits: []store.PUnit{{PNumber: pB1}},
				Settings: store.OrgSettings{Deletion: store.DeletionInactivateOnly}},
		} {
			if err := tx.CreateOrg(o); err != nil {
				return err
			}
		}
		mk := func(name, org string, mut func(*store.User)) error {
			u := &store.User{ID: uid[name], Org: org, Name: name, Email: name + "@example.dk",
				Kind: store.KindEmployee, CPRLinked: true, Status: store.StatusActive, PNumber: pA1}
			if org == cvrB {
				u.PNumber = pB1
			}
			if mut != nil {
				mut(u)
			}
			return tx.CreateUser(u)
		}
		type us struct {
			name, org string
			mut       func(*store.User)
		}
		for _, u := range []us{
			{"alice", cvrA, nil}, {"bob", cvrA, nil}, {"carol", cvrA, nil}, {"dave", cvrA, nil},
			{"erin", cvrA, nil},
			{"frank", cvrA, func(u *store.User) { u.Status = store.StatusInactive }},
			{"gina", cvrA, func(u *store.User) { u.Status = store.StatusDeactivated }},
			{"henrik", cvrA, nil}, {"ida", cvrB, nil}, {"jens", cvrB, nil},
			{"karen", cvrA, func(u *store.User) { u.Kind = store.KindPrivate }},
			{"lars", cvrA, func(u *store.User) {
				u.Username = "lars"
				u.Password = &store.Password{Hash: "x", ChangedAt: past, Temporary: true}
			}},
			{"mette", cvrA, func(u *store.User) {
				u.Username = "mette"
				u.Password = &store.Password{Hash: "x", ChangedAt: now.AddDate(0, 0, -181)}
			}},
			{"nils", cvrA, func(u *store.User) {
				u.Username = "nils"
				u.Password = &store.Password{Hash: "x", ChangedAt: now.AddDate(0, 0, -10)}
			}},
			{"olga", cvrB, func(u *store.User) { u.LegacyID = olgaLegacy }},
			{"pia", cvrA, nil},
			{"function", cvrA, func(u *store.User) { u.Kind = store.KindFunction; u.CPRLinked = false }},
		} {
			if err := mk(u.name, u.org, u.mut); err != nil {
				return err
			}
		}
		grp := &store.Group{ID: "00000000-0000-4000-9000-000000000001", Org: cvrA, Name: "Eksamen", Kind: store.GroupCustom}
		if err := tx.CreateGroup(grp); err != nil {
			return err
		}
		for _, m := range []string{"carol", "pia"} {
			if err := tx.AddMember(grp.ID, uid[m]); err != nil {
				return err
			}
		}
		n := 0
		grant := func(right, holderType, holder, org, st, sv string, exp *time.Time) error {
			n++
			return tx.CreateGrant(&store.Grant{
				ID: "00000000-0000-4000-a000-" + leftPad(n), Right: right, HolderType: holderType,
				HolderID: holder, Org: org, Scope: store.Scope{Type: st, Value: sv}, GrantedBy: "test",
				GrantedAt: past, ExpiresAt: exp})
		}
		u := store.HolderUser
		expired := now.Add(-time.Minute)
		later := now.Add(24 * time.Hour)
		for _, g := range []error{
			grant(eks, u, uid["alice"], cvrA, store.ScopeP, pA1, &later),
			grant(eks, u, uid["bob"], cvrA, store.ScopeCVR, cvrA, nil),
			grant(eks, u, uid["bob"], cvrA, store.ScopeP, pA1, nil),
			grant(eks, store.HolderGroup, grp.ID, cvrA, store.ScopeCVR, cvrA, nil),
			grant(eks, u, uid["dave"], cvrA, store.ScopeSE, seA, nil),
			grant("imi.case_worker", u, uid["dave"], cvrA, store.ScopeSE, seA, nil),
			grant(eks, u, uid["erin"], cvrA, store.ScopeP, pA1, nil),
			grant(eks, u, uid["erin"], cvrA, store.ScopeP, pA2, nil),
			grant(eks, u, uid["frank"], cvrA, store.ScopeCVR, cvrA, nil),
			grant(eks, u, uid["gina"], cvrA, store.ScopeCVR, cvrA, nil),
			grant(eks, u, uid["henrik"], cvrA, store.ScopeCVR, cvrA, &expired),
			grant("amp.lss", u, uid["ida"], cvrB, store.ScopeCVR, cvrB, nil),
			grant("amp.webservice", u, uid["ida"], cvrB, store.ScopeCVR, cvrB, nil),
			grant("amp.sagsbehandler", u, uid["ida"], cvrB, store.ScopeCVR, cvrB, nil),
			grant("amp.jobnet_jobordrer", u, uid["jens"], cvrB, store.ScopeCVR, cvrB, nil),
			grant(eks, u, uid["karen"], cvrA, store.ScopeCVR, cvrA, nil),
			grant("imi.case_worker", u, uid["lars"], cvrA, store.ScopeCVR, cvrA, nil),
			grant("imi.case_worker", u, uid["mette"], cvrA, store.ScopeCVR, cvrA, nil),
			grant("imi.case_worker", u, uid["nils"], cvrA, store.ScopeCVR, cvrA, nil),
			grant("amp.sagsbehandler", u, uid["olga"], cvrB, store.ScopeCVR, cvrB, nil),
			grant("imi.case_worker", store.HolderGroup, grp.ID, cvrA, store.ScopeP, pA2, nil),
			grant("imi.case_worker", u, uid["function"], cvrA, store.ScopeCVR, cvrA, nil),
		} {
			if g != nil {
				return g
			}
		}
		if err := tx.PutCertificate(&store.Certificate{Serial: "REVOKED-1", Org: cvrA, UserID: uid["alice"],
			Type: "user", Status: store.CertRevoked}); err != nil {
			return err
		}
		return tx.PutCertificate(&store.Certificate{Serial: "ISSUED-1", Org: cvrA, UserID: uid["alice"],
			Type: "user", Status: store.CertIssued})
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
}

func leftPad(n int) string {
	s := "000000000000" + itoa(n)
	return s[len(s)-12:]
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func newEnv(t *testing.T, cfg pdp.Config) *env {
	t.Helper()
	st := storetest.Open(t)
	return newEnvWithStore(t, st, cfg)
}

func newEnvWithStore(t *testing.T, st *store.Store, cfg pdp.Config) *env {
	t.Helper()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	seed(t, st, now)
	e := &env{t: t, st: st, declog: &syncWriter{}, now: now}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return now }
	}
	if cfg.DecisionLog == nil {
		cfg.DecisionLog = e.declog
	}
	eng, err := pdp.New(context.Background(), st, cfg)
	if err != nil {
		t.Fatalf("pdp.New: %v", err)
	}
	e.eng = eng
	e.srv = httptest.NewServer(handler(eng, st))
	t.Cleanup(func() { e.srv.Close(); eng.Close() })
	return e
}

// post sends a JSON body and decodes the JSON answer into out.
func (e *env) post(path string, body any, out any) int {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case string:
		rd = bytes.NewBufferString(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	resp, err := http.Post(e.srv.URL+path, "application/json", rd)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("POST %s: status %d, body %q: %v", path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

func (e *env) login(req pdp.LoginRequest) (pdp.Decision, int) {
	e.t.Helper()
	var d pdp.Decision
	code := e.post("/v1/decisions/login", req, &d)
	return d, code
}

func subj(name, cvr string) pdp.Subject {
	return pdp.Subject{ID: uid[name], CVR: cvr, Kind: "employee", CPRLinked: true}
}

func codes(d pdp.Decision) map[string]bool {
	m := map[string]bool{}
	for _, r := range d.Reasons {
		m[r.Code+"/"+r.Rule] = true
	}
	return m
}

type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// handler is the decision listener over eng as cmd wires it, with the
// change service's password login.
func handler(eng *pdp.Engine, st *store.Store) http.Handler {
	return api.New(eng, api.Options{Passwords: admin.NewPasswordLogin(eng, st)}).Handler()
}
