package console

import (
	"bytes"
	"html/template"
	"net/http"
	"strings"
	"time"
)

// page is what every template gets: the layout's parts and the page's
// own Data.
type page struct {
	Title    string
	Lang     string
	SignedIn bool
	CSRF     string
	Org      *org
	Active   string // the current tab's key
	Notice   string
	Error    *apiError
	Data     any
	Query    map[string]string // the request's query, for forms that keep it
}

// T translates key into the page's language (Danish by default).
func (p *page) T(key string) string { return translate(p.Lang, key) }

// OtherLang is the language the switch link offers.
func (p *page) OtherLang() string {
	if p.Lang == "en" {
		return "da"
	}
	return "en"
}

// tab is one link of the org's tab bar.
type tab struct {
	Key, Label, Href string
	Current          bool
}

// tabKeys are the org tabs in the seeds' order.
var tabKeys = []string{"users", "new", "import", "groups", "knocks", "activity", "certificates", "settings"}

// Tabs are the tab bar of the current org.
func (p *page) Tabs() []tab {
	if p.Org == nil {
		return nil
	}
	base := Prefix + "orgs/" + p.Org.CVR + "/"
	paths := map[string]string{"users": "users", "new": "users/new", "import": "import", "groups": "groups",
		"knocks": "knocks", "activity": "activity", "certificates": "certificates", "settings": "settings"}
	out := make([]tab, 0, len(tabKeys))
	for _, k := range tabKeys {
		out = append(out, tab{Key: k, Label: p.T("tab." + k), Href: base + paths[k], Current: k == p.Active})
	}
	return out
}

// grantFormData is the grant form's input (user and group pages).
type grantFormData struct {
	P      *page
	Rights []right
	Action string
}

// certActions are the buttons a certificate in status offers; the API
// decides (409 certificate_state) whatever is pressed.
func certActions(status string) []string {
	switch status {
	case "ordered":
		return []string{"issue", "delete"}
	case "issued", "expired":
		return []string{"revoke", "renew"}
	}
	return nil
}

// copenhagen is where the seeds' administrators read their clocks.
var copenhagen = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Copenhagen"); err == nil {
		return l
	}
	return time.UTC
}()

// funcs are the template helpers.
var funcs = template.FuncMap{
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return ""
			}
			return v.In(copenhagen).Format("2006-01-02 15:04")
		case *time.Time:
			if v == nil || v.IsZero() {
				return ""
			}
			return v.In(copenhagen).Format("2006-01-02 15:04")
		}
		return ""
	},
	"join": strings.Join,
	"list": func(v ...string) []string { return v },
	"grantForm": func(p *page, rights []right, action string) grantFormData {
		return grantFormData{P: p, Rights: rights, Action: action}
	},
	"certActions": certActions,
	"has": func(list []string, v string) bool {
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	},
}

// render writes a page with the layout; a template error answers 500
// without a half-written page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, s *session, status int, name string, p *page) {
	p.Lang = langOf(r, s)
	if s != nil {
		c.sessions.update(s, func(s *session) { s.lang = p.Lang })
		p.CSRF = s.csrf
		p.SignedIn = s.token != ""
		f := c.sessions.takeFlash(s)
		if p.Notice == "" {
			p.Notice = f.Notice
		}
		if p.Error == nil {
			p.Error = f.Error
		}
	}
	if p.Title == "" {
		p.Title = p.T("title." + name)
	}
	p.Query = map[string]string{}
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			p.Query[k] = v[0]
		}
	}
	var buf bytes.Buffer
	t := c.pages[name]
	if t == nil {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	if err := t.Execute(&buf, p); err != nil {
		c.log.Error().Str("page", name).Str("error", err.Error()).Msg("console template failed")
		http.Error(w, "the page could not be shown", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// langOf is the request's language: ?lang= (remembered in the session),
// else the session's, else Danish.
func langOf(r *http.Request, s *session) string {
	if l := r.URL.Query().Get("lang"); l == "da" || l == "en" {
		return l
	}
	if s != nil {
		if l := s.language(); l != "" {
			return l
		}
	}
	return "da"
}
