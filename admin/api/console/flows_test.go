package console_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// acceptKnock makes an unknown person knock (a D2 login at the decision
// listener), then accepts the knock in the console: the user exists.
func acceptKnock(t *testing.T, ctx context.Context, st *stack, base string) {
	const knocker = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a81"
	code, ans := call(t, "", http.MethodPost, st.decision+"/v1/decisions/login", map[string]any{
		"subject": map[string]any{"id": knocker, "cvr": demoOrg, "kind": "employee", "cpr_linked": true,
			"name": "Karen Knudsen", "email": "karen@demo-gym.example"},
		"service": "eksamensdatabasen"})
	if code != 200 || ans["allow"] != false {
		t.Fatalf("the knocking login: %d %v", code, ans)
	}
	run(t, ctx, chromedp.Navigate(base+"orgs/"+demoOrg+"/knocks"), chromedp.WaitVisible(css("table#knocks tr[data-knock-id]")))
	checkAxe(t, ctx, "knocks")
	run(t, ctx, submit(`table#knocks button[value^="accept:"]`, "#notice"))
	if code, _ := st.api(t, st.token, http.MethodGet, "/v1/users/"+knocker, nil); code != 200 {
		t.Errorf("after accepting the knock the API answers %d for the user", code)
	}
	_, ans = st.api(t, st.token, http.MethodGet, "/v1/orgs/"+demoOrg+"/knocks", nil)
	if ks, _ := ans["knocks"].([]any); len(ks) != 0 {
		t.Errorf("the knock is still queued: %v", ks)
	}
}

// importFlow uploads a CSV with one good and one bad row: the dry run
// reports both and changes nothing; the commit creates the good one.
func importFlow(t *testing.T, ctx context.Context, st *stack, base string) {
	csv := "UUID;CPR-nummer;Fødselsdato;Fornavn;Efternavn;E-mail;Telefon;Brugernavn;P-nummer;SE-nummer;Anonym;Identifikationsmidler;Rettigheder;Sprog;Begrundelse\n" +
		";;;Frida;Frost;frida@demo-gym.example;;;1000000001;;;;;da;\n" +
		";;;Bad;Row;not-an-email;;;1000000001;;;;;;\n"
	path := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Navigate(base+"orgs/"+demoOrg+"/import"), chromedp.WaitVisible(css("form#import")))
	checkAxe(t, ctx, "import")
	run(t, ctx, chromedp.SetUploadFiles(css("#file"), []string{path}),
		chromedp.SetValue(css("#mode"), "create"),
		submit("#dryrun", "table#import-rows"))
	statuses := value(t, ctx, chromedp.Evaluate[map[string]string](`Object.fromEntries([...document.querySelectorAll("table#import-rows tr[data-row]")].map(r => [r.dataset.row, r.dataset.status]))`))
	if statuses["2"] != "would_create" || statuses["3"] != "error" {
		t.Errorf("dry run rows: %v, want row 2 would_create and row 3 error", statuses)
	}
	checkAxe(t, ctx, "import-preview")
	if n := countUsers(t, st, "frida"); n != 0 {
		t.Fatalf("the dry run created %d users", n)
	}
	run(t, ctx, submit("#commit", "#notice"))
	if n := countUsers(t, st, "frida"); n != 1 {
		t.Errorf("after the commit the API finds %d Fridas, want 1", n)
	}
	if n := countUsers(t, st, "bad row"); n != 0 {
		t.Errorf("the bad row was imported")
	}
}

func countUsers(t *testing.T, st *stack, q string) int {
	t.Helper()
	_, ans := st.api(t, st.token, http.MethodGet, "/v1/orgs/"+demoOrg+"/users?q="+url.QueryEscape(q), nil)
	us, _ := ans["users"].([]any)
	return len(us)
}

// userAdminSettings signs in as a user-admin (A14): the settings page is
// read-only, and the API indeed refuses that administrator's change.
func userAdminSettings(t *testing.T, ctx context.Context, st *stack, base string) {
	code, ans := st.api(t, st.token, http.MethodPost, "/v1/users/"+demoAlice+"/grants", map[string]any{
		"right": "mitid_erhverv.user_admin", "scope": map[string]any{"type": "cvr", "value": demoOrg}})
	if code != 201 {
		t.Fatalf("making Alice user-admin: %d %v", code, ans)
	}
	code, ans = st.api(t, st.token, http.MethodPost, "/v1/tokens", map[string]any{"user_id": demoAlice})
	if code != 201 {
		t.Fatalf("Alice's token: %d %v", code, ans)
	}
	alice := ans["token"].(string)
	run(t, ctx, submit("#logout", "form#login"),
		chromedp.SendKeys(css("#token"), alice), submit("#signin", "main"),
		chromedp.Navigate(base+"orgs/"+demoOrg+"/settings"), chromedp.WaitVisible(css("#readonly")))
	forms := value(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("form#settings").length`))
	if forms != 0 {
		t.Errorf("a user-admin gets the settings form")
	}
	checkAxe(t, ctx, "settings-readonly")
	if code, _ := st.api(t, alice, http.MethodPatch, "/v1/orgs/"+demoOrg, map[string]any{"name": "X"}); code != http.StatusForbidden {
		t.Errorf("the API lets the user-admin change the org: %d", code)
	}
}
