package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/pdp/api"
	"github.com/adgang/adgang/store"
)

type searchAnswer struct {
	Page struct {
		NextToken *string `json:"next_token"`
		Count     int     `json:"count"`
	} `json:"page"`
	Results []map[string]any `json:"results"`
}

// searchAll follows next_token through every page of a search and
// returns the results in order.
func (e *env) searchAll(kind string, body map[string]any, limit int) []map[string]any {
	e.t.Helper()
	var all []map[string]any
	token := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			e.t.Fatal("search paging does not end")
		}
		page := map[string]any{"limit": limit}
		if token != "" {
			page["token"] = token
		}
		body["page"] = page
		var out searchAnswer
		if status := e.post("/access/v1/search/"+kind, body, &out); status != http.StatusOK {
			e.t.Fatalf("search %s %v: status %d", kind, body, status)
		}
		if out.Page.NextToken == nil {
			e.t.Fatalf("search %s: the answer has no page.next_token", kind)
		}
		if len(out.Results) > limit || out.Page.Count != len(out.Results) {
			e.t.Fatalf("search %s: %d results (count %d) on a page of %d", kind, len(out.Results), out.Page.Count, limit)
		}
		all = append(all, out.Results...)
		if token = *out.Page.NextToken; token == "" {
			return all
		}
	}
}

func ids(results []map[string]any, field string) []string {
	out := []string{}
	for _, r := range results {
		out = append(out, r[field].(string))
	}
	return out
}

// loginAllows is the ground truth: the login decision for the stored
// user, asked as the user itself would be.
func (e *env) loginAllows(u *store.User, unitType, unit, right string) bool {
	e.t.Helper()
	req := pdp.LoginRequest{Subject: pdp.Subject{ID: u.ID, CVR: u.Org, Kind: string(u.Kind), CPRLinked: u.CPRLinked}, Right: right}
	if unitType == "p_unit" {
		req.PNumber = unit
	} else if unit != u.Org {
		return false
	}
	d, status := e.login(req)
	if status != http.StatusOK {
		e.t.Fatalf("login %+v: %d", req, status)
	}
	if !d.Allow {
		return false
	}
	if unitType == "p_unit" {
		return true
	}
	for _, rs := range d.Rights {
		if rs.Right == right && rs.Scope.All && rs.Scope.CVR == unit {
			return true
		}
	}
	return false
}

