package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/adgang/adgang/admin"
	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

// imHeader is the 15-column header of the bulk CSV (SPEC §5).
const imHeader = "UUID;CPR-nummer;Fødselsdato;Fornavn;Efternavn;E-mail;Telefon;Brugernavn;P-nummer;SE-nummer;Anonym;Identifikationsmidler;Rettigheder;Sprog;Begrundelse"

var imColumns = strings.Split(imHeader, ";")

// csvRow is one data row given by column name; cells are written as
// given (quote them in the value where needed).
func imRow(cells map[string]string) string {
	out := make([]string, len(imColumns))
	for k, v := range cells {
		i := imIndexOf(imColumns, k)
		if i < 0 {
			panic("unknown column " + k)
		}
		out[i] = v
	}
	return strings.Join(out, ";")
}

func imIndexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// csvFile is the header and rows, LF line ends.
func imFile(rows ...string) string {
	return imHeader + "\n" + strings.Join(rows, "\n") + "\n"
}

// imReport is the answer of POST /v1/orgs/{cvr}/imports.
type imReport struct {
	Revision uint64         `json:"revision"`
	ImportID string         `json:"import_id"`
	Applied  int            `json:"applied"`
	Summary  map[string]int `json:"summary"`
	Error    *struct {
		Code, Message, Rule string
	} `json:"error"`
	Rows []struct {
		Row    int    `json:"row"`
		Status string `json:"status"`
		UserID string `json:"user_id"`
		Error  *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Rule    string `json:"rule"`
		} `json:"error"`
	} `json:"rows"`
}

// postCSV posts a CSV body (any reader) to the import route as caller.
func (e *env) imPost(caller, cvr, query string, body io.Reader) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.ts.URL+"/v1/orgs/"+cvr+"/imports?"+query, body)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.tokens[caller])
	req.Header.Set("Content-Type", "text/csv; charset=utf-8")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, raw
}

// importCSV posts csv and decodes the report; the status must be 200.
func (e *env) imImport(t *testing.T, caller, cvr, query, csv string) imReport {
	t.Helper()
	status, raw := e.imPost(caller, cvr, query, strings.NewReader(csv))
	if status != http.StatusOK {
		t.Fatalf("import %s: %d %s", query, status, raw)
	}
	var rep imReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("report: %v: %s", err, raw)
	}
	return rep
}

func (e *env) imUser(t *testing.T, id string) map[string]any {
	t.Helper()
	r := e.do("superadmin", "GET", "/v1/users/"+id, nil)
	if r.status != 200 {
		t.Fatalf("GET user %s: %s", id, r)
	}
	return r.body["user"].(map[string]any)
}

func (e *env) imGrants(t *testing.T, id string) []any {
	t.Helper()
	r := e.do("superadmin", "GET", "/v1/users/"+id+"/grants", nil)
	if r.status != 200 {
		t.Fatalf("GET grants %s: %s", id, r)
	}
	gs, _ := r.body["grants"].([]any)
	return gs
}

