package api_test

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// Issue 17 part 1: certificates (C1, C2, D14), identification means
// (A16), must-have roles and admin transfer (A17), CPR-identified admins
// (A18), no CSV import for a-kasser (A19), the org's password age (M20).

func wantRefusal(t *testing.T, r resp, status int, code, rule string) {
	t.Helper()
	if r.status != status || r.errCode() != code || r.errRule() != rule {
		t.Fatalf("want %d %s/%s, got %s", status, code, rule, r)
	}
}

func wantStatus(t *testing.T, r resp, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("want %d, got %s", status, r)
	}
}

func certOf(r resp) map[string]any { m, _ := r.body["certificate"].(map[string]any); return m }

func TestCertificateLifecycle(t *testing.T) {
	e := newEnv(t)
	u := e.newUser(cvrA)
	before := e.snap()
	// Bad orders change nothing.
	wantStatus(t, e.do("org-admin", "POST", "/v1/orgs/"+cvrA+"/certificates", map[string]any{"type": "user"}), 400)
	wantStatus(t, e.do("org-admin", "POST", "/v1/orgs/"+cvrA+"/certificates", map[string]any{"type": "org", "user_id": u}), 400)
	wantStatus(t, e.do("org-admin", "POST", "/v1/orgs/"+cvrA+"/certificates", map[string]any{"type": "bogus"}), 400)
	wantStatus(t, e.do("auditor", "POST", "/v1/orgs/"+cvrA+"/certificates", map[string]any{"type": "org"}), 403)
	wantStatus(t, e.do("org-admin-B", "POST", "/v1/orgs/"+cvrA+"/certificates", map[string]any{"type": "org"}), 404)
	e.unchanged(t, before)

	r := e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/certificates", map[string]any{"type": "user", "user_id": u})
	wantStatus(t, r, 201)
	c := certOf(r)
	serial := str(c["serial"])
	if c["status"] != "ordered" || c["user_id"] != u || c["type"] != "user" || c["ordered_by"] != uaA || serial == "" {
		t.Fatalf("order: %s", r)
	}
	path := "/v1/certificates/" + serial

	// Reads: the auditor may; another org's admin gets 404 (A1).
	wantStatus(t, e.do("auditor", "GET", path, nil), 200)
	wantStatus(t, e.do("org-admin-B", "GET", path, nil), 404)
	wantStatus(t, e.do("org-admin", "GET", "/v1/certificates/NOPE", nil), 404)
	wantStatus(t, e.do("auditor", "POST", path+"/issue", nil), 403)

	// Wrong state: 409 certificate_state (C2), nothing stored.
	before = e.snap()
	wantRefusal(t, e.do("org-admin", "POST", path+"/revoke", nil), 409, "certificate_state", "C2")
	wantRefusal(t, e.do("org-admin", "POST", path+"/renew", nil), 409, "certificate_state", "C2")
	e.unchanged(t, before)

	r = e.do("org-admin", "POST", path+"/issue", map[string]any{"expires_at": "2099-01-31"})
	wantStatus(t, r, 200)
	if c = certOf(r); c["status"] != "issued" || c["issued_at"] == nil || !strings.HasPrefix(str(c["expires_at"]), "2099-01-3") {
		t.Fatalf("issue: %s", r)
	}
	wantRefusal(t, e.do("org-admin", "POST", path+"/issue", nil), 409, "certificate_state", "C2")
	wantRefusal(t, e.do("org-admin", "DELETE", path, nil), 409, "certificate_state", "C2")

	// Renew: a new issued certificate that names the old one.
	r = e.do("org-admin", "POST", path+"/renew", nil)
	wantStatus(t, r, 201)
	renewed := certOf(r)
	if renewed["status"] != "issued" || renewed["renewed_from"] != serial || renewed["serial"] == serial {
		t.Fatalf("renew: %s", r)
	}

	// Revoke is irreversible.
	r = e.do("org-admin", "POST", path+"/revoke", nil)
	if wantStatus(t, r, 200); certOf(r)["status"] != "revoked" {
		t.Fatalf("revoke: %s", r)
	}
	for _, act := range []string{"/issue", "/revoke", "/renew"} {
		wantRefusal(t, e.do("org-admin", "POST", path+act, nil), 409, "certificate_state", "C2")
	}
	if got := certOf(e.do("org-admin", "GET", path, nil))["status"]; got != "revoked" {
		t.Fatalf("status after refused changes: %v", got)
	}

	// An order is deleted only before it is issued.
	r = e.do("org-admin", "POST", "/v1/orgs/"+cvrA+"/certificates", map[string]any{"type": "org"})
	wantStatus(t, r, 201)
	orgSerial := str(certOf(r)["serial"])
	wantStatus(t, e.do("org-admin", "DELETE", "/v1/certificates/"+orgSerial, nil), 200)
	wantStatus(t, e.do("org-admin", "GET", "/v1/certificates/"+orgSerial, nil), 404)

	// Every change is audited.
	types := map[string]bool{}
	for _, ev := range e.snap().events {
		types[ev.Type] = true
	}
	for _, typ := range []string{"certificate.order", "certificate.issue", "certificate.renew", "certificate.revoke", "certificate.delete"} {
		if !types[typ] {
			t.Errorf("no %s audit event", typ)
		}
	}
}

