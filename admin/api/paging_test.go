package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/adgang/adgang/store"
)

// pagedList is one GET collection: its path (with any filter), the array
// it answers, the caller, and how an item is identified.
type pagedList struct {
	name, caller, path, array string
	id                        func(item any) string
	min                       int // items the setup made at least
}

func field(name string) func(any) string { return func(v any) string { return str(dig(v, name)) } }

// walk reads every page of l with the given limit and returns the items'
// ids in answer order.
func (e *env) walk(t *testing.T, l pagedList, limit int) []string {
	t.Helper()
	var ids []string
	token := ""
	sep := "?"
	if strings.Contains(l.path, "?") {
		sep = "&"
	}
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatalf("%s: no last page", l.name)
		}
		q := fmt.Sprintf("%slimit=%d", sep, limit)
		if token != "" {
			q += "&page_token=" + url.QueryEscape(token)
		}
		r := e.do(l.caller, "GET", l.path+q, nil)
		items, ok := r.body[l.array].([]any)
		if r.status != http.StatusOK || !ok {
			t.Fatalf("%s page %d: %s", l.name, pages, r)
		}
		if len(items) > limit {
			t.Fatalf("%s: %d items on a page of %d", l.name, len(items), limit)
		}
		for _, it := range items {
			ids = append(ids, l.id(it))
		}
		next, ok := r.body["next_page_token"].(string)
		if !ok {
			t.Fatalf("%s: no next_page_token string: %s", l.name, r)
		}
		if next == "" {
			return ids
		}
		if len(items) == 0 {
			t.Fatalf("%s: an empty page with a next page", l.name)
		}
		token = next
	}
}

// TestEveryListPages (issue 18 point 3, SPEC §8): every GET collection
// takes limit (1–1000, else 400) and page_token, answers next_page_token
// (empty on the last page), and walking its pages returns every item
// exactly once, in the order of one big page.
func TestEveryListPages(t *testing.T) {
	e := newEnv(t)
	// Items for every list: users with names out of id order, a group,
	// grants, knocks, tokens, mails, history and audit events, orgs.
	var users []string
	for _, n := range []string{"Østergaard", "anna", "Bent", "carl", "Anna", "Åse", "bent"} {
		users = append(users, e.newUser(cvrA, func(u *store.User) { u.Name = n }))
	}
	group := e.newGroup(cvrA, users...)
	for _, p := range []string{pA1, pA2} {
		e.newGrant(store.HolderUser, users[0], cvrA, eks, store.Scope{Type: "p", Value: p})
		e.newGrant(store.HolderGroup, group, cvrA, eks, store.Scope{Type: "p", Value: p})
	}
	e.newGrant(store.HolderUser, users[0], cvrA, eks, store.Scope{Type: "cvr", Value: cvrA})
	for range 5 {
		e.newKnock(cvrA)
		e.newToken("")
		e.freshOrg()
	}
	mustUpdate(t, e.st, func(tx *store.Tx) error {
		for i := range 5 {
			if err := tx.PutMail(&store.OutboxMail{ID: uuid.NewString(), To: "x@example.dk", UserID: users[0], Kind: "test",
				Subject: "s", Body: "b", CreatedAt: time.Now().Add(time.Duration(i%2) * time.Second)}); err != nil {
				return err
			}
		}
		return nil
	})
	for i := range 5 {
		if r := e.do("org-admin", "PATCH", "/v1/users/"+users[0], map[string]any{"phone": fmt.Sprintf("1234567%d", i)}); r.status != http.StatusOK {
			t.Fatalf("patch: %s", r)
		}
	}
	event := func(v any) string { return fmt.Sprint(dig(v, "revision")) + "/" + fmt.Sprint(dig(v, "seq")) }
	lists := []pagedList{
		{name: "users", caller: "org-admin", path: "/v1/orgs/" + cvrA + "/users?status=all", array: "users", id: field("id"), min: 11},
		{name: "login-activity", caller: "org-admin", path: "/v1/orgs/" + cvrA + "/login-activity?not_since=2099-01-01", array: "users", id: field("id"), min: 11},
		{name: "group members", caller: "org-admin", path: "/v1/groups/" + group + "/members", array: "members", id: field("user_id"), min: 7},
		{name: "system group members", caller: "org-admin", path: "/v1/groups/sys-" + pA1 + "/members", array: "members", id: field("user_id"), min: 7},
		{name: "history", caller: "org-admin", path: "/v1/users/" + users[0] + "/history", array: "events", id: event, min: 7},
		{name: "audit", caller: "auditor", path: "/v1/orgs/" + cvrA + "/audit", array: "events", id: event, min: 20},
		{name: "knocks", caller: "org-admin", path: "/v1/orgs/" + cvrA + "/knocks", array: "knocks", id: field("id"), min: 5},
		{name: "grants", caller: "org-admin", path: "/v1/users/" + users[0] + "/grants", array: "grants",
			id: func(v any) string { return str(dig(v, "id")) + "/" + str(dig(v, "source")) }, min: 5},
		{name: "rights", caller: "org-admin", path: "/v1/rights", array: "rights", id: field("id"), min: 5},
		{name: "outbox", caller: "superadmin", path: "/v1/outbox", array: "mails", id: field("id"), min: 5},
		{name: "outbox of an org", caller: "org-admin", path: "/v1/outbox", array: "mails", id: field("id"), min: 5},
		{name: "tokens", caller: "superadmin", path: "/v1/tokens", array: "tokens", id: field("id"), min: 5},
		{name: "admins", caller: "superadmin", path: "/v1/orgs/" + cvrA + "/admins", array: "admins", id: field("user_id"), min: 3},
		{name: "orgs", caller: "superadmin", path: "/v1/orgs", array: "orgs", id: field("cvr"), min: 7},
		{name: "lifecycle preview", caller: "org-admin", path: "/v1/orgs/" + cvrA + "/lifecycle?at=2099-01-01", array: "actions",
			id: func(v any) string {
				return str(dig(v, "job")) + "/" + str(dig(v, "user_id")) + "/" + str(dig(v, "action"))
			}, min: 5},
	}
	for _, l := range lists {
		t.Run(l.name, func(t *testing.T) {
			all := e.walk(t, l, 1000)
			if len(all) < l.min {
				t.Fatalf("%d items, want at least %d: %v", len(all), l.min, all)
			}
			seen := map[string]bool{}
			for _, id := range all {
				if seen[id] {
					t.Fatalf("item %s twice in one page", id)
				}
				seen[id] = true
			}
			for _, limit := range []int{1, 2, 3} {
				if got := e.walk(t, l, limit); !slices.Equal(got, all) {
					t.Fatalf("limit %d walk: %v\nwant %v", limit, got, all)
				}
			}
			sep := "?"
			if strings.Contains(l.path, "?") {
				sep = "&"
			}
			for _, bad := range []string{"limit=0", "limit=1001", "limit=-1", "limit=ten", "limit=", "page_token=%21%21not-a-token"} {
				if r := e.do(l.caller, "GET", l.path+sep+bad, nil); r.status != http.StatusBadRequest {
					t.Errorf("%s: %s, want 400", bad, r)
				}
			}
			if r := e.do(l.caller, "GET", l.path+sep+"limit=1000", nil); r.status != http.StatusOK {
				t.Errorf("limit=1000: %s", r)
			}
		})
	}
}

