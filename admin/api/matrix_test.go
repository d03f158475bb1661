package api_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/adgang/adgang/admin"
	"github.com/adgang/adgang/store"
)

// access is who may use a route, in the caller's own org.
type access int

const (
	readAll      access = iota // every role reads its own org
	auditRead                  // org-admin and auditor (not user-admin)
	userWrite                  // org-admin and user-admin (A14: users, grants, members, knocks)
	orgWrite                   // org-admin only (A14: settings, custom groups)
	superOnly                  // superadmin only, no org (org creation, rights catalogue)
	globalRead                 // every role (rights catalogue, own tokens)
	selfService                // every role for itself; another org's object is not found
	dryRun                     // policy check: every role gets 200 (a verdict) in its own org
	public                     // no authentication (OpenAPI document)
	own                        // any caller bound to a user, on its own things; an unbound superadmin token has none (404)
	userCheck                  // a dry run for grant writers (privileges:check): userWrite's roles, changes nothing
	decisionRead               // auditor only (the stored decision log, issue 16)
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

	// Issue 17 (part 2): anonymity requests, notifications, my profile.
	{"POST", "/v1/users/{id}/anonymity-requests", userWrite, 201, func(e *env, org, _ string) (string, any) {
		return "/v1/users/" + e.newBrokerUser(org) + "/anonymity-requests", map[string]any{"reason": "beskyttet adresse"}
	}},
	{"GET", "/v1/orgs/{cvr}/anonymity-requests", readAll, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/orgs/" + org + "/anonymity-requests?status=all&limit=5", nil
	}},
	{"POST", "/v1/anonymity-requests/{id}/approve", userWrite, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/anonymity-requests/" + e.newAnonymityRequest(org) + "/approve", nil
	}},
	{"POST", "/v1/anonymity-requests/{id}/reject", userWrite, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/anonymity-requests/" + e.newAnonymityRequest(org) + "/reject", nil
	}},
	{"GET", "/v1/notifications", own, 200, func(e *env, _, _ string) (string, any) { return "/v1/notifications?unread=true", nil }},
	{"POST", "/v1/notifications/{id}/read", own, 200, func(e *env, org, caller string) (string, any) {
		return "/v1/notifications/" + e.newNotification(e.userOf[caller], org) + "/read", nil
	}},
	{"GET", "/v1/me", own, 200, func(e *env, _, _ string) (string, any) { return "/v1/me", nil }},
	{"POST", "/v1/orgs/{cvr}/privileges:check", userCheck, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/orgs/" + org + "/privileges:check", map[string]any{"privileges": base64.StdEncoding.EncodeToString([]byte(
			`<PrivilegeList xmlns="http://digst.dk/oiosaml/basic_privilege_profile"><PrivilegeGroup Scope="urn:dk:gov:saml:cvrNumberIdentifier:` +
				org + `"><Privilege>urn:dk:adgang:imi.case_worker</Privilege></PrivilegeGroup></PrivilegeList>`))}
	}},
	// Issue 17 part 1: certificates and the admin transfer.
	{"POST", "/v1/orgs/{cvr}/certificates", userWrite, 201, func(e *env, org, _ string) (string, any) {
		return "/v1/orgs/" + org + "/certificates", map[string]any{"type": "user", "user_id": e.newUser(org)}
	}},
	{"GET", "/v1/orgs/{cvr}/certificates", readAll, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/orgs/" + org + "/certificates?status=ordered", nil
	}},
	{"GET", "/v1/certificates/{serial}", readAll, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/certificates/" + e.newCert(org, store.CertOrdered), nil
	}},
	{"POST", "/v1/certificates/{serial}/issue", userWrite, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/certificates/" + e.newCert(org, store.CertOrdered) + "/issue", nil
	}},
	{"POST", "/v1/certificates/{serial}/revoke", userWrite, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/certificates/" + e.newCert(org, store.CertIssued) + "/revoke", nil
	}},
	{"POST", "/v1/certificates/{serial}/renew", userWrite, 201, func(e *env, org, _ string) (string, any) {
		return "/v1/certificates/" + e.newCert(org, store.CertIssued) + "/renew", nil
	}},
	{"DELETE", "/v1/certificates/{serial}", userWrite, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/certificates/" + e.newCert(org, store.CertOrdered), nil
	}},
	{"POST", "/v1/users/{id}/transfer-admin", userWrite, 200, func(e *env, org, caller string) (string, any) {
		right := "mitid_erhverv.user_admin" // a role the caller holds (A11)
		switch {
		case org == cvrB:
			right = "amp.lba"
		case caller == "org-admin":
			right = "mitid_erhverv.org_admin"
		}
		from := e.newUser(org)
		e.newGrant(store.HolderUser, from, org, right, store.Scope{Type: store.ScopeCVR, Value: org})
		return "/v1/users/" + from + "/transfer-admin", map[string]any{"to_user_id": e.newUser(org), "right": right}
	}},
	// Issue 16: the stored decision log.
	{"GET", "/v1/decisions", decisionRead, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/decisions?cvr=" + org, nil
	}},
	{"GET", "/v1/decisions/{decision_id}", decisionRead, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/decisions/" + e.newDecision(org), nil
	}},
	// Issue 18: paged lists.
	{"GET", "/v1/orgs", globalRead, 200, func(e *env, _, _ string) (string, any) { return "/v1/orgs", nil }},
	{"GET", "/v1/groups/{id}/members", readAll, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/groups/" + e.newGroup(org, e.newUser(org)) + "/members", nil
	}},
	{"GET", "/v1/orgs/{cvr}/imports", readAll, 200, func(e *env, org, _ string) (string, any) { return "/v1/orgs/" + org + "/imports", nil }},
	{"POST", "/v1/imports/{id}/retire", userWrite, 200, func(e *env, org, _ string) (string, any) {
		return "/v1/imports/" + e.newImport(org) + "/retire", nil
	}},
}