// TestAuthZENSearchAgreesWithLogin is the access-review scenario: who
// holds right R on unit U, which units does user X hold R on, which rights
// does X hold on U. For every user, unit and right of the fixture the
// searches answer exactly what /v1/decisions/login allows (D1–D14: group
// grants of no_group rights, SE grants, expired grants, inactive and
// private users, forbidden and deprecated rights), paged one result at a
// time and all at once; the evaluation endpoint agrees with both.
func TestAuthZENSearchAgreesWithLogin(t *testing.T) {
	e := newEnv(t, pdp.Config{CacheSize: -1})
	var users []*store.User
	var rights []*store.Right
	if err := e.st.View(context.Background(), func(tx *store.Tx) error {
		var err error
		if rights, err = tx.ListRights(); err != nil {
			return err
		}
		return tx.EachUser(func(u *store.User) error { users = append(users, u); return nil })
	}); err != nil {
		t.Fatal(err)
	}
	units := []struct{ typ, id string }{{"org", cvrA}, {"org", cvrB}, {"p_unit", pA1}, {"p_unit", pA2}, {"p_unit", pB1}}

	// Known answers of the fixture, so the cross-check cannot pass empty.
	who := func(unitType, unit, right string) []string {
		return ids(e.searchAll("subject", map[string]any{"subject": map[string]any{"type": "user"},
			"resource": map[string]any{"type": unitType, "id": unit}, "action": map[string]any{"name": right}}, 100), "id")
	}
	if got := who("org", cvrA, eks); !equal(got, []string{uid["bob"]}) {
		t.Errorf("who holds %s on org A = %v, want bob only (carol's is via a group, D7; dave's on SE, D8; henrik's expired, D13; frank and gina inactive, D3; karen private, D4)", eks, got)
	}
	if got := who("p_unit", pA1, eks); !equal(got, sorted(uid["alice"], uid["bob"], uid["erin"])) {
		t.Errorf("who holds %s on %s = %v, want alice, bob, erin", eks, pA1, got)
	}
	if got := who("p_unit", pA2, "imi.case_worker"); !containsAll(got, uid["carol"], uid["pia"], uid["nils"]) || contains(got, uid["dave"]) {
		t.Errorf("who holds imi.case_worker on %s = %v: want the group's members and the CVR holders, not dave (SE only)", pA2, got)
	}

	for _, unit := range units {
		for _, r := range rights {
			var want []string
			for _, u := range users {
				if e.loginAllows(u, unit.typ, unit.id, r.ID) {
					want = append(want, u.ID)
				}
			}
			sort.Strings(want)
			body := map[string]any{"subject": map[string]any{"type": "user"},
				"resource": map[string]any{"type": unit.typ, "id": unit.id}, "action": map[string]any{"name": r.ID}}
			if got := ids(e.searchAll("subject", body, 1), "id"); !equal(got, nonNilS(want)) {
				t.Errorf("subject search %s %s/%s, one per page = %v, login allows %v", r.ID, unit.typ, unit.id, got, want)
			}
			if got := ids(e.searchAll("subject", body, 1000), "id"); !equal(got, nonNilS(want)) {
				t.Errorf("subject search %s %s/%s = %v, login allows %v", r.ID, unit.typ, unit.id, got, want)
			}
		}
	}
	for _, u := range users {
		for _, unitType := range []string{"org", "p_unit"} {
			for _, r := range rights {
				var want []string
				for _, unit := range units {
					if unit.typ == unitType && e.loginAllows(u, unit.typ, unit.id, r.ID) {
						want = append(want, unit.id)
					}
				}
				body := map[string]any{"subject": map[string]any{"type": "user", "id": u.ID},
					"resource": map[string]any{"type": unitType}, "action": map[string]any{"name": r.ID}}
				if got := ids(e.searchAll("resource", body, 1), "id"); !equal(got, nonNilS(want)) {
					t.Errorf("resource search %s %s %s = %v, login allows %v", u.Name, unitType, r.ID, got, want)
				}
			}
		}
		for _, unit := range units {
			var want []string
			for _, r := range rights {
				allowed := e.loginAllows(u, unit.typ, unit.id, r.ID)
				if allowed {
					want = append(want, r.ID)
				}
				var ev pdp.AZResponse
				e.post("/access/v1/evaluation", map[string]any{"subject": map[string]any{"type": "user", "id": u.ID},
					"resource": map[string]any{"type": unit.typ, "id": unit.id}, "action": map[string]any{"name": r.ID}}, &ev)
				if ev.Decision != allowed {
					t.Errorf("evaluation %s %s/%s %s = %v, login %v", u.Name, unit.typ, unit.id, r.ID, ev.Decision, allowed)
				}
			}
			sort.Strings(want)
			body := map[string]any{"subject": map[string]any{"type": "user", "id": u.ID},
				"resource": map[string]any{"type": unit.typ, "id": unit.id}}
			if got := ids(e.searchAll("action", body, 2), "name"); !equal(got, nonNilS(want)) {
				t.Errorf("action search %s %s/%s = %v, login allows %v", u.Name, unit.typ, unit.id, got, want)
			}
		}
	}
}

