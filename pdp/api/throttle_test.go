package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"testing"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/pdp/api"
	"github.com/adgang/adgang/store"
)

// fromSource posts a password login from a given loopback address (a
// distinct source for the throttle) and returns the status and answer.
func (e *env) passwordFrom(source string, req pdp.PasswordRequest) (int, pdp.PasswordAnswer, string) {
	e.t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}}
	c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	raw, _ := json.Marshal(req)
	resp, err := c.Post(e.srv.URL+"/v1/authn/password", "application/json", bytes.NewReader(raw))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		pdp.PasswordAnswer
		Error api.ErrorDetail `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.PasswordAnswer, body.Error.Code
}

func (e *env) passwordFailures(name string) (int, bool) {
	e.t.Helper()
	var p store.Password
	_ = e.st.View(context.Background(), func(tx *store.Tx) error {
		u, err := tx.GetUser(uid[name])
		if err == nil && u.Password != nil {
			p = *u.Password
		}
		return err
	})
	return p.Failures, p.Blocked
}

// TestPasswordThrottle: one source gets 10 failed password logins per
// window; then it is answered 429 rate_limited before any password is
// checked, so its further wrong passwords do not count toward the
// account's 5-failure block (an outsider cannot lock accounts at will),
// while the account's owner from another source logs in. One username
// gets 30 attempts a minute, from any sources.
func TestPasswordThrottle(t *testing.T) {
	e := newEnv(t, pdp.Config{})
	setPassword(t, e, "nils", "Korrekt1hest", false)
	const attacker, owner = "127.0.0.2", "127.0.0.3"

	// 4 wrong passwords for nils and 6 for unknown users: 10 failures.
	for i := range 10 {
		user := "nils"
		if i >= 4 {
			user = fmt.Sprintf("nobody%d", i)
		}
		if st, a, _ := e.passwordFrom(attacker, pdp.PasswordRequest{Username: user, Password: "forkert"}); st != 200 || a.Allow {
			t.Fatalf("failure %d: status %d allow %v", i+1, st, a.Allow)
		}
	}
	if f, blocked := e.passwordFailures("nils"); f != 4 || blocked {
		t.Fatalf("after 4 wrong passwords: failures %d blocked %v", f, blocked)
	}
	// Over budget: refused unchecked, even with the right password.
	for _, pw := range []string{"forkert", "forkert", "Korrekt1hest"} {
		if st, _, code := e.passwordFrom(attacker, pdp.PasswordRequest{Username: "nils", Password: pw}); st != http.StatusTooManyRequests || code != "rate_limited" {
			t.Fatalf("attempt over the source's budget: status %d code %q, want 429 rate_limited", st, code)
		}
	}
	if f, blocked := e.passwordFailures("nils"); f != 4 || blocked {
		t.Fatalf("over-budget failures counted toward the block: failures %d blocked %v", f, blocked)
	}
	// The owner, from another source, is not affected.
	if st, a, _ := e.passwordFrom(owner, pdp.PasswordRequest{Username: "nils", Password: "Korrekt1hest"}); st != 200 || !a.Allow {
		t.Fatalf("owner's login from another source: status %d allow %v %+v", st, a.Allow, a.Reasons)
	}

	// Per username: 30 attempts a minute (the owner has used 5 so far
	// with the attacker's counted ones), whatever the source.
	used := 5
	for i := used; i < 30; i++ {
		src := fmt.Sprintf("127.0.1.%d", i)
		if st, a, _ := e.passwordFrom(src, pdp.PasswordRequest{Username: "nils", Password: "Korrekt1hest"}); st != 200 || !a.Allow {
			t.Fatalf("attempt %d for nils: status %d allow %v", i+1, st, a.Allow)
		}
	}
	if st, _, code := e.passwordFrom("127.0.2.1", pdp.PasswordRequest{Username: "NILS", Password: "Korrekt1hest"}); st != http.StatusTooManyRequests || code != "rate_limited" {
		t.Fatalf("31st attempt for one username: status %d code %q, want 429 rate_limited", st, code)
	}
	if st, _, _ := e.passwordFrom("127.0.2.1", pdp.PasswordRequest{Username: "lars", Password: "x"}); st != 200 {
		t.Fatalf("another username is throttled too: %d", st)
	}
}
