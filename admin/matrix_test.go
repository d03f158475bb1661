package admin_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/adgang/adgang/store"
)

// access is who may use a route, in the caller's own org.
type access int

const (
	readAll     access = iota // every role reads its own org
	auditRead                 // org-admin and auditor (not user-admin)
	userWrite                 // org-admin and user-admin (A14: users, grants, members, knocks)
	orgWrite                  // org-admin only (A14: settings, custom groups)
	superOnly                 // superadmin only, no org (org creation, rights catalogue)
	globalRead                // every role (rights catalogue, own tokens)
	selfService               // every role for itself; another org's object is not found
	dryRun                    // policy check: every role gets 200 (a verdict) in its own org
	public                    // no authentication (OpenAPI document)
)

// routeCase is one route of SPEC §5 with a setup that makes a fresh
// object for the cell: in org (own: cvrA, other: cvrB) for caller.
type routeCase struct {
	method, route string // route as in the OpenAPI document
	access        access
	ok            int
	setup         func(e *env, org, caller string) (path string, body any)
}

func userIn(org string) string {
	if org == cvrA {
		return pA1
	}
	return pB1
}

var routeCases = []routeCase{
	{"GET", "/openapi.json", public, 200, func(e *env, org, _ string) (string, any) { return "/openapi.json", nil }},

	{"POST", "/v1/orgs", superOnly, 201, func(e *env, _, _ string) (string, any) {
		return "/v1/orgs", map[string]any{"cvr": e.freshCVR(), "name": "Ny org", "type": "company"}
	}},
	{"GET", "/v1/orgs/{cvr}", readAll, 200, func(e *env, org, _ string) (string, any) { return "/v1/orgs/" + org, nil }},
	{"PATCH", "/v1/orgs/{cvr}", orgWrite, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/orgs/" + org, map[string]any{"name": fmt.Sprintf("Renamed %d", e.n())}
	}},

	{"POST", "/v1/orgs/{cvr}/users", userWrite, 201, func(e *env, org, _ string) (string, any) {
		return "/v1/orgs/" + org + "/users", map[string]any{"name": "Ny bruger", "email": uuid.NewString()[:8] + "@new.example.dk"}
	}},
	{"GET", "/v1/orgs/{cvr}/users", readAll, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/orgs/" + org + "/users?limit=5&status=all", nil
	}},
	{"GET", "/v1/users/{id}", readAll, 200, func(e *env, org, _ string) (string, any) { return "/v1/users/" + e.newUser(org), nil }},
	{"PATCH", "/v1/users/{id}", userWrite, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/users/" + e.newUser(org), map[string]any{"phone": "+45 12345678"}
	}},
	{"DELETE", "/v1/users/{id}", userWrite, 200, func(e *env, org, _ string) (string, any) { return "/v1/users/" + e.newUser(org), nil }},
	{"POST", "/v1/users/{id}/inactivate", userWrite, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/users/" + e.newUser(org) + "/inactivate", nil
	}},
	{"POST", "/v1/users/{id}/activate", userWrite, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/users/" + e.newUser(org, func(u *store.User) { u.Status = store.StatusInactive }) + "/activate", nil
	}},
	{"POST", "/v1/users/{id}/deactivate", userWrite, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/users/" + e.newUser(org) + "/deactivate", map[string]any{"until": "2099-01-01T00:00:00Z"}
	}},

	{"POST", "/v1/users/{id}/grants", userWrite, 201, func(e *env, org, _ string) (string, any) {
		return "/v1/users/" + e.newUser(org) + "/grants", map[string]any{"right": "amp.sagsbehandler",
			"scope": map[string]any{"type": "cvr", "value": org}}
	}},
	{"GET", "/v1/users/{id}/grants", readAll, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/users/" + e.newUser(org) + "/grants", nil
	}},
	{"DELETE", "/v1/grants/{id}", userWrite, 200, func(e *env, org, _ string) (string, any) {
		u := e.newUser(org)
		return "/v1/grants/" + e.newGrant(store.HolderUser, u, org, "amp.sagsbehandler", store.Scope{Type: "cvr", Value: org}), nil
	}},

	{"POST", "/v1/orgs/{cvr}/groups", orgWrite, 201, func(e *env, org, _ string) (string, any) {
		return "/v1/orgs/" + org + "/groups", map[string]any{"name": "Ny gruppe"}
	}},
	{"GET", "/v1/groups/{id}", readAll, 200, func(e *env, org, _ string) (string, any) { return "/v1/groups/" + e.newGroup(org), nil }},
	{"DELETE", "/v1/groups/{id}", orgWrite, 200, func(e *env, org, _ string) (string, any) { return "/v1/groups/" + e.newGroup(org), nil }},
	{"POST", "/v1/groups/{id}/members", userWrite, 201, func(e *env, org, _ string) (string, any) {
		return "/v1/groups/" + e.newGroup(org) + "/members", map[string]any{"user_id": e.newUser(org)}
	}},
	{"DELETE", "/v1/groups/{id}/members/{user_id}", userWrite, 200, func(e *env, org, _ string) (string, any) {
		u := e.newUser(org)
		return "/v1/groups/" + e.newGroup(org, u) + "/members/" + u, nil
	}},
	{"POST", "/v1/groups/{id}/grants", userWrite, 201, func(e *env, org, _ string) (string, any) {
		return "/v1/groups/" + e.newGroup(org) + "/grants", map[string]any{"right": "amp.sagsbehandler",
			"scope": map[string]any{"type": "p", "value": userIn(org)}}
	}},

	{"GET", "/v1/rights", globalRead, 200, func(e *env, _, _ string) (string, any) { return "/v1/rights", nil }},
	{"PUT", "/v1/rights/{id}", superOnly, 201, func(e *env, _, _ string) (string, any) {
		return fmt.Sprintf("/v1/rights/test.r%d", e.n()), map[string]any{"title": "Test", "service": "test"}
	}},

	{"GET", "/v1/orgs/{cvr}/knocks", readAll, 200, func(e *env, org, _ string) (string, any) { return "/v1/orgs/" + org + "/knocks", nil }},
	{"POST", "/v1/knocks/{id}/accept", userWrite, 201, func(e *env, org, _ string) (string, any) {
		return "/v1/knocks/" + e.newKnock(org) + "/accept", nil
	}},
	{"DELETE", "/v1/knocks/{id}", userWrite, 200, func(e *env, org, _ string) (string, any) { return "/v1/knocks/" + e.newKnock(org), nil }},
	{"POST", "/v1/orgs/{cvr}/knocks:delete", userWrite, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/orgs/" + org + "/knocks:delete", map[string]any{"ids": []string{e.newKnock(org), e.newKnock(org)}}
	}},

	{"GET", "/v1/users/{id}/history", readAll, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/users/" + e.newUser(org) + "/history", nil
	}},
	{"GET", "/v1/orgs/{cvr}/audit", auditRead, 200, func(e *env, org, _ string) (string, any) { return "/v1/orgs/" + org + "/audit", nil }},

	{"POST", "/v1/tokens", selfService, 201, func(e *env, org, caller string) (string, any) {
		if org == cvrA && caller != "superadmin" {
			return "/v1/tokens", map[string]any{}
		}
		return "/v1/tokens", map[string]any{"user_id": e.newUser(org)}
	}},
	{"GET", "/v1/tokens", globalRead, 200, func(e *env, _, _ string) (string, any) { return "/v1/tokens", nil }},
	{"DELETE", "/v1/tokens/{id}", selfService, 200, func(e *env, org, caller string) (string, any) {
		owner := e.userOf[caller]
		if org != cvrA || owner == "" {
			owner = e.newUser(org)
		}
		return "/v1/tokens/" + e.newToken(owner), nil
	}},

	{"POST", "/v1/policy/check", dryRun, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/policy/check", map[string]any{"action": "user.update", "user_id": e.newUser(org), "name": "Nyt navn"}
	}},

	{"POST", "/v1/orgs/{cvr}/imports", userWrite, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/orgs/" + org + "/imports?mode=create", importHeader + fmt.Sprintf(";;;Ny;Import;imp%d@example.dk;;;;;;;;;\n", e.n())
	}},
	{"GET", "/v1/imports/template.csv", globalRead, 200, func(e *env, _, _ string) (string, any) { return "/v1/imports/template.csv", nil }},
	{"POST", "/v1/users/{id}/activation", userWrite, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/users/" + e.newUser(org, newBirthDateUser) + "/activation", nil
	}},
	{"POST", "/v1/orgs/{cvr}/activations", userWrite, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/orgs/" + org + "/activations", map[string]any{"user_ids": []string{e.newUser(org, newCPRUser)}}
	}},
	{"POST", "/v1/activate", public, 200, func(e *env, org, _ string) (string, any) {
		id := e.newUser(org, newBirthDateUser)
		r := e.do("superadmin", "POST", "/v1/users/"+id+"/activation", nil)
		return "/v1/activate", map[string]any{"user_id": id, "code": r.body["code"]}
	}},
	{"GET", "/v1/outbox", globalRead, 200, func(e *env, _, _ string) (string, any) { return "/v1/outbox", nil }},
	{"GET", "/v1/orgs/{cvr}/login-activity", readAll, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/orgs/" + org + "/login-activity?not_since=2026-01-01", nil
	}},
	{"POST", "/v1/orgs/{cvr}/users:inactivate", userWrite, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/orgs/" + org + "/users:inactivate", map[string]any{"user_ids": []string{e.newUser(org), e.newUser(org)}}
	}},
	{"POST", "/v1/orgs/{cvr}/users:activate", userWrite, 200, func(e *env, org, _ string) (string, any) {
		inactive := func(u *store.User) { u.Status = store.StatusInactive }
		return "/v1/orgs/" + org + "/users:activate", map[string]any{"user_ids": []string{e.newUser(org, inactive)}}
	}},
	{"POST", "/v1/orgs/{cvr}/associations", userWrite, 201, func(e *env, org, _ string) (string, any) {
		return "/v1/orgs/" + org + "/associations", map[string]any{"cpr": fmt.Sprintf("610190-%04d", e.n()),
			"user_type": "elev", "class": "7.b", "name": "Ny Elev"}
	}},
	{"POST", "/v1/users/{id}/confirm", userWrite, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/users/" + e.newUser(org, manualAssociation) + "/confirm", nil
	}},
	{"GET", "/v1/orgs/{cvr}/lifecycle", readAll, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/orgs/" + org + "/lifecycle?at=2030-01-01", nil
	}},
	{"POST", "/v1/users/{id}/password:reset", userWrite, 200, func(e *env, org, _ string) (string, any) {
		e.usePasswords(org)
		return "/v1/users/" + e.newUser(org, withPassword(false)) + "/password:reset", nil
	}},
	{"POST", "/v1/users/{id}/unblock", userWrite, 200, func(e *env, org, _ string) (string, any) {
		e.usePasswords(org)
		return "/v1/users/" + e.newUser(org, withPassword(true)) + "/unblock", nil
	}},
	{"POST", "/v1/orgs/{cvr}/admins", userWrite, 201, func(e *env, org, caller string) (string, any) {
		right := "mitid_erhverv.user_admin" // a role the caller holds (A11)
		switch {
		case org == cvrB:
			right = "amp.lba"
		case caller == "org-admin":
			right = "mitid_erhverv.org_admin"
		}
		return "/v1/orgs/" + org + "/admins", map[string]any{"user_id": e.newUser(cvrB), "right": right}
	}},
	{"GET", "/v1/orgs/{cvr}/admins", readAll, 200, func(e *env, org, _ string) (string, any) { return "/v1/orgs/" + org + "/admins", nil }},
}

