package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/admin"
	"github.com/adgang/adgang/store"
)

// withCPR gives a user made by env.newUser the CPR number cpr.
func (e *env) withCPR(cpr string) func(*store.User) {
	return func(u *store.User) {
		n, err := store.ParseCPR(cpr)
		if err != nil {
			e.t.Fatal(err)
		}
		u.CPRHash, u.CPRMasked, u.CPRLinked = e.st.HashCPR(n), store.MaskCPR(n), true
	}
}

// useCPRLimit serves the env's admin API with a CPR refusal limit of n.
func (e *env) useCPRLimit(n int) {
	e.t.Helper()
	srv, err := admin.New(context.Background(), admin.Config{Store: e.st, Engine: e.eng, Logger: zerolog.New(e.logs), CPRRefusalsPerDay: n})
	if err != nil {
		e.t.Fatal(err)
	}
	ts := httptest.NewServer(handlerOf(srv, e.eng, zerolog.New(e.logs)))
	e.t.Cleanup(func() { ts.Close(); srv.Close() })
	e.srv, e.ts = srv, ts
}

// rowCodes is each row's status, or its error code when refused.
func rowCodes(rep imReport) []string {
	var out []string
	for _, r := range rep.Rows {
		if r.Error != nil {
			out = append(out, r.Error.Code)
		} else {
			out = append(out, r.Status)
		}
	}
	return out
}

// TestCPRNoCrossOrgOracle: CPR numbers are unique per organisation, so
// nothing an administrator does in its own org tells whether a person is
// known in another: create, association, PATCH, policy check and a
// dry-run or update import with another org's CPR numbers answer as for
// numbers nobody holds. Within the org a number is still A12 duplicate.
func TestCPRNoCrossOrgOracle(t *testing.T) {
	e := newEnv(t)
	const inA, inB1, inB2, inB3, inB4, nobody = "010190-1234", "020290-2345", "030390-3456", "040490-4567", "050590-5678", "060690-6789"
	xA := e.newUser(cvrA, e.withCPR(inA))
	for _, c := range []string{inB1, inB2, inB3, inB4} {
		e.newUser(cvrB, e.withCPR(c))
	}

	// Org B's admin creates the person of org A: a user of both orgs.
	r := e.do("org-admin-B", "POST", "/v1/orgs/"+cvrB+"/users", map[string]any{"name": "Both Orgs", "cpr": inA, "p_number": pB1})
	if r.status != http.StatusCreated {
		t.Errorf("create in B with a CPR number of A: %s", r)
	}
	// Org A: the same number again is still a duplicate there (A12).
	r = e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/users", map[string]any{"name": "Twin", "cpr": inA})
	if r.status != http.StatusConflict || r.errCode() != "duplicate" || r.errRule() != "A12" {
		t.Errorf("duplicate within the org: %s", r)
	}
	// Numbers only org B holds go through in org A, every way in.
	r = e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/users", map[string]any{"name": "From B", "cpr": inB1})
	if r.status != http.StatusCreated {
		t.Errorf("create in A with a CPR number of B: %s", r)
	}
	r = e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/associations", map[string]any{"cpr": inB2, "user_type": "elev", "name": "Elev B"})
	if r.status != http.StatusCreated {
		t.Errorf("association in A with a CPR number of B: %s", r)
	}
	r = e.do("user-admin", "PATCH", "/v1/users/"+e.newUser(cvrA), map[string]any{"cpr": inB3})
	if r.status != http.StatusOK {
		t.Errorf("PATCH in A to a CPR number of B: %s", r)
	}
	r = e.do("user-admin", "POST", "/v1/policy/check", map[string]any{"action": "user.create", "cvr": cvrA, "name": "Dry", "cpr": inB4})
	if r.status != http.StatusOK || dig(r.body, "allow") != true {
		t.Errorf("policy check in A with a CPR number of B: %s", r)
	}
	// A dry-run import: another org's numbers and unused ones alike.
	rep := e.imImport(t, "org-admin", cvrA, "mode=create&dry_run=true", imFile(
		imRow(map[string]string{"Fornavn": "B", "Efternavn": "Fire", "CPR-nummer": inB4}),
		imRow(map[string]string{"Fornavn": "Ingen", "Efternavn": "Anden", "CPR-nummer": nobody}),
		imRow(map[string]string{"Fornavn": "A", "Efternavn": "Igen", "CPR-nummer": inA}),
	))
	if got := strings.Join(rowCodes(rep), ","); got != "would_create,would_create,duplicate" {
		t.Errorf("dry-run import rows: %s", got)
	}
	// An update import finds only the org's own users: a number of B
	// answers exactly like a number nobody holds.
	msg := func(cpr string) string {
		rep := e.imImport(t, "org-admin", cvrA, "mode=update&dry_run=true", imFile(
			imRow(map[string]string{"UUID": xA, "CPR-nummer": cpr, "Telefon": "12345678"})))
		if len(rep.Rows) != 1 || rep.Rows[0].Error == nil {
			t.Fatalf("update row with a CPR number not of the user: %s", imDump(rep))
		}
		return rep.Rows[0].Error.Code + ": " + rep.Rows[0].Error.Message
	}
	if b, n := msg(inB4), msg(nobody); b != n || !strings.HasPrefix(b, "not_found") {
		t.Errorf("update identified by a CPR number of B: %q, by an unused one: %q", b, n)
	}
}

