package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// cookieName is the session cookie. It holds a random session id only;
// the API token stays on the server.
const cookieName = "adgang_console"

// session is one browser's state. A session without a token is a
// signed-out visitor who has only a CSRF token (for the sign-in form).
type session struct {
	mu      sync.Mutex // guards lang, flash and imports, which change
	id      string
	token   string // the bearer token the API is called with
	csrf    string
	lang    string
	created time.Time
	seen    time.Time
	flash   flash
	imports map[string]pendingImport // dry-run previews waiting for commit
}

// flash is a message shown once on the next page.
type flash struct {
	Notice string
	Error  *apiError
}

// pendingImport is a CSV file shown as a dry run, kept until committed
// (or the session ends) so the administrator does not upload it twice.
type pendingImport struct {
	org, mode string
	body      []byte
}

// language is the session's chosen language.
func (s *session) language() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lang
}

// sessionStore holds the sessions in memory, bounded in number; a
// restart signs everyone out, which is the safe direction.
type sessionStore struct {
	mu             sync.Mutex
	byID           map[string]*session
	now            func() time.Time
	idle, lifetime time.Duration
	max            int
}

func newSessionStore(now func() time.Time, idle, lifetime time.Duration, max int) *sessionStore {
	return &sessionStore{byID: map[string]*session{}, now: now, idle: idle, lifetime: lifetime, max: max}
}

func randomID() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("console: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// get returns the live session of the request's cookie, or nil.
func (ss *sessionStore) get(r *http.Request) *session {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byID[ck.Value]
	if s == nil {
		return nil
	}
	now := ss.now()
	if now.Sub(s.seen) > ss.idle || now.Sub(s.created) > ss.lifetime {
		delete(ss.byID, s.id)
		return nil
	}
	s.seen = now
	return s
}

// create starts a new session (signed out unless token is set); it
// never reuses an id, so signing in also ends session fixation.
func (ss *sessionStore) create(token, lang string) *session {
	now := ss.now()
	s := &session{id: randomID(), token: token, csrf: randomID(), lang: lang, created: now, seen: now}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.byID) >= ss.max {
		ss.evictLocked(now)
	}
	ss.byID[s.id] = s
	return s
}

// evictLocked drops expired sessions, and the oldest one if none had.
func (ss *sessionStore) evictLocked(now time.Time) {
	var oldest *session
	for id, s := range ss.byID {
		if now.Sub(s.seen) > ss.idle || now.Sub(s.created) > ss.lifetime {
			delete(ss.byID, id)
			continue
		}
		if oldest == nil || s.seen.Before(oldest.seen) {
			oldest = s
		}
	}
	if len(ss.byID) >= ss.max && oldest != nil {
		delete(ss.byID, oldest.id)
	}
}

// end forgets a session.
func (ss *sessionStore) end(s *session) {
	ss.mu.Lock()
	delete(ss.byID, s.id)
	ss.mu.Unlock()
}

// update runs fn on the session under its lock.
func (ss *sessionStore) update(s *session, fn func(*session)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}

// takeFlash returns and clears the session's flash.
func (ss *sessionStore) takeFlash(s *session) flash {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.flash
	s.flash = flash{}
	return f
}

// setCookie writes the session cookie: HttpOnly, SameSite=Strict, and
// Secure when the request came over TLS.
func setCookie(w http.ResponseWriter, r *http.Request, s *session) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.id, Path: Prefix, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// clearCookie removes the session cookie.
func clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: Prefix, MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// validCSRF checks the form's csrf field against the session's token
// and, when the browser sends one, that Origin is this host.
func validCSRF(r *http.Request, s *session) bool {
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		scheme := "http://"
		if r.TLS != nil {
			scheme = "https://"
		}
		if o != scheme+r.Host {
			return false
		}
	}
	got := r.PostFormValue("csrf")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}
