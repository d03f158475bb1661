package console

import (
	"io/fs"
	"net/http"
	"strings"
)

// routes is the console's route table on one screen. GET pages need a
// signed-in session (view); every POST also needs the session's CSRF
// token (form).
func (c *Console) routes() *http.ServeMux {
	m := http.NewServeMux()
	static, _ := fs.Sub(assets, "static")
	m.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /console", c.home)
	m.HandleFunc("GET /console/{$}", c.home)
	m.HandleFunc("GET /console/login", c.loginPage)
	m.HandleFunc("POST /console/login", c.login)
	m.Handle("POST /console/logout", c.form(c.logout))
	m.Handle("GET /console/orgs", c.view(c.orgsPage))

	m.Handle("GET /console/orgs/{cvr}/users", c.view(c.usersPage))
	m.Handle("GET /console/orgs/{cvr}/users/new", c.view(c.newUserPage))
	m.Handle("POST /console/orgs/{cvr}/users/new", c.form(c.createUser))
	m.Handle("GET /console/users/{id}", c.view(c.userPage))
	m.Handle("POST /console/users/{id}/status", c.form(c.userStatus))
	m.Handle("POST /console/users/{id}/grants", c.form(c.createUserGrant))
	m.Handle("POST /console/users/{id}/grants/{gid}/delete", c.form(c.deleteGrant))
	m.Handle("POST /console/users/{id}/password", c.form(c.userPassword))
	m.Handle("POST /console/users/{id}/activation", c.form(c.userActivation))

	m.Handle("GET /console/orgs/{cvr}/groups", c.view(c.groupsPage))
	m.Handle("POST /console/orgs/{cvr}/groups", c.form(c.createGroup))
	m.Handle("GET /console/groups/{id}", c.view(c.groupPage))
	m.Handle("POST /console/groups/{id}/members", c.form(c.addMember))
	m.Handle("POST /console/groups/{id}/members/{uid}/remove", c.form(c.removeMember))
	m.Handle("POST /console/groups/{id}/grants", c.form(c.createGroupGrant))
	m.Handle("POST /console/groups/{id}/delete", c.form(c.deleteGroup))

	m.Handle("GET /console/orgs/{cvr}/knocks", c.view(c.knocksPage))
	m.Handle("POST /console/orgs/{cvr}/knocks", c.form(c.knocksAction))
	m.Handle("GET /console/orgs/{cvr}/activity", c.view(c.activityPage))
	m.Handle("POST /console/orgs/{cvr}/activity", c.form(c.activityBulk))
	m.Handle("GET /console/orgs/{cvr}/import", c.view(c.importPage))
	m.Handle("POST /console/orgs/{cvr}/import", c.form(c.importDryRun))
	m.Handle("POST /console/orgs/{cvr}/import/{pid}/commit", c.form(c.importCommit))
	m.Handle("GET /console/import/template.csv", c.view(c.importTemplate))
	m.Handle("GET /console/orgs/{cvr}/certificates", c.view(c.certificatesPage))
	m.Handle("POST /console/orgs/{cvr}/certificates", c.form(c.orderCertificate))
	m.Handle("POST /console/certificates/{serial}/{action}", c.form(c.certificateAction))
	m.Handle("GET /console/orgs/{cvr}/settings", c.view(c.settingsPage))
	m.Handle("POST /console/orgs/{cvr}/settings", c.form(c.saveSettings))
	m.HandleFunc("/console/", c.notFound)
	return m
}

// handler is a console handler with its live session.
type handler func(w http.ResponseWriter, r *http.Request, s *session)

// view requires a signed-in session; without one it sends the browser
// to the sign-in page, which returns here afterwards.
func (c *Console) view(fn handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := c.sessions.get(r)
		if s == nil || s.token == "" {
			http.Redirect(w, r, "/console/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		fn(w, r, s)
	})
}

// maxFormBytes bounds every form but the CSV upload.
const maxFormBytes = 1 << 20

// maxUploadBytes bounds the CSV upload (the API's own limit is larger;
// a console upload is a day's file, not a migration).
const maxUploadBytes = 32 << 20

// form is view plus the CSRF check and a body limit.
func (c *Console) form(fn handler) http.Handler {
	return c.view(func(w http.ResponseWriter, r *http.Request, s *session) {
		limit := int64(maxFormBytes)
		if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
			limit = maxUploadBytes
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if !validCSRF(r, s) {
			c.render(w, r, s, http.StatusForbidden, "message", &page{
				Error: &apiError{Status: http.StatusForbidden, Code: "csrf", Message: translate(langOf(r, s), "csrf")}})
			return
		}
		fn(w, r, s)
	})
}

// home sends a signed-in administrator to the org list, others to sign in.
func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	if s := c.sessions.get(r); s != nil && s.token != "" {
		http.Redirect(w, r, "/console/orgs", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

// notFound is the console's 404 page.
func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	s := c.sessions.get(r)
	c.render(w, r, s, http.StatusNotFound, "message", &page{
		Error: &apiError{Status: http.StatusNotFound, Code: "not_found", Message: translate(langOf(r, s), "notfound")}})
}

// back redirects (303) after a POST, with a notice or the error shown
// once on the page it lands on.
func (c *Console) back(w http.ResponseWriter, r *http.Request, s *session, to string, notice string, err error) {
	c.sessions.update(s, func(s *session) {
		if err != nil {
			s.flash = flash{Error: asAPIError(err)}
		} else {
			s.flash = flash{Notice: notice}
		}
	})
	http.Redirect(w, r, to, http.StatusSeeOther)
}