// newCert stores a user certificate of a fresh user of org with status
// and returns its serial.
func (e *env) newCert(org, status string) string {
	e.t.Helper()
	serial := fmt.Sprintf("T-%d-%s", e.n(), org)
	u := e.newUser(org)
	mustUpdate(e.t, e.st, func(tx *store.Tx) error {
		now := time.Now()
		c := &store.Certificate{Serial: serial, Org: org, UserID: u, Type: store.CertTypeUser, Status: status, OrderedAt: now}
		if status == store.CertIssued {
			until := now.Add(24 * time.Hour)
			c.IssuedAt, c.ExpiresAt = &now, &until
		}
		return tx.SaveCertificate(c, "certificate.order")
	})
	return serial
}

// newDecision stores one decision record of org in the decision log.
func (e *env) newDecision(org string) string {
	e.t.Helper()
	id := uuid.NewString()
	rec := &store.DecisionRecord{DecisionID: id, Time: time.Now(), Path: "adgang/login", CVR: org, Allow: true}
	if err := e.st.AppendDecisions(context.Background(), []*store.DecisionRecord{rec}, true); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// newImport stores an import batch of org made yesterday, with one user.
func (e *env) newImport(org string) string {
	e.t.Helper()
	id := uuid.NewString()
	mustUpdate(e.t, e.st, func(tx *store.Tx) error {
		return tx.PutImport(&store.ImportBatch{ID: id, Org: org, Mode: "create", CreatedAt: time.Now().Add(-24 * time.Hour), Rows: 1})
	})
	e.newUser(org, func(u *store.User) { u.Source = "import:" + id })
	return id
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
	if rc.access == own {
		switch caller {
		case "none", "expired":
			return http.StatusUnauthorized
		case "superadmin": // an unbound token: no user, nothing of its own
			return http.StatusNotFound
		}
		return rc.ok
	}
	if other && caller == "superadmin" && rc.method == "POST" && rc.route == "/v1/orgs/{cvr}/imports" {
		return http.StatusUnprocessableEntity // A19: the other org is an a-kasse
	}
	switch caller {
	case "none", "expired":
		if rc.access == public {
			return rc.ok
		}
		return http.StatusUnauthorized
	case "superadmin":
		return rc.ok
	case "user": // a token of a user without an admin role anywhere
		switch rc.access {
		case public:
			return rc.ok
		case globalRead:
			if rc.route == "/v1/imports/template.csv" || rc.route == "/v1/outbox" {
				return rc.ok // authentication is enough
			}
			return http.StatusForbidden
		case superOnly, dryRun:
			return http.StatusForbidden
		case selfService:
			if other {
				return http.StatusNotFound
			}
			return http.StatusForbidden
		}
		return http.StatusNotFound // A1: it holds a role in no org
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
		readAll:      {"org-admin", "user-admin", "auditor"},
		auditRead:    {"org-admin", "auditor"},
		userWrite:    {"org-admin", "user-admin"},
		userCheck:    {"org-admin", "user-admin"},
		orgWrite:     {"org-admin"},
		selfService:  {"org-admin", "user-admin", "auditor"},
		dryRun:       {"org-admin", "user-admin", "auditor"},
		decisionRead: {"auditor"},
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
	plain := e.newUser(cvrA) // a user with no admin role anywhere
	_, tok, err := admin.CreateToken(context.Background(), e.st, "test", plain, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.tokens["user"], e.userOf["user"] = tok, plain
	callers := []string{"superadmin", "org-admin", "user-admin", "auditor", "user", "none", "expired"}
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
					case rc.access == userCheck:
						e.unchanged(t, before)
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

// Fixture of the effective-rights matrix: in each org a P-unit whose
// system group holds the org-admin right (pA2; pB2, added to org B).
const (
	pB2        = "2000000002"
	orgAdminRt = "mitid_erhverv.org_admin"
)

// adminPUnit is the P-unit of org whose system group makes its users
// org-admins; plainPUnit is one that gives no admin role.
func adminPUnit(org string) string {
	if org == cvrA {
		return pA2
	}
	return pB2
}

func plainPUnit(org string) string { return userIn(org) }

// newRightsEnv is newEnv with the admin P-units of adminPUnit and a token
// "user" of a plain user of org A (no admin role anywhere).
func newRightsEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	mustUpdate(t, e.st, func(tx *store.Tx) error {
		o, err := tx.GetOrg(cvrB)
		if err != nil {
			return err
		}
		o.PUnits = append(o.PUnits, store.PUnit{PNumber: pB2})
		return tx.UpdateOrg(o)
	})
	for _, org := range []string{cvrA, cvrB} {
		p := adminPUnit(org)
		e.newGrant(store.HolderGroup, "sys-"+p, org, orgAdminRt, store.Scope{Type: "p", Value: p})
	}
	plain := e.newUser(cvrA)
	_, tok, err := admin.CreateToken(context.Background(), e.st, "test", plain, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.tokens["user"], e.userOf["user"] = tok, plain
	return e
}

// adminGroup is a fresh custom group of org holding the org-admin right.
func (e *env) adminGroup(org string, members ...string) string {
	g := e.newGroup(org, members...)
	e.newGrant(store.HolderGroup, g, org, orgAdminRt, store.Scope{Type: "cvr", Value: org})
	return g
}

// newOrgAdmin is a fresh user of org holding the org-admin right directly;
// it also returns the grant.
func (e *env) newOrgAdmin(org string, mut ...func(*store.User)) (string, string) {
	u := e.newUser(org, mut...)
	return u, e.newGrant(store.HolderUser, u, org, orgAdminRt, store.Scope{Type: "cvr", Value: org})
}

// rightsCase is one path that changes a user's effective admin roles:
// every setup makes the change give or take away the org-admin role.
type rightsCase struct {
	name   string
	method string
	ok     int
	within string // "": the answer is the outcome; "rows"/"results": the first row/result of a 200 answer is
	setup  func(e *env, org string) (path string, body any)
}

var rightsCases = []rightsCase{
	{"member add to a group with an admin right", "POST", 201, "", func(e *env, org string) (string, any) {
		return "/v1/groups/" + e.adminGroup(org) + "/members", map[string]any{"user_id": e.newUser(org)}
	}},
	{"member remove from a group with an admin right", "DELETE", 200, "", func(e *env, org string) (string, any) {
		u := e.newUser(org)
		return "/v1/groups/" + e.adminGroup(org, u) + "/members/" + u, nil
	}},
	{"P-unit move onto an admin P-unit", "PATCH", 200, "", func(e *env, org string) (string, any) {
		return "/v1/users/" + e.newUser(org), map[string]any{"p_number": adminPUnit(org)}
	}},
	{"P-unit move off an admin P-unit", "PATCH", 200, "", func(e *env, org string) (string, any) {
		u := e.newUser(org, func(u *store.User) { u.PNumber = adminPUnit(org) })
		return "/v1/users/" + u, map[string]any{"p_number": plainPUnit(org)}
	}},
	{"user creation in an admin P-unit", "POST", 201, "", func(e *env, org string) (string, any) {
		return "/v1/orgs/" + org + "/users", map[string]any{"name": "Ny", "email": fmt.Sprintf("ny%d@example.dk", e.n()),
			"p_number": adminPUnit(org)}
	}},
	{"association in an admin P-unit", "POST", 201, "", func(e *env, org string) (string, any) {
		return "/v1/orgs/" + org + "/associations", map[string]any{"cpr": fmt.Sprintf("610190-%04d", e.n()),
			"user_type": "elev", "class": "7.b", "name": "Ny Elev", "p_number": adminPUnit(org)}
	}},
	{"knock accept into an admin P-unit", "POST", 201, "", func(e *env, org string) (string, any) {
		return "/v1/knocks/" + e.newKnock(org) + "/accept", map[string]any{"p_number": adminPUnit(org)}
	}},
	{"CSV create in an admin P-unit", "POST", 200, "rows", func(e *env, org string) (string, any) {
		return "/v1/orgs/" + org + "/imports?mode=create",
			importHeader + fmt.Sprintf(";;;Ny;Import;imp%d@example.dk;;;%s;;;;;;\n", e.n(), adminPUnit(org))
	}},
	{"CSV update onto an admin P-unit", "POST", 200, "rows", func(e *env, org string) (string, any) {
		u := e.newUser(org)
		return "/v1/orgs/" + org + "/imports?mode=update", importHeader + fmt.Sprintf("%s;;;;;%s@example.dk;;;%s;;;;;;\n", u, u[:8], adminPUnit(org))
	}},
	{"CSV update granting the admin right", "POST", 200, "rows", func(e *env, org string) (string, any) {
		u := e.newUser(org)
		return "/v1/orgs/" + org + "/imports?mode=update", importHeader + fmt.Sprintf("%s;;;;;%s@example.dk;;;;;;;%s;;\n", u, u[:8], orgAdminRt)
	}},
	{"CSV delete of an org-admin", "POST", 200, "rows", func(e *env, org string) (string, any) {
		u, _ := e.newOrgAdmin(org)
		return "/v1/orgs/" + org + "/imports?mode=delete", importHeader + fmt.Sprintf("%s;;;;;%s@example.dk;;;;;;;;;\n", u, u[:8])
	}},
	{"direct grant of the admin right", "POST", 201, "", func(e *env, org string) (string, any) {
		return "/v1/users/" + e.newUser(org) + "/grants", map[string]any{"right": orgAdminRt, "scope": map[string]any{"type": "cvr", "value": org}}
	}},
	{"group grant of the admin right", "POST", 201, "", func(e *env, org string) (string, any) {
		return "/v1/groups/" + e.newGroup(org, e.newUser(org)) + "/grants", map[string]any{"right": orgAdminRt,
			"scope": map[string]any{"type": "cvr", "value": org}}
	}},
	{"supplementary admin grant (M17)", "POST", 201, "", func(e *env, org string) (string, any) {
		return "/v1/orgs/" + org + "/admins", map[string]any{"user_id": e.newUser(cvrB), "right": orgAdminRt}
	}},
	{"revoke of a user's admin grant", "DELETE", 200, "", func(e *env, org string) (string, any) {
		_, g := e.newOrgAdmin(org)
		return "/v1/grants/" + g, nil
	}},
	{"revoke of a group's admin grant", "DELETE", 200, "", func(e *env, org string) (string, any) {
		g := e.newGroup(org, e.newUser(org))
		return "/v1/grants/" + e.newGrant(store.HolderGroup, g, org, orgAdminRt, store.Scope{Type: "cvr", Value: org}), nil
	}},
	{"inactivate an org-admin", "POST", 200, "", func(e *env, org string) (string, any) {
		u, _ := e.newOrgAdmin(org)
		return "/v1/users/" + u + "/inactivate", nil
	}},
	{"deactivate an org-admin", "POST", 200, "", func(e *env, org string) (string, any) {
		u, _ := e.newOrgAdmin(org)
		return "/v1/users/" + u + "/deactivate", map[string]any{"until": "2099-01-01T00:00:00Z"}
	}},
	{"delete an org-admin", "DELETE", 200, "", func(e *env, org string) (string, any) {
		u, _ := e.newOrgAdmin(org)
		return "/v1/users/" + u, nil
	}},
	{"activate an inactive org-admin", "POST", 200, "", func(e *env, org string) (string, any) {
		u, _ := e.newOrgAdmin(org, func(u *store.User) { u.Status = store.StatusInactive })
		return "/v1/users/" + u + "/activate", nil
	}},
	{"bulk inactivate an org-admin", "POST", 200, "results", func(e *env, org string) (string, any) {
		u, _ := e.newOrgAdmin(org)
		return "/v1/orgs/" + org + "/users:inactivate", map[string]any{"user_ids": []string{u}}
	}},
	{"bulk activate an inactive org-admin", "POST", 200, "results", func(e *env, org string) (string, any) {
		u, _ := e.newOrgAdmin(org, func(u *store.User) { u.Status = store.StatusInactive })
		return "/v1/orgs/" + org + "/users:activate", map[string]any{"user_ids": []string{u}}
	}},
}

// rightsOutcome is what a caller gets on a rightsCase: "ok", "A11"
// (403 escalation, or that refusal on the row/result), "A14" (403
// forbidden) or "404" (A1: not found).
func rightsOutcome(caller string, other bool) string {
	switch {
	case caller == "superadmin":
		return "ok"
	case caller == "user" || other:
		return "404"
	case caller == "org-admin":
		return "ok"
	case caller == "user-admin":
		return "A11"
	}
	return "A14"
}

// TestAuthorisationMatrixEffectiveRights asserts every path that changes
// a user's effective admin roles (membership, P-unit moves, creation in
// a P-unit, knock accept, CSV, grants, revokes, status changes) × every
// role × own/other org: the status, the rule of a refusal, and that a
// refusal leaves the store (revision and audit log) unchanged. Only a
// superadmin or an org-admin (who holds the org-admin role) may make or
// unmake an org-admin; a user-admin gets A11, everyone else A14 or A1.
func TestAuthorisationMatrixEffectiveRights(t *testing.T) {
	e := newRightsEnv(t)
	callers := []string{"superadmin", "org-admin", "user-admin", "auditor", "user"}
	for _, rc := range rightsCases {
		for _, caller := range callers {
			for _, other := range []bool{false, true} {
				org, where := cvrA, "own"
				if other {
					org, where = cvrB, "other"
				}
				t.Run(fmt.Sprintf("%s/%s/%s", rc.name, caller, where), func(t *testing.T) {
					path, body := rc.setup(e, org)
					before := e.snap()
					r := e.do(caller, rc.method, path, body)
					if rc.within == "rows" && other && caller == "superadmin" {
						// A19: the other org is an a-kasse, which cannot import.
						if r.status != http.StatusUnprocessableEntity || r.errRule() != "A19" {
							t.Fatalf("got %s, want 422 A19", r)
						}
						e.unchanged(t, before)
						return
					}
					want := rightsOutcome(caller, other)
					status, code, rule := r.status, r.errCode(), r.errRule()
					if rc.within != "" && r.status == http.StatusOK {
						items, _ := r.body[rc.within].([]any)
						if len(items) != 1 {
							t.Fatalf("want one %s: %s", rc.within, r)
						}
						code, rule = str(dig(items[0], "error", "code")), str(dig(items[0], "error", "rule"))
						if code != "" {
							status = http.StatusForbidden // the row's refusal
						}
					}
					switch want {
					case "ok":
						if status != rc.ok {
							t.Fatalf("got %s, want %d", r, rc.ok)
						}
						if e.snap().rev <= before.rev {
							t.Errorf("allowed change stored nothing: %s", r)
						}
						return
					case "A11":
						if status != http.StatusForbidden || code != "escalation" || rule != "A11" {
							t.Fatalf("got %s, want 403 escalation/A11", r)
						}
					case "A14":
						if status != http.StatusForbidden || code != "forbidden" || rule != "A14" {
							t.Fatalf("got %s, want 403 forbidden/A14", r)
						}
					case "404":
						if status != http.StatusNotFound || code != "not_found" || rule != "" {
							t.Fatalf("got %s, want a plain 404 not_found", r)
						}
					}
					e.unchanged(t, before)
				})
			}
		}
	}
}
