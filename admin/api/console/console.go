// Package console is Adgang's admin console: the web pages that the
// seeds' administrators work in (search, create and change users, groups,
// knocks, login activity, CSV import, certificates, the org's settings),
// served by the admin listener under /console/.
//
// The console holds no rule of its own. Every page reads and every form
// writes through the admin API, called in-process with the signed-in
// administrator's own token, so the same Casbin roles (A14) and Rego
// checks (A1–A19) apply; a refusal shows the rule's ID and message.
//
// It needs no JavaScript: plain HTML forms, server-rendered, a strict
// Content-Security-Policy (no script at all, no third-party request), a
// session cookie that is HttpOnly, SameSite=Strict and Secure under TLS,
// and a CSRF token in every form.
package console

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"time"

	"github.com/rs/zerolog"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Prefix is the path the console is served under.
const Prefix = "/console/"

// Config configures New.
type Config struct {
	// API is the admin API's handler; the console calls it in-process
	// with the session's bearer token. Required.
	API http.Handler
	// Logger receives one line per failed API call (never a body).
	Logger zerolog.Logger
	// Now is the session clock (default time.Now).
	Now func() time.Time
	// Idle and Lifetime bound a session: it ends after Idle without a
	// request (default 30 minutes) and Lifetime after sign-in (default 8
	// hours), whichever comes first.
	Idle, Lifetime time.Duration
	// MaxSessions bounds the sessions held in memory (default 10,000);
	// the oldest goes when a new one would exceed it.
	MaxSessions int
}

// Console serves the admin console. Safe for concurrent use.
type Console struct {
	api      http.Handler
	log      zerolog.Logger
	now      func() time.Time
	sessions *sessionStore
	pages    map[string]*template.Template
	mux      *http.ServeMux
}

// New parses the embedded templates and prepares the routes.
func New(cfg Config) (*Console, error) {
	if cfg.API == nil {
		return nil, errors.New("console: the admin API handler is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Idle <= 0 {
		cfg.Idle = 30 * time.Minute
	}
	if cfg.Lifetime <= 0 {
		cfg.Lifetime = 8 * time.Hour
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 10000
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	c := &Console{api: cfg.API, log: cfg.Logger, now: cfg.Now, pages: pages,
		sessions: newSessionStore(cfg.Now, cfg.Idle, cfg.Lifetime, cfg.MaxSessions)}
	c.mux = c.routes()
	return c, nil
}

// parsePages parses each page template together with the layout.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		if n == "templates/layout.html" || n == "templates/partials.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/partials.html", n)
		if err != nil {
			return nil, err
		}
		pages[n[len("templates/"):len(n)-len(".html")]] = t
	}
	return pages, nil
}

// ServeHTTP sets the security headers every answer carries and routes.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}

// Mount returns a handler that serves the console under Prefix and
// everything else with next (the admin API).
func (c *Console) Mount(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/console" || len(r.URL.Path) >= len(Prefix) && r.URL.Path[:len(Prefix)] == Prefix {
			c.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
