package admin_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/adgang/adgang/store"
)

// TestImportBatchesHTTP drives Unilogin's import administration (M18, L5)
// as an administrator would: an imported user can be confirmed, the
// org's batches are listed with their counts and paged, a batch is
// retired by hand (unconfirmed users lose the association, confirmed ones
// stay) and only once.
func TestImportBatchesHTTP(t *testing.T) {
	e := newEnv(t)
	old, recent := uuid.NewString(), uuid.NewString()
	mustUpdate(t, e.st, func(tx *store.Tx) error {
		if err := tx.PutImport(&store.ImportBatch{ID: old, Org: cvrA, Mode: "create", CreatedAt: time.Now().Add(-48 * time.Hour), Rows: 2}); err != nil {
			return err
		}
		return tx.PutImport(&store.ImportBatch{ID: recent, Org: cvrA, Mode: "update", CreatedAt: time.Now().Add(-24 * time.Hour), Rows: 7})
	})
	keep := e.newUser(cvrA, func(u *store.User) { u.Source = "import:" + old })
	lose := e.newUser(cvrA, func(u *store.User) { u.Source = "import:" + old })

	// Imported users can be confirmed ("confirmed users are kept").
	if r := e.do("user-admin", "POST", "/v1/users/"+keep+"/confirm", nil); r.status != http.StatusOK {
		t.Fatalf("confirm imported user: %s", r)
	}

	r := e.do("auditor", "GET", "/v1/orgs/"+cvrA+"/imports", nil)
	list, _ := r.body["imports"].([]any)
	if r.status != http.StatusOK || len(list) < 2 || str(dig(list[0], "id")) != recent || str(dig(list[1], "id")) != old {
		t.Fatalf("list: %s", r)
	}
	if dig(list[1], "mode") != "create" || dig(list[1], "rows") != 2.0 || dig(list[1], "users") != 2.0 ||
		dig(list[1], "unconfirmed") != 1.0 || dig(list[1], "retired") != false {
		t.Errorf("old batch: %v", list[1])
	}
	page := e.do("auditor", "GET", "/v1/orgs/"+cvrA+"/imports?limit=1", nil)
	first, _ := page.body["imports"].([]any)
	token := str(page.body["next_page_token"])
	if len(first) != 1 || token == "" {
		t.Fatalf("page 1: %s", page)
	}
	page2 := e.do("auditor", "GET", "/v1/orgs/"+cvrA+"/imports?limit=1&page_token="+token, nil)
	if second, _ := page2.body["imports"].([]any); len(second) != 1 || str(dig(second[0], "id")) != old {
		t.Fatalf("page 2: %s", page2)
	}
	for _, q := range []string{"limit=0", "limit=1001", "page_token=%21%21"} {
		if r := e.do("auditor", "GET", "/v1/orgs/"+cvrA+"/imports?"+q, nil); r.status != http.StatusBadRequest {
			t.Errorf("%s: %s", q, r)
		}
	}
	if r := e.do("org-admin", "GET", "/v1/orgs/"+cvrB+"/imports", nil); r.status != http.StatusNotFound {
		t.Errorf("other org's imports: %s", r)
	}

	// "Nedlæg import".
	if r := e.do("auditor", "POST", "/v1/imports/"+old+"/retire", nil); r.status != http.StatusForbidden {
		t.Errorf("auditor retires: %s", r)
	}
	if r := e.do("user-admin", "POST", "/v1/imports/"+old+"/retire", nil); r.status != http.StatusOK || dig(r.body, "import", "retired") != true {
		t.Fatalf("retire: %s", r)
	}
	if r := e.do("user-admin", "GET", "/v1/users/"+lose, nil); r.status != http.StatusNotFound {
		t.Errorf("unconfirmed imported user still there: %s", r)
	}
	if r := e.do("user-admin", "GET", "/v1/users/"+keep, nil); r.status != http.StatusOK || dig(r.body, "user", "source") != "manual" {
		t.Errorf("confirmed imported user: %s", r)
	}
	before := e.snap()
	if r := e.do("user-admin", "POST", "/v1/imports/"+old+"/retire", nil); r.status != http.StatusConflict ||
		r.errCode() != "import_retired" || r.errRule() != "L5" {
		t.Fatalf("retire again: %s", r)
	}
	e.unchanged(t, before)
	if r := e.do("user-admin", "POST", "/v1/imports/"+uuid.NewString()+"/retire", nil); r.status != http.StatusNotFound {
		t.Errorf("unknown batch: %s", r)
	}
}

// TestUserSearchByTypeAndClass: GET /v1/orgs/{cvr}/users takes user_type
// and class (Unilogin: "sortere på en specifik type eller klasse").
func TestUserSearchByTypeAndClass(t *testing.T) {
	e := newEnv(t)
	pupil := e.newUser(cvrA, func(u *store.User) { u.Source, u.UserType, u.Class = "manual", "elev", "7.b" })
	other := e.newUser(cvrA, func(u *store.User) { u.Source, u.UserType, u.Class = "manual", "elev", "8.a" })
	teacher := e.newUser(cvrA, func(u *store.User) { u.Source, u.UserType = "manual", "lærer" })
	ids := func(q string) map[string]bool {
		r := e.do("user-admin", "GET", "/v1/orgs/"+cvrA+"/users?"+q, nil)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %s", q, r)
		}
		out := map[string]bool{}
		users, _ := r.body["users"].([]any)
		for _, u := range users {
			out[str(dig(u, "id"))] = true
		}
		return out
	}
	if got := ids("user_type=ELEV&limit=500"); !got[pupil] || !got[other] || got[teacher] {
		t.Errorf("user_type=elev: %v", got)
	}
	if got := ids("user_type=elev&class=7.b&limit=500"); !got[pupil] || got[other] || got[teacher] || len(got) != 1 {
		t.Errorf("class=7.b: %v", got)
	}
}