// TestUsersByName: users come ordered by name (case-insensitive), then
// id, and the default page holds 100.
func TestUsersByName(t *testing.T) {
	e := newEnv(t)
	bare := e.freshOrg()
	want := map[string]string{}
	for _, n := range []string{"carl", "Bent", "anna", "Dorte"} {
		want[e.newUser(bare, func(u *store.User) { u.Name = n; u.PNumber = "" })] = n
	}
	r := e.do("superadmin", "GET", "/v1/orgs/"+bare+"/users", nil)
	us, _ := r.body["users"].([]any)
	var names []string
	for _, u := range us {
		names = append(names, str(dig(u, "name")))
	}
	if !slices.Equal(names, []string{"anna", "Bent", "carl", "Dorte"}) || r.body["next_page_token"] != "" {
		t.Fatalf("users %v: %s", names, r)
	}
}

// TestGroupInlinesFirstMembers: GET /v1/groups/{id} inlines at most the
// first 100 member ids and says how many there are.
func TestGroupInlinesFirstMembers(t *testing.T) {
	e := newEnv(t)
	var members []string
	for range 105 {
		members = append(members, e.newUser(cvrA))
	}
	g := e.newGroup(cvrA, members...)
	r := e.do("org-admin", "GET", "/v1/groups/"+g, nil)
	inline, _ := r.body["members"].([]any)
	if r.status != http.StatusOK || len(inline) != 100 || r.body["member_count"] != float64(105) ||
		str(r.body["members_next_page_token"]) == "" {
		t.Fatalf("group: %d inline, count %v, next %v", len(inline), r.body["member_count"], r.body["members_next_page_token"])
	}
}

// TestListOrgsShowsOnlyOwn: GET /v1/orgs shows a superadmin every org and
// anyone else the orgs where it holds a role.
func TestListOrgsShowsOnlyOwn(t *testing.T) {
	e := newEnv(t)
	for caller, want := range map[string][]string{
		"org-admin": {cvrA}, "auditor": {cvrA}, "org-admin-B": {cvrB}, "superadmin": {cvrA, cvrB},
	} {
		r := e.do(caller, "GET", "/v1/orgs", nil)
		var got []string
		os, _ := r.body["orgs"].([]any)
		for _, o := range os {
			got = append(got, str(dig(o, "cvr")))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s sees %v, want %v (%s)", caller, got, want, r)
		}
	}
}

// freshOrg stores an organisation with a fresh CVR and returns the CVR.
func (e *env) freshOrg() string {
	e.t.Helper()
	cvr := e.freshCVR()
	mustUpdate(e.t, e.st, func(tx *store.Tx) error {
		return tx.CreateOrg(&store.Org{CVR: cvr, Name: "Org " + cvr, Type: store.OrgInstitution})
	})
	return cvr
}
