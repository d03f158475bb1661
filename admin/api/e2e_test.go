package api_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// TestEndToEnd: a superadmin creates an organisation and its LBA, the LBA
// creates a user and grants Eksamensdatabasen on a P-unit; the login
// decision follows every change at once (no waiting for the feed).
func TestEndToEnd(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cvr := e.freshCVR()
	p1, p2 := "3000000001", "3000000002"

	r := e.do("superadmin", "POST", "/v1/orgs", map[string]any{"cvr": cvr, "name": "Gymnasium E", "type": "institution",
		"p_units": []any{map[string]any{"p_number": p1, "name": "Nord"}, map[string]any{"p_number": p2, "name": "Syd"}}})
	if r.status != http.StatusCreated {
		t.Fatalf("create org: %s", r)
	}
	// The first user is the org's administrator (A15).
	r = e.do("superadmin", "POST", "/v1/orgs/"+cvr+"/users", map[string]any{"name": "Lone LBA", "email": "lone@e.example.dk"})
	if r.status != http.StatusCreated {
		t.Fatalf("create LBA: %s", r)
	}
	lba := str(dig(r.body, "user", "id"))
	r = e.do("superadmin", "POST", "/v1/tokens", map[string]any{"user_id": lba})
	if r.status != http.StatusCreated {
		t.Fatalf("LBA token: %s", r)
	}
	e.tokens["lba"] = str(r.body["token"])

	r = e.do("lba", "POST", "/v1/orgs/"+cvr+"/users", map[string]any{"name": "Ulla Underviser", "email": "ulla@e.example.dk",
		"cpr": "0101901234", "p_number": p1, "kind": "employee"})
	if r.status != http.StatusCreated {
		t.Fatalf("create user: %s", r)
	}
	user := str(dig(r.body, "user", "id"))

	login := func() *pdp.Decision {
		t.Helper()
		d, err := e.eng.Login(ctx, &pdp.LoginRequest{Subject: pdp.Subject{ID: user, CVR: cvr, Kind: "employee", CPRLinked: true},
			Service: "eksamensdatabasen"}, pdp.RequestMeta{})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := login(); d.Allow {
		t.Fatalf("allowed before any grant: %+v", d)
	}

	grant := func(scopeType, value string) string {
		t.Helper()
		r := e.do("lba", "POST", "/v1/users/"+user+"/grants", map[string]any{"right": eks,
			"scope": map[string]any{"type": scopeType, "value": value}, "justification": "eksamen"})
		if r.status != http.StatusCreated {
			t.Fatalf("grant %s %s: %s", scopeType, value, r)
		}
		return str(dig(r.body, "grant", "id"))
	}
	gP := grant("p", p1)
	d := login()
	if !d.Allow || len(d.Rights) != 1 || d.Rights[0].Scope.All || !slices.Equal(d.Rights[0].Scope.PNumbers, []string{p1}) {
		t.Fatalf("P grant: want allow on %s only, got %+v", p1, d)
	}

	gCVR := grant("cvr", cvr)
	d = login()
	if !d.Allow || len(d.Rights) != 1 || !d.Rights[0].Scope.All {
		t.Fatalf("CVR grant: want scope all, got %+v", d)
	}

	// The effective grants list both, direct.
	r = e.do("lba", "GET", "/v1/users/"+user+"/grants", nil)
	if gs := r.body["grants"].([]any); len(gs) != 2 || str(dig(gs[0], "source")) != "direct" {
		t.Fatalf("grants: %s", r)
	}

	for _, g := range []string{gP, gCVR} {
		if r := e.do("lba", "DELETE", "/v1/grants/"+g, nil); r.status != http.StatusOK {
			t.Fatalf("delete grant: %s", r)
		}
	}
	r = e.do("lba", "POST", "/v1/orgs/"+cvr+"/groups", map[string]any{"name": "Eksamenskontoret"})
	if r.status != http.StatusCreated {
		t.Fatalf("create group: %s", r)
	}
	group := str(dig(r.body, "group", "id"))
	if r := e.do("lba", "POST", "/v1/groups/"+group+"/members", map[string]any{"user_id": user}); r.status != http.StatusCreated {
		t.Fatalf("add member: %s", r)
	}
	// The admin API refuses the group grant (A5)…
	r = e.do("lba", "POST", "/v1/groups/"+group+"/grants", map[string]any{"right": eks, "scope": map[string]any{"type": "cvr", "value": cvr}})
	if r.status != http.StatusUnprocessableEntity || r.errRule() != "A5" {
		t.Fatalf("group grant: want 422 A5, got %s", r)
	}
	// …so one that reached the store another way (an old import, say)
	// gives nothing at login (D7).
	e.newGrant(store.HolderGroup, group, cvr, eks, store.Scope{Type: store.ScopeCVR, Value: cvr})
	r = e.do("lba", "GET", "/v1/users/"+user+"/grants", nil)
	if gs := r.body["grants"].([]any); len(gs) != 1 || str(dig(gs[0], "source")) != group {
		t.Fatalf("grants via group: %s", r)
	}
	d = login()
	if d.Allow {
		t.Fatalf("group grant of a no_group right allowed: %+v", d)
	}
	if !slices.ContainsFunc(d.Reasons, func(r pdp.Reason) bool { return r.Code == "grant_via_group" && r.Rule == "D7" }) {
		t.Fatalf("want grant_via_group/D7, got %+v", d.Reasons)
	}
}

// TestReadYourWrites: granting an admin right through the API makes the
// holder an administrator before the answer returns, and revoking it or
// inactivating the user takes the role away at once. A change made
// directly in the store (not through this server) reaches the roles
// through the change feed.
func TestReadYourWrites(t *testing.T) {
	e := newEnv(t)
	u := e.newUser(cvrA)
	_, plain := mustToken(t, e, u)
	e.tokens["u"] = plain
	if r := e.do("u", "GET", "/v1/orgs/"+cvrA+"/users", nil); r.status != http.StatusForbidden && r.status != http.StatusNotFound {
		t.Fatalf("before grant: %s", r)
	}
	r := e.do("org-admin", "POST", "/v1/users/"+u+"/grants", map[string]any{"right": "mitid_erhverv.org_admin",
		"scope": map[string]any{"type": "cvr", "value": cvrA}})
	if r.status != http.StatusCreated {
		t.Fatalf("grant org-admin: %s", r)
	}
	g := str(dig(r.body, "grant", "id"))
	if r := e.do("u", "POST", "/v1/orgs/"+cvrA+"/groups", map[string]any{"name": "G"}); r.status != http.StatusCreated {
		t.Fatalf("right after the grant: %s", r)
	}
	if r := e.do("org-admin", "DELETE", "/v1/grants/"+g, nil); r.status != http.StatusOK {
		t.Fatalf("revoke: %s", r)
	}
	if r := e.do("u", "GET", "/v1/orgs/"+cvrA, nil); r.status != http.StatusNotFound {
		t.Fatalf("after revoking, own org: %s", r)
	}

	// Through a group: membership gives the role, removal takes it.
	grp := e.newGroup(cvrA)
	if r := e.do("org-admin", "POST", "/v1/groups/"+grp+"/grants", map[string]any{"right": "mitid_erhverv.org_admin",
		"scope": map[string]any{"type": "cvr", "value": cvrA}}); r.status != http.StatusCreated {
		t.Fatalf("group grant: %s", r)
	}
	if r := e.do("org-admin", "POST", "/v1/groups/"+grp+"/members", map[string]any{"user_id": u}); r.status != http.StatusCreated {
		t.Fatalf("member: %s", r)
	}
	if r := e.do("u", "GET", "/v1/orgs/"+cvrA+"/audit", nil); r.status != http.StatusOK {
		t.Fatalf("org-admin via group: %s", r)
	}
	if r := e.do("org-admin", "POST", "/v1/users/"+u+"/inactivate", nil); r.status != http.StatusOK {
		t.Fatalf("inactivate: %s", r)
	}
	if r := e.do("u", "GET", "/v1/orgs/"+cvrA+"/audit", nil); r.status != http.StatusNotFound {
		t.Fatalf("inactive user keeps its role: %s", r)
	}
	if r := e.do("org-admin", "POST", "/v1/users/"+u+"/activate", nil); r.status != http.StatusOK {
		t.Fatalf("activate: %s", r)
	}
	if r := e.do("u", "GET", "/v1/orgs/"+cvrA+"/audit", nil); r.status != http.StatusOK {
		t.Fatalf("reactivated: %s", r)
	}
	if r := e.do("org-admin", "DELETE", "/v1/groups/"+grp, nil); r.status != http.StatusOK {
		t.Fatalf("delete group: %s", r)
	}
	if r := e.do("u", "GET", "/v1/orgs/"+cvrA+"/audit", nil); r.status != http.StatusNotFound {
		t.Fatalf("role kept after its group was deleted: %s", r)
	}

	// Straight into the store: the feed brings it.
	e.newGrant(store.HolderUser, u, cvrA, "mitid_erhverv.user_admin", store.Scope{Type: "cvr", Value: cvrA})
	waitFor(t, "the change feed to give the role", func() bool {
		return e.do("u", "GET", "/v1/orgs/"+cvrA+"/users", nil).status == http.StatusOK
	})
	mustUpdate(t, e.st, func(tx *store.Tx) error { return tx.DeleteUser(u) })
	waitFor(t, "the deleted user's token to stop working", func() bool {
		return e.do("u", "GET", "/v1/orgs/"+cvrA+"/users", nil).status == http.StatusUnauthorized
	})
}

func mustToken(t *testing.T, e *env, userID string) (id, plain string) {
	t.Helper()
	r := e.do("superadmin", "POST", "/v1/tokens", map[string]any{"user_id": userID})
	if r.status != http.StatusCreated {
		t.Fatalf("token: %s", r)
	}
	return str(r.body["id"]), str(r.body["token"])
}

// TestGrantExpiry: a role from a grant that expires is dropped when it
// expires, without any write.
func TestGrantExpiry(t *testing.T) {
	e := newEnv(t)
	u := e.newUser(cvrA)
	_, e.tokens["u"] = mustToken(t, e, u)
	r := e.do("org-admin", "POST", "/v1/users/"+u+"/grants", map[string]any{"right": "mitid_erhverv.org_admin",
		"scope": map[string]any{"type": "cvr", "value": cvrA}, "expires_at": timeIn(3000)})
	if r.status != http.StatusCreated {
		t.Fatalf("grant: %s", r)
	}
	if r := e.do("u", "GET", "/v1/orgs/"+cvrA+"/audit", nil); r.status != http.StatusOK {
		t.Fatalf("before expiry: %s", r)
	}
	waitFor(t, "the grant to expire", func() bool {
		return e.do("u", "GET", "/v1/orgs/"+cvrA+"/audit", nil).status == http.StatusNotFound
	})
}