// TestAuthZENSearchPaging: a token only continues the search it came
// from; a changed request or a forged token is 400; limit is bounded.
func TestAuthZENSearchPaging(t *testing.T) {
	e := newEnv(t, pdp.Config{})
	body := map[string]any{"subject": map[string]any{"type": "user"},
		"resource": map[string]any{"type": "p_unit", "id": pA1}, "action": map[string]any{"name": eks}, "page": map[string]any{"limit": 1}}
	var first searchAnswer
	if status := e.post("/access/v1/search/subject", body, &first); status != 200 || first.Page.NextToken == nil || *first.Page.NextToken == "" {
		t.Fatalf("first page: %d %+v", status, first)
	}
	tok := *first.Page.NextToken
	body["action"] = map[string]any{"name": "imi.case_worker"}
	body["page"] = map[string]any{"limit": 1, "token": tok}
	if status := e.post("/access/v1/search/subject", body, nil); status != http.StatusBadRequest {
		t.Errorf("token with a changed action: %d, want 400", status)
	}
	body["action"] = map[string]any{"name": eks}
	body["page"] = map[string]any{"limit": 1, "token": "not-a-token"}
	if status := e.post("/access/v1/search/subject", body, nil); status != http.StatusBadRequest {
		t.Errorf("forged token: %d, want 400", status)
	}
	body["page"] = map[string]any{"limit": 1001}
	if status := e.post("/access/v1/search/subject", body, nil); status != http.StatusBadRequest {
		t.Errorf("limit 1001: %d, want 400", status)
	}
}

