package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/adgang/adgang/store"
)

// escalationCase is one request and the refusal it must get. A csv case
// answers 200 and carries the refusal on its only row.
type escalationCase struct {
	name         string
	caller       string
	method, path string
	body         any
	csv          bool
	check        map[string]any // the same change as a dry run (nil: none)
}

// refused runs c and asserts 403 escalation/A11 (on the row for a CSV
// import), an unchanged store, and the same reason from the dry run.
func (e *env) refused(t *testing.T, c escalationCase, code, rule string) {
	t.Helper()
	before := e.snap()
	r := e.do(c.caller, c.method, c.path, c.body)
	gotStatus, gotCode, gotRule := r.status, r.errCode(), r.errRule()
	if c.csv {
		rows, _ := r.body["rows"].([]any)
		if r.status != http.StatusOK || len(rows) != 1 || str(dig(rows[0], "status")) != "error" {
			t.Fatalf("import: %s", r)
		}
		gotStatus, gotCode, gotRule = http.StatusForbidden, str(dig(rows[0], "error", "code")), str(dig(rows[0], "error", "rule"))
	}
	want := map[string]int{"escalation": http.StatusForbidden, "last_admin": http.StatusConflict}[code]
	if gotStatus != want || gotCode != code || gotRule != rule {
		t.Fatalf("got %s, want %d %s/%s", r, want, code, rule)
	}
	e.unchanged(t, before)
	if c.check == nil {
		return
	}
	d := e.do(c.caller, "POST", "/v1/policy/check", c.check)
	reasons, _ := d.body["reasons"].([]any)
	if d.status != http.StatusOK || d.body["allow"] != false || !slices.ContainsFunc(reasons, func(x any) bool {
		return str(dig(x, "code")) == code && str(dig(x, "rule")) == rule
	}) {
		t.Errorf("dry run: want %s/%s, got %s", code, rule, d)
	}
	e.unchanged(t, before)
}

