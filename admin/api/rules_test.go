package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/adgang/adgang/store"
)

// TestAdminRules drives each refusing A rule through the HTTP API: the
// answer carries the rule's reason code and rule ID with its status, and
// the store (revision and audit log) is unchanged. Each case is also run
// as a dry run (POST /v1/policy/check), which must give the same reason
// with 200 and change nothing either.
func TestAdminRules(t *testing.T) {
	e := newEnv(t)
	// Org C deletes nothing (A9); org D has exactly one org-admin and one
	// user-admin (A10).
	cvrC, cvrD := e.freshCVR(), e.freshCVR()
	onlyOA, onlyUA := uuid.NewString(), uuid.NewString()
	var onlyOAGrant string
	mustUpdate(t, e.st, func(tx *store.Tx) error {
		if err := tx.CreateOrg(&store.Org{CVR: cvrC, Name: "C", Type: store.OrgAuthority,
			Settings: store.OrgSettings{Deletion: store.DeletionInactivateOnly}}); err != nil {
			return err
		}
		return tx.CreateOrg(&store.Org{CVR: cvrD, Name: "D", Type: store.OrgCompany})
	})
	userC := e.newUser(cvrC, func(u *store.User) { u.PNumber = "" })
	for _, a := range []struct{ id, right string }{{onlyOA, "mitid_erhverv.org_admin"}, {onlyUA, "mitid_erhverv.user_admin"}} {
		e.newUser(cvrD, func(u *store.User) { u.ID, u.PNumber = a.id, "" })
		g := e.newGrant(store.HolderUser, a.id, cvrD, a.right, store.Scope{Type: "cvr", Value: cvrD})
		if a.id == onlyOA {
			onlyOAGrant = g
		}
	}
	e.newUser(cvrA, func(u *store.User) { u.Email, u.Username = "taken@example.dk", "taken" })
	target := e.newUser(cvrA)
	group := e.newGroup(cvrA)
	fnGroup := e.newGroup(cvrA, fnA) // a membership given before A2 covered groups
	waitFor(t, "org D's admins to be indexed", func() bool {
		r := e.do("superadmin", "GET", "/v1/orgs/"+cvrD+"/users?role=org-admin", nil)
		users, _ := r.body["users"].([]any)
		return len(users) == 1
	})

	grant := func(holder, right, scopeType, value string) map[string]any {
		return map[string]any{"right": right, "scope": map[string]any{"type": scopeType, "value": value}}
	}
	type rc struct {
		rule, code   string
		status       int
		caller       string
		method, path string
		body         map[string]any
		check        map[string]any // the dry-run body (nil: not dry-run)
	}
	cases := []rc{
		{"A2", "function_cert_immutable", 422, "org-admin", "PATCH", "/v1/users/" + fnA,
			map[string]any{"name": "X"}, map[string]any{"action": "user.update", "user_id": fnA, "name": "X"}},
		{"A2", "function_cert_immutable", 422, "user-admin", "POST", "/v1/users/" + fnA + "/grants",
			grant(fnA, "amp.sagsbehandler", "cvr", cvrA), nil},
		{"A2", "function_cert_immutable", 422, "user-admin", "POST", "/v1/groups/" + group + "/members",
			map[string]any{"user_id": fnA}, map[string]any{"action": "group.member.add", "group_id": group, "user_id": fnA}},
		{"A2", "function_cert_immutable", 422, "user-admin", "DELETE", "/v1/groups/" + fnGroup + "/members/" + fnA, nil,
			map[string]any{"action": "group.member.remove", "group_id": fnGroup, "user_id": fnA}},
		{"A3", "forbidden_right", 422, "org-admin", "POST", "/v1/users/" + target + "/grants",
			grant(target, "amp.lss", "cvr", cvrA), map[string]any{"action": "grant.create", "user_id": target, "right": "amp.lss",
				"scope": map[string]any{"type": "cvr", "value": cvrA}}},
		{"A4", "deprecated_right", 422, "user-admin", "POST", "/v1/users/" + target + "/grants",
			grant(target, "amp.jobnet_jobordrer", "cvr", cvrA), nil},
		{"A5", "group_grant_not_allowed", 422, "org-admin", "POST", "/v1/groups/" + group + "/grants",
			grant(group, eks, "cvr", cvrA), map[string]any{"action": "grant.create", "group_id": group, "right": eks,
				"scope": map[string]any{"type": "cvr", "value": cvrA}}},
		{"A6", "se_scope_not_allowed", 422, "user-admin", "POST", "/v1/users/" + target + "/grants",
			grant(target, eks, "se", seA), nil},
		{"A7", "scope_not_in_org", 422, "user-admin", "POST", "/v1/users/" + target + "/grants",
			grant(target, "amp.sagsbehandler", "p", pB1), nil},
		{"A7", "scope_not_in_org", 422, "user-admin", "POST", "/v1/orgs/" + cvrA + "/users",
			map[string]any{"name": "Ny", "p_number": pB1}, nil},
		{"A8", "anonymity_immutable", 422, "user-admin", "PATCH", "/v1/users/" + target,
			map[string]any{"anonymous": true}, map[string]any{"action": "user.update", "user_id": target, "anonymous": true}},
		{"A9", "delete_not_allowed", 422, "superadmin", "DELETE", "/v1/users/" + userC, nil,
			map[string]any{"action": "user.delete", "user_id": userC}},
		{"A10", "last_admin", 409, "superadmin", "POST", "/v1/users/" + onlyOA + "/inactivate", nil,
			map[string]any{"action": "user.inactivate", "user_id": onlyOA}},
		{"A10", "last_admin", 409, "superadmin", "DELETE", "/v1/grants/" + onlyOAGrant, nil, nil},
		{"A10", "last_admin", 409, "superadmin", "DELETE", "/v1/users/" + onlyUA, nil, nil},
		{"A11", "escalation", 403, "user-admin", "POST", "/v1/users/" + target + "/grants",
			grant(target, "mitid_erhverv.org_admin", "cvr", cvrA), map[string]any{"action": "grant.create", "user_id": target,
				"right": "mitid_erhverv.org_admin", "scope": map[string]any{"type": "cvr", "value": cvrA}}},
		{"A12", "duplicate", 409, "user-admin", "POST", "/v1/orgs/" + cvrA + "/users",
			map[string]any{"name": "Ny", "email": "taken@example.dk"}, map[string]any{"action": "user.create", "cvr": cvrA,
				"name": "Ny", "email": "taken@example.dk"}},
		{"A12", "duplicate", 409, "org-admin", "PATCH", "/v1/users/" + target, map[string]any{"username": "TAKEN"}, nil},
		{"A13", "system_group_immutable", 422, "user-admin", "POST", "/v1/groups/sys-" + pA1 + "/members",
			map[string]any{"user_id": target}, map[string]any{"action": "group.member.add", "group_id": "sys-" + pA1,
				"user_id": target}},
		{"A13", "system_group_immutable", 422, "org-admin", "DELETE", "/v1/groups/sys-" + pA1, nil,
			map[string]any{"action": "group.delete", "group_id": "sys-" + pA1}},
		{"A14", "forbidden", 403, "user-admin", "POST", "/v1/orgs/" + cvrA + "/groups", map[string]any{"name": "G"},
			map[string]any{"action": "group.create", "cvr": cvrA, "name": "G"}},
		{"A14", "forbidden", 403, "user-admin", "PATCH", "/v1/orgs/" + cvrA, map[string]any{"settings": map[string]any{"allow_knock": false}},
			nil},
		{"A14", "forbidden", 403, "auditor", "PATCH", "/v1/users/" + target, map[string]any{"name": "X"}, nil},
		{"A14", "forbidden", 403, "org-admin", "PUT", "/v1/rights/amp.lss", map[string]any{"title": "LSS", "service": "amp"}, nil},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%s %s #%d %s", c.rule, c.code, i, c.method), func(t *testing.T) {
			before := e.snap()
			var body any
			if c.body != nil {
				body = c.body
			}
			r := e.do(c.caller, c.method, c.path, body)
			if r.status != c.status || r.errCode() != c.code || r.errRule() != c.rule {
				t.Fatalf("got %s, want %d %s/%s", r, c.status, c.code, c.rule)
			}
			e.unchanged(t, before)
			if c.check == nil {
				return
			}
			d := e.do(c.caller, "POST", "/v1/policy/check", c.check)
			if d.status != http.StatusOK || d.body["allow"] != false {
				t.Fatalf("dry run: %s", d)
			}
			reasons, _ := d.body["reasons"].([]any)
			if !slices.ContainsFunc(reasons, func(x any) bool {
				return str(dig(x, "code")) == c.code && str(dig(x, "rule")) == c.rule
			}) {
				t.Errorf("dry run lacks %s/%s: %s", c.code, c.rule, d)
			}
			e.unchanged(t, before)
		})
	}

	// A1: another org's object answers exactly like one that does not
	// exist — the same 404 body, so neither the object nor the rule
	// leaks — and nothing changes.
	t.Run("A1 other org is not found", func(t *testing.T) {
		otherUser := e.newUser(cvrB)
		before := e.snap()
		for _, m := range []struct {
			method, suffix string
			body           any
		}{{"GET", "", nil}, {"PATCH", "", map[string]any{"name": "X"}}, {"DELETE", "", nil},
			{"POST", "/inactivate", nil}, {"GET", "/grants", nil}, {"GET", "/history", nil}} {
			got := e.do("org-admin", m.method, "/v1/users/"+otherUser+m.suffix, m.body)
			missing := e.do("org-admin", m.method, "/v1/users/"+uuid.NewString()+m.suffix, m.body)
			if got.status != http.StatusNotFound || !bytes.Equal(got.raw, missing.raw) {
				t.Errorf("%s %s: other org %s, missing %s", m.method, m.suffix, got, missing)
			}
		}
		got := e.do("user-admin", "GET", "/v1/orgs/"+cvrB, nil)
		missing := e.do("user-admin", "GET", "/v1/orgs/"+e.freshCVR(), nil)
		if got.status != http.StatusNotFound || !bytes.Equal(got.raw, missing.raw) {
			t.Errorf("org: other %s, missing %s", got, missing)
		}
		// The dry run of a change in another org is not found either.
		d := e.do("org-admin", "POST", "/v1/policy/check", map[string]any{"action": "user.update", "user_id": otherUser, "name": "X"})
		if d.status != http.StatusNotFound {
			t.Errorf("dry run in other org: %s", d)
		}
		e.unchanged(t, before)
	})

	// A12 is enforced by the store's unique indexes too (legacy id, CPR).
	t.Run("A12 unique index of the store", func(t *testing.T) {
		legacy := "CVR:" + cvrA + "-RID:424242"
		e.newUser(cvrA, func(u *store.User) { u.LegacyID = legacy })
		before := e.snap()
		r := e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/users", map[string]any{"name": "Ny", "legacy_id": legacy})
		if r.status != http.StatusConflict || r.errCode() != "duplicate" || r.errRule() != "A12" {
			t.Fatalf("got %s", r)
		}
		e.unchanged(t, before)
	})

	// A15: the first user of a new organisation gets every admin role and
	// can act on it at once.
	t.Run("A15 first user gets every admin role", func(t *testing.T) {
		for _, tc := range []struct {
			typ    string
			rights []string
		}{
			{"a-kasse", []string{"amp.lba", "mitid_erhverv.org_admin"}},
			{"company", []string{"mitid_erhverv.org_admin", "mitid_erhverv.user_admin"}},
		} {
			cvr := e.freshCVR()
			if r := e.do("superadmin", "POST", "/v1/orgs", map[string]any{"cvr": cvr, "name": "Ny " + tc.typ, "type": tc.typ}); r.status != 201 {
				t.Fatalf("create org: %s", r)
			}
			r := e.do("superadmin", "POST", "/v1/orgs/"+cvr+"/users", map[string]any{"name": "Første", "email": cvr + "@first.example.dk"})
			if r.status != 201 {
				t.Fatalf("first user: %s", r)
			}
			var got []string
			for _, g := range r.body["grants"].([]any) {
				got = append(got, str(dig(g, "right")))
			}
			if !slices.Equal(got, tc.rights) {
				t.Errorf("%s: first user's grants %v, want %v", tc.typ, got, tc.rights)
			}
			first := str(dig(r.body, "user", "id"))
			u := e.do("superadmin", "GET", "/v1/users/"+first, nil)
			if roles := dig(u.body, "admin_roles"); len(roles.([]any)) != 2 {
				t.Errorf("%s: admin roles %v", tc.typ, roles)
			}
			// The second user gets nothing.
			r2 := e.do("superadmin", "POST", "/v1/orgs/"+cvr+"/users", map[string]any{"name": "Anden"})
			if g := r2.body["grants"].([]any); r2.status != 201 || len(g) != 0 {
				t.Errorf("second user: %s", r2)
			}
			// Read-your-writes: a token of the first user is an org-admin now.
			tok := e.do("superadmin", "POST", "/v1/tokens", map[string]any{"user_id": first})
			g := e.do("raw:"+str(tok.body["token"]), "POST", "/v1/orgs/"+cvr+"/groups", map[string]any{"name": "G"})
			if g.status != 201 {
				t.Errorf("first user creates a group: %s", g)
			}
		}
	})
}
