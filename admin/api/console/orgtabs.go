package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// knocksData is the knock queue as the API answers it.
type knocksData struct {
	Knocks []knock `json:"knocks"`
	Next   string  `json:"next_page_token"`
}

// knocksPage is the org's knock queue ("Banke på").
func (c *Console) knocksPage(w http.ResponseWriter, r *http.Request, s *session) {
	if o, ok := c.orgOf(w, r, s); ok {
		d := &knocksData{}
		c.listPage(w, r, s, o, "knocks", "knocks", pickQuery(r, url.Values{"limit": {"200"}}, "page_token"), d, d)
	}
}

// knocksAction accepts one knock (action=accept:<id>) or deletes the
// ticked ones (action=delete), all or none.
func (c *Console) knocksAction(w http.ResponseWriter, r *http.Request, s *session) {
	cvr := r.PathValue("cvr")
	to := "/console/orgs/" + url.PathEscape(cvr) + "/knocks"
	lang := langOf(r, s)
	action := r.PostFormValue("action")
	if id, ok := strings.CutPrefix(action, "accept:"); ok {
		var ans struct {
			User user `json:"user"`
		}
		err := c.send(r, s, http.MethodPost, "/v1/knocks/"+url.PathEscape(id)+"/accept", nil, map[string]any{}, &ans)
		c.back(w, r, s, to, translate(lang, "knock.accepted")+" "+ans.User.Name, err)
		return
	}
	ids := r.PostForm["ids"]
	if action != "delete" || len(ids) == 0 {
		c.back(w, r, s, to, "", &apiError{Status: http.StatusBadRequest, Code: "invalid", Message: translate(lang, "knock.none")})
		return
	}
	err := c.send(r, s, http.MethodPost, "/v1/orgs/"+url.PathEscape(cvr)+"/knocks:delete", nil, map[string]any{"ids": ids}, nil)
	c.back(w, r, s, to, fmt.Sprintf(translate(lang, "knock.deleted"), len(ids)), err)
}

// activityData is the login activity page (L9): users with no login
// since a date, for bulk (in)activation.
type activityData struct {
	NotSince string `json:"-"`
	Users    []user `json:"users"`
	Next     string `json:"next_page_token"`
}

// activityPage lists users without a login since not_since (default:
// 180 days ago).
func (c *Console) activityPage(w http.ResponseWriter, r *http.Request, s *session) {
	if o, ok := c.orgOf(w, r, s); ok {
		d := &activityData{NotSince: r.URL.Query().Get("not_since")}
		if d.NotSince == "" {
			d.NotSince = time.Now().In(copenhagen).AddDate(0, 0, -180).Format("2006-01-02")
		}
		q := pickQuery(r, url.Values{"not_since": {d.NotSince}, "limit": {"200"}}, "status", "page_token")
		c.listPage(w, r, s, o, "activity", "login-activity", q, d, d)
	}
}

// activityBulk inactivates or activates the ticked users; each user's
// refusal (A2, A10 …) is listed.
func (c *Console) activityBulk(w http.ResponseWriter, r *http.Request, s *session) {
	cvr := r.PathValue("cvr")
	to := "/console/orgs/" + url.PathEscape(cvr) + "/activity?not_since=" + url.QueryEscape(r.PostFormValue("not_since"))
	lang := langOf(r, s)
	action := r.PostFormValue("action")
	ids := r.PostForm["user_ids"]
	if (action != "inactivate" && action != "activate") || len(ids) == 0 {
		c.back(w, r, s, to, "", &apiError{Status: http.StatusBadRequest, Code: "invalid", Message: translate(lang, "bulk.none")})
		return
	}
	var ans struct {
		Results []bulkResult `json:"results"`
	}
	err := c.send(r, s, http.MethodPost, "/v1/orgs/"+url.PathEscape(cvr)+"/users:"+action, nil, map[string]any{"user_ids": ids}, &ans)
	if err != nil {
		c.back(w, r, s, to, "", err)
		return
	}
	ok, refusals := 0, []string{}
	for _, res := range ans.Results {
		if res.Status == "ok" {
			ok++
		} else if res.Error != nil {
			refusals = append(refusals, res.UserID+": "+res.Error.Error())
		}
	}
	if len(refusals) > 0 {
		c.back(w, r, s, to, "", &apiError{Status: http.StatusUnprocessableEntity, Code: "bulk",
			Message: fmt.Sprintf(translate(lang, "bulk.partial"), ok, strings.Join(refusals, "; "))})
		return
	}
	c.back(w, r, s, to, fmt.Sprintf(translate(lang, "bulk.done"), ok), nil)
}
