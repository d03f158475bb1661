package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/adgang/adgang/admin"
	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// secretOf reads the one-time secret of the newest mail about a user
// straight from the store (what the SMTP delivery would send).
func (e *env) secretOf(userID string) string {
	e.t.Helper()
	var secret string
	err := e.st.View(context.Background(), func(tx *store.Tx) error {
		ms, err := tx.ListMail("", userID)
		if err == nil && len(ms) > 0 {
			secret = ms[0].Secret
		}
		return err
	})
	if err != nil || secret == "" {
		e.t.Fatalf("no mail with a secret for %s: %v", userID, err)
	}
	return secret
}

func (e *env) user(id string) *store.User {
	e.t.Helper()
	var u *store.User
	if err := e.st.View(context.Background(), func(tx *store.Tx) error {
		var err error
		u, err = tx.GetUser(id)
		return err
	}); err != nil {
		e.t.Fatalf("user %s: %v", id, err)
	}
	return u
}

// noSecretAnywhere fails if a secret shows in the logs, the outbox API or
// the user's history.
func (e *env) noSecretAnywhere(t *testing.T, userID string, secrets ...string) {
	t.Helper()
	out := e.do("superadmin", "GET", "/v1/outbox?user_id="+userID, nil)
	hist := e.do("superadmin", "GET", "/v1/users/"+userID+"/history", nil)
	for _, s := range secrets {
		for name, text := range map[string]string{"logs": e.logs.String(), "outbox": string(out.raw), "history": string(hist.raw)} {
			if strings.Contains(text, s) {
				t.Errorf("a one-time secret appears in the %s", name)
			}
		}
	}
}

