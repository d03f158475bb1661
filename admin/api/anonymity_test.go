package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/adgang/adgang/admin"
	"github.com/adgang/adgang/store"
)

// brokerRight is a right of a service that uses NemLog-in as broker
// (anonymity_allowed).
const brokerRight = "nemlogin.selvbetjening"

// ensureBrokerRight stores brokerRight in the catalogue once.
func (e *env) ensureBrokerRight() {
	e.t.Helper()
	mustUpdate(e.t, e.st, func(tx *store.Tx) error {
		if _, err := tx.GetRight(brokerRight); err == nil {
			return nil
		}
		return tx.PutRight(&store.Right{ID: brokerRight, Service: "nemlogin", Title: "Selvbetjening via NemLog-in",
			AnonymityAllowed: true})
	})
}

// newBrokerUser stores a user of org holding brokerRight directly.
func (e *env) newBrokerUser(org string, mut ...func(*store.User)) string {
	e.t.Helper()
	e.ensureBrokerRight()
	id := e.newUser(org, mut...)
	e.newGrant(store.HolderUser, id, org, brokerRight, store.Scope{Type: store.ScopeCVR, Value: org})
	return id
}

// newAnonymityRequest stores a pending request of a fresh broker user of
// org and returns its id.
func (e *env) newAnonymityRequest(org string) string {
	e.t.Helper()
	user := e.newBrokerUser(org)
	id := uuid.NewString()
	mustUpdate(e.t, e.st, func(tx *store.Tx) error {
		return tx.PutAnonymityRequest(&store.AnonymityRequest{ID: id, Org: org, UserID: user,
			Status: store.AnonymityPending, RequestedBy: user})
	})
	return id
}

// newNotification stores an unread notification for recipient (an
// unknown id when there is no recipient: an unbound token).
func (e *env) newNotification(recipient, org string) string {
	e.t.Helper()
	id := uuid.NewString()
	if recipient == "" {
		return id
	}
	mustUpdate(e.t, e.st, func(tx *store.Tx) error {
		return tx.CreateNotification(&store.Notification{ID: id, Recipient: recipient, Org: org, Kind: store.NotifyKnock,
			Subject: "test", Body: "test"})
	})
	return id
}