func TestCertificateSearchAndExport(t *testing.T) {
	e := newEnv(t)
	u := e.newUser(cvrA)
	serials := map[string]bool{}
	for i := 0; i < 3; i++ {
		r := e.do("org-admin", "POST", "/v1/orgs/"+cvrA+"/certificates", map[string]any{"type": "user", "user_id": u})
		wantStatus(t, r, 201)
		serials[str(certOf(r)["serial"])] = true
	}
	r := e.do("org-admin", "POST", "/v1/orgs/"+cvrA+"/certificates", map[string]any{"type": "function", "user_id": fnA})
	wantStatus(t, r, 201)
	fnSerial := str(certOf(r)["serial"])
	wantStatus(t, e.do("org-admin", "POST", "/v1/certificates/"+fnSerial+"/issue", nil), 200)

	// Paging by limit and page_token covers every certificate once.
	seen := map[string]bool{}
	token := ""
	for pages := 0; ; pages++ {
		r := e.do("auditor", "GET", "/v1/orgs/"+cvrA+"/certificates?limit=2&page_token="+token, nil)
		wantStatus(t, r, 200)
		for _, c := range r.body["certificates"].([]any) {
			seen[str(c.(map[string]any)["serial"])] = true
		}
		if token = str(r.body["next_page_token"]); token == "" {
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 4 {
		t.Fatalf("paged %d certificates, want 4", len(seen))
	}
	r = e.do("auditor", "GET", "/v1/orgs/"+cvrA+"/certificates?status=issued", nil)
	if list := r.body["certificates"].([]any); len(list) != 1 || str(list[0].(map[string]any)["serial"]) != fnSerial {
		t.Fatalf("status=issued: %s", r)
	}
	r = e.do("auditor", "GET", "/v1/orgs/"+cvrA+"/certificates?q="+strings.ToLower(fnSerial[:8]), nil)
	if list := r.body["certificates"].([]any); len(list) != 1 {
		t.Fatalf("q: %s", r)
	}
	for _, q := range []string{"limit=0", "limit=1001", "status=gone", "format=xml", "page_token=%25%25"} {
		wantStatus(t, e.do("auditor", "GET", "/v1/orgs/"+cvrA+"/certificates?"+q, nil), 400)
	}
	wantStatus(t, e.do("org-admin-B", "GET", "/v1/orgs/"+cvrA+"/certificates", nil), 404)

	r = e.do("auditor", "GET", "/v1/orgs/"+cvrA+"/certificates?format=csv&status=ordered", nil)
	wantStatus(t, r, 200)
	cr := csv.NewReader(strings.NewReader(string(r.raw)))
	cr.Comma = ';'
	recs, err := cr.ReadAll()
	if err != nil || len(recs) != 4 || recs[0][0] != "serial" {
		t.Fatalf("csv (%v): %q", err, r.raw)
	}
	for _, rec := range recs[1:] {
		if !serials[rec[0]] || rec[2] != "ordered" {
			t.Fatalf("csv row %q", rec)
		}
	}
}

func TestCertificateTypesSettingC1(t *testing.T) {
	e := newEnv(t)
	wantStatus(t, e.do("org-admin", "PATCH", "/v1/orgs/"+cvrA, map[string]any{"settings": map[string]any{"certificate_types": []string{"usr"}}}), 400)
	r := e.do("org-admin", "PATCH", "/v1/orgs/"+cvrA, map[string]any{"settings": map[string]any{"certificate_types": []string{"user"}}})
	wantStatus(t, r, 200)
	before := e.snap()
	wantRefusal(t, e.do("org-admin", "POST", "/v1/orgs/"+cvrA+"/certificates", map[string]any{"type": "org"}), 422, "certificate_type_not_allowed", "C1")
	// A function certificate needs a function certificate user; a user
	// certificate an employee.
	wantRefusal(t, e.do("superadmin", "POST", "/v1/orgs/"+cvrB+"/certificates", map[string]any{"type": "user", "user_id": fnA}), 404, "not_found", "")
	e.unchanged(t, before)
	u := e.newUser(cvrA)
	wantStatus(t, e.do("org-admin", "POST", "/v1/orgs/"+cvrA+"/certificates", map[string]any{"type": "user", "user_id": u}), 201)
	wantRefusal(t, e.do("org-admin", "POST", "/v1/orgs/"+cvrA+"/certificates", map[string]any{"type": "user", "user_id": fnA}), 422, "certificate_type_not_allowed", "C1")
	// Org B has no setting: every type.
	wantStatus(t, e.do("org-admin-B", "POST", "/v1/orgs/"+cvrB+"/certificates", map[string]any{"type": "org"}), 201)
}

// certLogin is a certificate login of user id for Eksamensdatabasen.
func certLogin(t *testing.T, e *env, id, serial string) *pdp.Decision {
	t.Helper()
	d, err := e.eng.Login(context.Background(), &pdp.LoginRequest{Subject: pdp.Subject{ID: id, CVR: cvrA, Kind: "employee",
		CPRLinked: true, AuthMethod: "certificate", CertificateSerial: serial}, Service: "eksamensdatabasen"}, pdp.RequestMeta{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func hasReason(d *pdp.Decision, code string) bool {
	for _, r := range d.Reasons {
		if r.Code == code {
			return true
		}
	}
	return false
}

func TestCertificateRevocationD14(t *testing.T) {
	e := newEnv(t)
	u := e.newUser(cvrA)
	e.newGrant(store.HolderUser, u, cvrA, eks, store.Scope{Type: store.ScopeCVR, Value: cvrA})
	r := e.do("org-admin", "POST", "/v1/orgs/"+cvrA+"/certificates", map[string]any{"type": "user", "user_id": u})
	serial := str(certOf(r)["serial"])
	wantStatus(t, e.do("org-admin", "POST", "/v1/certificates/"+serial+"/issue", nil), 200)

	if d := certLogin(t, e, u, serial); !d.Allow {
		t.Fatalf("issued certificate: %+v", d.Reasons)
	}
	// The next decision after the revoke sees it (the cache is per revision).
	wantStatus(t, e.do("org-admin", "POST", "/v1/certificates/"+serial+"/revoke", nil), 200)
	if d := certLogin(t, e, u, serial); d.Allow || !hasReason(d, "certificate_revoked") {
		t.Fatalf("revoked certificate: allow=%v %+v", d.Allow, d.Reasons)
	}
	// A serial the registry does not know is not judged by D14.
	if d := certLogin(t, e, u, "UNKNOWN-SERIAL"); !d.Allow {
		t.Fatalf("unknown serial: %+v", d.Reasons)
	}
	// A certificate past its validity reads as expired and is denied.
	past := time.Now().Add(-time.Hour)
	issued := past.Add(-24 * time.Hour)
	mustUpdate(t, e.st, func(tx *store.Tx) error {
		return tx.SaveCertificate(&store.Certificate{Serial: "OLD-1", Org: cvrA, UserID: u, Type: "user",
			Status: store.CertIssued, IssuedAt: &issued, ExpiresAt: &past}, "certificate.issue")
	})
	if got := certOf(e.do("org-admin", "GET", "/v1/certificates/OLD-1", nil))["status"]; got != "expired" {
		t.Fatalf("expired certificate reads as %v", got)
	}
	if d := certLogin(t, e, u, "OLD-1"); d.Allow || !hasReason(d, "certificate_revoked") {
		t.Fatalf("expired certificate: allow=%v %+v", d.Allow, d.Reasons)
	}
	r = e.do("org-admin", "GET", "/v1/orgs/"+cvrA+"/certificates?status=expired", nil)
	if list := r.body["certificates"].([]any); len(list) != 1 {
		t.Fatalf("status=expired: %s", r)
	}
}

func TestIdentificationMeansA16(t *testing.T) {
	e := newEnv(t)
	wantStatus(t, e.do("org-admin", "PATCH", "/v1/orgs/"+cvrA, map[string]any{"settings": map[string]any{"identification_means": []string{"MitID", "MitID Erhverv"}}}), 200)
	create := func(caller, cvr string, means []string) resp {
		body := map[string]any{"name": "Means user", "email": "means" + uuid.NewString()[:8] + "@example.dk", "identification_means": means}
		return e.do(caller, "POST", "/v1/orgs/"+cvr+"/users", body)
	}
	r := create("org-admin", cvrA, []string{"MitID"})
	wantStatus(t, r, 201)
	id := str(dig(r.body, "user", "id"))
	if got := dig(r.body, "user", "identification_means").([]any); len(got) != 1 || got[0] != "MitID" {
		t.Fatalf("means: %s", r)
	}
	before := e.snap()
	wantRefusal(t, create("org-admin", cvrA, []string{"MitID", "NemID"}), 422, "identification_means_not_allowed", "A16")
	wantRefusal(t, e.do("user-admin", "PATCH", "/v1/users/"+id, map[string]any{"identification_means": []string{"Token"}}), 422, "identification_means_not_allowed", "A16")
	wantStatus(t, e.do("user-admin", "PATCH", "/v1/users/"+id, map[string]any{"identification_means": []string{""}}), 400)
	e.unchanged(t, before)
	r = e.do("user-admin", "PATCH", "/v1/users/"+id, map[string]any{"identification_means": []string{"MitID Erhverv"}})
	if wantStatus(t, r, 200); dig(r.body, "user", "identification_means").([]any)[0] != "MitID Erhverv" {
		t.Fatalf("patch: %s", r)
	}
	// An org without the setting allows any means.
	wantStatus(t, create("org-admin-B", cvrB, []string{"Anything"}), 201)

	// The CSV import is held to the same rule.
	rep := e.imImport(t, "org-admin", cvrA, "mode=create", imFile(imRow(map[string]string{"Fornavn": "Csv", "Efternavn": "Means",
		"E-mail": "csvmeans@example.dk", "Identifikationsmidler": "NemID"})))
	if len(rep.Rows) != 1 || rep.Rows[0].Error == nil || rep.Rows[0].Error.Rule != "A16" {
		t.Fatalf("import row: %+v", rep.Rows)
	}
}

func TestAdminsCPRIdentifiedA18(t *testing.T) {
	e := newEnv(t)
	body := func() map[string]any {
		return map[string]any{"name": "A18 user", "email": "a18-" + uuid.NewString()[:8] + "@example.dk"}
	}
	wantStatus(t, e.do("org-admin", "PATCH", "/v1/orgs/"+cvrA, map[string]any{"settings": map[string]any{"admins_cpr_identified": true}}), 200)
	before := e.snap()
	// The fixture's administrators have no linked CPR number.
	wantRefusal(t, e.do("org-admin", "POST", "/v1/orgs/"+cvrA+"/users", body()), 422, "admin_not_cpr_identified", "A18")
	wantRefusal(t, e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/certificates", map[string]any{"type": "org"}), 422, "admin_not_cpr_identified", "A18")
	e.unchanged(t, before)
	// Other orgs are not bound; a superadmin is not bound.
	wantStatus(t, e.do("org-admin-B", "POST", "/v1/orgs/"+cvrB+"/users", body()), 201)
	wantStatus(t, e.do("superadmin", "POST", "/v1/orgs/"+cvrA+"/users", body()), 201)
	// A CPR-identified administrator may.
	admin := e.newUser(cvrA) // CPRLinked
	e.newGrant(store.HolderUser, admin, cvrA, "mitid_erhverv.user_admin", store.Scope{Type: store.ScopeCVR, Value: cvrA})
	r := e.do("superadmin", "POST", "/v1/tokens", map[string]any{"user_id": admin})
	wantStatus(t, r, 201)
	e.tokens["cpr-admin"] = str(r.body["token"])
	waitFor(t, "role link", func() bool { return e.do("cpr-admin", "GET", "/v1/orgs/"+cvrA, nil).status == 200 })
	wantStatus(t, e.do("cpr-admin", "POST", "/v1/orgs/"+cvrA+"/users", body()), 201)
}

func TestImportNotForAKasseA19(t *testing.T) {
	e := newEnv(t)
	file := imFile(imRow(map[string]string{"Fornavn": "Import", "Efternavn": "B", "E-mail": "importb@example.dk"}))
	before := e.snap()
	for _, q := range []string{"mode=create", "mode=create&dry_run=true", "mode=update"} {
		status, raw := e.imPost("superadmin", cvrB, q, strings.NewReader(file))
		if status != 422 || !strings.Contains(string(raw), `"import_not_allowed"`) || !strings.Contains(string(raw), `"A19"`) {
			t.Fatalf("%s: %d %s", q, status, raw)
		}
	}
	e.unchanged(t, before)
	rep := e.imImport(t, "org-admin", cvrA, "mode=create", strings.Replace(file, "importb@", "importa@", 1))
	if len(rep.Rows) != 1 || rep.Rows[0].Error != nil {
		t.Fatalf("institution import: %+v", rep.Rows)
	}
}

func TestPasswordMaxAgeM20(t *testing.T) {
	e := newEnv(t)
	wantStatus(t, e.do("org-admin", "PATCH", "/v1/orgs/"+cvrA, map[string]any{"settings": map[string]any{"password_max_age_days": -1}}), 400)
	r := e.do("org-admin", "PATCH", "/v1/orgs/"+cvrA, map[string]any{"settings": map[string]any{"password_max_age_days": 30}})
	if wantStatus(t, r, 200); dig(r.body, "org", "settings", "password_max_age_days") != float64(30) {
		t.Fatalf("patch: %s", r)
	}
	hash, err := store.HashPassword("Gammel1kode")
	if err != nil {
		t.Fatal(err)
	}
	u := e.newUser(cvrA, func(u *store.User) {
		u.Username = "m20user"
		u.Password = &store.Password{}
		u.Password.SetPassword(hash, false, time.Now().Add(-60*24*time.Hour))
	})
	e.newGrant(store.HolderUser, u, cvrA, "imi.case_worker", store.Scope{Type: store.ScopeCVR, Value: cvrA})
	if got := str(dig(e.do("org-admin", "GET", "/v1/users/"+u, nil).body, "user", "password_status")); got != "expired" {
		t.Fatalf("password_status %q", got)
	}
	d, err := e.eng.Login(context.Background(), &pdp.LoginRequest{Subject: pdp.Subject{ID: u, CVR: cvrA, Kind: "employee",
		CPRLinked: true, AuthMethod: "password"}, Service: "imi"}, pdp.RequestMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Allow || !hasReason(d, "password_change_required") {
		t.Fatalf("login with a 60-day-old password under a 30-day limit: allow=%v %+v", d.Allow, d.Reasons)
	}
}

func TestMustHaveRolesA17(t *testing.T) {
	e := newEnv(t)
	settings := func(rights ...string) resp {
		return e.do("org-admin", "PATCH", "/v1/orgs/"+cvrA, map[string]any{"settings": map[string]any{"must_have_roles": rights}})
	}
	wantStatus(t, settings("no.such.right"), 400)
	// Marking a right nobody holds is refused.
	wantRefusal(t, settings("imi.case_worker"), 409, "must_have_role", "A17")

	a := e.newUser(cvrA)
	ga := e.newGrant(store.HolderUser, a, cvrA, "imi.case_worker", store.Scope{Type: store.ScopeCVR, Value: cvrA})
	wantStatus(t, settings("imi.case_worker"), 200)

	before := e.snap()
	wantRefusal(t, e.do("user-admin", "DELETE", "/v1/grants/"+ga, nil), 409, "must_have_role", "A17")
	wantRefusal(t, e.do("user-admin", "POST", "/v1/users/"+a+"/inactivate", nil), 409, "must_have_role", "A17")
	wantRefusal(t, e.do("user-admin", "DELETE", "/v1/users/"+a, nil), 409, "must_have_role", "A17")
	e.unchanged(t, before)

	// An inactive user with a grant is no holder: its login is denied.
	inactive := e.newUser(cvrA, func(u *store.User) { u.Status = store.StatusInactive })
	e.newGrant(store.HolderUser, inactive, cvrA, "imi.case_worker", store.Scope{Type: store.ScopeCVR, Value: cvrA})
	wantRefusal(t, e.do("user-admin", "DELETE", "/v1/grants/"+ga, nil), 409, "must_have_role", "A17")

	// With a second holder (through a group) the first may go.
	b := e.newUser(cvrA)
	grp := e.newGroup(cvrA, b)
	e.newGrant(store.HolderGroup, grp, cvrA, "imi.case_worker", store.Scope{Type: store.ScopeCVR, Value: cvrA})
	wantStatus(t, e.do("user-admin", "DELETE", "/v1/grants/"+ga, nil), 200)
	wantRefusal(t, e.do("user-admin", "DELETE", "/v1/groups/"+grp+"/members/"+b, nil), 409, "must_have_role", "A17")

	// The dry run answers the same.
	r := e.do("user-admin", "POST", "/v1/policy/check", map[string]any{"action": "user.inactivate", "user_id": b})
	if r.status != 200 || r.body["allow"] != false || !strings.Contains(string(r.raw), "must_have_role") {
		t.Fatalf("dry run: %s", r)
	}
}

func TestTransferAdmin(t *testing.T) {
	e := newEnv(t)
	to := e.newUser(cvrB)
	otherOrg := e.newUser(cvrA)
	path := "/v1/users/" + oaB + "/transfer-admin"
	before := e.snap()
	wantStatus(t, e.do("org-admin-B", "POST", path, map[string]any{"to_user_id": to, "right": "amp.sagsbehandler"}), 400)
	wantStatus(t, e.do("org-admin-B", "POST", path, map[string]any{"to_user_id": oaB, "right": "mitid_erhverv.org_admin"}), 400)
	wantStatus(t, e.do("org-admin-B", "POST", path, map[string]any{"to_user_id": otherOrg, "right": "mitid_erhverv.org_admin"}), 404)
	wantStatus(t, e.do("org-admin-B", "POST", path, map[string]any{"to_user_id": to, "right": "mitid_erhverv.user_admin"}), 409)
	// The LBA (user-admin) cannot hand over an org-admin role (A11).
	wantRefusal(t, e.do("user-admin-B", "POST", path, map[string]any{"to_user_id": to, "right": "mitid_erhverv.org_admin"}), 403, "escalation", "A11")
	wantStatus(t, e.do("org-admin", "POST", path, map[string]any{"to_user_id": to, "right": "mitid_erhverv.org_admin"}), 404)
	e.unchanged(t, before)

	// A function certificate user's grants are not an administrator's to
	// take (A2), nor to give.
	e.newGrant(store.HolderUser, fnA, cvrA, "mitid_erhverv.org_admin", store.Scope{Type: store.ScopeCVR, Value: cvrA})
	toA := e.newUser(cvrA)
	before = e.snap()
	wantRefusal(t, e.do("org-admin", "POST", "/v1/users/"+fnA+"/transfer-admin", map[string]any{"to_user_id": toA, "right": "mitid_erhverv.org_admin"}), 422, "function_cert_immutable", "A2")
	wantRefusal(t, e.do("org-admin", "POST", "/v1/users/"+oaA+"/transfer-admin", map[string]any{"to_user_id": fnA, "right": "mitid_erhverv.org_admin"}), 422, "function_cert_immutable", "A2")
	e.unchanged(t, before)

	// The last org-admin of B hands its role over in one step (A10 does
	// not stop a transfer).
	r := e.do("org-admin-B", "POST", path, map[string]any{"to_user_id": to, "right": "mitid_erhverv.org_admin"})
	wantStatus(t, r, 200)
	if dig(r.body, "grant", "holder_id") != to {
		t.Fatalf("transfer: %s", r)
	}
	if got := e.rolesOf(t, oaB); len(got) != 0 {
		t.Fatalf("old holder keeps %v", got)
	}
	if got := e.rolesOf(t, to); len(got) != 1 || got[0] != "org-admin" {
		t.Fatalf("new holder has %v", got)
	}
	// The old holder's token lost its role at once.
	wantStatus(t, e.do("org-admin-B", "PATCH", "/v1/orgs/"+cvrB, map[string]any{"name": "B2"}), 404)
}
