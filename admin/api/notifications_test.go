package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/adgang/adgang/admin/jobs/lifecycle"
	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// TestNotificationsOfKnocks: a new knock (D2) notifies the org's org-admin
// and user-admin, in the API and by mail, never the auditor nor another
// org's administrators; a repeated knock of the same identity does not
// notify again; each administrator reads and marks only its own.
func TestNotificationsOfKnocks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	subject := uuid.NewString()
	login := func() {
		d, err := e.eng.Login(ctx, &pdp.LoginRequest{Subject: pdp.Subject{ID: subject, CVR: cvrA, Kind: "employee",
			Name: "Karl Knock", Email: "karl@a.dk"}, Service: "imi"}, pdp.RequestMeta{})
		if err != nil || d.Allow {
			t.Fatalf("login: %+v %v", d, err)
		}
	}
	login()
	unread := func(caller string) []map[string]any {
		r := e.do(caller, "GET", "/v1/notifications?unread=true", nil)
		if r.status != http.StatusOK {
			t.Fatalf("%s notifications: %s", caller, r)
		}
		return items(r, "notifications")
	}
	waitFor(t, "knock notifications", func() bool { return len(unread("org-admin")) == 1 && len(unread("user-admin")) == 1 })
	n := unread("org-admin")[0]
	if n["kind"] != "knock" || n["org"] != cvrA || n["recipient"] != oaA {
		t.Errorf("notification: %v", n)
	}
	for _, c := range []string{"auditor", "org-admin-B", "user-admin-B"} {
		if got := unread(c); len(got) != 0 {
			t.Errorf("%s was notified: %v", c, got)
		}
	}
	r := e.do("superadmin", "GET", "/v1/outbox?to=a002@admin.example.dk", nil)
	if ms := items(r, "mails"); len(ms) != 1 || ms[0]["kind"] != "notification_knock" {
		t.Errorf("user-admin's mail: %s", r)
	}

	// The same identity knocking again updates its knock: no new notification.
	login()
	waitFor(t, "the second knock", func() bool {
		var k *store.Knock
		_ = e.st.View(ctx, func(tx *store.Tx) (err error) { k, err = tx.KnockBySubject(cvrA, subject); return })
		return k != nil && k.Count == 2
	})
	if got := unread("org-admin"); len(got) != 1 {
		t.Errorf("a repeated knock notified again: %v", got)
	}

	id := n["id"].(string)
	if r := e.do("org-admin-B", "POST", "/v1/notifications/"+id+"/read", nil); r.status != http.StatusNotFound {
		t.Errorf("another org's admin marked it read: %s", r)
	}
	if r := e.do("user-admin", "POST", "/v1/notifications/"+id+"/read", nil); r.status != http.StatusNotFound {
		t.Errorf("another recipient marked it read: %s", r)
	}
	r = e.do("org-admin", "POST", "/v1/notifications/"+id+"/read", nil)
	if r.status != http.StatusOK || dig(r.body, "notification", "read_at") == nil {
		t.Fatalf("read: %s", r)
	}
	if got := unread("org-admin"); len(got) != 0 {
		t.Errorf("still unread: %v", got)
	}
	if got := unread("user-admin"); len(got) != 1 {
		t.Errorf("the user-admin's copy was marked too: %v", got)
	}
	r = e.do("org-admin", "GET", "/v1/notifications", nil)
	if l := items(r, "notifications"); len(l) != 1 || l[0]["read_at"] == nil {
		t.Errorf("all notifications: %s", r)
	}
}

// TestNotificationsPagingAndBadInput: newest first, paged with
// limit/page_token; bad parameters are 400; an unbound token has none.
func TestNotificationsPagingAndBadInput(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for range 3 {
		ids = append(ids, e.newNotification(oaA, cvrA))
	}
	var got []string
	path := "/v1/notifications?limit=2"
	for page := 0; path != ""; page++ {
		r := e.do("org-admin", "GET", path, nil)
		if r.status != http.StatusOK || page > 2 {
			t.Fatalf("page %d: %s", page, r)
		}
		for _, n := range items(r, "notifications") {
			got = append(got, n["id"].(string))
		}
		path = ""
		if tok := str(r.body["next_page_token"]); tok != "" {
			path = "/v1/notifications?limit=2&page_token=" + tok
		}
	}
	if len(got) != 3 || got[0] != ids[2] || got[2] != ids[0] {
		t.Errorf("pages %v, want newest first of %v", got, ids)
	}
	for _, q := range []string{"?limit=0", "?limit=x", "?unread=maybe", "?page_token=bm90LWEtY3Vyc29y"} {
		if r := e.do("org-admin", "GET", "/v1/notifications"+q, nil); r.status != http.StatusBadRequest {
			t.Errorf("%s: %s", q, r)
		}
	}
	if r := e.do("org-admin", "POST", "/v1/notifications/nope/read", nil); r.status != http.StatusBadRequest {
		t.Errorf("bad id: %s", r)
	}
	if r := e.do("superadmin", "GET", "/v1/notifications", nil); r.status != http.StatusNotFound ||
		!containsText(r.errMessage(), "not bound to a user") {
		t.Errorf("unbound token: %s", r)
	}
}

// TestNotificationsOfLifecycleWarnings: the L4 warning of the lifecycle
// job notifies the org's administrators through admin.Service.Notify (the
// warning mail itself is the job's own, so no second mail).
func TestNotificationsOfLifecycleWarnings(t *testing.T) {
	e := newEnv(t)
	created := time.Now().Add(-340 * 24 * time.Hour)
	user := e.newUser(cvrA, func(u *store.User) {
		u.Source, u.UserType, u.CreatedAt, u.StatusChangedAt = "manual", "elev", created, created
	})
	runner := &lifecycle.Runner{Store: e.st, Policy: e.eng, Logger: zerolog.Nop(),
		Notify: func(tx *store.Tx, n store.Notification) error { return e.srv.Notify(tx, n, false) }}
	if _, err := runner.RunOnce(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, caller := range []string{"org-admin", "user-admin"} {
		r := e.do(caller, "GET", "/v1/notifications?unread=true", nil)
		l := items(r, "notifications")
		if len(l) != 1 || l[0]["kind"] != "lifecycle_warning" || l[0]["user_id"] != user {
			t.Fatalf("%s: %s", caller, r)
		}
	}
	r := e.do("superadmin", "GET", "/v1/outbox?to=a001@admin.example.dk", nil)
	if ms := items(r, "mails"); len(ms) != 1 || ms[0]["kind"] != "lifecycle_warning" {
		t.Errorf("org-admin's mails: %s", r)
	}
}

func (r resp) errMessage() string { return str(dig(r.body, "error", "message")) }

func containsText(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