// TestCPRRefusalRateLimit: after n CPR refusals (duplicates on create,
// PATCH, association, policy check and import rows, dry runs included;
// update rows whose CPR-nummer does not name the user) an administrator
// gets 429 rate_limited for everything that sets or identifies by a CPR
// number, whether or not that number is in use; the rest of its work and
// other administrators are unaffected.
func TestCPRRefusalRateLimit(t *testing.T) {
	e := newEnv(t)
	const limit = 4
	e.useCPRLimit(limit)
	const taken, fresh = "010190-1234", "070790-7890"
	xA := e.newUser(cvrA, e.withCPR(taken))
	target := e.newUser(cvrA)

	// user-admin meets the limit, one way each.
	for i, try := range []func() resp{
		func() resp {
			return e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/users", map[string]any{"name": "Dup", "cpr": taken})
		},
		func() resp { return e.do("user-admin", "PATCH", "/v1/users/"+target, map[string]any{"cpr": taken}) },
		func() resp {
			return e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/associations", map[string]any{"cpr": taken, "user_type": "elev", "name": "Dup"})
		},
		func() resp {
			return e.do("user-admin", "POST", "/v1/policy/check", map[string]any{"action": "user.create", "cvr": cvrA, "name": "Dup", "cpr": taken})
		},
	} {
		r := try()
		dup := r.errCode() == "duplicate" || strings.Contains(string(r.raw), `"code":"duplicate"`)
		if !dup || r.status == http.StatusTooManyRequests {
			t.Fatalf("refusal %d of %d: want a duplicate, got %s", i+1, limit, r)
		}
	}
	// The next one, and any change by CPR number, is refused: a number
	// nobody holds answers the same, so the refusal tells nothing.
	for name, try := range map[string]func() resp{
		"create, taken": func() resp {
			return e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/users", map[string]any{"name": "Dup", "cpr": taken})
		},
		"create, fresh": func() resp {
			return e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/users", map[string]any{"name": "New", "cpr": fresh})
		},
		"PATCH, fresh": func() resp { return e.do("user-admin", "PATCH", "/v1/users/"+target, map[string]any{"cpr": fresh}) },
		"association, fresh": func() resp {
			return e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/associations", map[string]any{"cpr": fresh, "user_type": "elev", "name": "New"})
		},
		"policy check, fresh": func() resp {
			return e.do("user-admin", "POST", "/v1/policy/check", map[string]any{"action": "user.create", "cvr": cvrA, "name": "New", "cpr": fresh})
		},
	} {
		before := e.snap()
		if r := try(); r.status != http.StatusTooManyRequests || r.errCode() != "rate_limited" {
			t.Errorf("%s over the limit: %s", name, r)
		}
		e.unchanged(t, before)
	}
	// Without a CPR number the admin works as before.
	if r := e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/users", map[string]any{"name": "No CPR"}); r.status != http.StatusCreated {
		t.Errorf("create without CPR over the limit: %s", r)
	}
	if r := e.do("user-admin", "PATCH", "/v1/users/"+target, map[string]any{"phone": "12345678"}); r.status != http.StatusOK {
		t.Errorf("PATCH without CPR over the limit: %s", r)
	}

	// org-admin has its own budget: a duplicate is 409, a fresh number
	// goes through; then dry-run import rows use up the rest, including
	// update rows whose CPR-nummer is not the user's, and the rows after
	// that carry a CPR number are refused rate_limited.
	if r := e.do("org-admin", "POST", "/v1/orgs/"+cvrA+"/users", map[string]any{"name": "Dup", "cpr": taken}); r.status != http.StatusConflict {
		t.Fatalf("other admin, duplicate: %s", r)
	}
	if r := e.do("org-admin", "POST", "/v1/orgs/"+cvrA+"/users", map[string]any{"name": "Fresh", "cpr": fresh}); r.status != http.StatusCreated {
		t.Fatalf("other admin, fresh number: %s", r)
	}
	rep := e.imImport(t, "org-admin", cvrA, "mode=update&dry_run=true", imFile(
		imRow(map[string]string{"UUID": xA, "CPR-nummer": "010190-1235", "Telefon": "11111111"}), // a wrong guess: refusal 2
		imRow(map[string]string{"UUID": xA, "CPR-nummer": taken, "Telefon": "22222222"}),         // the user's own: no refusal
		imRow(map[string]string{"UUID": xA, "CPR-nummer": "010190-1236", "Telefon": "33333333"}), // a wrong guess: refusal 3
	))
	if got := strings.Join(rowCodes(rep), ","); got != "not_found,would_update,not_found" {
		t.Fatalf("update rows: %s", got)
	}
	rep = e.imImport(t, "org-admin", cvrA, "mode=create&dry_run=true", imFile(
		imRow(map[string]string{"Fornavn": "Dup", "Efternavn": "Fem", "CPR-nummer": taken}),  // refusal 4
		imRow(map[string]string{"Fornavn": "Dup", "Efternavn": "Seks", "CPR-nummer": taken}), // over
		imRow(map[string]string{"Fornavn": "Ny", "Efternavn": "Syv", "CPR-nummer": "080890-8901"}),
		imRow(map[string]string{"Fornavn": "Uden", "Efternavn": "CPR"}),
	))
	if got := strings.Join(rowCodes(rep), ","); got != "duplicate,rate_limited,rate_limited,would_create" {
		t.Fatalf("dry-run create rows at the limit: %s", got)
	}
	rep = e.imImport(t, "org-admin", cvrA, "mode=update&dry_run=true", imFile(
		imRow(map[string]string{"UUID": xA, "CPR-nummer": taken, "Telefon": "44444444"}),
		imRow(map[string]string{"UUID": xA, "E-mail": dig(e.imUser(t, xA), "email").(string), "Telefon": "55555555"}),
	))
	if got := strings.Join(rowCodes(rep), ","); got != "rate_limited,would_update" {
		t.Fatalf("update rows over the limit: %s", got)
	}
	if r := e.do("org-admin", "POST", "/v1/orgs/"+cvrA+"/users", map[string]any{"name": "Fresh 2", "cpr": "090990-9012"}); r.status != http.StatusTooManyRequests {
		t.Errorf("other admin over its limit: %s", r)
	}
	// Org B's admin is untouched by A's admins' counts.
	if r := e.do("org-admin-B", "POST", "/v1/orgs/"+cvrB+"/users", map[string]any{"name": "B", "cpr": taken, "p_number": pB1}); r.status != http.StatusCreated {
		t.Errorf("admin of B: %s", r)
	}
}

