package api_test

import (
	"bytes"
	"net/http"
	"os"
	"strings"
	"testing"
)

// TestImportWindows1252 imports a CSV file as a Danish Excel saves it
// ("CSV (semikolonsepareret)": Windows-1252, CRLF): its æøå and en dash
// arrive as UTF-8 text, and the header is recognised. A UTF-16 file is
// refused with a message that says how to save it; a UTF-8 file with one
// Windows-1252 cell gets a row error that says what to do.
func TestImportWindows1252(t *testing.T) {
	raw, err := os.ReadFile("testdata/excel-windows-1252.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte("F\xf8dselsdato")) {
		t.Fatal("the test file is not Windows-1252")
	}
	e := newEnv(t)
	rep := e.imImport(t, "org-admin", cvrA, "mode=create", string(raw))
	if rep.Applied != 2 || len(rep.Rows) != 2 {
		t.Fatalf("report %+v", rep)
	}
	u := e.imUser(t, rep.Rows[0].UserID)
	if u["name"] != "Søren Ærbø-Åsen" || u["birth_date"] != "1985-03-14" {
		t.Fatalf("user 1 = %v", u)
	}
	if u := e.imUser(t, rep.Rows[1].UserID); u["name"] != "Åse Østergård" {
		t.Fatalf("user 2 = %v", u)
	}

	// UTF-16 (Excel's "Unicode text"): refused as a whole, saying what to do.
	status, body := e.imPost("org-admin", cvrA, "mode=create&dry_run=true", bytes.NewReader([]byte{0xFF, 0xFE, 'U', 0, 'U', 0}))
	if status != http.StatusBadRequest || !strings.Contains(string(body), "CSV UTF-8") {
		t.Fatalf("UTF-16: %d %s", status, body)
	}

	// A UTF-8 file (its header says so) with a Windows-1252 cell.
	mixed := imFile(imRow(map[string]string{"Fornavn": "S\xf8ren", "E-mail": "mixed@example.dk"}))
	rep = e.imImport(t, "org-admin", cvrA, "mode=create&dry_run=true", mixed)
	if len(rep.Rows) != 1 || rep.Rows[0].Error == nil || !strings.Contains(rep.Rows[0].Error.Message, "CSV UTF-8") {
		t.Fatalf("mixed encodings: %+v", rep)
	}
}

// TestImportTemplateFormatLine: the template's format line is skipped on
// import and counted as a row, so a row added below it is row 3, as the
// spreadsheet shows it; a row of 15 cells whose first cell starts with #
// is data (and refused for its UUID), never silently skipped.
func TestImportTemplateFormatLine(t *testing.T) {
	e := newEnv(t)
	r := e.do("superadmin", "GET", "/v1/imports/template.csv", nil)
	if r.status != 200 {
		t.Fatalf("template: %s", r)
	}
	file := string(r.raw) + imRow(map[string]string{"Fornavn": "Tea", "E-mail": "tea@example.dk"}) + "\r\n" +
		imRow(map[string]string{"UUID": "#x", "Fornavn": "Hash", "E-mail": "hash@example.dk"}) + "\r\n"
	rep := e.imImport(t, "org-admin", cvrA, "mode=create&dry_run=true", file)
	if len(rep.Rows) != 2 || rep.Rows[0].Row != 3 || rep.Rows[0].Status == "error" || rep.Rows[1].Row != 4 || rep.Rows[1].Status != "error" {
		t.Fatalf("report %+v", rep)
	}
}