// importHeader is the 15-column header row of the CSV import.
const importHeader = "UUID;CPR-nummer;Fødselsdato;Fornavn;Efternavn;E-mail;Telefon;Brugernavn;P-nummer;SE-nummer;Anonym;Identifikationsmidler;Rettigheder;Sprog;Begrundelse\n"

func newBirthDateUser(u *store.User) {
	u.Status, u.CPRLinked, u.BirthDate = store.StatusNew, false, "1990-02-03"
}

func newCPRUser(u *store.User) { u.Status, u.CPRLinked = store.StatusNew, true }

func manualAssociation(u *store.User) { u.Source, u.UserType, u.Class = "manual", "elev", "7.b" }

func withPassword(blocked bool) func(*store.User) {
	return func(u *store.User) {
		u.Password = &store.Password{Hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", Blocked: blocked,
			Failures: 5, ChangedAt: time.Now()}
	}
}

// usePasswords turns on local password login (IMI-style) for org.
func (e *env) usePasswords(org string) {
	e.t.Helper()
	mustUpdate(e.t, e.st, func(tx *store.Tx) error {
		o, err := tx.GetOrg(org)
		if err != nil || o.Settings.PasswordLogin {
			return err
		}
		o.Settings.PasswordLogin = true
		return tx.UpdateOrg(o)
	})
}

