package console

import (
	"net/http"
	"net/url"
	"strings"
)

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// safeNext is the local console path to return to after sign-in; any
// other value (another host, a scheme, "//") becomes the org list.
func safeNext(next string) string {
	if strings.HasPrefix(next, Prefix) && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return "/console/orgs"
}

// loginPage shows the sign-in form. A visitor who is not signed in holds
// no server-side session: the form's CSRF token is a random value that
// is also in a short-lived cookie (double submit), so visitors cannot
// fill the session table and push signed-in administrators out.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	pre := &session{csrf: randomID(), lang: langOf(r, nil)}
	http.SetCookie(w, &http.Cookie{Name: preCookieName, Value: pre.csrf, Path: "/console/login", MaxAge: 3600,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	c.render(w, r, pre, http.StatusOK, "login", &page{Data: map[string]string{"Next": safeNext(r.URL.Query().Get("next"))}})
}

// preCookieName holds the sign-in form's CSRF token.
const preCookieName = "adgang_console_login"

// login checks the token against the admin API (it must be able to list
// the orgs it may see) and starts a fresh signed-in session.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	s := &session{lang: langOf(r, nil)}
	if l := r.PostFormValue("lang"); l == "en" || l == "da" {
		s.lang = l
	}
	if ck, err := r.Cookie(preCookieName); err == nil {
		s.csrf = ck.Value
	}
	if s.csrf == "" || !validCSRF(r, s) {
		c.render(w, r, nil, http.StatusForbidden, "message", &page{
			Error: &apiError{Status: http.StatusForbidden, Code: "csrf", Message: translate(s.lang, "csrf")}})
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	next := safeNext(r.PostFormValue("next"))
	probe := &session{token: token}
	var orgs struct {
		Orgs []org `json:"orgs"`
	}
	err := error(&apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: translate(langOf(r, s), "login.empty")})
	if token != "" {
		err = c.get(r, probe, "/v1/orgs", url.Values{"limit": {"1"}}, &orgs)
	}
	if err != nil {
		c.render(w, r, s, asAPIError(err).Status, "login", &page{Error: asAPIError(err), Data: map[string]string{"Next": next}})
		return
	}
	if old := c.sessions.get(r); old != nil {
		c.sessions.end(old)
	}
	ns := c.sessions.create(token, s.lang)
	setCookie(w, r, ns)
	http.SetCookie(w, &http.Cookie{Name: preCookieName, Value: "", Path: "/console/login", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the session.
func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	c.sessions.end(s)
	clearCookie(w, r)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

// orgsPage lists the organisations the signed-in administrator may see;
// with exactly one it goes straight to that org's users.
func (c *Console) orgsPage(w http.ResponseWriter, r *http.Request, s *session) {
	var ans struct {
		Orgs []org  `json:"orgs"`
		Next string `json:"next_page_token"`
	}
	q := url.Values{}
	if t := r.URL.Query().Get("page_token"); t != "" {
		q.Set("page_token", t)
	}
	if err := c.get(r, s, "/v1/orgs", q, &ans); err != nil {
		c.render(w, r, s, asAPIError(err).Status, "message", &page{Error: asAPIError(err)})
		return
	}
	if len(ans.Orgs) == 1 && ans.Next == "" && q.Get("page_token") == "" {
		http.Redirect(w, r, "/console/orgs/"+ans.Orgs[0].CVR+"/users", http.StatusSeeOther)
		return
	}
	c.render(w, r, s, http.StatusOK, "orgs", &page{Data: ans})
}

// loadOrg reads the org a page belongs to (its name and units for the
// tab bar and the forms).
func (c *Console) loadOrg(r *http.Request, s *session, cvr string) (*org, []group, error) {
	var ans struct {
		Org    org     `json:"org"`
		Groups []group `json:"groups"`
	}
	if err := c.get(r, s, "/v1/orgs/"+url.PathEscape(cvr), nil, &ans); err != nil {
		return nil, nil, err
	}
	return &ans.Org, ans.Groups, nil
}

// orgOf loads the org of the page's {cvr}; when it cannot, it has
// answered with the error page.
func (c *Console) orgOf(w http.ResponseWriter, r *http.Request, s *session) (*org, bool) {
	o, _, err := c.loadOrg(r, s, r.PathValue("cvr"))
	if err != nil {
		c.fail(w, r, s, nil, err)
		return nil, false
	}
	return o, true
}

// pickQuery adds the request's non-empty parameters named keys to q.
func pickQuery(r *http.Request, q url.Values, keys ...string) url.Values {
	in := r.URL.Query()
	for _, k := range keys {
		if v := strings.TrimSpace(in.Get(k)); v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// listPage reads a collection of the org (path below /v1/orgs/{cvr}/)
// into ans and renders the tab; a refusal is shown on the same page.
func (c *Console) listPage(w http.ResponseWriter, r *http.Request, s *session, o *org, tab, path string, q url.Values, ans, d any) {
	p := &page{Org: o, Active: tab, Data: d}
	status := http.StatusOK
	if err := c.get(r, s, "/v1/orgs/"+url.PathEscape(o.CVR)+"/"+path, q, ans); err != nil {
		p.Error = asAPIError(err)
		status = p.Error.Status
	}
	c.render(w, r, s, status, tab, p)
}

// fail renders the error page for a GET that could not be read.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, o *org, err error) {
	e := asAPIError(err)
	c.render(w, r, s, e.Status, "message", &page{Org: o, Error: e})
}