func TestActivation(t *testing.T) {
	e := newEnv(t)

	t.Run("birth-date user: code shown once, regenerated, one-time", func(t *testing.T) {
		id := e.newUser(cvrA, newBirthDateUser)
		first := e.do("user-admin", "POST", "/v1/users/"+id+"/activation", nil)
		if first.status != 200 || first.body["method"] != "code" || str(first.body["code"]) == "" {
			t.Fatalf("issue: %s", first)
		}
		second := e.do("user-admin", "POST", "/v1/users/"+id+"/activation", nil)
		code1, code2 := str(first.body["code"]), str(second.body["code"])
		if second.status != 200 || code2 == "" || code2 == code1 {
			t.Fatalf("regenerate: %s", second)
		}
		if r := e.do("none", "POST", "/v1/activate", map[string]any{"user_id": id, "code": code1}); r.status != 422 || r.errCode() != "invalid_activation" {
			t.Fatalf("the replaced code still works: %s", r)
		}
		typed := strings.ToLower(strings.ReplaceAll(code2, "-", " ")) // as people type it
		if r := e.do("none", "POST", "/v1/activate", map[string]any{"user_id": id, "code": typed}); r.status != 200 || r.body["status"] != "active" {
			t.Fatalf("activate: %s", r)
		}
		if u := e.user(id); u.Status != store.StatusActive || u.ActivationHash != "" {
			t.Fatalf("after activation: status %s, hash kept %v", u.Status, u.ActivationHash != "")
		}
		if r := e.do("none", "POST", "/v1/activate", map[string]any{"user_id": id, "code": code2}); r.status != 422 {
			t.Fatalf("a used code works again: %s", r)
		}
		if r := e.do("user-admin", "POST", "/v1/users/"+id+"/activation", nil); r.status != 422 || r.errCode() != "already_active" || r.errRule() != "L7" {
			t.Fatalf("activation of an active user: %s", r)
		}
		e.noSecretAnywhere(t, id, code1, code2)
	})

	t.Run("CPR user: mail in the outbox, secret redacted, token activates", func(t *testing.T) {
		id := e.newUser(cvrA, newCPRUser)
		r := e.do("org-admin", "POST", "/v1/users/"+id+"/activation", nil)
		if r.status != 200 || r.body["method"] != "mail" || r.body["code"] != nil {
			t.Fatalf("send: %s", r)
		}
		out := e.do("org-admin", "GET", "/v1/outbox?user_id="+id, nil)
		mails, _ := out.body["mails"].([]any)
		if out.status != 200 || len(mails) != 1 || !strings.Contains(str(dig(mails[0].(map[string]any), "body")), "[redacted]") {
			t.Fatalf("outbox: %s", out)
		}
		token := e.secretOf(id)
		e.noSecretAnywhere(t, id, token)
		if r := e.do("none", "POST", "/v1/activate", map[string]any{"user_id": id, "token": token}); r.status != 200 {
			t.Fatalf("activate with the mailed token: %s", r)
		}
		// Another org's admin sees neither the mail nor the user.
		if r := e.do("org-admin-B", "GET", "/v1/outbox?user_id="+id, nil); r.status != 404 {
			t.Fatalf("outbox of another org's user: %s", r)
		}
		if r := e.do("org-admin-B", "GET", "/v1/outbox", nil); strings.Contains(string(r.raw), id) {
			t.Fatalf("another org's admin sees the mail: %s", r)
		}
	})

	t.Run("unknown user, malformed and wrong code look alike", func(t *testing.T) {
		id := e.newUser(cvrA, newBirthDateUser)
		e.do("user-admin", "POST", "/v1/users/"+id+"/activation", nil)
		a := e.do("none", "POST", "/v1/activate", map[string]any{"user_id": "00000000-0000-4000-8000-00000000ffff", "code": "AAAA-BBBB-CCCC"})
		b := e.do("none", "POST", "/v1/activate", map[string]any{"user_id": id, "code": "AAAA-BBBB-CCCC"})
		if a.status != 422 || b.status != 422 || string(a.raw) != string(b.raw) {
			t.Fatalf("%s / %s", a, b)
		}
		if r := e.do("none", "POST", "/v1/activate", map[string]any{"user_id": id}); r.status != 400 {
			t.Fatalf("no code: %s", r)
		}
	})

	t.Run("bulk: CPR users only, per-row refusals", func(t *testing.T) {
		cprUser := e.newUser(cvrA, newCPRUser)
		birthUser := e.newUser(cvrA, newBirthDateUser)
		fnUser := e.newUser(cvrA, newCPRUser, func(u *store.User) { u.Kind = store.KindFunction })
		otherOrg := e.newUser(cvrB, newCPRUser)
		before := e.user(birthUser)
		r := e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/activations", map[string]any{"user_ids": []string{cprUser, birthUser, fnUser, otherOrg}})
		if r.status != 200 {
			t.Fatalf("bulk: %s", r)
		}
		results, _ := r.body["results"].([]any)
		want := []struct{ status, code, rule string }{
			{"ok", "", ""}, {"error", "activation_one_at_a_time", "L7"}, {"error", "function_cert_immutable", "A2"}, {"error", "not_found", ""},
		}
		if len(results) != len(want) {
			t.Fatalf("results: %s", r)
		}
		for i, w := range want {
			row := results[i].(map[string]any)
			if row["status"] != w.status || str(dig(row, "error", "code")) != w.code || str(dig(row, "error", "rule")) != w.rule {
				t.Errorf("row %d: %v, want %+v", i, row, w)
			}
		}
		if after := e.user(birthUser); after.ActivationHash != before.ActivationHash || after.UpdatedAt != before.UpdatedAt {
			t.Error("a refused row changed its user")
		}
		if len(e.mails(cprUser)) != 1 || len(e.mails(fnUser)) != 0 {
			t.Error("mails: want one for the CPR user, none for the refused rows")
		}
	})
}

