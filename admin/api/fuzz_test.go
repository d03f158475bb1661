package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/adgang/adgang/store"
)

// FuzzCreateUserBody posts arbitrary bodies to POST /v1/orgs/{cvr}/users
// and to the dry run: the answer is never a server error, and a CPR
// number in the cpr field or in any free-text field never comes back in
// the answer. (Identifier fields such as p_number or a legacy RID have a
// fixed format and are answered as given, even when their digits happen
// to form a date.)
func FuzzCreateUserBody(f *testing.F) {
	for _, s := range []string{
		`{"name": "A", "cpr": "0101901234"}`,
		`{"name": "A", "cpr": "010190-1234", "email": "a@example.dk", "p_number": "1000000001"}`,
		`{"name": "A", "cpr": 101901234}`,
		`{"name": "A", "anonymous": true, "kind": "function", "se_number": "29190003"}`,
		`{"name": "A", "status": "active"}`,
		`{"name": "", "legacy_id": "CVR:12345674-RID:1"}`,
		`{"id": "00000000-0000-4000-8000-00000000a001", "name": "Taken"}`,
		`[]`, `null`, `{`, ``,
	} {
		f.Add(s)
	}
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, body string) {
		e.t = t
		var fields map[string]any
		_ = json.Unmarshal([]byte(body), &fields)
		var cprs []string
		for key, val := range fields { // encoding/json matches keys case-insensitively
			for _, k := range []string{"cpr", "name", "email", "username", "phone", "language", "justification"} {
				if v, ok := val.(string); ok && strings.EqualFold(key, k) {
					cprs = append(cprs, cprsIn(v)...)
				}
			}
		}
		for _, path := range []string{"/v1/orgs/" + cvrA + "/users", "/v1/policy/check"} {
			b := body
			if path == "/v1/policy/check" {
				if !strings.HasPrefix(strings.TrimSpace(b), "{") {
					continue
				}
				b = `{"action": "user.create", "cvr": "` + cvrA + `", ` + strings.TrimPrefix(strings.TrimSpace(b), "{")
			}
			r := e.do("user-admin", http.MethodPost, path, b)
			if r.status >= 500 {
				t.Fatalf("%s: %s", path, r)
			}
			for _, c := range cprs {
				if strings.Contains(string(r.raw), c) {
					t.Fatalf("%s answered a CPR number: %s", path, r)
				}
			}
		}
	})
}

// cprsIn returns the CPR numbers (as written) that ParseCPR accepts in s.
func cprsIn(s string) []string {
	var out []string
	for i := 0; i+10 <= len(s); i++ {
		for _, n := range []int{10, 11} {
			if i+n > len(s) {
				continue
			}
			c := s[i : i+n]
			if n, err := store.ParseCPR(c); err == nil {
				out = append(out, strings.TrimSpace(c), n)
			}
		}
	}
	return out
}

// FuzzImportCSV posts arbitrary data rows (after the header) to the
// import route as a dry run in each mode: the answer is never a server
// error, a dry run never changes the store, a 200 report has one line per
// data row, and a CPR number in the file never comes back in the answer.
func FuzzImportCSV(f *testing.F) {
	for _, s := range []string{
		";;;Anna;Andersen;anna@example.dk;;;;;;;;da;Ny\r\n",
		";0101901234;;Bo;Berg;bo@example.dk;;;;;;;;;\n;;;\n",
		"\"unterminated;;;;;;;;;;;;;;\n",
		"00000000-0000-4000-8000-00000000a001;;;;;x@example.dk;;;;;;;;;\n",
		";;01-01-1990;Åse;Æbelø;;;;1000000001;;ja;MitID;mitid_erhverv.user_admin;da;\"a; b\"\r\n",
		"010190-1234;;;;;;;;;;;;;;;;\n\xff;;;;;;;;;;;;;;\n",
	} {
		f.Add(s)
	}
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, rows string) {
		e.t = t
		cprs := cprsIn(rows)
		snap := e.snap()
		for _, mode := range []string{"create", "update", "delete"} {
			status, raw := e.imPost("org-admin", cvrA, "mode="+mode+"&dry_run=true", strings.NewReader(imHeader+"\r\n"+rows))
			if status >= 500 {
				t.Fatalf("%s: %d %s", mode, status, raw)
			}
			for _, c := range cprs {
				if strings.Contains(string(raw), c) {
					t.Fatalf("%s answered a CPR number: %s", mode, raw)
				}
			}
			if status != http.StatusOK {
				continue
			}
			var rep imReport
			if err := json.Unmarshal(raw, &rep); err != nil {
				t.Fatalf("%s: %v: %s", mode, err, raw)
			}
			next := 2 // rows in increasing order; a comment line (see isCommentLine) is a row too
			for i, r := range rep.Rows {
				if r.Row < next {
					t.Fatalf("%s: report line %d is row %d, want at least %d", mode, i, r.Row, next)
				}
				next = r.Row + 1
			}
		}
		e.unchanged(t, snap)
	})
}