// TestAuthZENConformance: the fixes found by reading AuthZEN 1.0 beside
// our answers — unknown fields ignored (§11.1.1, with the spec's own
// options example), missing required attributes 400, X-Request-ID echoed,
// evaluations semantics, search endpoints in the metadata.
func TestAuthZENConformance(t *testing.T) {
	e := newEnv(t, pdp.Config{})
	bob := map[string]any{"type": "user", "id": uid["bob"]}
	org := map[string]any{"type": "org", "id": cvrA}

	// The spec's options example (§7.1.2): another_option is unknown and
	// must be ignored; its one item lacks an action, so that item alone is
	// an error (decision false), not the whole request.
	var batch struct {
		Evaluations []pdp.AZResponse `json:"evaluations"`
	}
	spec := `{"evaluations":[{"resource":{"type":"doc","id":"1"},"subject":{"type":"doc","id":"2"}}],
		"options":{"evaluations_semantic":"execute_all","another_option":"value"}}`
	if status := e.post("/access/v1/evaluations", spec, &batch); status != 200 || len(batch.Evaluations) != 1 || batch.Evaluations[0].Decision {
		t.Errorf("spec options example: %d %+v", status, batch)
	}
	unknown := map[string]any{"subject": bob, "resource": org, "action": map[string]any{"name": eks}, "x_vendor": 1,
		"context": map[string]any{"time": "2026-01-01T00:00:00Z"}}
	var one pdp.AZResponse
	if status := e.post("/access/v1/evaluation", unknown, &one); status != 200 || !one.Decision {
		t.Errorf("unknown top-level field: %d %+v, want 200 allow (bob holds %s on the whole org)", status, one, eks)
	}

	for name, body := range map[string]map[string]any{
		"subject.type": {"subject": map[string]any{"id": uid["bob"]}, "resource": org, "action": map[string]any{"name": eks}},
		"subject.id":   {"subject": map[string]any{"type": "user"}, "resource": org, "action": map[string]any{"name": eks}},
		"resource.id":  {"subject": bob, "resource": map[string]any{"type": "org"}, "action": map[string]any{"name": eks}},
		"action.name":  {"subject": bob, "resource": org, "action": map[string]any{}},
		"action":       {"subject": bob, "resource": org},
	} {
		for _, path := range []string{"/access/v1/evaluation", "/access/v1/evaluations"} {
			var er api.ErrorBody
			if status := e.post(path, body, &er); status != http.StatusBadRequest || !strings.Contains(er.Error.Message, name) {
				t.Errorf("%s without %s: %d %+v, want 400 naming it", path, name, status, er)
			}
		}
	}
	for kind, body := range map[string]map[string]any{
		"subject":  {"subject": map[string]any{}, "resource": org, "action": map[string]any{"name": eks}},
		"resource": {"subject": bob, "resource": map[string]any{"id": cvrA}, "action": map[string]any{"name": eks}},
		"action":   {"subject": bob, "action": map[string]any{"name": eks}},
	} {
		if status := e.post("/access/v1/search/"+kind, body, nil); status != http.StatusBadRequest {
			t.Errorf("%s search without a required attribute: %d, want 400", kind, status)
		}
	}

	// X-Request-ID on a search answer.
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/access/v1/search/action",
		strings.NewReader(`{"subject":{"type":"user","id":"`+uid["bob"]+`"},"resource":{"type":"org","id":"`+cvrA+`"}}`))
	req.Header.Set("X-Request-ID", "bfe9eb29-ab87-4ca3-be83-a1d5d8305716")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Request-ID") != "bfe9eb29-ab87-4ca3-be83-a1d5d8305716" {
		t.Errorf("search: %d, X-Request-ID %q", resp.StatusCode, resp.Header.Get("X-Request-ID"))
	}

	// Semantics over the store mapping: alice holds eks on pA1 only.
	items := func(semantic string) []pdp.AZResponse {
		var out struct {
			Evaluations []pdp.AZResponse `json:"evaluations"`
		}
		e.post("/access/v1/evaluations", map[string]any{"subject": map[string]any{"type": "user", "id": uid["alice"]},
			"action": map[string]any{"name": eks}, "options": map[string]any{"evaluations_semantic": semantic},
			"evaluations": []any{
				map[string]any{"resource": map[string]any{"type": "p_unit", "id": pA2}},
				map[string]any{"resource": map[string]any{"type": "p_unit", "id": pA1}},
				map[string]any{"resource": map[string]any{"type": "org", "id": cvrA}},
			}}, &out)
		return out.Evaluations
	}
	for semantic, want := range map[string][]bool{
		"execute_all": {false, true, false}, "deny_on_first_deny": {false}, "permit_on_first_permit": {false, true},
	} {
		got := items(semantic)
		var gotB []bool
		for _, g := range got {
			gotB = append(gotB, g.Decision)
		}
		if jsonOf(gotB) != jsonOf(want) {
			t.Errorf("%s = %v, want %v", semantic, gotB, want)
		}
	}

	// Discovery lists the searches.
	resp, err = http.Get(e.srv.URL + "/.well-known/authzen-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	for _, kind := range []string{"subject", "resource", "action"} {
		if meta["search_"+kind+"_endpoint"] != e.srv.URL+"/access/v1/search/"+kind {
			t.Errorf("metadata search_%s_endpoint = %q", kind, meta["search_"+kind+"_endpoint"])
		}
	}
}