func TestImportTemplate(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest("GET", e.ts.URL+"/v1/imports/template.csv", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens["user-admin"])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("template: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	// The header, then a comment line (skipped on import) with each cell's format.
	if want := "\uFEFF" + imHeader + "\r\n# UUID: "; !strings.HasPrefix(string(raw), want) || strings.Count(string(raw), "\r\n") != 2 ||
		!strings.Contains(string(raw), "Fødselsdato: YYYY-MM-DD or DD-MM-YYYY") {
		t.Fatalf("template = %q, want %q, a comment line with the formats", raw, want)
	}
	// The template itself is a valid, empty import.
	rep := e.imImport(t, "org-admin", cvrA, "mode=create", string(raw))
	if len(rep.Rows) != 0 {
		t.Fatalf("empty template import: %+v", rep)
	}
}

// TestImportCreate imports a file with a BOM, CRLF line ends, quoted
// cells holding ';', '"' and line breaks, Danish letters, rights and
// identification means, and checks every stored field.
func TestImportCreate(t *testing.T) {
	e := newEnv(t)
	id1 := uuid.NewString()
	rows := []string{
		imRow(map[string]string{"UUID": id1, "CPR-nummer": "010190-1234", "Fornavn": "Søren", "Efternavn": `"Ærø; ""Å"""`,
			"E-mail": "soren@example.dk", "Telefon": "+45 12345678", "Brugernavn": "soeren", "P-nummer": pA1,
			"Anonym": "nej", "Identifikationsmidler": `"MitID, nøglefil"`, "Rettigheder": "amp.sagsbehandler, imi.case_worker",
			"Sprog": "da", "Begrundelse": "\"Ny medarbejder;\nstartet 1. maj\""}),
		imRow(map[string]string{"Fødselsdato": "24-12-1985", "Fornavn": "Åse", "Efternavn": "Øst", "E-mail": "aase@example.dk",
			"SE-nummer": seA, "Anonym": "ja"}),
		imRow(map[string]string{"Fødselsdato": "1985-12-24", "Fornavn": "Bo", "Rettigheder": "amp.sagsbehandler"}),
	}
	file := "\uFEFF" + strings.ReplaceAll(imFile(rows...), "\n", "\r\n")
	before := e.st.Revision()
	rep := e.imImport(t, "org-admin", cvrA, "mode=create", file)
	if len(rep.Rows) != 3 || rep.Applied != 3 || rep.Revision <= before || rep.ImportID == "" {
		t.Fatalf("report: %s", imDump(rep))
	}
	for i, r := range rep.Rows {
		if r.Status != "created" || r.Row != i+2 || r.UserID == "" {
			t.Fatalf("row %d: %+v", i, r)
		}
	}
	if rep.Rows[0].UserID != id1 {
		t.Fatalf("row 2 user id %s, want %s", rep.Rows[0].UserID, id1)
	}
	u := e.imUser(t, id1)
	want := map[string]any{"name": `Søren Ærø; "Å"`, "email": "soren@example.dk", "phone": "+45 12345678", "username": "soeren",
		"p_number": pA1, "anonymous": false, "language": "da", "justification": "Ny medarbejder;\nstartet 1. maj",
		"status": "new", "cpr": "010190-****", "cpr_linked": true, "source": "import:" + rep.ImportID}
	for k, v := range want {
		if u[k] != v {
			t.Errorf("user.%s = %#v, want %#v", k, u[k], v)
		}
	}
	if fmt.Sprint(u["identification_means"]) != "[MitID nøglefil]" {
		t.Errorf("identification_means = %v", u["identification_means"])
	}
	var scopes []string
	for _, g := range e.imGrants(t, id1) {
		gm := g.(map[string]any)
		scopes = append(scopes, fmt.Sprintf("%s@%s:%s", gm["right"], dig(gm, "scope", "type"), dig(gm, "scope", "value")))
	}
	if got := strings.Join(scopes, ","); !strings.Contains(got, "amp.sagsbehandler@p:"+pA1) || !strings.Contains(got, "imi.case_worker@p:"+pA1) || len(scopes) != 2 {
		t.Errorf("grants of row 2 = %s (want both rights scoped to the P-number)", got)
	}
	u2 := e.imUser(t, rep.Rows[1].UserID)
	if u2["birth_date"] != "1985-12-24" || u2["anonymous"] != true || u2["se_number"] != seA || u2["name"] != "Åse Øst" {
		t.Errorf("row 3 user: %v", u2)
	}
	gs := e.imGrants(t, rep.Rows[2].UserID)
	if len(gs) != 1 || dig(gs[0], "scope", "value") != cvrA {
		t.Errorf("row 4 grants (CVR scope without P-number): %v", gs)
	}
	// No activation mail, an import batch and an audit event.
	if strings.Contains(e.do("superadmin", "GET", "/v1/outbox?user_id="+id1, nil).String(), "activation") {
		t.Error("a create import sent an activation mail")
	}
	err := e.st.View(context.Background(), func(tx *store.Tx) error {
		b, err := tx.GetImport(rep.ImportID)
		if err != nil {
			return err
		}
		if b.Org != cvrA || b.Mode != "create" || b.Rows != 3 || b.CreatedAt.IsZero() {
			t.Errorf("import batch: %+v", b)
		}
		evs, err := tx.AuditSince(before)
		if err != nil {
			return err
		}
		found := false
		for _, ev := range evs {
			found = found || (ev.Type == "import.create" && ev.Object == rep.ImportID)
		}
		if !found {
			t.Error("no import.create audit event")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(e.logs.String(), "0101901234") || strings.Contains(e.logs.String(), "010190-1234") {
		t.Error("the CPR number was logged")
	}
}

// TestImportRefusedRows: every malformed or refused row gets an error
// with its code and rule (empty for validation errors, which have no
// rule in the single-user API either), the CPR number is never echoed,
// and the store is unchanged.
func TestImportRefusedRows(t *testing.T) {
	e := newEnv(t)
	cvrC := e.freshCVR()
	mustUpdate(t, e.st, func(tx *store.Tx) error {
		return tx.CreateOrg(&store.Org{CVR: cvrC, Name: "C", Type: store.OrgAuthority,
			Settings: store.OrgSettings{Deletion: store.DeletionInactivateOnly}})
	})
	userC := e.newUser(cvrC, func(u *store.User) { u.PNumber = "" })
	emailC := userC[:8] + "@example.dk"
	target := e.newUser(cvrA)
	other := e.newUser(cvrA)
	fn := e.newUser(cvrA, func(u *store.User) { u.Kind = store.KindFunction })
	e.newUser(cvrA, func(u *store.User) { u.Email, u.Username = "taken@example.dk", "taken" })
	email := func(id string) string { return id[:8] + "@example.dk" }
	const cpr = "0101901234"

	good := imRow(map[string]string{"Fornavn": "God", "Efternavn": "Række", "E-mail": "god@example.dk"})
	cases := []struct {
		name, caller, cvr, query string
		csv                      string
		row                      int // the refused row
		code, rule               string
	}{
		{"wrong column count", "org-admin", cvrA, "mode=create", imFile("a;b;c"), 2, "invalid", ""},
		{"too many columns", "org-admin", cvrA, "mode=create", imFile(imRow(nil) + ";x"), 2, "invalid", ""},
		{"bad quoting", "org-admin", cvrA, "mode=create", imFile(`;;;"An"na;B;;;;;;;;;;`), 2, "invalid", ""},
		{"unterminated quote", "org-admin", cvrA, "mode=create", imFile(`;;;"Anna;B;;;;;;;;;;`), 2, "invalid", ""},
		{"invalid CPR", "org-admin", cvrA, "mode=create", imFile(imRow(map[string]string{"CPR-nummer": "3213901234", "Fornavn": "X"})), 2, "invalid", ""},
		{"invalid email", "org-admin", cvrA, "mode=create", imFile(imRow(map[string]string{"E-mail": "no at sign", "Fornavn": "X"})), 2, "invalid", ""},
		{"CPR in a free-text cell", "org-admin", cvrA, "mode=create", imFile(imRow(map[string]string{"Fornavn": "X", "Begrundelse": "cpr " + cpr})), 2, "invalid", ""},
		{"bad birth date", "org-admin", cvrA, "mode=create", imFile(imRow(map[string]string{"Fornavn": "X", "Fødselsdato": "1985/13/01"})), 2, "invalid", ""},
		{"bad Anonym", "org-admin", cvrA, "mode=create", imFile(imRow(map[string]string{"Fornavn": "X", "Anonym": "måske"})), 2, "invalid", ""},
		{"no name", "org-admin", cvrA, "mode=create", imFile(imRow(map[string]string{"E-mail": "x@example.dk"})), 2, "invalid", ""},
		{"duplicate email within the file (atomic)", "org-admin", cvrA, "mode=create&atomic=true",
			imFile(good, imRow(map[string]string{"Fornavn": "Y", "E-mail": "GOD@example.dk"})), 3, "duplicate", "A12"},
		{"duplicate CPR within the file (dry run)", "org-admin", cvrA, "mode=create&dry_run=true",
			imFile(imRow(map[string]string{"Fornavn": "Y", "CPR-nummer": cpr}), imRow(map[string]string{"Fornavn": "Z", "CPR-nummer": "010190-1234"})), 3, "duplicate", "A12"},
		{"duplicate email against the store", "org-admin", cvrA, "mode=create", imFile(imRow(map[string]string{"Fornavn": "X", "E-mail": "taken@example.dk"})), 2, "duplicate", "A12"},
		{"duplicate username against the store", "user-admin", cvrA, "mode=create", imFile(imRow(map[string]string{"Fornavn": "X", "Brugernavn": "TAKEN"})), 2, "duplicate", "A12"},
		{"duplicate UUID against the store", "org-admin", cvrA, "mode=create", imFile(imRow(map[string]string{"UUID": target, "Fornavn": "X"})), 2, "duplicate", "A12"},
		{"unknown right", "org-admin", cvrA, "mode=create", imFile(imRow(map[string]string{"Fornavn": "X", "Rettigheder": "amp.sagsbehandler,no.such.right"})), 2, "invalid", ""},
		{"unknown right that is a fictitious CPR number", "org-admin", cvrA, "mode=create", imFile(imRow(map[string]string{"Fornavn": "X", "Rettigheder": "6101901234"})), 2, "invalid", ""},
		{"unknown right that starts with a CPR number", "org-admin", cvrA, "mode=create", imFile(imRow(map[string]string{"Fornavn": "X", "Rettigheder": cpr + "x"})), 2, "invalid", ""},
		{"forbidden right (A3)", "org-admin", cvrA, "mode=create", imFile(imRow(map[string]string{"Fornavn": "X", "Rettigheder": "amp.lss"})), 2, "forbidden_right", "A3"},
		{"escalation (A11)", "user-admin", cvrA, "mode=create", imFile(imRow(map[string]string{"Fornavn": "X", "Rettigheder": "mitid_erhverv.org_admin"})), 2, "escalation", "A11"},
		{"P-number of another org (A7)", "org-admin", cvrA, "mode=create", imFile(imRow(map[string]string{"Fornavn": "X", "P-nummer": pB1})), 2, "scope_not_in_org", "A7"},
		{"update: identification by 1 of 3", "org-admin", cvrA, "mode=update", imFile(imRow(map[string]string{"UUID": target, "Telefon": "1"})), 2, "invalid", ""},
		{"update: 2 columns, different users", "org-admin", cvrA, "mode=update", imFile(imRow(map[string]string{"UUID": target, "E-mail": email(other), "Telefon": "1"})), 2, "invalid", ""},
		{"update: unknown user", "org-admin", cvrA, "mode=update", imFile(imRow(map[string]string{"UUID": uuid.NewString(), "E-mail": email(target), "Telefon": "1"})), 2, "not_found", ""},
		{"update: CPR names nobody", "org-admin", cvrA, "mode=update", imFile(imRow(map[string]string{"CPR-nummer": cpr, "E-mail": email(target), "Telefon": "1"})), 2, "not_found", ""},
		{"update: user of another org (A1)", "superadmin", cvrA, "mode=update", imFile(imRow(map[string]string{"UUID": userC, "E-mail": emailC, "Telefon": "1"})), 2, "not_found", ""},
		{"update: function certificate (A2)", "org-admin", cvrA, "mode=update", imFile(imRow(map[string]string{"UUID": fn, "E-mail": email(fn), "Telefon": "1"})), 2, "function_cert_immutable", "A2"},
		{"update: anonymity (A8)", "org-admin", cvrA, "mode=update", imFile(imRow(map[string]string{"UUID": target, "E-mail": email(target), "Anonym": "ja"})), 2, "anonymity_immutable", "A8"},
		{"update: username taken (A12)", "org-admin", cvrA, "mode=update", imFile(imRow(map[string]string{"UUID": target, "E-mail": email(target), "Brugernavn": "taken"})), 2, "duplicate", "A12"},
		{"update: forbidden right (A3)", "org-admin", cvrA, "mode=update", imFile(imRow(map[string]string{"UUID": target, "E-mail": email(target), "Rettigheder": "amp.webservice"})), 2, "forbidden_right", "A3"},
		{"update: auditor (A14)", "auditor", cvrA, "mode=update", imFile(good), 0, "forbidden", "A14"},
		{"delete: function certificate (A2)", "org-admin", cvrA, "mode=delete", imFile(imRow(map[string]string{"UUID": fn, "E-mail": email(fn)})), 2, "function_cert_immutable", "A2"},
		{"delete: inactivate_only (A9)", "superadmin", cvrC, "mode=delete", imFile(imRow(map[string]string{"UUID": userC, "E-mail": emailC})), 2, "delete_not_allowed", "A9"},
		{"delete: identification by 1 of 3", "org-admin", cvrA, "mode=delete", imFile(imRow(map[string]string{"E-mail": email(target)})), 2, "invalid", ""},
		{"delete: same user twice (dry run)", "org-admin", cvrA, "mode=delete&dry_run=true",
			imFile(imRow(map[string]string{"UUID": target, "E-mail": email(target)}), imRow(map[string]string{"UUID": target, "E-mail": email(target)})), 3, "not_found", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.snap()
			status, raw := e.imPost(c.caller, c.cvr, c.query, strings.NewReader(c.csv))
			defer e.unchanged(t, before)
			if strings.Contains(string(raw), cpr) || strings.Contains(string(raw), "010190-1234") || strings.Contains(string(raw), "6101901234") {
				t.Errorf("the answer echoes the CPR number: %s", raw)
			}
			if c.row == 0 { // refused as a whole
				var body map[string]any
				_ = json.Unmarshal(raw, &body)
				if status < 400 || str(dig(body, "error", "code")) != c.code || str(dig(body, "error", "rule")) != c.rule {
					t.Fatalf("got %d %s, want error %s/%s", status, raw, c.code, c.rule)
				}
				return
			}
			var rep imReport
			if err := json.Unmarshal(raw, &rep); status != 200 || err != nil {
				t.Fatalf("%d %s", status, raw)
			}
			for _, r := range rep.Rows {
				if r.Row != c.row {
					if r.Status == "error" {
						t.Errorf("row %d refused too: %+v", r.Row, r.Error)
					}
					continue
				}
				if r.Status != "error" || r.Error == nil || r.Error.Code != c.code || r.Error.Rule != c.rule || r.Error.Message == "" {
					t.Fatalf("row %d = %s %+v, want error %s/%s", r.Row, r.Status, r.Error, c.code, c.rule)
				}
				t.Logf("row %d: %s (%s): %s", r.Row, r.Error.Code, r.Error.Rule, r.Error.Message)
				return
			}
			t.Fatalf("row %d not in the report: %s", c.row, raw)
		})
	}

	t.Run("bad header", func(t *testing.T) {
		before := e.snap()
		defer e.unchanged(t, before)
		for _, file := range []string{
			"", "\n", strings.Replace(imFile(good), "Fornavn", "Navn", 1),
			strings.Replace(imFile(good), "UUID;", "", 1), "UUID,CPR-nummer\n",
		} {
			status, raw := e.imPost("org-admin", cvrA, "mode=create", strings.NewReader(file))
			var body map[string]any
			_ = json.Unmarshal(raw, &body)
			if status != 400 || str(dig(body, "error", "code")) != "invalid" {
				t.Errorf("file %q: %d %s", file, status, raw)
			}
		}
	})
	t.Run("bad mode", func(t *testing.T) {
		if status, raw := e.imPost("org-admin", cvrA, "mode=upsert", strings.NewReader(imFile(good))); status != 400 {
			t.Errorf("%d %s", status, raw)
		}
	})
	t.Run("org of another caller (A1)", func(t *testing.T) {
		if status, raw := e.imPost("org-admin-B", cvrA, "mode=create", strings.NewReader(imFile(good))); status != 404 {
			t.Errorf("%d %s", status, raw)
		}
	})
}

// TestImportGoodAndBadRows: a refused row changes nothing while the
// other rows of the file are applied (atomic=false).
func TestImportGoodAndBadRows(t *testing.T) {
	e := newEnv(t)
	rep := e.imImport(t, "org-admin", cvrA, "mode=create", imFile(
		imRow(map[string]string{"Fornavn": "A", "E-mail": "a1@example.dk"}),
		imRow(map[string]string{"Fornavn": "B", "E-mail": "b1@example.dk", "Rettigheder": "amp.sagsbehandler,amp.lss"}),
		imRow(map[string]string{"Fornavn": "C", "E-mail": "a1@example.dk"}),
		"x;y",
		imRow(map[string]string{"Fornavn": "D", "E-mail": "d1@example.dk"}),
	))
	got := []string{}
	for _, r := range rep.Rows {
		got = append(got, r.Status)
	}
	if strings.Join(got, ",") != "created,error,error,error,created" || rep.Applied != 2 {
		t.Fatalf("statuses %v, report %+v", got, rep)
	}
	r := e.do("superadmin", "GET", "/v1/orgs/"+cvrA+"/users?email=b1@example.dk", nil)
	if users, _ := r.body["users"].([]any); len(users) != 0 {
		t.Fatalf("the refused row's user exists: %s", r)
	}
}

// TestImportUpdate: empty cells leave fields unchanged; changed cells,
// new rights and identification means are applied; a row equal to the
// user is "unchanged" and writes nothing.
func TestImportUpdate(t *testing.T) {
	e := newEnv(t)
	rep := e.imImport(t, "org-admin", cvrA, "mode=create", imFile(
		imRow(map[string]string{"CPR-nummer": "0101901234", "Fornavn": "Kaj", "Efternavn": "Ø", "E-mail": "kaj@example.dk",
			"Telefon": "111", "Brugernavn": "kaj", "P-nummer": pA1, "Sprog": "da", "Begrundelse": "start"}),
	))
	id := rep.Rows[0].UserID
	before := e.imUser(t, id)

	rep = e.imImport(t, "org-admin", cvrA, "mode=update", imFile(
		imRow(map[string]string{"UUID": id, "CPR-nummer": "010190-1234", "Telefon": "222", "Identifikationsmidler": "MitID",
			"Rettigheder": "amp.sagsbehandler"}),
	))
	if rep.Rows[0].Status != "updated" || rep.Rows[0].UserID != id {
		t.Fatalf("update: %+v", rep)
	}
	after := e.imUser(t, id)
	for _, k := range []string{"name", "email", "username", "p_number", "language", "justification", "cpr", "status", "source"} {
		if after[k] != before[k] {
			t.Errorf("%s changed by an empty cell: %v → %v", k, before[k], after[k])
		}
	}
	if after["phone"] != "222" || fmt.Sprint(after["identification_means"]) != "[MitID]" {
		t.Errorf("phone/means not updated: %v", after)
	}
	if gs := e.imGrants(t, id); len(gs) != 1 || dig(gs[0], "right") != "amp.sagsbehandler" {
		t.Errorf("grants: %v", gs)
	}

	// The same row again: nothing to do.
	snap := e.snap()
	rep = e.imImport(t, "org-admin", cvrA, "mode=update", imFile(
		imRow(map[string]string{"E-mail": "KAJ@example.dk", "CPR-nummer": "0101901234", "Telefon": "222",
			"Identifikationsmidler": "MitID", "Rettigheder": "amp.sagsbehandler", "Fornavn": "Kaj", "Efternavn": "Ø"}),
	))
	if rep.Rows[0].Status != "unchanged" {
		t.Fatalf("repeat: %+v", rep.Rows[0])
	}
	e.unchanged(t, snap)

	// Name change by email + UUID; a dry run first.
	row := imRow(map[string]string{"UUID": id, "E-mail": "kaj@example.dk", "Fornavn": "Kaj", "Efternavn": "Æble", "Fødselsdato": "01-01-1990"})
	snap = e.snap()
	rep = e.imImport(t, "org-admin", cvrA, "mode=update&dry_run=true", imFile(row))
	if rep.Rows[0].Status != "would_update" {
		t.Fatalf("dry run: %+v", rep.Rows[0])
	}
	e.unchanged(t, snap)
	rep = e.imImport(t, "org-admin", cvrA, "mode=update", imFile(row))
	if u := e.imUser(t, id); rep.Rows[0].Status != "updated" || u["name"] != "Kaj Æble" || u["birth_date"] != "1990-01-01" {
		t.Fatalf("update: %+v %v", rep.Rows[0], u)
	}

	// Delete, identified by CPR and email.
	rep = e.imImport(t, "org-admin", cvrA, "mode=delete", imFile(
		imRow(map[string]string{"CPR-nummer": "010190-1234", "E-mail": "kaj@example.dk"})))
	if rep.Rows[0].Status != "deleted" || rep.Rows[0].UserID != id {
		t.Fatalf("delete: %+v", rep)
	}
	if r := e.do("superadmin", "GET", "/v1/users/"+id, nil); r.status != 404 {
		t.Fatalf("deleted user: %s", r)
	}
}

// TestImportAtomicAndDryRun: atomic=true with one bad row changes
// nothing; without a bad row it applies every row. A dry run changes
// nothing and reports what would happen.
func TestImportAtomicAndDryRun(t *testing.T) {
	e := newEnv(t)
	var rows []string
	for i := range 600 { // more than one batch
		rows = append(rows, imRow(map[string]string{"Fornavn": "Atom", "Efternavn": fmt.Sprint(i), "E-mail": fmt.Sprintf("atom%d@example.dk", i)}))
	}
	bad := append(append([]string{}, rows...), imRow(map[string]string{"Fornavn": "X", "Rettigheder": "amp.lss"}))

	snap := e.snap()
	rep := e.imImport(t, "org-admin", cvrA, "mode=create&atomic=true", imFile(bad...))
	e.unchanged(t, snap)
	if rep.Applied != 0 || rep.Summary["not_applied"] != 600 || rep.Summary["error"] != 1 || rep.Rows[600].Error.Rule != "A3" {
		t.Fatalf("atomic with a bad row: %+v", rep.Summary)
	}

	rep = e.imImport(t, "org-admin", cvrA, "mode=create&dry_run=true", imFile(bad...))
	e.unchanged(t, snap)
	if rep.Summary["would_create"] != 600 || rep.Summary["error"] != 1 || rep.ImportID != "" {
		t.Fatalf("dry run: %+v", rep.Summary)
	}

	rep = e.imImport(t, "org-admin", cvrA, "mode=create&atomic=true", imFile(rows...))
	if rep.Applied != 600 || rep.Summary["created"] != 600 {
		t.Fatalf("atomic: %+v", rep.Summary)
	}
	r := e.do("superadmin", "GET", "/v1/orgs/"+cvrA+"/users?email=atom599@example.dk", nil)
	if users, _ := r.body["users"].([]any); len(users) != 1 {
		t.Fatalf("atomic import: %s", r)
	}
}

// TestImportTooLarge: a body over the limit with a declared length is
// refused with 413 before anything is read, and nothing changes.
func TestImportTooLarge(t *testing.T) {
	e := newEnv(t)
	snap := e.snap()
	body := io.MultiReader(strings.NewReader(imFile()), io.LimitReader(imFill('x'), 65<<20))
	req, _ := http.NewRequest("POST", e.ts.URL+"/v1/orgs/"+cvrA+"/imports?mode=create", body)
	req.ContentLength = int64(len(imFile())) + 65<<20
	req.Header.Set("Authorization", "Bearer "+e.tokens["org-admin"])
	res, err := http.DefaultClient.Do(req)
	if err == nil {
		defer res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			raw, _ := io.ReadAll(res.Body)
			t.Fatalf("%d %s", res.StatusCode, raw)
		}
	} // else the server closed the connection before reading the body: fine
	e.unchanged(t, snap)
}

type imFill byte

func (b imFill) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// imGenCSV streams a create file of n rows, each padded to about rowBytes
// with its Begrundelse, without holding it in memory.
func imGenCSV(n, rowBytes int, prefix string) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		bw := make([]byte, 0, 1<<16)
		bw = append(bw, "\uFEFF"+imHeader+"\r\n"...)
		pad := ""
		if rowBytes > 120 {
			pad = strings.Repeat("æ", (rowBytes-120)/2)
		}
		for i := range n {
			bw = fmt.Appendf(bw, ";;;Bruger;Nummer %d;%s%d@example.dk;;;%s;;;;;da;\"Import; %s\"\r\n", i, prefix, i, pA1, pad)
			if len(bw) > 1<<15 {
				if _, err := pw.Write(bw); err != nil {
					return
				}
				bw = bw[:0]
			}
		}
		_, _ = pw.Write(bw)
		_ = pw.Close()
	}()
	return pr
}