// rolesOf are the admin roles GET /v1/users/{id} reports for id.
func (e *env) rolesOf(t *testing.T, id string) []string {
	t.Helper()
	r := e.do("superadmin", "GET", "/v1/users/"+id, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET user: %s", r)
	}
	var out []string
	for _, x := range r.body["admin_roles"].([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestUserAdminCannotMakeItselfOrgAdmin: a user-admin cannot gain (for
// itself or anyone) the org-admin role through a group, a P-unit whose
// system group holds the org-admin right, a user created or a knock
// accepted there, or a CSV import doing the same (A11, issue 12 #1).
func TestUserAdminCannotMakeItselfOrgAdmin(t *testing.T) {
	e := newRightsEnv(t)
	group := e.adminGroup(cvrA)
	uaEmail := uaA[len(uaA)-4:] + "@admin.example.dk"
	knock := e.newKnock(cvrA)
	cases := []escalationCase{
		{name: "joins a group holding the org-admin right", caller: "user-admin", method: "POST",
			path: "/v1/groups/" + group + "/members", body: map[string]any{"user_id": uaA},
			check: map[string]any{"action": "group.member.add", "group_id": group, "user_id": uaA}},
		{name: "adds another user to that group", caller: "user-admin", method: "POST",
			path: "/v1/groups/" + group + "/members", body: map[string]any{"user_id": e.newUser(cvrA)}},
		{name: "moves itself onto the admin P-unit", caller: "user-admin", method: "PATCH",
			path: "/v1/users/" + uaA, body: map[string]any{"p_number": pA2},
			check: map[string]any{"action": "user.update", "user_id": uaA, "p_number": pA2}},
		{name: "creates a user in the admin P-unit", caller: "user-admin", method: "POST",
			path: "/v1/orgs/" + cvrA + "/users", body: map[string]any{"name": "Ny", "p_number": pA2},
			check: map[string]any{"action": "user.create", "cvr": cvrA, "name": "Ny", "p_number": pA2}},
		{name: "accepts a knock into the admin P-unit", caller: "user-admin", method: "POST",
			path: "/v1/knocks/" + knock + "/accept", body: map[string]any{"p_number": pA2},
			check: map[string]any{"action": "knock.accept", "knock_id": knock, "p_number": pA2}},
		{name: "CSV create in the admin P-unit", caller: "user-admin", method: "POST", csv: true,
			path: "/v1/orgs/" + cvrA + "/imports?mode=create", body: importHeader + ";;;Ny;Import;imp-x@example.dk;;;" + pA2 + ";;;;;;\n"},
		{name: "CSV create in the admin P-unit, dry run", caller: "user-admin", method: "POST", csv: true,
			path: "/v1/orgs/" + cvrA + "/imports?mode=create&dry_run=true", body: importHeader + ";;;Ny;Import;imp-y@example.dk;;;" + pA2 + ";;;;;;\n"},
		{name: "CSV create in the admin P-unit, atomic", caller: "user-admin", method: "POST", csv: true,
			path: "/v1/orgs/" + cvrA + "/imports?mode=create&atomic=true", body: importHeader + ";;;Ny;Import;imp-z@example.dk;;;" + pA2 + ";;;;;;\n"},
		{name: "CSV update moving itself onto the admin P-unit", caller: "user-admin", method: "POST", csv: true,
			path: "/v1/orgs/" + cvrA + "/imports?mode=update", body: importHeader + fmt.Sprintf("%s;;;;;%s;;;%s;;;;;;\n", uaA, uaEmail, pA2)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { e.refused(t, c, "escalation", "A11") })
	}
	// In a file with good rows the refused row is left out: its writes,
	// made before the role check refused them, are rolled back.
	t.Run("CSV create, refused row among good ones", func(t *testing.T) {
		r := e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/imports?mode=create", importHeader+
			";;;God;Et;good-1@example.dk;;;"+pA1+";;;;;;\n;;;Ond;To;bad-2@example.dk;;;"+pA2+";;;;;;\n;;;God;Tre;good-3@example.dk;;;;;;;;;\n")
		rows, _ := r.body["rows"].([]any)
		if r.status != http.StatusOK || len(rows) != 3 {
			t.Fatalf("import: %s", r)
		}
		for i, want := range []string{"created", "error", "created"} {
			if got := str(dig(rows[i], "status")); got != want {
				t.Errorf("row %d: %s, want %s: %s", i+1, got, want, r)
			}
		}
		if str(dig(rows[1], "error", "rule")) != "A11" {
			t.Errorf("row 2: %s", r)
		}
		for email, want := range map[string]int{"good-1@example.dk": 1, "bad-2@example.dk": 0, "good-3@example.dk": 1} {
			found := e.do("superadmin", "GET", "/v1/orgs/"+cvrA+"/users?status=all&email="+email, nil)
			if users, _ := found.body["users"].([]any); len(users) != want {
				t.Errorf("%s: %d users, want %d", email, len(users), want)
			}
		}
	})
	if roles := e.rolesOf(t, uaA); !slices.Equal(roles, []string{"user-admin"}) {
		t.Errorf("the user-admin's roles are now %v", roles)
	}
}

// TestUserAdminCannotRemoveOrgAdmin: a user-admin cannot inactivate,
// deactivate, delete or demote an org-admin (A11), by any route.
func TestUserAdminCannotRemoveOrgAdmin(t *testing.T) {
	e := newRightsEnv(t)
	var oaGrant string
	mustUpdate(t, e.st, func(tx *store.Tx) error {
		gs, err := tx.GrantsOfUser(oaA)
		if err == nil && len(gs) == 1 {
			oaGrant = gs[0].ID
		}
		return err
	})
	viaGroup := e.newUser(cvrA)
	group := e.adminGroup(cvrA, viaGroup)
	viaPUnit := e.newUser(cvrA, func(u *store.User) { u.PNumber = pA2 })
	// The users above were written straight into the store: bring the role
	// index up to date, so that oaA is not taken for the last org-admin
	// (A10) while the index catches up in the background.
	e.srv.RebuildRoles(context.Background())
	oaEmail := oaA[len(oaA)-4:] + "@admin.example.dk"
	cases := []escalationCase{
		{name: "inactivate", caller: "user-admin", method: "POST", path: "/v1/users/" + oaA + "/inactivate",
			check: map[string]any{"action": "user.inactivate", "user_id": oaA}},
		{name: "deactivate", caller: "user-admin", method: "POST", path: "/v1/users/" + oaA + "/deactivate",
			body: map[string]any{"until": "2099-01-01T00:00:00Z"}},
		{name: "delete", caller: "user-admin", method: "DELETE", path: "/v1/users/" + oaA,
			check: map[string]any{"action": "user.delete", "user_id": oaA}},
		{name: "revoke its grant", caller: "user-admin", method: "DELETE", path: "/v1/grants/" + oaGrant,
			check: map[string]any{"action": "grant.delete", "grant_id": oaGrant}},
		{name: "bulk inactivate", caller: "user-admin", method: "POST", path: "/v1/orgs/" + cvrA + "/users:inactivate",
			body: map[string]any{"user_ids": []string{oaA}}, csv: false},
		{name: "CSV delete", caller: "user-admin", method: "POST", csv: true, path: "/v1/orgs/" + cvrA + "/imports?mode=delete",
			body: importHeader + fmt.Sprintf("%s;;;;;%s;;;;;;;;;\n", oaA, oaEmail)},
		{name: "remove from the group that makes it org-admin", caller: "user-admin", method: "DELETE",
			path:  "/v1/groups/" + group + "/members/" + viaGroup,
			check: map[string]any{"action": "group.member.remove", "group_id": group, "user_id": viaGroup}},
		{name: "move it off the admin P-unit", caller: "user-admin", method: "PATCH", path: "/v1/users/" + viaPUnit,
			body: map[string]any{"p_number": pA1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.path == "/v1/orgs/"+cvrA+"/users:inactivate" { // per-user results
				before := e.snap()
				r := e.do(c.caller, c.method, c.path, c.body)
				res, _ := r.body["results"].([]any)
				if r.status != http.StatusOK || len(res) != 1 || str(dig(res[0], "error", "code")) != "escalation" ||
					str(dig(res[0], "error", "rule")) != "A11" {
					t.Fatalf("got %s, want escalation/A11 on the result", r)
				}
				e.unchanged(t, before)
				return
			}
			e.refused(t, c, "escalation", "A11")
		})
	}
	for _, id := range []string{oaA, viaGroup, viaPUnit} {
		if roles := e.rolesOf(t, id); !slices.Equal(roles, []string{"org-admin"}) {
			t.Errorf("user %s's roles are now %v", id, roles)
		}
	}
}

// TestLegitimateRoleChanges: what A11 must keep allowing. An org-admin
// (who holds the org-admin role) makes and unmakes org-admins by every
// path; a user-admin manages members of groups without admin rights,
// moves users between P-units without admin rights and manages other
// user-admins. A10 still keeps the last org-admin, also when the role
// comes through a group.
func TestLegitimateRoleChanges(t *testing.T) {
	e := newRightsEnv(t)
	ok := func(t *testing.T, caller, method, path string, body any, want int) resp {
		t.Helper()
		r := e.do(caller, method, path, body)
		if r.status != want {
			t.Fatalf("%s %s: got %s, want %d", method, path, r, want)
		}
		return r
	}
	t.Run("org-admin makes org-admins by every path", func(t *testing.T) {
		u := e.newUser(cvrA)
		ok(t, "org-admin", "POST", "/v1/groups/"+e.adminGroup(cvrA)+"/members", map[string]any{"user_id": u}, 201)
		if roles := e.rolesOf(t, u); !slices.Equal(roles, []string{"org-admin"}) {
			t.Errorf("member's roles: %v", roles)
		}
		moved := e.newUser(cvrA)
		ok(t, "org-admin", "PATCH", "/v1/users/"+moved, map[string]any{"p_number": pA2}, 200)
		if roles := e.rolesOf(t, moved); !slices.Equal(roles, []string{"org-admin"}) {
			t.Errorf("moved user's roles: %v", roles)
		}
		r := ok(t, "org-admin", "POST", "/v1/orgs/"+cvrA+"/users", map[string]any{"name": "Ny", "p_number": pA2}, 201)
		if roles := e.rolesOf(t, str(dig(r.body, "user", "id"))); !slices.Equal(roles, []string{"org-admin"}) {
			t.Errorf("created user's roles: %v", roles)
		}
		ok(t, "org-admin", "POST", "/v1/knocks/"+e.newKnock(cvrA)+"/accept", map[string]any{"p_number": pA2}, 201)
		r = ok(t, "org-admin", "POST", "/v1/orgs/"+cvrA+"/imports?mode=create",
			importHeader+";;;Ny;Import;legit@example.dk;;;"+pA2+";;;;;;\n", 200)
		if rows, _ := r.body["rows"].([]any); len(rows) != 1 || str(dig(rows[0], "status")) != "created" {
			t.Errorf("import: %s", r)
		}
	})
	t.Run("org-admin unmakes org-admins", func(t *testing.T) {
		a, _ := e.newOrgAdmin(cvrA)
		ok(t, "org-admin", "POST", "/v1/users/"+a+"/inactivate", nil, 200)
		b, g := e.newOrgAdmin(cvrA)
		ok(t, "org-admin", "DELETE", "/v1/grants/"+g, nil, 200)
		ok(t, "org-admin", "DELETE", "/v1/users/"+b, nil, 200)
		c := e.newUser(cvrA, func(u *store.User) { u.PNumber = pA2 })
		ok(t, "org-admin", "PATCH", "/v1/users/"+c, map[string]any{"p_number": pA1}, 200)
		// A user-admin: an org-admin manages every user of its org.
		ua := e.newUser(cvrA)
		e.newGrant(store.HolderUser, ua, cvrA, "mitid_erhverv.user_admin", store.Scope{Type: "cvr", Value: cvrA})
		ok(t, "org-admin", "POST", "/v1/users/"+ua+"/deactivate", map[string]any{"until": "2099-01-01T00:00:00Z"}, 200)
	})
	t.Run("user-admin without admin rights involved", func(t *testing.T) {
		plain := e.newGroup(cvrA)
		e.newGrant(store.HolderGroup, plain, cvrA, "amp.sagsbehandler", store.Scope{Type: "cvr", Value: cvrA})
		u := e.newUser(cvrA)
		ok(t, "user-admin", "POST", "/v1/groups/"+plain+"/members", map[string]any{"user_id": u}, 201)
		ok(t, "user-admin", "DELETE", "/v1/groups/"+plain+"/members/"+u, nil, 200)
		ok(t, "user-admin", "PATCH", "/v1/users/"+u, map[string]any{"p_number": pA1}, 200)
		ok(t, "user-admin", "POST", "/v1/orgs/"+cvrA+"/users", map[string]any{"name": "Ny", "p_number": pA1}, 201)
		ok(t, "user-admin", "POST", "/v1/users/"+u+"/inactivate", nil, 200)
		// Another user-admin: the actor holds that role.
		other := e.newUser(cvrA)
		g := e.newGrant(store.HolderUser, other, cvrA, "mitid_erhverv.user_admin", store.Scope{Type: "cvr", Value: cvrA})
		ok(t, "user-admin", "DELETE", "/v1/grants/"+g, nil, 200)
		ok(t, "user-admin", "POST", "/v1/users/"+other+"/grants", map[string]any{"right": "mitid_erhverv.user_admin",
			"scope": map[string]any{"type": "cvr", "value": cvrA}}, 201)
		ok(t, "user-admin", "POST", "/v1/users/"+other+"/inactivate", nil, 200)
	})
	t.Run("A10 keeps the only org-admin of a group", func(t *testing.T) {
		cvrE := e.freshCVR()
		mustUpdate(t, e.st, func(tx *store.Tx) error {
			return tx.CreateOrg(&store.Org{CVR: cvrE, Name: "E", Type: store.OrgCompany})
		})
		only := e.newUser(cvrE, func(u *store.User) { u.PNumber = "" })
		group := e.adminGroup(cvrE, only)
		waitFor(t, "org E's org-admin to be indexed", func() bool {
			r := e.do("superadmin", "GET", "/v1/orgs/"+cvrE+"/users?role=org-admin", nil)
			users, _ := r.body["users"].([]any)
			return len(users) == 1
		})
		e.refused(t, escalationCase{caller: "superadmin", method: "DELETE", path: "/v1/groups/" + group + "/members/" + only,
			check: map[string]any{"action": "group.member.remove", "group_id": group, "user_id": only}}, "last_admin", "A10")
	})
}

// TestUserAdminCannotRevokeOrgAdminCertificate: revoking a certificate is
// irreversible and locks its holder out (D14), so a user-admin may not
// revoke an org-admin's certificate (A11); an org-admin may, and a
// user-admin may revoke a plain user's.
func TestUserAdminCannotRevokeOrgAdminCertificate(t *testing.T) {
	e := newRightsEnv(t)
	e.srv.RebuildRoles(context.Background())
	certOf := func(user string) string {
		serial := fmt.Sprintf("REV-%d", e.n())
		mustUpdate(t, e.st, func(tx *store.Tx) error {
			now := tx.Now()
			until := now.AddDate(1, 0, 0)
			return tx.SaveCertificate(&store.Certificate{Serial: serial, Org: cvrA, UserID: user, Type: store.CertTypeUser,
				Status: store.CertIssued, OrderedAt: now, IssuedAt: &now, ExpiresAt: &until}, "certificate.order")
		})
		return serial
	}
	adminCert := certOf(oaA)
	before := e.snap()
	r := e.do("user-admin", "POST", "/v1/certificates/"+adminCert+"/revoke", nil)
	if r.status != http.StatusForbidden || str(dig(r.body, "error", "rule")) != "A11" {
		t.Fatalf("user-admin revoking an org-admin's certificate: %d %v", r.status, r.body)
	}
	e.unchanged(t, before)
	if r := e.do("user-admin", "POST", "/v1/certificates/"+certOf(e.newUser(cvrA))+"/revoke", nil); r.status != http.StatusOK {
		t.Fatalf("user-admin revoking a plain user's certificate: %d %v", r.status, r.body)
	}
	if r := e.do("org-admin", "POST", "/v1/certificates/"+adminCert+"/revoke", nil); r.status != http.StatusOK {
		t.Fatalf("org-admin revoking an org-admin's certificate: %d %v", r.status, r.body)
	}
}
