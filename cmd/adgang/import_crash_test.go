package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

const importCrashCVR = "29190011"

// importCrashRow is data row i of the crash test's file: a fixed UUID and
// e-mail, and every fifth user two rights.
func importCrashRow(i int) string {
	rights := ""
	if i%5 == 0 {
		rights = "amp.sagsbehandler,imi.case_worker"
	}
	return fmt.Sprintf("%s;;;Bruger;Nummer %d;crash%d@example.dk;;;;;;;%s;da;Import\r\n", crashUserID(i), i, i, rights)
}

func importCrashRights(i int) []string {
	if i%5 == 0 {
		return []string{"amp.sagsbehandler", "imi.case_worker"}
	}
	return nil
}

// TestImportCrash kills `adgang serve` with SIGKILL while it imports a
// 10,000-row CSV file, then checks that every row's user is either fully
// there (user, e-mail index, grants, audit event) or wholly absent, and
// that importing the same file again after a restart completes it.
func TestImportCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the server as a subprocess and imports 10k rows twice")
	}
	if os.Getenv(crashChildEnv) != "" {
		t.Skip("child")
	}
	const n = 10_000
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cpr.key"), []byte(hex.EncodeToString(storetest.Key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	openStore := func() *store.Store {
		t.Helper()
		st, err := store.Open(store.Config{Dir: filepath.Join(dir, "badger"), CPRKey: storetest.Key,
			Logger: zerolog.Nop(), GCInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := openStore()
	if _, err := st.Update(ctx, "test", func(tx *store.Tx) error {
		return tx.CreateOrg(&store.Org{CVR: importCrashCVR, Name: "Firmaet", Type: store.OrgCompany})
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	var file strings.Builder
	file.WriteString("UUID;CPR-nummer;Fødselsdato;Fornavn;Efternavn;E-mail;Telefon;Brugernavn;P-nummer;SE-nummer;Anonym;Identifikationsmidler;Rettigheder;Sprog;Begrundelse\r\n")
	for i := range n {
		file.WriteString(importCrashRow(i))
	}

	const token = "crash-test-bootstrap-token-0123456789"
	serve := []string{"serve", "--data", dir, "--lifecycle-interval", "0",
		"--decision-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--decision-log", "off"}
	post := func(base string) (int, []byte, error) {
		req, _ := http.NewRequest("POST", base+"/v1/orgs/"+importCrashCVR+"/imports?mode=create", strings.NewReader(file.String()))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "text/csv")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer res.Body.Close()
		raw, err := io.ReadAll(res.Body)
		return res.StatusCode, raw, err
	}

	// 1. Import, and kill the server as soon as the first batch is in.
	child := startServerChild(t, token, serve...)
	answered := make(chan error, 1)
	go func() { _, _, err := post(child.base); answered <- err }()
	start := time.Now()
	for !child.anyUser(t, token, importCrashCVR, "") {
		select {
		case <-answered:
			t.Fatalf("the import finished before the kill:\n%s", child.log())
		case <-time.After(2 * time.Millisecond):
		}
		if time.Since(start) > 2*time.Minute {
			t.Fatalf("no user imported after 2 minutes:\n%s", child.log())
		}
	}
	child.kill()
	if err := <-answered; err == nil {
		t.Fatalf("the import answered although the server was killed mid-import")
	}
	t.Logf("killed %v after the import started", time.Since(start).Round(time.Millisecond))

	st = openStore()
	present := checkImportConsistent(t, st, n)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("after SIGKILL: %d of %d users imported", present, n)
	if present == 0 || present == n {
		t.Fatalf("%d of %d users: the kill did not land mid-import", present, n)
	}

	// 2. Restart and import the same file again: the rows already in are
	// refused as duplicates (A12), the others are created.
	child = startServerChild(t, token, serve...)
	status, raw, err := post(child.base)
	if err != nil || status != http.StatusOK {
		t.Fatalf("second import: %d %v %.500s", status, err, raw)
	}
	child.kill()
	var rep struct {
		Summary map[string]int `json:"summary"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Summary["created"] != n-present || rep.Summary["error"] != present {
		t.Errorf("second import: %v, want %d created and %d refused", rep.Summary, n-present, present)
	}
	st = openStore()
	defer st.Close()
	if got := checkImportConsistent(t, st, n); got != n {
		t.Errorf("after the second import %d of %d users", got, n)
	}
}

// checkImportConsistent checks that each of the n users of the crash
// test's file is either wholly imported or wholly absent, and returns how
// many are imported.
func checkImportConsistent(t *testing.T, st *store.Store, n int) int {
	t.Helper()
	present, bad := 0, 0
	fail := func(format string, args ...any) {
		if bad++; bad <= 10 {
			t.Errorf(format, args...)
		}
	}
	err := st.View(context.Background(), func(tx *store.Tx) error {
		for i := range n {
			id, email := crashUserID(i), "crash"+strconv.Itoa(i)+"@example.dk"
			u, err := tx.GetUser(id)
			byEmail, errEmail := tx.UserByEmail(email)
			grants, errGrants := tx.GrantsOfUser(id)
			if errGrants != nil && !store.IsNotFound(errGrants) {
				return errGrants
			}
			if store.IsNotFound(err) {
				if !store.IsNotFound(errEmail) || len(grants) > 0 {
					fail("user %d absent, but its e-mail index (%v) or %d grants are there", i, errEmail, len(grants))
				}
				continue
			} else if err != nil {
				return err
			}
			present++
			if errEmail != nil || byEmail.ID != id {
				fail("user %d: e-mail index %v", i, errEmail)
			}
			if u.Name != "Bruger Nummer "+strconv.Itoa(i) || u.Status != store.StatusNew || !strings.HasPrefix(u.Source, "import:") {
				fail("user %d: %q %s %s", i, u.Name, u.Status, u.Source)
			}
			var rights []string
			for _, g := range grants {
				rights = append(rights, g.Right)
			}
			slices.Sort(rights)
			if want := importCrashRights(i); i != 0 && !slices.Equal(rights, want) { // user 0 is the A15 first admin
				fail("user %d: rights %v, want %v", i, rights, want)
			}
			evs, err := tx.History(id, time.Time{}, time.Time{}, "user.create", 0)
			if err != nil {
				return err
			}
			if len(evs) != 1 {
				fail("user %d: %d user.create events", i, len(evs))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if bad > 0 {
		t.Fatalf("%d users half-imported", bad)
	}
	return present
}
