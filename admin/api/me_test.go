package api_test

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/adgang/adgang/store"
)

// TestMyProfile: GET /v1/me answers the caller's own user (CPR masked)
// and the rights its login decisions allow, each with its unit (scope.all
// = the whole org, else the P-numbers) — also for a plain user without
// an administrator role, who gets 404 on /v1/users/{its own id}.
func TestMyProfile(t *testing.T) {
	e := newEnv(t)
	plain := e.newUser(cvrA)
	e.newGrant(store.HolderUser, plain, cvrA, eks, store.Scope{Type: store.ScopeP, Value: pA1})
	e.newGrant(store.HolderUser, plain, cvrA, eks, store.Scope{Type: store.ScopeP, Value: pA2})
	e.newGrant(store.HolderUser, plain, cvrA, "imi.case_worker", store.Scope{Type: store.ScopeCVR, Value: cvrA})
	e.newGrant(store.HolderUser, plain, cvrA, "amp.lss", store.Scope{Type: store.ScopeCVR, Value: cvrA}) // forbidden: gives nothing (D9)
	r := e.do("org-admin", "PATCH", "/v1/users/"+plain, map[string]any{"cpr": "0101901234"})
	if r.status != http.StatusOK {
		t.Fatalf("set cpr: %s", r)
	}
	e.userToken("plain", plain)
	if r := e.do("plain", "GET", "/v1/users/"+plain, nil); r.status != http.StatusNotFound {
		t.Fatalf("a plain user reads itself through /v1/users: %s", r)
	}
	r = e.do("plain", "GET", "/v1/me", nil)
	if r.status != http.StatusOK || dig(r.body, "user", "id") != plain || dig(r.body, "user", "cpr") != "010190-****" {
		t.Fatalf("/v1/me: %s", r)
	}
	type rs struct {
		Right    string
		All      bool
		CVR      string
		PNumbers []any
	}
	var got []rs
	for _, x := range items(r, "rights") {
		got = append(got, rs{x["right"].(string), dig(x, "scope", "all") == true, str(dig(x, "scope", "cvr")),
			dig(x, "scope", "p_numbers").([]any)})
	}
	want := []rs{
		{eks, false, cvrA, []any{pA1, pA2}},
		{"imi.case_worker", true, cvrA, []any{pA1, pA2}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rights %+v, want %+v", got, want)
	}

	// An administrator sees its own admin right; a deactivated user has none.
	r = e.do("user-admin", "GET", "/v1/me", nil)
	if l := items(r, "rights"); r.status != http.StatusOK || len(l) != 1 || l[0]["right"] != "mitid_erhverv.user_admin" ||
		dig(l[0], "scope", "all") != true {
		t.Errorf("user-admin's profile: %s", r)
	}
	gone := e.newUser(cvrA, func(u *store.User) { u.Status = store.StatusDeactivated })
	e.newGrant(store.HolderUser, gone, cvrA, "imi.case_worker", store.Scope{Type: store.ScopeCVR, Value: cvrA})
	e.userToken("gone", gone)
	if r := e.do("gone", "GET", "/v1/me", nil); r.status != http.StatusOK || len(items(r, "rights")) != 0 {
		t.Errorf("deactivated user's profile: %s", r)
	}
	// A superadmin token made without a user has no profile.
	if r := e.do("superadmin", "GET", "/v1/me", nil); r.status != http.StatusNotFound || !containsText(r.errMessage(), "not bound to a user") {
		t.Errorf("unbound token: %s", r)
	}
	if r := e.do("none", "GET", "/v1/me", nil); r.status != http.StatusUnauthorized {
		t.Errorf("no token: %s", r)
	}
}