// TestAuthZENSearchSpecExamples: the spec's search examples (§8.4–8.6,
// pagination §8.3.3) against a policy's own search rules; an undefined
// rule is 404 and missing from the metadata.
func TestAuthZENSearchSpecExamples(t *testing.T) {
	extra := t.TempDir()
	if err := os.WriteFile(filepath.Join(extra, "todo.rego"), []byte(`package todo

import rego.v1

default decision := false

decision if input.action.name == "can_read"

subject_search contains {"type": input.subject.type, "id": id} if {
	input.action.name == "can_read"
	input.resource.id == "123"
	some id in ["bob@example.com", "alice@example.com"]
}

resource_search := [{"type": input.resource.type, "id": id} | some id in ["789", "456", "123", "456"]] if {
	input.subject.id == "alice@example.com"
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, pdp.Config{Policies: pdp.Source{Extra: []string{extra}}, AuthZENEntrypoint: "todo/decision"})

	// §8.4.2 subject search example and its response, members in the
	// spec's order (clients compare serialised entities).
	resp, err := http.Post(e.srv.URL+"/access/v1/search/subject", "application/json", strings.NewReader(`{"subject":{"type":"user"},
		"action":{"name":"can_read"},"resource":{"type":"account","id":"123"},"context":{"time":"2024-10-26T01:22-07:00"}}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `"results":[{"type":"user","id":"alice@example.com"},{"type":"user","id":"bob@example.com"}]`; resp.StatusCode != 200 || !strings.Contains(string(raw), want) {
		t.Errorf("subject search: %d %s, want %s", resp.StatusCode, raw, want)
	}
	// §8.3.3 pagination example: three accounts, limit 2.
	body := map[string]any{"subject": map[string]any{"type": "user", "id": "alice@example.com"},
		"action": map[string]any{"name": "can_read"}, "resource": map[string]any{"type": "account"}}
	if got := jsonOf(e.searchAll("resource", body, 2)); got != `[{"id":"123","type":"account"},{"id":"456","type":"account"},{"id":"789","type":"account"}]` {
		t.Errorf("resource search pages = %s", got)
	}
	// No action_search rule: 404, and not in the metadata.
	var er api.ErrorBody
	if status := e.post("/access/v1/search/action", `{"subject":{"type":"user","id":"alice@example.com"},
		"resource":{"type":"account","id":"123"}}`, &er); status != http.StatusNotFound {
		t.Errorf("undefined action_search: %d %+v, want 404", status, er)
	}
	resp, err = http.Get(e.srv.URL + "/.well-known/authzen-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	if _, ok := meta["search_action_endpoint"]; ok || meta["search_subject_endpoint"] == nil || meta["search_resource_endpoint"] == nil {
		t.Errorf("metadata = %v: want subject and resource search, not action", meta)
	}
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

func equal(a, b []string) bool { return jsonOf(a) == jsonOf(b) }

func sorted(s ...string) []string { sort.Strings(s); return s }

func nonNilS(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func containsAll(s []string, vs ...string) bool {
	for _, v := range vs {
		if !contains(s, v) {
			return false
		}
	}
	return true
}

// TestAuthZENSearchIsNoLogin: confirming search results evaluates the
// login decision, but a search is not the user logging in: no last-login
// time is recorded for the users it finds (L1 counts days without login).
// A real login afterwards is recorded; once it is, any earlier touch
// would have been written too (one writer, in order).
func TestAuthZENSearchIsNoLogin(t *testing.T) {
	e := newEnv(t, pdp.Config{LoginFlushInterval: 10 * time.Millisecond})
	e.searchAll("subject", map[string]any{"subject": map[string]any{"type": "user"},
		"resource": map[string]any{"type": "org", "id": cvrA}, "action": map[string]any{"name": eks}}, 10)
	e.searchAll("action", map[string]any{"subject": map[string]any{"type": "user", "id": uid["bob"]},
		"resource": map[string]any{"type": "org", "id": cvrA}}, 10)
	var ev pdp.AZResponse
	e.post("/access/v1/evaluation", map[string]any{"subject": map[string]any{"type": "user", "id": uid["bob"]},
		"resource": map[string]any{"type": "org", "id": cvrA}, "action": map[string]any{"name": eks}}, &ev)
	if !ev.Decision {
		t.Fatalf("bob on org A: %+v", ev)
	}
	if d, _ := e.login(pdp.LoginRequest{Subject: subj("alice", cvrA), Right: eks}); !d.Allow {
		t.Fatalf("alice: %+v", d)
	}
	lastLogin := func(name string) *time.Time {
		var u *store.User
		_ = e.st.View(context.Background(), func(tx *store.Tx) error { var err error; u, err = tx.GetUser(uid[name]); return err })
		return u.LastLogin
	}
	waitFor(t, "alice's login recorded", func() bool { return lastLogin("alice") != nil })
	if got := lastLogin("bob"); got != nil {
		t.Errorf("bob's last login = %v after searches and an evaluation, want none", got)
	}
}