func (e *env) mails(userID string) []*store.OutboxMail {
	e.t.Helper()
	var ms []*store.OutboxMail
	if err := e.st.View(context.Background(), func(tx *store.Tx) error {
		var err error
		ms, err = tx.ListMail("", userID)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return ms
}

func TestLoginActivityAndBulkStatus(t *testing.T) {
	e := newEnv(t)
	at := func(s string) func(*store.User) {
		return func(u *store.User) {
			if s == "" {
				u.LastLogin = nil
				return
			}
			tm, _ := time.Parse(time.DateOnly, s)
			u.LastLogin = &tm
		}
	}
	old := e.newUser(cvrA, at("2026-01-10"))
	never := e.newUser(cvrA, at(""))
	recent := e.newUser(cvrA, at("2026-06-01"))
	dayBefore := e.newUser(cvrA, at("2026-02-28"))
	fnOld := e.newUser(cvrA, at("2026-01-10"), func(u *store.User) { u.Kind = store.KindFunction })
	otherOrg := e.newUser(cvrB, at("2026-01-10"))

	r := e.do("auditor", "GET", "/v1/orgs/"+cvrA+"/login-activity?not_since=2026-03-01", nil)
	if r.status != 200 {
		t.Fatalf("login activity: %s", r)
	}
	got := map[string]bool{}
	for _, x := range r.body["users"].([]any) {
		got[str(x.(map[string]any)["id"])] = true
	}
	for id, want := range map[string]bool{old: true, never: true, recent: false, dayBefore: true, fnOld: true, otherOrg: false} {
		if got[id] != want {
			t.Errorf("user %s listed = %v, want %v", id, got[id], want)
		}
	}
	for _, bad := range []string{"", "?not_since=yesterday", "?not_since=2026-03-01&status=odd"} {
		if r := e.do("auditor", "GET", "/v1/orgs/"+cvrA+"/login-activity"+bad, nil); r.status != 400 {
			t.Errorf("%q: %s", bad, r)
		}
	}

	r = e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/users:inactivate", map[string]any{"user_ids": []string{old, fnOld, otherOrg}})
	rows, _ := r.body["results"].([]any)
	if r.status != 200 || len(rows) != 3 {
		t.Fatalf("bulk inactivate: %s", r)
	}
	codes := []string{str(dig(rows[0].(map[string]any), "status")), str(dig(rows[1].(map[string]any), "error", "code")), str(dig(rows[2].(map[string]any), "error", "code"))}
	if codes[0] != "ok" || codes[1] != "function_cert_immutable" || codes[2] != "not_found" {
		t.Fatalf("rows: %s", r)
	}
	if e.user(old).Status != store.StatusInactive || e.user(fnOld).Status != store.StatusActive || e.user(otherOrg).Status != store.StatusActive {
		t.Fatal("bulk inactivate changed the wrong users")
	}
	r = e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/users:activate", map[string]any{"user_ids": []string{old}})
	if r.status != 200 || e.user(old).Status != store.StatusActive {
		t.Fatalf("bulk activate: %s", r)
	}
	for _, body := range []any{map[string]any{}, map[string]any{"user_ids": []string{old, old}}, "not json"} {
		before := e.snap()
		if r := e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/users:inactivate", body); r.status != 400 {
			t.Errorf("%v: %s", body, r)
		}
		e.unchanged(t, before)
	}
}

func TestAssociationsAndConfirm(t *testing.T) {
	e := newEnv(t)
	const fictitious = "6101904321" // day 61 = 1 January + 60 (Unilogin)
	const kot = "010190A1B2"        // a KOT-style number with letters
	for _, cpr := range []string{fictitious, kot} {
		r := e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/associations", map[string]any{
			"cpr": cpr, "user_type": "elev", "class": "7.b", "name": "Elev " + cpr[6:]})
		if r.status != 201 {
			t.Fatalf("associate %s: %s", cpr[6:], r)
		}
		if strings.Contains(string(r.raw), cpr) || strings.Contains(e.logs.String(), cpr) {
			t.Fatal("the CPR number appears in an answer or a log")
		}
		u := dig(r.body, "user").(map[string]any)
		if u["source"] != "manual" || u["user_type"] != "elev" || u["class"] != "7.b" || u["cpr_linked"] != true {
			t.Fatalf("association: %v", u)
		}
		id := str(u["id"])
		c := e.do("user-admin", "POST", "/v1/users/"+id+"/confirm", nil)
		if c.status != 200 || dig(c.body, "user", "confirmed_at") == nil {
			t.Fatalf("confirm: %s", c)
		}
	}
	if r := e.do("user-admin", "POST", "/v1/users/"+e.newUser(cvrA)+"/confirm", nil); r.status != 422 || r.errCode() != "not_manual_association" || r.errRule() != "L4" {
		t.Fatalf("confirm a non-manual user: %s", r)
	}
	for _, body := range []map[string]any{
		{"user_type": "elev", "name": "Ingen id"},
		{"cpr": fictitious, "unilogin_id": "x", "user_type": "elev", "name": "Begge"},
		{"cpr": "3213904321", "user_type": "elev", "name": "Ugyldig dato"},
		{"cpr": "0101904322", "name": "Ingen type"},
	} {
		before := e.snap()
		if r := e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/associations", body); r.status != 400 {
			t.Errorf("%v: %s", body, r)
		}
		e.unchanged(t, before)
	}
}