// userToken makes an API token for a user and registers it as caller name.
func (e *env) userToken(name, userID string) {
	e.t.Helper()
	_, tok, err := admin.CreateToken(context.Background(), e.st, "test", userID, false, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.tokens[name], e.userOf[name] = tok, userID
}

func (e *env) getUser(id string) *store.User {
	e.t.Helper()
	var u *store.User
	if err := e.st.View(context.Background(), func(tx *store.Tx) (err error) { u, err = tx.GetUser(id); return }); err != nil {
		e.t.Fatalf("user %s: %v", id, err)
	}
	return u
}

func items(r resp, key string) []map[string]any {
	var out []map[string]any
	for _, x := range r.body[key].([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

// TestAnonymityRequestApproved walks the seed's flow through HTTP: the
// catalogue flags a broker right, the user asks with its own token, the
// org's administrators are notified (API and mail), a user-admin approves,
// and the user is re-created as anonymous.
func TestAnonymityRequestApproved(t *testing.T) {
	e := newEnv(t)
	r := e.do("superadmin", "PUT", "/v1/rights/"+brokerRight, map[string]any{"title": "Selvbetjening", "service": "nemlogin",
		"anonymity_allowed": true})
	if r.status != http.StatusCreated || dig(r.body, "right", "anonymity_allowed") != true {
		t.Fatalf("PUT right: %s", r)
	}
	r = e.do("org-admin", "POST", "/v1/orgs/"+cvrA+"/users", map[string]any{"name": "Anne Anonym", "email": "anne@a.dk",
		"username": "anne", "cpr": "0101901234", "p_number": pA1})
	if r.status != http.StatusCreated {
		t.Fatalf("create user: %s", r)
	}
	old := str(dig(r.body, "user", "id"))
	for _, right := range []string{brokerRight, "imi.case_worker"} {
		if r := e.do("org-admin", "POST", "/v1/users/"+old+"/grants", map[string]any{"right": right,
			"scope": map[string]any{"type": "cvr", "value": cvrA}}); r.status != http.StatusCreated {
			t.Fatalf("grant %s: %s", right, r)
		}
	}
	e.userToken("anne", old)

	r = e.do("anne", "POST", "/v1/users/"+old+"/anonymity-requests", map[string]any{"reason": "beskyttet adresse"})
	if r.status != http.StatusCreated || dig(r.body, "anonymity_request", "status") != "pending" {
		t.Fatalf("request: %s", r)
	}
	req := str(dig(r.body, "anonymity_request", "id"))

	if r := e.do("anne", "POST", "/v1/users/"+old+"/anonymity-requests", nil); r.status != http.StatusConflict ||
		r.errCode() != "anonymity_request_pending" || r.errRule() != "A8" {
		t.Fatalf("second request: %s", r)
	}
	// The org's org-admin and user-admin are notified; the auditor is not.
	for caller, want := range map[string]int{"org-admin": 1, "user-admin": 1, "auditor": 0} {
		r := e.do(caller, "GET", "/v1/notifications?unread=true", nil)
		n := items(r, "notifications")
		if r.status != http.StatusOK || len(n) != want {
			t.Fatalf("%s notifications: %s", caller, r)
		}
		if want == 1 && (n[0]["kind"] != "anonymity_request" || n[0]["object"] != req) {
			t.Errorf("%s notification: %v", caller, n[0])
		}
	}
	r = e.do("superadmin", "GET", "/v1/outbox?to=a001@admin.example.dk", nil)
	if ms := items(r, "mails"); len(ms) != 1 || ms[0]["kind"] != "notification_anonymity_request" {
		t.Fatalf("org-admin's mail: %s", r)
	}
	r = e.do("user-admin", "GET", "/v1/orgs/"+cvrA+"/anonymity-requests", nil)
	if l := items(r, "anonymity_requests"); r.status != http.StatusOK || len(l) != 1 || l[0]["id"] != req {
		t.Fatalf("pending list: %s", r)
	}

	r = e.do("user-admin", "POST", "/v1/anonymity-requests/"+req+"/approve", nil)
	if r.status != http.StatusOK || dig(r.body, "anonymity_request", "status") != "approved" {
		t.Fatalf("approve: %s", r)
	}
	nu := str(dig(r.body, "user", "id"))
	if nu == "" || nu == old || dig(r.body, "user", "anonymous") != true || dig(r.body, "anonymity_request", "new_user_id") != nu {
		t.Fatalf("approve answer: %s", r)
	}
	if got := dig(r.body, "user", "cpr"); got != "010190-****" {
		t.Errorf("new user's cpr = %v, want masked 010190-****", got)
	}
	o, n := e.getUser(old), e.getUser(nu)
	if o.Status != store.StatusDeactivated || o.Email != "" || o.Username != "" || o.CPRHash != "" || o.CPRLinked {
		t.Errorf("old user not deactivated and freed: %+v", o)
	}
	if n.Email != "anne@a.dk" || n.Username != "anne" || n.CPRHash == "" || !n.Anonymous || n.Org != cvrA || n.PNumber != pA1 {
		t.Errorf("new user: %+v", n)
	}
	rightsOf := func(id string) []string {
		r := e.do("org-admin", "GET", "/v1/users/"+id+"/grants", nil)
		var out []string
		for _, g := range items(r, "grants") {
			if g["source"] == "direct" {
				out = append(out, g["right"].(string))
			}
		}
		return out
	}
	if got := rightsOf(nu); len(got) != 1 || got[0] != brokerRight {
		t.Errorf("new user's grants %v, want only %s", got, brokerRight)
	}
	if got := rightsOf(old); len(got) != 1 || got[0] != "imi.case_worker" {
		t.Errorf("old user's grants %v, want imi.case_worker kept", got)
	}
	for _, id := range []string{old, nu} {
		r := e.do("org-admin", "GET", "/v1/users/"+id+"/history?type=user.anonymity", nil)
		if evs, _ := r.body["events"].([]any); len(evs) != 1 {
			t.Errorf("history of %s: %s", id, r)
		}
	}
	// The old e-mail, username and CPR number now belong to the new user:
	// the lookup indexes follow.
	_ = e.st.View(context.Background(), func(tx *store.Tx) error {
		if u, err := tx.UserByEmail("anne@a.dk"); err != nil || u.ID != nu {
			t.Errorf("e-mail index: %v %v", u, err)
		}
		if u, err := tx.UserByCPRHash(cvrA, n.CPRHash); err != nil || u.ID != nu {
			t.Errorf("CPR index: %v %v", u, err)
		}
		return nil
	})
	if r := e.do("user-admin", "POST", "/v1/anonymity-requests/"+req+"/approve", nil); r.status != http.StatusConflict ||
		r.errCode() != "anonymity_request_state" {
		t.Fatalf("approve twice: %s", r)
	}
	// A8 stays: anonymity is never changed by PATCH.
	if r := e.do("org-admin", "PATCH", "/v1/users/"+nu, map[string]any{"anonymous": false}); r.status != http.StatusUnprocessableEntity ||
		r.errCode() != "anonymity_immutable" {
		t.Fatalf("PATCH anonymous: %s", r)
	}
	if r := e.do("org-admin", "GET", "/v1/orgs/"+cvrA+"/anonymity-requests", nil); len(items(r, "anonymity_requests")) != 0 {
		t.Errorf("decided request still pending: %s", r)
	}
}

// TestAnonymityRequestRefusals: each refusal answers its rule and status
// and changes nothing.
func TestAnonymityRequestRefusals(t *testing.T) {
	e := newEnv(t)
	e.ensureBrokerRight()
	plain := e.newUser(cvrA)
	function := e.newBrokerUser(cvrA, func(u *store.User) { u.Kind = store.KindFunction })
	anon := e.newBrokerUser(cvrA, func(u *store.User) { u.Anonymous = true })
	broker := e.newBrokerUser(cvrA)
	other := e.newBrokerUser(cvrA)
	e.userToken("plain", plain)
	e.userToken("other", other)
	expired := e.newBrokerUser(cvrA)
	mustUpdate(t, e.st, func(tx *store.Tx) error { // its broker grant expired
		gs, err := tx.GrantsOfUser(expired)
		if err != nil {
			return err
		}
		past := tx.Now().Add(-1)
		gs[0].ExpiresAt = &past
		if err := tx.DeleteGrant(gs[0].ID); err != nil {
			return err
		}
		return tx.CreateGrant(gs[0])
	})
	rejected := e.newAnonymityRequest(cvrA)
	if r := e.do("org-admin", "POST", "/v1/anonymity-requests/"+rejected+"/reject", nil); r.status != http.StatusOK {
		t.Fatalf("reject: %s", r)
	}
	orphan := e.newAnonymityRequest(cvrA) // its user is deleted while it waits
	mustUpdate(t, e.st, func(tx *store.Tx) error {
		r, err := tx.GetAnonymityRequest(orphan)
		if err != nil {
			return err
		}
		return tx.DeleteUser(r.UserID)
	})
	if r := e.do("org-admin", "POST", "/v1/anonymity-requests/"+orphan+"/approve", nil); r.status != http.StatusNotFound {
		t.Errorf("approve for a deleted user: %s", r)
	}
	if r := e.do("org-admin", "POST", "/v1/anonymity-requests/"+orphan+"/reject", nil); r.status != http.StatusOK {
		t.Errorf("reject for a deleted user: %s", r)
	}
	for _, tc := range []struct {
		name, caller, path string
		status             int
		code, rule         string
	}{
		{"no broker right", "plain", "/v1/users/" + plain + "/anonymity-requests", 422, "anonymity_not_offered", "A8"},
		{"expired broker grant", "org-admin", "/v1/users/" + expired + "/anonymity-requests", 422, "anonymity_not_offered", "A8"},
		{"function user", "org-admin", "/v1/users/" + function + "/anonymity-requests", 422, "anonymity_not_offered", "A8"},
		{"already anonymous", "org-admin", "/v1/users/" + anon + "/anonymity-requests", 422, "already_anonymous", "A8"},
		{"another plain user", "other", "/v1/users/" + broker + "/anonymity-requests", 404, "not_found", ""},
		{"auditor on behalf", "auditor", "/v1/users/" + broker + "/anonymity-requests", 403, "forbidden", "A14"},
		{"other org's admin", "org-admin-B", "/v1/users/" + broker + "/anonymity-requests", 404, "not_found", ""},
		{"unknown user", "org-admin", "/v1/users/" + uuid.NewString() + "/anonymity-requests", 404, "not_found", ""},
		{"bad id", "org-admin", "/v1/users/nope/anonymity-requests", 400, "invalid", ""},
		{"decided request", "org-admin", "/v1/anonymity-requests/" + rejected + "/approve", 409, "anonymity_request_state", "A8"},
		{"other org's request", "org-admin-B", "/v1/anonymity-requests/" + e.newAnonymityRequest(cvrA) + "/approve", 404, "not_found", ""},
		{"auditor approves", "auditor", "/v1/anonymity-requests/" + e.newAnonymityRequest(cvrA) + "/approve", 403, "forbidden", "A14"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.snap()
			r := e.do(tc.caller, "POST", tc.path, nil)
			if r.status != tc.status || r.errCode() != tc.code || r.errRule() != tc.rule {
				t.Fatalf("got %s, want %d %s/%s", r, tc.status, tc.code, tc.rule)
			}
			e.unchanged(t, before)
		})
	}
}

// TestAnonymityApprovalKeepsLastAdmin: approving the request of the
// org's only user-admin would deactivate it and so leave the org without
// one; A10 refuses (409) and nothing changes.
func TestAnonymityApprovalKeepsLastAdmin(t *testing.T) {
	e := newEnv(t)
	e.ensureBrokerRight()
	e.newGrant(store.HolderUser, uaA, cvrA, brokerRight, store.Scope{Type: store.ScopeCVR, Value: cvrA})
	r := e.do("user-admin", "POST", "/v1/users/"+uaA+"/anonymity-requests", nil)
	if r.status != http.StatusCreated {
		t.Fatalf("request: %s", r)
	}
	req := str(dig(r.body, "anonymity_request", "id"))
	before := e.snap()
	r = e.do("org-admin", "POST", "/v1/anonymity-requests/"+req+"/approve", nil)
	if r.status != http.StatusConflict || r.errCode() != "last_admin" || r.errRule() != "A10" {
		t.Fatalf("approve: %s", r)
	}
	e.unchanged(t, before)
}
