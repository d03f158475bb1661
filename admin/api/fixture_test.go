package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/adgang/adgang/admin"
	"github.com/adgang/adgang/admin/api"
	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

// Fixture organisations. CVRs and SE-numbers pass modulus-11.
const (
	cvrA = "12345674" // institution: the callers' own org
	cvrB = "55133018" // a-kasse: the other org
	pA1  = "1000000001"
	pA2  = "1000000002"
	pB1  = "2000000001"
	seA  = "29190003"

	eks = "eksamensdatabasen.view"
)

// Fixture administrators: org A has one of each role, org B an org-admin
// and an LBA.
var (
	oaA = "00000000-0000-4000-8000-00000000a001" // org-admin of A (mitid_erhverv.org_admin)
	uaA = "00000000-0000-4000-8000-00000000a002" // user-admin of A (mitid_erhverv.user_admin)
	auA = "00000000-0000-4000-8000-00000000a003" // auditor of A (adgang.auditor)
	fnA = "00000000-0000-4000-8000-00000000a004" // function certificate user of A
	oaB = "00000000-0000-4000-8000-00000000b001" // org-admin of B
	uaB = "00000000-0000-4000-8000-00000000b002" // LBA of B (amp.lba)
)

// env is a running admin API over a seeded store and the real policies.
type env struct {
	t      testing.TB
	st     *store.Store
	eng    *pdp.Engine
	srv    *admin.Service
	h      http.Handler // the admin API in front of srv
	ts     *httptest.Server
	logs   *syncBuffer
	tokens map[string]string // caller name → bearer token
	userOf map[string]string // caller name → its user id
	seq    atomic.Int64
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func mustUpdate(t testing.TB, st *store.Store, fn func(tx *store.Tx) error) uint64 {
	t.Helper()
	rev, err := st.Update(context.Background(), "test", fn)
	if err != nil {
		t.Fatalf("store update: %v", err)
	}
	return rev
}

func seed(t testing.TB, st *store.Store) {
	t.Helper()
	mustUpdate(t, st, func(tx *store.Tx) error {
		for _, o := range []*store.Org{
			{CVR: cvrA, Name: "Gymnasium A", Type: store.OrgInstitution,
				PUnits: []store.PUnit{{PNumber: pA1}, {PNumber: pA2}}, SENumbers: []string{seA},
				Settings: store.OrgSettings{AllowKnock: true, Deletion: store.DeletionAllowed}},
			{CVR: cvrB, Name: "A-kasse B", Type: store.OrgAKasse, PUnits: []store.PUnit{{PNumber: pB1}},
				Settings: store.OrgSettings{Deletion: store.DeletionAllowed}},
		} {
			if err := tx.CreateOrg(o); err != nil {
				return err
			}
		}
		for _, a := range []struct{ id, org, right string }{
			{oaA, cvrA, "mitid_erhverv.org_admin"}, {uaA, cvrA, "mitid_erhverv.user_admin"},
			{auA, cvrA, "adgang.auditor"}, {oaB, cvrB, "mitid_erhverv.org_admin"}, {uaB, cvrB, "amp.lba"},
		} {
			if err := tx.CreateUser(&store.User{ID: a.id, Org: a.org, Name: "admin " + a.id[len(a.id)-4:],
				Email: a.id[len(a.id)-4:] + "@admin.example.dk", Kind: store.KindEmployee, Status: store.StatusActive}); err != nil {
				return err
			}
			if err := tx.CreateGrant(&store.Grant{ID: uuid.NewString(), Right: a.right, HolderType: store.HolderUser,
				HolderID: a.id, Org: a.org, Scope: store.Scope{Type: store.ScopeCVR, Value: a.org}, GrantedBy: "test"}); err != nil {
				return err
			}
		}
		return tx.CreateUser(&store.User{ID: fnA, Org: cvrA, Name: "Function A", Kind: store.KindFunction, Status: store.StatusActive})
	})
}

// putTokenRecord stores a token directly (documented format: hex SHA-256
// of the plaintext), e.g. one that has already expired.
// hashOf is the stored hash of a token's plaintext.
func hashOf(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(sum[:])
}

func putTokenRecord(t testing.TB, st *store.Store, userID string, superadmin bool, expires *time.Time) string {
	t.Helper()
	plain := "adg_test_" + uuid.NewString()
	mustUpdate(t, st, func(tx *store.Tx) error {
		return tx.PutToken(&store.Token{ID: uuid.NewString(), Hash: hashOf(plain), UserID: userID,
			Superadmin: superadmin, CreatedAt: tx.Now(), ExpiresAt: expires})
	})
	return plain
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t)
	seed(t, st)
	e := &env{t: t, st: st, logs: &syncBuffer{}, tokens: map[string]string{}, userOf: map[string]string{}}
	eng, err := pdp.New(ctx, st, pdp.Config{Logger: zerolog.New(e.logs), DecisionLog: e.logs})
	if err != nil {
		t.Fatalf("pdp.New: %v", err)
	}
	e.eng = eng
	t.Cleanup(func() { eng.Close() })

	mk := func(name, userID string, superadmin bool) {
		_, plain, err := admin.CreateToken(ctx, st, "test", userID, superadmin, nil)
		if err != nil {
			t.Fatalf("token %s: %v", name, err)
		}
		e.tokens[name], e.userOf[name] = plain, userID
	}
	mk("superadmin", "", true)
	mk("org-admin", oaA, false)
	mk("user-admin", uaA, false)
	mk("auditor", auA, false)
	mk("org-admin-B", oaB, false)
	mk("user-admin-B", uaB, false)
	past := time.Now().Add(-time.Minute)
	e.tokens["expired"] = putTokenRecord(t, st, "", true, &past)
	e.tokens["none"] = ""

	srv, err := admin.New(ctx, admin.Config{Store: st, Engine: eng, Logger: zerolog.New(e.logs)})
	if err != nil {
		t.Fatalf("admin.New: %v", err)
	}
	e.srv = srv
	e.h = handlerOf(srv, eng, zerolog.New(e.logs))
	e.ts = httptest.NewServer(e.h)
	t.Cleanup(func() { e.ts.Close(); srv.Close() })
	return e
}

