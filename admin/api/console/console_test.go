package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/admin"
	adminapi "github.com/adgang/adgang/admin/api"
	"github.com/adgang/adgang/admin/api/console"
	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

// inproc is the console mounted on a real admin API over a real Badger
// store in a temp dir, with a clock the test moves.
type inproc struct {
	srv   *httptest.Server
	st    *store.Store
	token string
	mu    sync.Mutex
	now   time.Time
}

const testOrg = "12345674"

func newInproc(t *testing.T, tlsServer bool) *inproc {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t)
	if _, err := st.Update(ctx, "test", func(tx *store.Tx) error {
		return tx.CreateOrg(&store.Org{CVR: testOrg, Name: "Test Skole", Type: store.OrgInstitution,
			PUnits: []store.PUnit{{PNumber: "1000000001", Name: "Hovedskolen"}}})
	}); err != nil {
		t.Fatal(err)
	}
	eng, err := pdp.New(ctx, st, pdp.Config{Logger: zerolog.Nop(), DecisionLog: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	adm, err := admin.New(ctx, admin.Config{Store: st, Engine: eng, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { adm.Close() })
	_, tok, err := admin.CreateToken(ctx, st, "test", "", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &inproc{st: st, token: tok, now: time.Now()}
	h := adminapi.New(adm, adminapi.Config{}).Handler()
	con, err := console.New(console.Config{API: h, Now: e.clock, MaxSessions: 5})
	if err != nil {
		t.Fatal(err)
	}
	if tlsServer {
		e.srv = httptest.NewTLSServer(con.Mount(h))
	} else {
		e.srv = httptest.NewServer(con.Mount(h))
	}
	t.Cleanup(e.srv.Close)
	return e
}

func (e *inproc) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *inproc) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

// browser is a cookie-keeping client that does not follow redirects.
func (e *inproc) browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := e.srv.Client()
	return &http.Client{Jar: jar, Transport: c.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// get fetches a page and returns its status, body and the form's CSRF token.
func get(t *testing.T, c *http.Client, u string) (*http.Response, string, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	csrf := ""
	if m := csrfField.FindSubmatch(b); m != nil {
		csrf = string(m[1])
	}
	return resp, string(b), csrf
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// signIn signs in with token and returns the signed-in client.
func (e *inproc) signIn(t *testing.T, token string) *http.Client {
	t.Helper()
	c := e.browser(t)
	_, _, csrf := get(t, c, e.srv.URL+"/console/login")
	resp, body := post(t, c, e.srv.URL+"/console/login", url.Values{"csrf": {csrf}, "token": {token}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d %s", resp.StatusCode, body)
	}
	return c
}

// TestConsoleHeadersAndCookie: every page carries a CSP that allows no
// script and no third party; the session cookie is HttpOnly and
// SameSite=Strict, and Secure exactly when served over TLS.
func TestConsoleHeadersAndCookie(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		e := newInproc(t, tlsOn)
		resp, body, csrf := get(t, e.browser(t), e.srv.URL+"/console/login")
		if resp.StatusCode != 200 || csrf == "" || !strings.Contains(body, `id="login"`) {
			t.Fatalf("login page: %d, csrf %q", resp.StatusCode, csrf)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "style-src 'self'", "form-action 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q", csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") || strings.Contains(csp, "script-src") {
			t.Errorf("CSP %q allows script", csp)
		}
		checkCookie(t, tlsOn, resp.Cookies(), "adgang_console_login")
		c := e.browser(t)
		_, _, csrf = get(t, c, e.srv.URL+"/console/login")
		resp, _ = post(t, c, e.srv.URL+"/console/login", url.Values{"csrf": {csrf}, "token": {e.token}})
		checkCookie(t, tlsOn, resp.Cookies(), "adgang_console")
	}
}

// checkCookie: the named cookie is set HttpOnly and SameSite=Strict, and
// Secure exactly under TLS.
func checkCookie(t *testing.T, tlsOn bool, cookies []*http.Cookie, name string) {
	t.Helper()
	for _, ck := range cookies {
		if ck.Name != name || ck.MaxAge < 0 {
			continue
		}
		if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure != tlsOn {
			t.Errorf("tls=%v: %s HttpOnly=%v SameSite=%v Secure=%v", tlsOn, name, ck.HttpOnly, ck.SameSite, ck.Secure)
		}
		return
	}
	t.Errorf("no cookie %s in %v", name, cookies)
}

// TestConsoleSignIn: a refused token shows the API's 401 and no session;
// next= never leaves the console.
func TestConsoleSignIn(t *testing.T) {
	e := newInproc(t, false)
	cases := []struct {
		name, token, next string
		status            int
		location          string
	}{
		{"empty token", "", "", http.StatusUnauthorized, ""},
		{"unknown token", "adg_nope", "", http.StatusUnauthorized, ""},
		{"good token", e.token, "", http.StatusSeeOther, "/console/orgs"},
		{"next inside the console", e.token, "/console/orgs/" + testOrg + "/knocks", http.StatusSeeOther, "/console/orgs/" + testOrg + "/knocks"},
		{"next to another host", e.token, "//evil.example/x", http.StatusSeeOther, "/console/orgs"},
		{"next to another path", e.token, "/v1/orgs", http.StatusSeeOther, "/console/orgs"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.browser(t)
			_, _, csrf := get(t, c, e.srv.URL+"/console/login")
			resp, body := post(t, c, e.srv.URL+"/console/login", url.Values{"csrf": {csrf}, "token": {tc.token}, "next": {tc.next}})
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if loc := resp.Header.Get("Location"); loc != tc.location {
				t.Errorf("Location %q, want %q", loc, tc.location)
			}
			if tc.status != http.StatusSeeOther {
				if !strings.Contains(body, `role="alert"`) {
					t.Errorf("no error shown: %s", body)
				}
				if r, _, _ := get(t, c, e.srv.URL+"/console/orgs"); r.StatusCode != http.StatusSeeOther {
					t.Errorf("a refused sign-in reads the orgs page: %d", r.StatusCode)
				}
			}
		})
	}
}

// TestConsoleCSRF: a form without the session's CSRF token is refused
// with 403 and changes nothing.
func TestConsoleCSRF(t *testing.T) {
	e := newInproc(t, false)
	c := e.signIn(t, e.token)
	_, _, csrf := get(t, c, e.srv.URL+"/console/orgs/"+testOrg+"/groups")
	for _, tc := range []struct {
		name  string
		form  url.Values
		extra string // Origin header
		want  int
	}{
		{"no token", url.Values{"name": {"Uden token"}}, "", http.StatusForbidden},
		{"wrong token", url.Values{"name": {"Forkert"}, "csrf": {"x" + csrf}}, "", http.StatusForbidden},
		{"foreign origin", url.Values{"name": {"Fremmed"}, "csrf": {csrf}}, "http://evil.example", http.StatusForbidden},
		{"good token", url.Values{"name": {"Lærerne"}, "csrf": {csrf}}, "", http.StatusSeeOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/console/orgs/"+testOrg+"/groups", strings.NewReader(tc.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.extra != "" {
				req.Header.Set("Origin", tc.extra)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			var groups []*store.Group
			_ = e.st.View(context.Background(), func(tx *store.Tx) (err error) {
				groups, err = tx.ListGroups(testOrg)
				return
			})
			found := false
			for _, g := range groups {
				found = found || g.Name == tc.form.Get("name")
			}
			if found != (tc.want == http.StatusSeeOther) {
				t.Errorf("group %q stored: %v", tc.form.Get("name"), found)
			}
		})
	}
}

// TestConsoleSessionExpires: a session ends after 30 idle minutes and
// after 8 hours in all; signing out ends it at once.
func TestConsoleSessionExpires(t *testing.T) {
	e := newInproc(t, false)
	page := e.srv.URL + "/console/orgs/" + testOrg + "/users"
	c := e.signIn(t, e.token)
	for _, step := range []struct {
		advance time.Duration
		status  int
	}{{0, 200}, {29 * time.Minute, 200}, {29 * time.Minute, 200}, {31 * time.Minute, http.StatusSeeOther}} {
		e.advance(step.advance)
		if r, _, _ := get(t, c, page); r.StatusCode != step.status {
			t.Fatalf("after +%v: %d, want %d", step.advance, r.StatusCode, step.status)
		}
	}
	c = e.signIn(t, e.token)
	for i := 0; i < 17; i++ { // 17 × 29 min > 8 h, never 30 idle
		e.advance(29 * time.Minute)
		get(t, c, page)
	}
	if r, _, _ := get(t, c, page); r.StatusCode != http.StatusSeeOther {
		t.Errorf("a session older than 8 hours still reads pages: %d", r.StatusCode)
	}
	c = e.signIn(t, e.token)
	_, _, csrf := get(t, c, page)
	post(t, c, e.srv.URL+"/console/logout", url.Values{"csrf": {csrf}})
	if r, _, _ := get(t, c, page); r.StatusCode != http.StatusSeeOther {
		t.Errorf("after signing out the page answers %d", r.StatusCode)
	}
}

// TestConsoleMasksCPR: a user created with a CPR number through the
// console never shows it again, only masked.
func TestConsoleMasksCPR(t *testing.T) {
	e := newInproc(t, false)
	c := e.signIn(t, e.token)
	_, _, csrf := get(t, c, e.srv.URL+"/console/orgs/"+testOrg+"/users/new")
	const cpr = "0101901234"
	resp, body := post(t, c, e.srv.URL+"/console/orgs/"+testOrg+"/users/new", url.Values{"csrf": {csrf},
		"name": {"Cecilie CPR"}, "email": {"cecilie@test.example"}, "cpr": {cpr}, "kind": {"employee"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	_, page, _ := get(t, c, e.srv.URL+resp.Header.Get("Location"))
	if strings.Contains(page, cpr) || strings.Contains(page, "901234") {
		t.Errorf("the user page shows the CPR number")
	}
	if !strings.Contains(page, "010190-****") {
		t.Errorf("the user page lacks the masked CPR number")
	}
	// A refused form comes back without the CPR number.
	_, _, csrf = get(t, c, e.srv.URL+"/console/orgs/"+testOrg+"/users/new")
	resp, body = post(t, c, e.srv.URL+"/console/orgs/"+testOrg+"/users/new", url.Values{"csrf": {csrf},
		"name": {"Dublet"}, "email": {"cecilie@test.example"}, "cpr": {"0202902345"}})
	if resp.StatusCode < 400 || strings.Contains(body, "0202902345") || !strings.Contains(body, `role="alert"`) {
		t.Errorf("refused create: %d, CPR echoed %v", resp.StatusCode, strings.Contains(body, "0202902345"))
	}
}

// TestConsoleVisitorsHoldNoSession: signed-out visitors get no server-side
// session, so however many load the sign-in page, a signed-in
// administrator keeps theirs (the table is bounded).
func TestConsoleVisitorsHoldNoSession(t *testing.T) {
	e := newInproc(t, false)
	c := e.signIn(t, e.token)
	for i := 0; i < 50; i++ {
		get(t, e.browser(t), e.srv.URL+"/console/login")
	}
	if r, _, _ := get(t, c, e.srv.URL+"/console/orgs/"+testOrg+"/users"); r.StatusCode != http.StatusOK {
		t.Errorf("the administrator lost the session: %d", r.StatusCode)
	}
	// The sign-in form without its cookie is refused.
	resp, _ := post(t, e.browser(t), e.srv.URL+"/console/login", url.Values{"csrf": {"forged"}, "token": {e.token}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in without the form's cookie: %d", resp.StatusCode)
	}
}
