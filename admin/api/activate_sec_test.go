package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/admin"
	"github.com/adgang/adgang/store"
)

// issueCode makes a new birth-date user of cvrA and issues its activation
// code.
func (e *env) issueCode(t *testing.T) (id, code string) {
	t.Helper()
	id = e.newUser(cvrA, newBirthDateUser)
	r := e.do("user-admin", "POST", "/v1/users/"+id+"/activation", nil)
	if r.status != 200 || str(r.body["code"]) == "" {
		t.Fatalf("issue code: %s", r)
	}
	return id, str(r.body["code"])
}

// TestActivateHashOutsideWriteLock: while an activation's argon2id check
// is in progress (held open by the test), an admin write completes, so
// the check runs outside the store's write lock; the activation then
// still succeeds, and a code replaced during the check does not.
func TestActivateHashOutsideWriteLock(t *testing.T) {
	e := newEnv(t)
	// The hash check announces itself with a channel that lets it go on.
	started := make(chan chan struct{}, 1)
	restore := admin.SetActivationVerifier(func(hash, secret string) bool {
		release := make(chan struct{})
		started <- release
		<-release
		return store.VerifyPassword(hash, secret)
	})
	t.Cleanup(restore)
	// activate holds the activation's hash check open while midway runs.
	// midway reports false when it found the write lock taken; the test
	// then lets the activation finish and fails.
	activate := func(id, code string, midway func(release func()) bool) resp {
		done := make(chan resp, 1)
		go func() { done <- e.do("none", "POST", "/v1/activate", map[string]any{"user_id": id, "code": code}) }()
		var once sync.Once
		ch := <-started
		release := func() { once.Do(func() { close(ch) }) }
		ok := midway(release)
		release()
		r := <-done
		if !ok {
			t.Fatal("an admin write waited for an activation's password hash: the write lock is held while hashing")
		}
		return r
	}
	// adminWrite runs an admin write; false if it could not finish while
	// the hash is held (a deadlock detector, not a timing bound: a write
	// that needs no lock takes milliseconds).
	adminWrite := func(release func(), caller, method, path string, body any, want int) bool {
		wrote := make(chan resp, 1)
		go func() { wrote <- e.do(caller, method, path, body) }()
		select {
		case w := <-wrote:
			if w.status != want {
				t.Errorf("%s %s during activation: %s", method, path, w)
			}
			return true
		case <-time.After(30 * time.Second):
			release()
			<-wrote
			return false
		}
	}

	id, code := e.issueCode(t)
	r := activate(id, code, func(release func()) bool {
		return adminWrite(release, "org-admin", "POST", "/v1/orgs/"+cvrA+"/groups", map[string]any{"name": "While hashing"}, http.StatusCreated)
	})
	if r.status != 200 || r.body["status"] != "active" {
		t.Fatalf("activation: %s", r)
	}

	// The code is replaced while its check runs: the stale code must not
	// activate (the short update re-checks the stored hash).
	id2, old := e.issueCode(t)
	r = activate(id2, old, func(release func()) bool {
		return adminWrite(release, "user-admin", "POST", "/v1/users/"+id2+"/activation", nil, http.StatusOK)
	})
	if r.status != 422 || r.errCode() != "invalid_activation" {
		t.Fatalf("a code replaced during its check activated: %s", r)
	}
	if u := e.user(id2); u.Status != store.StatusNew {
		t.Fatalf("status %s after a stale code", u.Status)
	}
}

// TestActivateThrottle: after 5 failed activations of one user, further
// attempts for that user answer 429 rate_limited (even with the right
// code) while other users activate normally; one source gets 30 attempts
// a minute, then 429 for every user.
func TestActivateThrottle(t *testing.T) {
	e := newEnv(t)
	frozen := time.Now() // the windows never run out during the test
	srv, err := admin.New(context.Background(), admin.Config{Store: e.st, Engine: e.eng, Logger: zerolog.Nop(),
		Now: func() time.Time { return frozen }})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(handlerOf(srv, e.eng, zerolog.Nop()))
	t.Cleanup(func() { ts.Close(); srv.Close() })
	e.ts = ts
	victim, victimCode := e.issueCode(t)
	other, otherCode := e.issueCode(t)
	for i := range 5 {
		r := e.do("none", "POST", "/v1/activate", map[string]any{"user_id": victim, "code": "AAAA-AAAA-AAAA"})
		if r.status != 422 || r.errCode() != "invalid_activation" {
			t.Fatalf("wrong code #%d: %s", i+1, r)
		}
	}
	r := e.do("none", "POST", "/v1/activate", map[string]any{"user_id": victim, "code": victimCode})
	if r.status != http.StatusTooManyRequests || r.errCode() != "rate_limited" {
		t.Fatalf("6th attempt for the user: %s, want 429 rate_limited", r)
	}
	if u := e.user(victim); u.Status != store.StatusNew {
		t.Fatalf("a throttled attempt activated the user: %s", u.Status)
	}
	if r := e.do("none", "POST", "/v1/activate", map[string]any{"user_id": other, "code": otherCode}); r.status != 200 {
		t.Fatalf("another user is throttled too: %s", r)
	}
	// Per source: 7 attempts so far; 23 more for made-up users are
	// answered, the next one is refused whoever it is for.
	for i := range 23 {
		id, _ := e.issueCode(t)
		if r := e.do("none", "POST", "/v1/activate", map[string]any{"user_id": id, "code": "BBBB-BBBB-BBBB"}); r.status != 422 {
			t.Fatalf("attempt %d from the source: %s", i+8, r)
		}
	}
	fresh, freshCode := e.issueCode(t)
	r = e.do("none", "POST", "/v1/activate", map[string]any{"user_id": fresh, "code": freshCode})
	if r.status != http.StatusTooManyRequests || r.errCode() != "rate_limited" {
		t.Fatalf("31st attempt from one source in a minute: %s, want 429 rate_limited", r)
	}
}