// imHeapSampler samples the heap in use (objects plus unused space in
// spans, as MemStats.HeapInuse) every 10 ms until stopped, through
// runtime/metrics, which, unlike ReadMemStats, does not stop the world.
type imHeapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

func imSampleHeap() *imHeapSampler {
	h := &imHeapSampler{stop: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
		for {
			metrics.Read(samples)
			if v := samples[0].Value.Uint64() + samples[1].Value.Uint64(); v > h.peak.Load() {
				h.peak.Store(v)
			}
			select {
			case <-h.stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return h
}

func (h *imHeapSampler) Stop() uint64 { close(h.stop); h.wg.Wait(); return h.peak.Load() }

// imSyncEnv is newEnv over a store with sync writes on (as in
// production), for the timing tests.
func imSyncEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(store.Config{Dir: t.TempDir(), CPRKey: storetest.Key, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	seed(t, st)
	e := &env{t: t, st: st, logs: &syncBuffer{}, tokens: map[string]string{}, userOf: map[string]string{}}
	eng, err := pdp.New(ctx, st, pdp.Config{Logger: zerolog.Nop(), DecisionLog: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	_, plain, err := admin.CreateToken(ctx, st, "test", oaA, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.tokens["org-admin"] = plain
	srv, err := admin.New(ctx, admin.Config{Store: st, Engine: eng, Logger: zerolog.New(e.logs)})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	e.ts = httptest.NewServer(handlerOf(srv, eng, zerolog.New(e.logs)))
	t.Cleanup(func() { e.ts.Close(); srv.Close() })
	return e
}

// imTimed posts a generated file and logs time and peak heap.
func imTimed(t *testing.T, e *env, what string, body io.Reader) imReport {
	t.Helper()
	runtime.GC()
	h := imSampleHeap()
	start := time.Now()
	status, raw := e.imPost("org-admin", cvrA, "mode=create", body)
	took := time.Since(start)
	peak := h.Stop()
	if status != 200 {
		t.Fatalf("%s: %d %.300s", what, status, raw)
	}
	var rep imReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d rows in %v (%.0f rows/s), peak HeapInuse %.1f MiB, report %d bytes, summary %v",
		what, len(rep.Rows), took.Round(time.Millisecond), float64(len(rep.Rows))/took.Seconds(), float64(peak)/(1<<20), len(raw), rep.Summary)
	return rep
}

// TestImport100k imports 100,000 rows with sync writes and reports the
// time and peak heap; the target is at most 15 s.
func TestImport100k(t *testing.T) {
	if testing.Short() {
		t.Skip("100k-row import: skipped under -short")
	}
	e := imSyncEnv(t)
	rep := imTimed(t, e, "100k create", imGenCSV(importRows(), 0, "u"))
	if rep.Summary["created"] != importRows() {
		t.Fatalf("summary %v", rep.Summary)
	}
	r := e.do("org-admin", "GET", "/v1/orgs/"+cvrA+"/users?email=u"+strconv.Itoa(importRows()-1)+"@example.dk", nil)
	if users, _ := r.body["users"].([]any); len(users) != 1 {
		t.Fatalf("last row: %s", r)
	}
}

// TestImport50MB streams a 50 MB file (about 50,000 rows of 1 KB).
func TestImport50MB(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MB import: skipped under -short")
	}
	e := imSyncEnv(t)
	rep := imTimed(t, e, "50 MB create", imGenCSV(50_000, 1050, "big"))
	if rep.Summary["created"] != 50_000 {
		t.Fatalf("summary %v", rep.Summary)
	}
}

func imDump(rep imReport) string {
	b, _ := json.Marshal(rep)
	return string(b)
}

// importRows is 100k, or ADGANG_IMPORT_ROWS when set (for profiling).
func importRows() int {
	if n, err := strconv.Atoi(os.Getenv("ADGANG_IMPORT_ROWS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}
