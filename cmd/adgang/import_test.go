package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/admin"
	adminapi "github.com/adgang/adgang/admin/api"
	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

const (
	importCVR = "12345674"
	// importHeader is the import template's 15 columns (SPEC §5).
	importHeader = "UUID;CPR-nummer;Fødselsdato;Fornavn;Efternavn;E-mail;Telefon;Brugernavn;P-nummer;SE-nummer;Anonym;Identifikationsmidler;Rettigheder;Sprog;Begrundelse"
	// importBadToken is a well-formed token the server does not know; it
	// must never appear in the command's output.
	importBadToken = "adg_wrong_5f0c2d7e9a1b4c3d8e6f"
)

// importCSVRow is a data row with a first name, last name and e-mail; the
// other 12 cells are empty.
func importCSVRow(first, last, email string) string {
	cells := make([]string, 15)
	cells[3], cells[4], cells[5] = first, last, email
	return strings.Join(cells, ";")
}

func importCSVFile(rows ...string) string {
	return importHeader + "\n" + strings.Join(rows, "\n") + "\n"
}

// importEnv is a real admin server over a real store, with the last
// import request's transfer details recorded.
type importEnv struct {
	st    *store.Store
	url   string
	token string // a superadmin token

	mu   sync.Mutex
	last importRequest
}

type importRequest struct {
	contentLength int64
	contentType   string
	query         string
}

