package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/adgang/adgang/admin"
)

// TestExternalAdmins: org A makes a user of org B its supplementary
// administrator (M17). The external admin acts in A only, only admin roles
// can be given this way, and the grant is A's to remove.
func TestExternalAdmins(t *testing.T) {
	e := newEnv(t)
	ext := e.newUser(cvrB)
	_, tok, err := admin.CreateToken(context.Background(), e.st, "test", ext, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.tokens["external"] = tok

	if r := e.do("external", "GET", "/v1/orgs/"+cvrA+"/users", nil); r.status != 404 {
		t.Fatalf("before the grant: %s", r)
	}
	r := e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/admins", map[string]any{"user_id": ext, "right": "mitid_erhverv.user_admin"})
	if r.status != 201 || dig(r.body, "grant", "org") != cvrA {
		t.Fatalf("make external admin: %s", r)
	}
	grant := str(dig(r.body, "grant", "id"))
	if r := e.do("external", "GET", "/v1/orgs/"+cvrA+"/users", nil); r.status != 200 {
		t.Fatalf("external admin in the granting org: %s", r)
	}
	if r := e.do("external", "GET", "/v1/orgs/"+cvrB+"/users", nil); r.status != 404 {
		t.Fatalf("external admin in its own org, where it has no role: %s", r)
	}
	list := e.do("auditor", "GET", "/v1/orgs/"+cvrA+"/admins", nil)
	if list.status != 200 || !strings.Contains(string(list.raw), `"user_id":"`+ext+`","name":"`) || !strings.Contains(string(list.raw), `"external":true`) {
		t.Fatalf("admins: %s", list)
	}

	cases := []struct {
		name, caller string
		body         map[string]any
		status       int
		code, rule   string
	}{
		{"ordinary right to another org's user", "org-admin", map[string]any{"user_id": e.newUser(cvrB), "right": eks}, 422, "external_grant_not_admin", "M17"},
		{"admin role the caller lacks", "user-admin", map[string]any{"user_id": e.newUser(cvrB), "right": "mitid_erhverv.org_admin"}, 403, "escalation", "A11"},
		{"unknown user", "user-admin", map[string]any{"user_id": "00000000-0000-4000-8000-00000000ffff", "right": "mitid_erhverv.user_admin"}, 404, "not_found", ""},
		{"another org's admins", "org-admin-B", map[string]any{"user_id": e.newUser(cvrB), "right": "mitid_erhverv.user_admin"}, 404, "not_found", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.snap()
			r := e.do(tc.caller, "POST", "/v1/orgs/"+cvrA+"/admins", tc.body)
			if r.status != tc.status || r.errCode() != tc.code || r.errRule() != tc.rule {
				t.Fatalf("got %s, want %d %s/%s", r, tc.status, tc.code, tc.rule)
			}
			e.unchanged(t, before)
		})
	}

	if r := e.do("org-admin-B", "DELETE", "/v1/grants/"+grant, nil); r.status != 404 {
		t.Fatalf("the user's own org removes A's grant: %s", r)
	}
	if r := e.do("org-admin", "DELETE", "/v1/grants/"+grant, nil); r.status != 200 {
		t.Fatalf("A removes its grant: %s", r)
	}
	if r := e.do("external", "GET", "/v1/orgs/"+cvrA+"/users", nil); r.status != 404 {
		t.Fatalf("after removal: %s", r)
	}
}
