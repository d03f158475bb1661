package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/adgang/adgang/store"
)

// TestCPRNeverLeaks: a user created with a CPR number is answered, listed,
// searched, dry-run, refused and audited without the number anywhere —
// not in any answer, not in the captured logs, not in the audit log.
func TestCPRNeverLeaks(t *testing.T) {
	e := newEnv(t)
	const cpr, cprDash = "0101901234", "010190-1234"
	const badCPR = "3213909876" // no such date
	var answers []string
	keep := func(r resp) resp { answers = append(answers, string(r.raw)); return r }

	r := keep(e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/users", map[string]any{"name": "Carl CPR", "cpr": cprDash, "p_number": pA1}))
	if r.status != http.StatusCreated {
		t.Fatalf("create: %s", r)
	}
	id := str(dig(r.body, "user", "id"))
	if got := str(dig(r.body, "user", "cpr")); got != "010190-****" {
		t.Errorf("masked CPR %q", got)
	}
	if dig(r.body, "user", "cpr_linked") != true {
		t.Error("cpr_linked not set")
	}
	keep(e.do("user-admin", "GET", "/v1/users/"+id, nil))
	keep(e.do("user-admin", "GET", "/v1/orgs/"+cvrA+"/users?q="+cpr, nil))
	keep(e.do("auditor", "GET", "/v1/users/"+id+"/history", nil))
	keep(e.do("auditor", "GET", "/v1/orgs/"+cvrA+"/audit", nil))
	// The same number again (either form) is a duplicate (A12) that does
	// not repeat it.
	r = keep(e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/users", map[string]any{"name": "Twin", "cpr": cpr}))
	if r.status != http.StatusConflict || r.errRule() != "A12" {
		t.Errorf("duplicate CPR: %s", r)
	}
	for _, body := range []any{
		map[string]any{"name": "Bad", "cpr": badCPR},
		map[string]any{"name": "Bad", "cpr": 3213909876},
		`{"name": "Bad", "cpr": "` + badCPR + `", "status": "active"}`,
		`{"name": "Bad", "cpr": "` + badCPR + `"`,
	} {
		r = keep(e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/users", body))
		if r.status != http.StatusBadRequest {
			t.Errorf("bad CPR body %v: %s", body, r)
		}
	}
	keep(e.do("user-admin", "PATCH", "/v1/users/"+id, map[string]any{"cpr": badCPR}))
	keep(e.do("user-admin", "PATCH", "/v1/users/"+id, map[string]any{"cpr": cpr, "anonymous": true}))
	keep(e.do("user-admin", "POST", "/v1/policy/check", map[string]any{"action": "user.create", "cvr": cvrA, "name": "Dry", "cpr": "020202-4321"}))
	keep(e.do("user-admin", "POST", "/v1/policy/check", map[string]any{"action": "user.update", "user_id": id, "cpr": badCPR}))
	e.eng.Close() // flush the decision service's background writers

	var audit []store.AuditEvent
	_ = e.st.View(context.Background(), func(tx *store.Tx) error {
		var err error
		audit, err = tx.AuditSince(0)
		if err != nil {
			t.Fatal(err)
		}
		u, err := tx.GetUser(id)
		if err != nil {
			t.Fatal(err)
		}
		if u.CPRHash == "" || u.CPRHash == cpr || u.CPRHash != e.st.HashCPR(cpr) {
			t.Error("the stored CPR is not the keyed hash")
		}
		return nil
	})
	rawAudit, _ := json.Marshal(audit)
	for name, text := range map[string]string{"answers": strings.Join(answers, "\n"), "logs": e.logs.String(), "audit": string(rawAudit)} {
		for _, n := range []string{cpr, cprDash, badCPR, "020202-4321", "0202024321", "3213909876"} {
			if strings.Contains(text, n) {
				t.Errorf("%s contain a CPR number %s", name, n)
			}
		}
	}
	if !strings.Contains(e.logs.String(), "admin request") {
		t.Error("the captured log has no request lines: is the logger wired?")
	}
}

// TestBadInput: unknown and read-only fields and malformed identifiers
// answer 400 and change nothing.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	u := e.newUser(cvrA)
	cases := []struct {
		name, method, path string
		body               any
	}{
		{"unknown field", "POST", "/v1/orgs/" + cvrA + "/users", map[string]any{"name": "X", "shoe_size": 44}},
		{"status on create", "POST", "/v1/orgs/" + cvrA + "/users", map[string]any{"name": "X", "status": "active"}},
		{"revision on create", "POST", "/v1/orgs/" + cvrA + "/users", map[string]any{"name": "X", "revision": 1}},
		{"no name", "POST", "/v1/orgs/" + cvrA + "/users", map[string]any{"email": "x@example.dk"}},
		{"bad email", "POST", "/v1/orgs/" + cvrA + "/users", map[string]any{"name": "X", "email": "Foo <x@example.dk>"}},
		{"bad uuid", "POST", "/v1/orgs/" + cvrA + "/users", map[string]any{"name": "X", "id": "123"}},
		{"bad legacy id", "POST", "/v1/orgs/" + cvrA + "/users", map[string]any{"name": "X", "legacy_id": "RID:1"}},
		{"bad P-number", "POST", "/v1/orgs/" + cvrA + "/users", map[string]any{"name": "X", "p_number": "12"}},
		{"bad SE-number", "POST", "/v1/orgs/" + cvrA + "/users", map[string]any{"name": "X", "se_number": "12345678"}},
		{"bad kind", "POST", "/v1/orgs/" + cvrA + "/users", map[string]any{"name": "X", "kind": "robot"}},
		{"bad birth date", "POST", "/v1/orgs/" + cvrA + "/users", map[string]any{"name": "X", "birth_date": "1990-13-01"}},
		{"bad CVR in path", "POST", "/v1/orgs/12345678/users", map[string]any{"name": "X"}},
		{"id on PATCH", "PATCH", "/v1/users/" + u, map[string]any{"id": u}},
		{"status on PATCH", "PATCH", "/v1/users/" + u, map[string]any{"status": "active"}},
		{"revision on PATCH", "PATCH", "/v1/users/" + u, map[string]any{"revision": 3}},
		{"empty PATCH", "PATCH", "/v1/users/" + u, map[string]any{}},
		{"bad user id", "GET", "/v1/users/not-a-uuid", nil},
		{"trailing data", "PATCH", "/v1/users/" + u, `{"name": "X"} {}`},
		{"grant without scope", "POST", "/v1/users/" + u + "/grants", map[string]any{"right": "amp.sagsbehandler"}},
		{"grant bad scope type", "POST", "/v1/users/" + u + "/grants", map[string]any{"right": "amp.sagsbehandler", "scope": map[string]any{"type": "kommune", "value": "1"}}},
		{"grant unknown right", "POST", "/v1/users/" + u + "/grants", map[string]any{"right": "nope.nope", "scope": map[string]any{"type": "cvr", "value": cvrA}}},
		{"grant expired", "POST", "/v1/users/" + u + "/grants", map[string]any{"right": "amp.sagsbehandler", "scope": map[string]any{"type": "cvr", "value": cvrA}, "expires_at": "2001-01-01T00:00:00Z"}},
		{"until on inactivate", "POST", "/v1/users/" + u + "/inactivate", map[string]any{"until": "2099-01-01T00:00:00Z"}},
		{"until in the past", "POST", "/v1/users/" + u + "/deactivate", map[string]any{"until": "2001-01-01T00:00:00Z"}},
		{"cvr on org PATCH", "PATCH", "/v1/orgs/" + cvrA, map[string]any{"cvr": cvrB}},
		{"bad deletion setting", "PATCH", "/v1/orgs/" + cvrA, map[string]any{"settings": map[string]any{"deletion": "sometimes"}}},
		{"bad org type", "POST", "/v1/orgs", map[string]any{"cvr": e.freshCVR(), "name": "X", "type": "club"}},
		{"bad group id", "GET", "/v1/groups/sys-12", nil},
		{"bad page token", "GET", "/v1/orgs/" + cvrA + "/users?page_token=!!", nil},
		{"bad status filter", "GET", "/v1/orgs/" + cvrA + "/users?status=sleeping", nil},
		{"bad history date", "GET", "/v1/users/" + u + "/history?from=yesterday", nil},
		{"dry run unknown action", "POST", "/v1/policy/check", map[string]any{"action": "user.explode", "user_id": u}},
		{"dry run unknown field", "POST", "/v1/policy/check", map[string]any{"action": "user.update", "user_id": u, "shoe_size": 1}},
		{"dry run without object", "POST", "/v1/policy/check", map[string]any{"action": "user.update", "name": "X"}},
		{"admin role superadmin on a right", "PUT", "/v1/rights/x.y", map[string]any{"title": "X", "service": "x", "admin_role": "superadmin"}},
		{"required body absent", "POST", "/v1/orgs/" + cvrA + "/groups", nil},
		{"field on a route without fields", "POST", "/v1/users/" + u + "/confirm", `{"x":1}`},
		{"optional body malformed", "POST", "/v1/users/" + u + "/inactivate", `{`},
		{"certificate issue body malformed", "POST", "/v1/certificates/nosuch/issue", `{`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.snap()
			r := e.do("superadmin", c.method, c.path, c.body)
			if r.status != http.StatusBadRequest || r.errCode() != "invalid" {
				t.Fatalf("got %s, want 400 invalid", r)
			}
			e.unchanged(t, before)
		})
	}
}

// TestUsersAndKnocks covers search, pagination, knock acceptance and the
// history filters.
func TestUsersAndKnocks(t *testing.T) {
	e := newEnv(t)
	ids := map[string]bool{}
	for i := 0; i < 7; i++ {
		ids[e.newUser(cvrA, func(u *store.User) { u.Name = "Pagineret " + u.Name })] = true
	}
	inactive := e.newUser(cvrA, func(u *store.User) { u.Name = "Pagineret sover"; u.Status = store.StatusInactive })
	seen := map[string]bool{}
	token := ""
	for pages := 0; ; pages++ {
		r := e.do("auditor", "GET", "/v1/orgs/"+cvrA+"/users?q=pagineret&limit=3&page_token="+token, nil)
		if r.status != http.StatusOK || pages > 5 {
			t.Fatalf("page %d: %s", pages, r)
		}
		for _, u := range r.body["users"].([]any) {
			seen[str(dig(u, "id"))] = true
		}
		if token = str(r.body["next_page_token"]); token == "" {
			break
		}
	}
	if len(seen) != 7 || seen[inactive] {
		t.Errorf("paged search found %d users (inactive included: %v)", len(seen), seen[inactive])
	}
	r := e.do("auditor", "GET", "/v1/orgs/"+cvrA+"/users?status=inactive&q=pagineret", nil)
	if us := r.body["users"].([]any); len(us) != 1 || str(dig(us[0], "id")) != inactive {
		t.Errorf("status=inactive: %s", r)
	}
	r = e.do("auditor", "GET", "/v1/orgs/"+cvrA+"/users?role=org-admin", nil)
	if us := r.body["users"].([]any); len(us) != 1 || str(dig(us[0], "id")) != oaA {
		t.Errorf("role=org-admin: %s", r)
	}
	r = e.do("auditor", "GET", "/v1/orgs/"+cvrA+"/users?email="+oaA[len(oaA)-4:]+"@ADMIN.example.dk", nil)
	if us := r.body["users"].([]any); len(us) != 1 {
		t.Errorf("email: %s", r)
	}
	legacy := e.newUser(cvrA, func(u *store.User) { u.LegacyID = "CVR:" + cvrA + "-RID:777" })
	r = e.do("auditor", "GET", "/v1/orgs/"+cvrA+"/users?rid=777", nil)
	if us := r.body["users"].([]any); len(us) != 1 || str(dig(us[0], "id")) != legacy {
		t.Errorf("rid: %s", r)
	}

	// Accepting a knock creates the user from it and removes the knock.
	k := e.newKnock(cvrA)
	var knock store.Knock
	_ = e.st.View(context.Background(), func(tx *store.Tx) error {
		kk, err := tx.GetKnock(k)
		if err == nil {
			knock = *kk
		}
		return err
	})
	r = e.do("user-admin", "POST", "/v1/knocks/"+k+"/accept", map[string]any{"email": "knocker@example.dk"})
	if r.status != http.StatusCreated || str(dig(r.body, "user", "id")) != knock.UUID || str(dig(r.body, "user", "source")) != "knock" ||
		str(dig(r.body, "user", "name")) != knock.Name || str(dig(r.body, "user", "email")) != "knocker@example.dk" {
		t.Fatalf("accept: %s", r)
	}
	if r := e.do("user-admin", "GET", "/v1/orgs/"+cvrA+"/knocks", nil); len(r.body["knocks"].([]any)) != 0 {
		t.Errorf("knock left: %s", r)
	}
	// A bulk delete naming another org's knock deletes nothing.
	mine, theirs := e.newKnock(cvrA), e.newKnock(cvrB)
	before := e.snap()
	if r := e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/knocks:delete", map[string]any{"ids": []string{mine, theirs}}); r.status != http.StatusNotFound {
		t.Errorf("bulk delete across orgs: %s", r)
	}
	e.unchanged(t, before)

	// History: types and dates filter; a deleted user's history stays
	// readable in its org.
	u := e.newUser(cvrA)
	e.do("user-admin", "PATCH", "/v1/users/"+u, map[string]any{"phone": "1"})
	e.do("user-admin", "POST", "/v1/users/"+u+"/inactivate", nil)
	r = e.do("auditor", "GET", "/v1/users/"+u+"/history?type=user.inactivate", nil)
	if evs := r.body["events"].([]any); len(evs) != 1 || dig(evs[0], "details", "to") != "inactive" {
		t.Errorf("history by type: %s", r)
	}
	r = e.do("auditor", "GET", "/v1/users/"+u+"/history?to=2001-01-01", nil)
	if evs := r.body["events"].([]any); len(evs) != 0 {
		t.Errorf("history before 2001: %s", r)
	}
	e.do("user-admin", "DELETE", "/v1/users/"+u, nil)
	r = e.do("auditor", "GET", "/v1/users/"+u+"/history", nil)
	if evs, _ := r.body["events"].([]any); r.status != http.StatusOK || len(evs) < 4 {
		t.Errorf("deleted user's history: %s", r)
	}
	if r := e.do("org-admin-B", "GET", "/v1/users/"+u+"/history", nil); r.status != http.StatusNotFound {
		t.Errorf("another org reads a deleted user's history: %s", r)
	}

	// The dry run of an allowed change answers allow and stores nothing.
	before = e.snap()
	r = e.do("user-admin", "POST", "/v1/policy/check", map[string]any{"action": "grant.create", "user_id": legacy,
		"right": "amp.sagsbehandler", "scope": map[string]any{"type": "p", "value": pA2}})
	if r.status != http.StatusOK || r.body["allow"] != true || str(r.body["policy"]) == "" {
		t.Errorf("dry run: %s", r)
	}
	e.unchanged(t, before)
}

// TestCloseStopsFeed: Close returns, and is idempotent.
func TestCloseStopsFeed(t *testing.T) {
	e := newEnv(t)
	done := make(chan struct{})
	go func() { _ = e.srv.Close(); _ = e.srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs")
	}
}
