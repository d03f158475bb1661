package console

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// userFilters are the search form's fields, passed to the API as is.
var userFilters = []string{"q", "rid", "email", "role", "status", "user_type", "class"}

// usersData is the search page ("Søg brugere").
type usersData struct {
	Users  []user  `json:"users"`
	Next   string  `json:"next_page_token"`
	Rights []right `json:"-"`
	Sort   string  `json:"-"`
}

// usersPage searches the org's users: paged by the API (its order is by
// name); sort= orders the page shown by another column.
func (c *Console) usersPage(w http.ResponseWriter, r *http.Request, s *session) {
	o, ok := c.orgOf(w, r, s)
	if !ok {
		return
	}
	q := pickQuery(r, url.Values{"limit": {"50"}}, append(userFilters, "page_token", "limit")...)
	d := &usersData{Sort: r.URL.Query().Get("sort"), Rights: c.rights(r, s)}
	p := &page{Org: o, Active: "users", Data: d}
	status := http.StatusOK
	if err := c.get(r, s, "/v1/orgs/"+url.PathEscape(o.CVR)+"/users", q, d); err != nil {
		p.Error = asAPIError(err)
		status = p.Error.Status
	}
	sortUsers(d.Users, d.Sort)
	c.render(w, r, s, status, "users", p)
}

// sortUsers orders a page of users by one column.
func sortUsers(us []user, by string) {
	key := map[string]func(u user) string{
		"email":  func(u user) string { return strings.ToLower(u.Email) },
		"status": func(u user) string { return string(u.Status) },
		"p":      func(u user) string { return u.PNumber },
		"type":   func(u user) string { return u.UserType },
	}[by]
	if key == nil {
		return
	}
	sort.SliceStable(us, func(i, j int) bool { return key(us[i]) < key(us[j]) })
}

// rights is the catalogue for the forms' selects; empty when unreadable.
func (c *Console) rights(r *http.Request, s *session) []right {
	var ans struct {
		Rights []right `json:"rights"`
	}
	if err := c.get(r, s, "/v1/rights", url.Values{"limit": {"1000"}}, &ans); err != nil {
		return nil
	}
	sort.Slice(ans.Rights, func(i, j int) bool { return ans.Rights[i].ID < ans.Rights[j].ID })
	return ans.Rights
}

// newUserData is the create form, refilled after a refusal (never with
// the CPR number).
type newUserData struct {
	Form map[string]string
}

func (c *Console) newUserPage(w http.ResponseWriter, r *http.Request, s *session) {
	o, ok := c.orgOf(w, r, s)
	if !ok {
		return
	}
	c.render(w, r, s, http.StatusOK, "newuser", &page{Org: o, Active: "new", Data: newUserData{Form: map[string]string{}}})
}

// newUserFields are the create form's text fields, named as the API's.
var newUserFields = []string{"name", "email", "username", "birth_date", "kind", "p_number", "se_number",
	"language", "phone", "justification", "identification_means"}

// createUser posts the form to POST /v1/orgs/{cvr}/users.
func (c *Console) createUser(w http.ResponseWriter, r *http.Request, s *session) {
	cvr := r.PathValue("cvr")
	form := map[string]string{}
	body := map[string]any{}
	for _, k := range newUserFields {
		v := strings.TrimSpace(r.PostFormValue(k))
		form[k] = v
		if v == "" {
			continue
		}
		if k == "identification_means" {
			body[k] = splitList(v)
			continue
		}
		body[k] = v
	}
	if cpr := strings.TrimSpace(r.PostFormValue("cpr")); cpr != "" {
		body["cpr"] = cpr
	}
	if r.PostFormValue("anonymous") == "on" {
		body["anonymous"], form["anonymous"] = true, "on"
	}
	var ans struct {
		User       user `json:"user"`
		Activation *struct {
			Method string `json:"method"`
			Code   string `json:"code"`
		} `json:"activation"`
	}
	if err := c.send(r, s, http.MethodPost, "/v1/orgs/"+url.PathEscape(cvr)+"/users", nil, body, &ans); err != nil {
		o, _, _ := c.loadOrg(r, s, cvr)
		e := asAPIError(err)
		c.render(w, r, s, e.Status, "newuser", &page{Org: o, Active: "new", Error: e, Data: newUserData{Form: form}})
		return
	}
	notice := translate(langOf(r, s), "user.created")
	if a := ans.Activation; a != nil && a.Code != "" {
		notice += " " + translate(langOf(r, s), "activation.code") + " " + a.Code
	}
	c.back(w, r, s, "/console/users/"+url.PathEscape(ans.User.ID), notice, nil)
}

// splitList splits a comma-separated field.
func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
