package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/adgang/adgang/admin"
	pdpapi "github.com/adgang/adgang/pdp/api"
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

// TestActivationAtCreation (L7): creating a CPR user queues its
// activation mail at once; creating a birth-date user answers its
// one-time code once (stored hashed, usable once, regenerated by
// /activation). A user with neither gets no activation.
func TestActivationAtCreation(t *testing.T) {
	e := newEnv(t)
	t.Run("CPR user: activation mail queued", func(t *testing.T) {
		r := e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/users", map[string]any{"name": "Cpr Bruger",
			"email": "cpr.bruger@example.dk", "cpr": "010190-1234"})
		if r.status != http.StatusCreated || dig(r.body, "activation", "method") != "mail" || dig(r.body, "activation", "code") != nil {
			t.Fatalf("create: %s", r)
		}
		id := str(dig(r.body, "user", "id"))
		out := e.do("superadmin", "GET", "/v1/outbox?user_id="+id, nil)
		mails, _ := out.body["mails"].([]any)
		if len(mails) != 1 || dig(mails[0], "kind") != "activation" || dig(mails[0], "to") != "cpr.bruger@example.dk" {
			t.Fatalf("outbox: %s", out)
		}
	})
	t.Run("birth-date user: code in the create answer, once", func(t *testing.T) {
		r := e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/users", map[string]any{"name": "Dato Bruger",
			"birth_date": "1990-01-01"})
		code := str(dig(r.body, "activation", "code"))
		if r.status != http.StatusCreated || dig(r.body, "activation", "method") != "code" || code == "" {
			t.Fatalf("create: %s", r)
		}
		id := str(dig(r.body, "user", "id"))
		if u := e.user(id); u.ActivationHash == "" || strings.Contains(u.ActivationHash, code) {
			t.Fatalf("activation hash not stored, or not hashed")
		}
		if g := e.do("user-admin", "GET", "/v1/users/"+id, nil); strings.Contains(string(g.raw), code) {
			t.Fatal("the code shows again")
		}
		e.noSecretAnywhere(t, id, code)
		if a := e.do("none", "POST", "/v1/activate", map[string]any{"user_id": id, "code": code}); a.status != http.StatusOK {
			t.Fatalf("activate with the creation code: %s", a)
		}
		if e.user(id).Status != store.StatusActive {
			t.Fatal("not active after activation")
		}
	})
	t.Run("birth-date user: regenerate with /activation", func(t *testing.T) {
		r := e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/users", map[string]any{"name": "Ny Kode", "birth_date": "1991-02-02"})
		id, first := str(dig(r.body, "user", "id")), str(dig(r.body, "activation", "code"))
		again := e.do("user-admin", "POST", "/v1/users/"+id+"/activation", nil)
		second := str(again.body["code"])
		if again.status != http.StatusOK || second == "" || second == first {
			t.Fatalf("regenerate: %s", again)
		}
		if a := e.do("none", "POST", "/v1/activate", map[string]any{"user_id": id, "code": first}); a.status == http.StatusOK {
			t.Fatal("the replaced creation code still works")
		}
	})
	t.Run("neither: no activation", func(t *testing.T) {
		r := e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/users", map[string]any{"name": "Ingen"})
		if r.status != http.StatusCreated || r.body["activation"] != nil {
			t.Fatalf("create: %s", r)
		}
	})
}

// TestAssociationInSecondInstitution (M17, Unilogin): a person already
// associated with one institution can be associated with a second by the
// same CPR number; the same CPR twice in one institution is a duplicate.
func TestAssociationInSecondInstitution(t *testing.T) {
	e := newEnv(t)
	body := map[string]any{"cpr": "610190-4321", "user_type": "elev", "class": "7.b", "name": "To Skoler"}
	first := e.do("superadmin", "POST", "/v1/orgs/"+cvrA+"/associations", body)
	if first.status != http.StatusCreated {
		t.Fatalf("first institution: %s", first)
	}
	second := e.do("superadmin", "POST", "/v1/orgs/"+cvrB+"/associations", body)
	if second.status != http.StatusCreated || dig(second.body, "user", "org") != cvrB ||
		dig(second.body, "user", "id") == dig(first.body, "user", "id") {
		t.Fatalf("second institution: %s", second)
	}
	if strings.Contains(string(second.raw), "4321") {
		t.Error("the CPR number shows in the answer")
	}
	again := e.do("superadmin", "POST", "/v1/orgs/"+cvrA+"/associations", body)
	if again.status != http.StatusConflict || again.errCode() != "duplicate" {
		t.Fatalf("same institution twice: %s", again)
	}
}

// TestExternalGroupMemberLogin (M16): an org-B administrator adds a user
// of org A to a custom group of B that holds a right; the user's login
// answer, with its own CVR or with B's, shows the right scoped to B.
func TestExternalGroupMemberLogin(t *testing.T) {
	e := newEnv(t)
	dec := httptest.NewServer(pdpapi.New(e.eng, pdpapi.Options{Passwords: admin.NewPasswordLogin(e.eng, e.st)}).Handler())
	t.Cleanup(dec.Close)
	member := e.newUser(cvrA)
	g := e.do("superadmin", "POST", "/v1/orgs/"+cvrB+"/groups", map[string]any{"name": "Eksterne sagsbehandlere"})
	group := str(dig(g.body, "group", "id"))
	if g.status != http.StatusCreated || group == "" {
		t.Fatalf("group: %s", g)
	}
	if r := e.do("superadmin", "POST", "/v1/groups/"+group+"/grants", map[string]any{"right": "amp.sagsbehandler",
		"scope": map[string]any{"type": "cvr", "value": cvrB}}); r.status != http.StatusCreated {
		t.Fatalf("group grant: %s", r)
	}
	login := func(cvr string) map[string]any {
		body, _ := json.Marshal(map[string]any{"service": "amp",
			"subject": map[string]any{"id": member, "cvr": cvr, "kind": "employee", "cpr_linked": true}})
		resp, err := http.Post(dec.URL+"/v1/decisions/login", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var d map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&d); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("login: %d %v", resp.StatusCode, err)
		}
		return d
	}
	if d := login(cvrA); d["allow"] != false {
		t.Fatalf("before membership: %v", d)
	}
	if r := e.do("superadmin", "POST", "/v1/groups/"+group+"/members", map[string]any{"user_id": member}); r.status != http.StatusCreated {
		t.Fatalf("member: %s", r)
	}
	for _, cvr := range []string{cvrA, cvrB} {
		d := login(cvr)
		rights, _ := d["rights"].([]any)
		if d["allow"] != true || len(rights) != 1 || dig(rights[0], "right") != "amp.sagsbehandler" ||
			dig(rights[0], "scope", "cvr") != cvrB || dig(rights[0], "scope", "all") != true {
			t.Errorf("login with %s: %v", cvr, d)
		}
	}
}