func newImportEnv(t *testing.T) *importEnv {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(store.Config{Dir: t.TempDir(), NoSync: true, CPRKey: storetest.Key, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Update(ctx, "test", func(tx *store.Tx) error {
		return tx.CreateOrg(&store.Org{CVR: importCVR, Name: "Gymnasium A", Type: store.OrgInstitution,
			PUnits: []store.PUnit{{PNumber: "1000000001"}}, Settings: store.OrgSettings{Deletion: store.DeletionAllowed}})
	}); err != nil {
		t.Fatal(err)
	}
	eng, err := pdp.New(ctx, st, pdp.Config{Logger: zerolog.Nop(), DecisionLog: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	_, token, err := admin.CreateToken(ctx, st, "test", "", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := admin.New(ctx, admin.Config{Store: st, Engine: eng, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	e := &importEnv{st: st, token: token}
	h := adminapi.New(srv, adminapi.Config{}).Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/imports") {
			e.mu.Lock()
			e.last = importRequest{contentLength: r.ContentLength, contentType: r.Header.Get("Content-Type"), query: r.URL.RawQuery}
			e.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { ts.Close(); srv.Close() })
	e.url = ts.URL
	return e
}

func (e *importEnv) lastRequest() importRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.last
}

// hasUser reports whether a user with this e-mail is stored.
func (e *importEnv) hasUser(t *testing.T, email string) bool {
	t.Helper()
	err := e.st.View(context.Background(), func(tx *store.Tx) error {
		_, err := tx.UserByEmail(email)
		return err
	})
	if err != nil && !store.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

// TestImportCommand runs `adgang import` against a real admin server. In
// args, FILE is the path of a file holding csv, URL the server's base URL,
// HOSTPORT its host:port and TOKEN a superadmin token.
func TestImportCommand(t *testing.T) {
	e := newImportEnv(t)
	for _, tc := range []struct {
		name     string
		csv      string
		stdin    string
		args     []string
		envToken string // ADGANG_TOKEN
		envAddr  string // ADGANG_ADMIN_ADDR
		want     string // "" (success), "usage" or "fail"
		out      []string
		notOut   []string
		check    func(t *testing.T, req importRequest)
	}{
		{
			name: "create",
			csv:  importCSVFile(importCSVRow("Anna", "Andersen", "anna@example.dk"), importCSVRow("Bo", "Berg", "bo@example.dk")),
			args: []string{"FILE", "--org", importCVR, "--mode", "create", "--admin-addr", "URL", "--token", "TOKEN"},
			out:  []string{"2 created; 2 applied (import "},
			check: func(t *testing.T, req importRequest) {
				for _, m := range []string{"anna@example.dk", "bo@example.dk"} {
					if !e.hasUser(t, m) {
						t.Errorf("user %s not stored", m)
					}
				}
				csv := importCSVFile(importCSVRow("Anna", "Andersen", "anna@example.dk"), importCSVRow("Bo", "Berg", "bo@example.dk"))
				if req.contentLength != int64(len(csv)) {
					t.Errorf("Content-Length %d, want %d (the file's size)", req.contentLength, len(csv))
				}
				if req.contentType != "text/csv; charset=utf-8" || req.query != "atomic=false&dry_run=false&mode=create" {
					t.Errorf("request: %+v", req)
				}
			},
		},
		{
			name:     "flags before FILE, token and host:port from the environment",
			csv:      importCSVFile(importCSVRow("Cai", "Clausen", "cai@example.dk")),
			args:     []string{"--org", importCVR, "--mode", "create", "FILE"},
			envToken: "TOKEN",
			envAddr:  "HOSTPORT",
			out:      []string{"1 created;"},
			check: func(t *testing.T, _ importRequest) {
				if !e.hasUser(t, "cai@example.dk") {
					t.Error("user not stored")
				}
			},
		},
		{
			name: "refused row",
			csv: importCSVFile(importCSVRow("Dan", "Dahl", "dan@example.dk"), importCSVRow("Dora", "Dahl", "dan@example.dk"),
				importCSVRow("", "", "dennis@example.dk")),
			args: []string{"FILE", "--org", importCVR, "--mode", "create", "--admin-addr", "URL", "--token", "TOKEN"},
			want: "fail",
			out: []string{"row 3: duplicate (A12): the e-mail address is already used", "row 4: invalid: Fornavn or Efternavn is required",
				"1 created, 2 error; 1 applied", "2 of 3 rows refused"},
			check: func(t *testing.T, _ importRequest) {
				if !e.hasUser(t, "dan@example.dk") || e.hasUser(t, "dennis@example.dk") {
					t.Error("want row 2 stored and row 4 not")
				}
			},
		},
		{
			name: "atomic with a refused row stores nothing",
			csv:  importCSVFile(importCSVRow("Eva", "Eriksen", "eva@example.dk"), importCSVRow("", "", "emil@example.dk")),
			args: []string{"FILE", "--org", importCVR, "--mode", "create", "--atomic", "--admin-addr", "URL", "--token", "TOKEN"},
			want: "fail",
			out:  []string{"row 3: invalid: Fornavn or Efternavn is required", "1 not_applied, 1 error; nothing was changed", "nothing was applied"},
			check: func(t *testing.T, req importRequest) {
				if e.hasUser(t, "eva@example.dk") {
					t.Error("atomic import stored a row")
				}
				if !strings.Contains(req.query, "atomic=true") {
					t.Errorf("query %q", req.query)
				}
			},
		},
		{
			name: "dry run stores nothing",
			csv:  importCSVFile(importCSVRow("Finn", "Friis", "finn@example.dk")),
			args: []string{"FILE", "--dry-run", "--org", importCVR, "--mode", "create", "--admin-addr", "URL", "--token", "TOKEN"},
			out:  []string{"dry run: 1 would_create; nothing was stored"},
			check: func(t *testing.T, req importRequest) {
				if e.hasUser(t, "finn@example.dk") {
					t.Error("dry run stored the user")
				}
				if !strings.Contains(req.query, "dry_run=true") {
					t.Errorf("query %q", req.query)
				}
			},
		},
		{
			name:  "stdin",
			stdin: importCSVFile(importCSVRow("Gry", "Gade", "gry@example.dk")),
			args:  []string{"-", "--org", importCVR, "--mode", "create", "--admin-addr", "URL", "--token", "TOKEN"},
			out:   []string{"1 created;"},
			check: func(t *testing.T, req importRequest) {
				if !e.hasUser(t, "gry@example.dk") {
					t.Error("user not stored")
				}
				if req.contentLength != -1 {
					t.Errorf("Content-Length %d, want -1 (chunked: a pipe has no size)", req.contentLength)
				}
			},
		},
		{
			name: "json",
			csv:  importCSVFile(importCSVRow("Hans", "Holm", "hans@example.dk"), importCSVRow("", "", "")),
			args: []string{"FILE", "--json", "--org", importCVR, "--mode", "create", "--admin-addr", "URL", "--token", "TOKEN"},
			want: "fail",
			out:  []string{`"summary":{"created":1,"error":1}`, `"rows":[{"row":2,"status":"created"`},
		},
		{
			name: "wrong token",
			csv:  importCSVFile(importCSVRow("Ida", "Isaksen", "ida@example.dk")),
			args: []string{"FILE", "--org", importCVR, "--mode", "create", "--admin-addr", "URL", "--token", importBadToken},
			want: "fail",
			out:  []string{"401 Unauthorized", "unauthorized: invalid token"},
		},
		{
			name:     "wrong token from the environment",
			csv:      importCSVFile(importCSVRow("Ida", "Isaksen", "ida@example.dk")),
			args:     []string{"FILE", "--org", importCVR, "--mode", "create", "--admin-addr", "URL", "--json"},
			envToken: importBadToken,
			want:     "fail",
			out:      []string{`{"error":{"code":"unauthorized","message":"invalid token"}}`},
		},
		{
			name: "unknown organisation",
			csv:  importCSVFile(importCSVRow("Jon", "Juhl", "jon@example.dk")),
			args: []string{"FILE", "--org", "29190011", "--mode", "create", "--admin-addr", "URL", "--token", "TOKEN"},
			want: "fail",
			out:  []string{"404 Not Found", "not_found"},
		},
		{name: "missing token", csv: "x", args: []string{"FILE", "--org", importCVR, "--mode", "create", "--admin-addr", "URL"},
			want: "usage", out: []string{"a token is required"}},
		{name: "missing --org", csv: "x", args: []string{"FILE", "--mode", "create", "--token", "TOKEN"},
			want: "usage", out: []string{"--org is required"}},
		{name: "missing --mode", csv: "x", args: []string{"FILE", "--org", importCVR, "--token", "TOKEN"},
			want: "usage", out: []string{"--mode must be"}},
		{name: "unknown --mode", csv: "x", args: []string{"FILE", "--org", importCVR, "--mode", "upsert", "--token", "TOKEN"},
			want: "usage", out: []string{"--mode must be create, update or delete"}},
		{name: "missing FILE", args: []string{"--org", importCVR, "--mode", "create", "--token", "TOKEN"},
			want: "usage", out: []string{"FILE is required"}},
		{name: "two files", csv: "x", args: []string{"FILE", "FILE", "--org", importCVR, "--mode", "create", "--token", "TOKEN"},
			want: "usage", out: []string{"one FILE only"}},
		{name: "unknown flag", csv: "x", args: []string{"FILE", "--org", importCVR, "--mode", "create", "--force", "--token", "TOKEN"},
			want: "usage", out: []string{"flag provided but not defined: -force"}},
		{name: "bad --admin-addr", csv: "x", args: []string{"FILE", "--org", importCVR, "--mode", "create", "--admin-addr", "ftp://x", "--token", "TOKEN"},
			want: "usage", out: []string{"--admin-addr"}},
		{name: "no such file", args: []string{filepath.Join(t.TempDir(), "none.csv"), "--org", importCVR, "--mode", "create", "--token", "TOKEN"},
			want: "fail", out: []string{"no such file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "users.csv")
			if err := os.WriteFile(file, []byte(tc.csv), 0o600); err != nil {
				t.Fatal(err)
			}
			subst := func(s string) string {
				switch s {
				case "FILE":
					return file
				case "URL":
					return e.url
				case "HOSTPORT":
					return strings.TrimPrefix(e.url, "http://")
				case "TOKEN":
					return e.token
				}
				return s
			}
			var args []string
			for _, a := range tc.args {
				args = append(args, subst(a))
			}
			t.Setenv("ADGANG_TOKEN", subst(tc.envToken))
			t.Setenv("ADGANG_ADMIN_ADDR", subst(tc.envAddr))
			var stdout bytes.Buffer
			err := importCSV(context.Background(), args, strings.NewReader(tc.stdin), &stdout)
			all := stdout.String()
			if err != nil {
				all += "\nerror: " + err.Error()
			}
			var ue usageError
			switch {
			case tc.want == "" && err != nil,
				tc.want == "usage" && !errors.As(err, &ue),
				tc.want == "fail" && (err == nil || errors.As(err, &ue)):
				t.Fatalf("want %q, got error %v; output:\n%s", tc.want, err, all)
			}
			for _, s := range tc.out {
				if !strings.Contains(all, s) {
					t.Errorf("output lacks %q:\n%s", s, all)
				}
			}
			for _, secret := range []string{e.token, importBadToken} {
				if strings.Contains(all, secret) {
					t.Errorf("output shows a token:\n%s", all)
				}
			}
			if tc.check != nil {
				tc.check(t, e.lastRequest())
			}
		})
	}
}

// TestImportJSONReport checks that --json prints the server's report
// unchanged: a JSON document with every row.
func TestImportJSONReport(t *testing.T) {
	e := newImportEnv(t)
	file := filepath.Join(t.TempDir(), "users.csv")
	csv := importCSVFile(importCSVRow("Kim", "Krag", "kim@example.dk"), importCSVRow("Lis", "Lund", "lis@example.dk"))
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	args := []string{file, "--org", importCVR, "--mode", "create", "--json", "--admin-addr", e.url + "/", "--token", e.token}
	if err := importCSV(context.Background(), args, nil, &stdout); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Applied int `json:"applied"`
		Rows    []struct {
			Row    int    `json:"row"`
			Status string `json:"status"`
			UserID string `json:"user_id"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || !strings.HasSuffix(stdout.String(), "]}\n") {
		t.Fatalf("not the raw report: %v\n%s", err, stdout.String())
	}
	if rep.Applied != 2 || len(rep.Rows) != 2 || rep.Rows[1].Row != 3 || rep.Rows[1].Status != "created" || rep.Rows[1].UserID == "" {
		t.Fatalf("report: %s", stdout.String())
	}
}

func TestImportAdminBaseURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"127.0.0.1:8182", "http://127.0.0.1:8182"},
		{"localhost:8182", "http://localhost:8182"},
		{"http://127.0.0.1:8182/", "http://127.0.0.1:8182"},
		{"https://adgang.example.dk", "https://adgang.example.dk"},
		{"https://example.dk/adgang/", "https://example.dk/adgang"},
		{"[::1]:8182", "http://[::1]:8182"},
		{"ftp://example.dk", ""},
		{"http://", ""},
		{"http://user:pw@example.dk", ""},
	} {
		got, err := adminBaseURL(tc.in)
		if (err != nil) != (tc.want == "") || got != tc.want {
			t.Errorf("adminBaseURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestImportStdinFile: stdin redirected from a file (`< users.csv`) is
// sent with its size, like a named file.
func TestImportStdinFile(t *testing.T) {
	e := newImportEnv(t)
	file := filepath.Join(t.TempDir(), "users.csv")
	csv := importCSVFile(importCSVRow("Mia", "Mørk", "mia@example.dk"))
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	args := []string{"-", "--org", importCVR, "--mode", "create", "--admin-addr", e.url, "--token", e.token}
	if err := importCSV(context.Background(), args, fh, io.Discard); err != nil {
		t.Fatal(err)
	}
	if req := e.lastRequest(); req.contentLength != int64(len(csv)) || !e.hasUser(t, "mia@example.dk") {
		t.Fatalf("Content-Length %d, want %d; user stored: %v", req.contentLength, len(csv), e.hasUser(t, "mia@example.dk"))
	}
}