// resp is an answer of the admin API.
type resp struct {
	status int
	raw    []byte
	body   map[string]any
}

func (r resp) errCode() string { return str(dig(r.body, "error", "code")) }
func (r resp) errRule() string { return str(dig(r.body, "error", "rule")) }

func (r resp) String() string { return fmt.Sprintf("%d %s", r.status, r.raw) }

// do sends a request as caller (a name in e.tokens, or a raw token
// prefixed "raw:").
func (e *env) do(caller, method, path string, body any) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	tok := e.tokens[caller]
	if raw, ok := strings.CutPrefix(caller, "raw:"); ok {
		tok = raw
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{status: res.StatusCode, raw: raw}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func str(v any) string { s, _ := v.(string); return s }

// --- objects made directly in the store for one test cell ---

func (e *env) n() int64 { return e.seq.Add(1) }

// newUser stores a fresh active employee of org and returns its id.
func (e *env) newUser(org string, mut ...func(*store.User)) string {
	e.t.Helper()
	id := uuid.NewString()
	p := pA1
	if org == cvrB {
		p = pB1
	}
	u := &store.User{ID: id, Org: org, Name: fmt.Sprintf("User %d", e.n()), Email: id[:8] + "@example.dk",
		Kind: store.KindEmployee, Status: store.StatusActive, PNumber: p, CPRLinked: true}
	for _, m := range mut {
		m(u)
	}
	mustUpdate(e.t, e.st, func(tx *store.Tx) error { return tx.CreateUser(u) })
	return id
}

func (e *env) newGrant(holderType, holder, org, right string, scope store.Scope) string {
	e.t.Helper()
	id := uuid.NewString()
	mustUpdate(e.t, e.st, func(tx *store.Tx) error {
		return tx.CreateGrant(&store.Grant{ID: id, Right: right, HolderType: holderType, HolderID: holder, Org: org,
			Scope: scope, GrantedBy: "test"})
	})
	return id
}

func (e *env) newGroup(org string, members ...string) string {
	e.t.Helper()
	id := uuid.NewString()
	mustUpdate(e.t, e.st, func(tx *store.Tx) error {
		if err := tx.CreateGroup(&store.Group{ID: id, Org: org, Name: fmt.Sprintf("Group %d", e.n()), Kind: store.GroupCustom}); err != nil {
			return err
		}
		for _, m := range members {
			if err := tx.AddMember(id, m); err != nil {
				return err
			}
		}
		return nil
	})
	return id
}

func (e *env) newKnock(org string) string {
	e.t.Helper()
	id, subject := uuid.NewString(), uuid.NewString()
	now := time.Now()
	mustUpdate(e.t, e.st, func(tx *store.Tx) error {
		return tx.PutKnock(&store.Knock{ID: id, Org: org, SubjectID: subject, UUID: subject,
			Name: fmt.Sprintf("Knocker %d", e.n()), First: now, Last: now, Count: 1})
	})
	return id
}

func (e *env) newToken(userID string) string {
	e.t.Helper()
	id, _, err := admin.CreateToken(context.Background(), e.st, "test", userID, userID == "", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// snapshot is the store's revision and whole audit log.
type snapshot struct {
	rev    uint64
	events []store.AuditEvent
}

func (e *env) snap() snapshot {
	e.t.Helper()
	var s snapshot
	if err := e.st.View(context.Background(), func(tx *store.Tx) error {
		s.rev = e.st.Revision()
		var err error
		s.events, err = tx.AuditSince(0)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// unchanged fails the test when the store changed since before.
func (e *env) unchanged(t *testing.T, before snapshot) {
	t.Helper()
	after := e.snap()
	if after.rev != before.rev || !reflect.DeepEqual(after.events, before.events) {
		t.Errorf("store changed: revision %d → %d, %d → %d audit events", before.rev, after.rev, len(before.events), len(after.events))
	}
}

// waitFor polls cond for up to 10 s (the change feed is asynchronous).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// freshCVR returns a valid CVR number not used before in this test.
func (e *env) freshCVR() string {
	for {
		c := storetest.ValidCVR(30000000 + int(e.n())*13)
		var exists bool
		_ = e.st.View(context.Background(), func(tx *store.Tx) error {
			_, err := tx.GetOrg(c)
			exists = err == nil
			return nil
		})
		if !exists {
			return c
		}
	}
}

// timeIn is the RFC 3339 time ms milliseconds from now.
func timeIn(ms int) string {
	return time.Now().Add(time.Duration(ms) * time.Millisecond).UTC().Format(time.RFC3339Nano)
}

type storeTx = store.Tx

// handlerOf is the admin API in front of srv, logging to log and counting
// on the engine's registry, as cmd/adgang wires it.
func handlerOf(srv *admin.Service, eng *pdp.Engine, log zerolog.Logger) http.Handler {
	return api.New(srv, api.Config{Logger: log, Registry: eng.Registry()}).Handler()
}