// TestCPRRefusalDefaultLimit: with the default limit (100) the 101st
// duplicate of one administrator is refused rate_limited, here within one
// dry-run import, and a plain create by CPR answers 429 after it.
func TestCPRRefusalDefaultLimit(t *testing.T) {
	e := newEnv(t)
	const taken = "010190-1234"
	e.newUser(cvrA, e.withCPR(taken))
	rows := make([]string, admin.DefaultCPRRefusalsPerDay+2)
	for i := range rows {
		rows[i] = imRow(map[string]string{"Fornavn": "Dup", "Efternavn": "Row", "CPR-nummer": taken})
	}
	rep := e.imImport(t, "org-admin", cvrA, "mode=create&dry_run=true", imFile(rows...))
	codes := rowCodes(rep)
	for i, c := range codes {
		want := "duplicate"
		if i >= admin.DefaultCPRRefusalsPerDay {
			want = "rate_limited"
		}
		if c != want {
			t.Fatalf("row %d: %s, want %s", i+2, c, want)
		}
	}
	if r := e.do("org-admin", "POST", "/v1/orgs/"+cvrA+"/users", map[string]any{"name": "Dup", "cpr": taken}); r.status != http.StatusTooManyRequests || r.errCode() != "rate_limited" {
		t.Errorf("create after 100 duplicates: %s", r)
	}
	if r := e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/users", map[string]any{"name": "Dup", "cpr": taken}); r.status != http.StatusConflict {
		t.Errorf("another admin below the limit: %s", r)
	}
}