func TestLifecyclePreview(t *testing.T) {
	e := newEnv(t)
	login := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	id := e.newUser(cvrA, func(u *store.User) { u.LastLogin = &login })
	preview := func(at string) []string {
		r := e.do("auditor", "GET", "/v1/orgs/"+cvrA+"/lifecycle?at="+at, nil)
		if r.status != 200 {
			t.Fatalf("preview: %s", r)
		}
		var jobs []string
		for _, a := range r.body["actions"].([]any) {
			m := a.(map[string]any)
			if m["user_id"] == id {
				jobs = append(jobs, str(m["rule"])+" "+str(m["action"]))
			}
		}
		return jobs
	}
	before := e.snap()
	// 90 days after 1 January 12:00 is 1 April 12:00 (L1).
	if got := preview("2026-04-01"); len(got) != 0 {
		t.Errorf("the day before the limit: %v", got)
	}
	if got := preview("2026-04-02"); len(got) != 1 || got[0] != "L1 inactivate" {
		t.Errorf("after the limit: %v", got)
	}
	e.unchanged(t, before)
	if r := e.do("auditor", "GET", "/v1/orgs/"+cvrA+"/lifecycle?at=soon", nil); r.status != 400 {
		t.Errorf("bad date: %s", r)
	}
}

func TestPasswordAdministration(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.newUser(cvrA, func(u *store.User) { u.Username = "imi.bruger" })

	if r := e.do("user-admin", "POST", "/v1/users/"+id+"/password:reset", nil); r.status != 422 || r.errCode() != "password_login_not_enabled" {
		t.Fatalf("reset without password login: %s", r)
	}
	e.usePasswords(cvrA)
	r := e.do("user-admin", "POST", "/v1/users/"+id+"/password:reset", nil)
	temp := str(r.body["temporary_password"])
	if r.status != 200 || len(temp) < 8 {
		t.Fatalf("reset: %s", r)
	}
	status := func() string {
		r := e.do("user-admin", "GET", "/v1/users/"+id, nil)
		return str(dig(r.body, "user", "password_status"))
	}
	if s := status(); s != "temporary" {
		t.Fatalf("after reset: %q", s)
	}
	if e.secretOf(id) != temp {
		t.Fatal("the mailed secret is not the temporary password")
	}
	login := func(pw, next string) *pdp.PasswordAnswer {
		a, err := admin.NewPasswordLogin(e.eng, e.st).Login(ctx, &pdp.PasswordRequest{Username: "imi.bruger", Password: pw, NewPassword: next}, pdp.RequestMeta{})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if a := login(temp, ""); a.Allow || !a.PasswordChangeRequired {
		t.Fatalf("temporary password: allow=%v change_required=%v", a.Allow, a.PasswordChangeRequired)
	}
	if a := login(temp, "Nyt1Password"); !a.PasswordChanged || a.PasswordChangeRequired {
		t.Fatalf("change: %+v", a)
	}
	if s := status(); s != "valid" {
		t.Fatalf("after change: %q", s)
	}
	for range 5 {
		login("forkert", "")
	}
	if s := status(); s != "blocked" {
		t.Fatalf("after 5 failures: %q", s)
	}
	if a := login("Nyt1Password", ""); a.Allow {
		t.Fatal("a blocked account logged in")
	}
	if r := e.do("auditor", "POST", "/v1/users/"+id+"/unblock", nil); r.status != 403 {
		t.Fatalf("auditor unblocks: %s", r)
	}
	if r := e.do("user-admin", "POST", "/v1/users/"+id+"/unblock", nil); r.status != 200 {
		t.Fatalf("unblock: %s", r)
	}
	if s := status(); s != "valid" {
		t.Fatalf("after unblock: %q", s)
	}
	if r := e.do("user-admin", "POST", "/v1/users/"+fnA+"/password:reset", nil); r.status != 422 || r.errRule() != "A2" {
		t.Fatalf("reset of a function certificate user: %s", r)
	}
	if r := e.do("user-admin", "POST", "/v1/users/"+e.newUser(cvrA)+"/unblock", nil); r.status != 400 {
		t.Fatalf("unblock without a password: %s", r)
	}
	e.noSecretAnywhere(t, id, temp, "Nyt1Password", "forkert")
	if strings.Contains(e.logs.String(), "Nyt1Password") {
		t.Fatal("a password reached the logs")
	}
}