// expect is the status a caller gets on a route in its own org or
// another (other = true).
func expect(rc routeCase, caller string, other bool) int {
	switch caller {
	case "none", "expired":
		if rc.access == public {
			return rc.ok
		}
		return http.StatusUnauthorized
	case "superadmin":
		return rc.ok
	}
	switch rc.access {
	case public, globalRead:
		return rc.ok
	case superOnly:
		return http.StatusForbidden
	}
	if other {
		return http.StatusNotFound // A1: never 403 outside one's own orgs
	}
	allowed := map[access][]string{
		readAll:     {"org-admin", "user-admin", "auditor"},
		auditRead:   {"org-admin", "auditor"},
		userWrite:   {"org-admin", "user-admin"},
		orgWrite:    {"org-admin"},
		selfService: {"org-admin", "user-admin", "auditor"},
		dryRun:      {"org-admin", "user-admin", "auditor"},
	}[rc.access]
	for _, a := range allowed {
		if a == caller {
			return rc.ok
		}
	}
	return http.StatusForbidden // A14
}

// TestAuthorisationMatrix asserts the status of every route × caller ×
// own/other org. Refused cells must not change the store, and no caller
// but a superadmin reaches another org's objects.
func TestAuthorisationMatrix(t *testing.T) {
	e := newEnv(t)
	callers := []string{"superadmin", "org-admin", "user-admin", "auditor", "none", "expired"}
	cells := 0
	for _, rc := range routeCases {
		for _, caller := range callers {
			for _, other := range []bool{false, true} {
				org := cvrA
				if other {
					org = cvrB
				}
				name := fmt.Sprintf("%s %s/%s/own", rc.method, rc.route, caller)
				if other {
					name = fmt.Sprintf("%s %s/%s/other", rc.method, rc.route, caller)
				}
				t.Run(name, func(t *testing.T) {
					cells++
					path, body := rc.setup(e, org, caller)
					before := e.snap()
					r := e.do(caller, rc.method, path, body)
					want := expect(rc, caller, other)
					if r.status != want {
						t.Fatalf("got %s, want %d", r, want)
					}
					switch {
					case r.status >= 400:
						e.unchanged(t, before)
						if r.status == http.StatusForbidden && r.errRule() != "A14" {
							t.Errorf("403 without rule A14: %s", r)
						}
						if r.status == http.StatusNotFound && (r.errCode() != "not_found" || r.errRule() != "") {
							t.Errorf("404 must be a plain not_found: %s", r)
						}
					case rc.method != "GET" && rc.access != dryRun:
						if rev, _ := r.body["revision"].(float64); uint64(rev) <= before.rev {
							t.Errorf("write answered revision %v, store was at %d", r.body["revision"], before.rev)
						}
					case rc.access == dryRun:
						e.unchanged(t, before)
						wantAllow := caller != "auditor"
						if r.body["allow"] != wantAllow {
							t.Errorf("dry run allow = %v, want %v: %s", r.body["allow"], wantAllow, r)
						}
					}
				})
			}
		}
	}
	t.Logf("%d routes × %d callers × own/other = %d cells", len(routeCases), len(callers), cells)
}
