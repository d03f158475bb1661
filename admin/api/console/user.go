package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/adgang/adgang/store"
)

// historyTypes are the event types the history filter offers.
var historyTypes = []string{"user.create", "user.update", "user.inactivate", "user.activate", "user.deactivate",
	"user.confirm", "grant.create", "grant.delete", "group.member.add", "group.member.remove",
	"password.reset", "password.unblock", "activation.send", "knock.accept", "certificate.order"}

// userData is a user's page: details, grants, history.
type userData struct {
	User         user
	Grants       []grant
	Rights       []right
	History      []event
	HistoryTypes []string
	HistoryErr   *apiError
	HistoryNext  string
}

// userPage shows a user; history takes from, to and type like the API.
func (c *Console) userPage(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	var ua struct {
		User user `json:"user"`
	}
	if err := c.get(r, s, "/v1/users/"+url.PathEscape(id), nil, &ua); err != nil {
		c.fail(w, r, s, nil, err)
		return
	}
	o, _, err := c.loadOrg(r, s, ua.User.Org)
	if err != nil {
		c.fail(w, r, s, nil, err)
		return
	}
	d := userData{User: ua.User, Rights: c.rights(r, s), HistoryTypes: historyTypes}
	var ga struct {
		Grants []grant `json:"grants"`
	}
	if err := c.get(r, s, "/v1/users/"+url.PathEscape(id)+"/grants", url.Values{"limit": {"1000"}}, &ga); err != nil {
		c.fail(w, r, s, o, err)
		return
	}
	d.Grants = ga.Grants
	d.History, d.HistoryNext, d.HistoryErr = c.history(r, s, id)
	c.render(w, r, s, http.StatusOK, "user", &page{Org: o, Active: "users", Title: ua.User.Name, Data: d})
}

// history reads the user's latest events (the API's default: 200) with
// the page's filters; a refusal (an auditor-only log) is shown in place.
func (c *Console) history(r *http.Request, s *session, id string) ([]event, string, *apiError) {
	in := r.URL.Query()
	q := url.Values{}
	for _, k := range []string{"from", "to", "type", "page_token"} {
		if v := strings.TrimSpace(in.Get(k)); v != "" {
			q.Set(k, v)
		}
	}
	var ha struct {
		Events []event `json:"events"`
		Next   string  `json:"next_page_token"`
	}
	if err := c.get(r, s, "/v1/users/"+url.PathEscape(id)+"/history", q, &ha); err != nil {
		return nil, "", asAPIError(err)
	}
	return ha.Events, ha.Next, nil
}

// userStatus inactivates, activates or deactivates (until a date).
func (c *Console) userStatus(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	to := "/console/users/" + url.PathEscape(id)
	action := r.PostFormValue("action")
	if action != "inactivate" && action != "activate" && action != "deactivate" {
		c.back(w, r, s, to, "", &apiError{Status: http.StatusBadRequest, Code: "invalid", Message: "action"})
		return
	}
	body := map[string]any{}
	if u := strings.TrimSpace(r.PostFormValue("until")); u != "" && action == "deactivate" {
		body["until"] = u
	}
	err := c.send(r, s, http.MethodPost, "/v1/users/"+url.PathEscape(id)+"/"+action, nil, body, nil)
	c.back(w, r, s, to, translate(langOf(r, s), "status."+action+".done"), err)
}

// createUserGrant grants a right to the user: on the whole org (CVR),
// on each chosen P-unit (one grant per unit) or on an SE number.
func (c *Console) createUserGrant(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	err := c.postGrants(r, s, "/v1/users/"+url.PathEscape(id)+"/grants")
	c.back(w, r, s, "/console/users/"+url.PathEscape(id)+"#grants", translate(langOf(r, s), "grant.created"), err)
}

// postGrants sends the grant form to path, one grant per scope value.
func (c *Console) postGrants(r *http.Request, s *session, path string) error {
	if err := r.ParseForm(); err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "invalid", Message: err.Error()}
	}
	st := r.PostFormValue("scope")
	var values []string
	switch st {
	case "cvr":
		values = []string{r.PostFormValue("cvr")}
	case "p":
		values = r.PostForm["p_numbers"]
	case "se":
		values = []string{r.PostFormValue("se_number")}
	}
	if len(values) == 0 {
		return &apiError{Status: http.StatusBadRequest, Code: "invalid", Message: translate(langOf(r, s), "grant.noscope")}
	}
	for _, v := range values {
		body := map[string]any{"right": r.PostFormValue("right"), "scope": store.Scope{Type: st, Value: strings.TrimSpace(v)}}
		if e := strings.TrimSpace(r.PostFormValue("expires_at")); e != "" {
			body["expires_at"] = e
		}
		if j := strings.TrimSpace(r.PostFormValue("justification")); j != "" {
			body["justification"] = j
		}
		if err := c.send(r, s, http.MethodPost, path, nil, body, nil); err != nil {
			return err
		}
	}
	return nil
}

// deleteGrant deletes one of the user's grants.
func (c *Console) deleteGrant(w http.ResponseWriter, r *http.Request, s *session) {
	err := c.send(r, s, http.MethodDelete, "/v1/grants/"+url.PathEscape(r.PathValue("gid")), nil, nil, nil)
	c.back(w, r, s, "/console/users/"+url.PathEscape(r.PathValue("id"))+"#grants", translate(langOf(r, s), "grant.deleted"), err)
}

// userPassword resets a local password (the temporary one is shown once)
// or lifts a block.
func (c *Console) userPassword(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	to := "/console/users/" + url.PathEscape(id)
	if r.PostFormValue("action") == "unblock" {
		err := c.send(r, s, http.MethodPost, "/v1/users/"+url.PathEscape(id)+"/unblock", nil, nil, nil)
		c.back(w, r, s, to, translate(langOf(r, s), "password.unblocked"), err)
		return
	}
	var ans struct {
		Password string `json:"temporary_password"`
	}
	err := c.send(r, s, http.MethodPost, "/v1/users/"+url.PathEscape(id)+"/password:reset", nil, map[string]any{}, &ans)
	notice := translate(langOf(r, s), "password.reset")
	if ans.Password != "" {
		notice += " " + ans.Password
	}
	c.back(w, r, s, to, notice, err)
}

// userActivation sends (or, for birth-date users, issues) an activation.
func (c *Console) userActivation(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	var ans struct {
		Method string `json:"method"`
		Code   string `json:"code"`
	}
	err := c.send(r, s, http.MethodPost, "/v1/users/"+url.PathEscape(id)+"/activation", nil, map[string]any{}, &ans)
	notice := translate(langOf(r, s), "activation.sent")
	if ans.Code != "" {
		notice = translate(langOf(r, s), "activation.code") + " " + ans.Code
	}
	c.back(w, r, s, "/console/users/"+url.PathEscape(id), notice, err)
}
