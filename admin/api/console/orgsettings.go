package console

import (
	"net/http"
	"net/url"
	"strings"
)

// certificatesData is the certificates page.
type certificatesData struct {
	Certificates []certificate
	Next         string
	Status       string
}

// certificatesPage lists the org's certificates, by status.
func (c *Console) certificatesPage(w http.ResponseWriter, r *http.Request, s *session) {
	cvr := r.PathValue("cvr")
	o, _, err := c.loadOrg(r, s, cvr)
	if err != nil {
		c.fail(w, r, s, nil, err)
		return
	}
	in := r.URL.Query()
	d := certificatesData{Status: in.Get("status")}
	q := url.Values{"limit": {"200"}}
	for _, k := range []string{"status", "q", "page_token"} {
		if v := in.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	var ans struct {
		Certificates []certificate `json:"certificates"`
		Next         string        `json:"next_page_token"`
	}
	if err := c.get(r, s, "/v1/orgs/"+url.PathEscape(cvr)+"/certificates", q, &ans); err != nil {
		c.render(w, r, s, asAPIError(err).Status, "certificates", &page{Org: o, Active: "certificates", Error: asAPIError(err), Data: d})
		return
	}
	d.Certificates, d.Next = ans.Certificates, ans.Next
	c.render(w, r, s, http.StatusOK, "certificates", &page{Org: o, Active: "certificates", Data: d})
}

// orderCertificate orders a certificate (user, org or function).
func (c *Console) orderCertificate(w http.ResponseWriter, r *http.Request, s *session) {
	cvr := r.PathValue("cvr")
	body := map[string]any{"type": r.PostFormValue("type")}
	if u := strings.TrimSpace(r.PostFormValue("user_id")); u != "" {
		body["user_id"] = u
	}
	err := c.send(r, s, http.MethodPost, "/v1/orgs/"+url.PathEscape(cvr)+"/certificates", nil, body, nil)
	c.back(w, r, s, "/console/orgs/"+url.PathEscape(cvr)+"/certificates", translate(langOf(r, s), "cert.ordered"), err)
}

// certificateAction issues, revokes, renews or deletes a certificate.
func (c *Console) certificateAction(w http.ResponseWriter, r *http.Request, s *session) {
	serial, action := r.PathValue("serial"), r.PathValue("action")
	to := "/console/orgs/" + url.PathEscape(r.PostFormValue("org")) + "/certificates"
	var err error
	switch action {
	case "issue", "revoke", "renew":
		err = c.send(r, s, http.MethodPost, "/v1/certificates/"+url.PathEscape(serial)+"/"+action, nil, map[string]any{}, nil)
	case "delete":
		err = c.send(r, s, http.MethodDelete, "/v1/certificates/"+url.PathEscape(serial), nil, nil, nil)
	default:
		c.notFound(w, r)
		return
	}
	c.back(w, r, s, to, translate(langOf(r, s), "cert."+action+".done"), err)
}

// settingsData is the org's settings page; Editable comes from the API's
// own dry run (POST /v1/policy/check), so A14 stays the API's rule.
type settingsData struct {
	Editable bool
	Why      *apiError
}

// settingsPage shows the org's settings: a form for those the API lets
// change them (org-admin), read-only for the others (user-admin, A14).
func (c *Console) settingsPage(w http.ResponseWriter, r *http.Request, s *session) {
	cvr := r.PathValue("cvr")
	o, _, err := c.loadOrg(r, s, cvr)
	if err != nil {
		c.fail(w, r, s, nil, err)
		return
	}
	d := settingsData{}
	// A harmless proposed change (the knock setting flipped), never applied.
	probe := map[string]any{"action": "org.update", "cvr": cvr, "settings": map[string]any{"allow_knock": !o.Settings.AllowKnock}}
	var verdict struct {
		Allow   bool       `json:"allow"`
		Reasons []apiError `json:"reasons"`
	}
	if err := c.send(r, s, http.MethodPost, "/v1/policy/check", nil, probe, &verdict); err != nil {
		d.Why = asAPIError(err)
	} else if d.Editable = verdict.Allow; !d.Editable && len(verdict.Reasons) > 0 {
		d.Why = &verdict.Reasons[0]
	}
	c.render(w, r, s, http.StatusOK, "settings", &page{Org: o, Active: "settings", Data: d})
}

// saveSettings patches the org's name and settings.
func (c *Console) saveSettings(w http.ResponseWriter, r *http.Request, s *session) {
	cvr := r.PathValue("cvr")
	settings := map[string]any{
		"allow_knock":           r.PostFormValue("allow_knock") == "on",
		"admins_cpr_identified": r.PostFormValue("admins_cpr_identified") == "on",
		"identification_means":  nonNilList(splitList(r.PostFormValue("identification_means"))),
		"must_have_roles":       nonNilList(splitList(r.PostFormValue("must_have_roles"))),
		"certificate_types":     nonNilList(splitList(r.PostFormValue("certificate_types"))),
	}
	if d := r.PostFormValue("deletion"); d != "" {
		settings["deletion"] = d
	}
	body := map[string]any{"settings": settings}
	if n := strings.TrimSpace(r.PostFormValue("name")); n != "" {
		body["name"] = n
	}
	err := c.send(r, s, http.MethodPatch, "/v1/orgs/"+url.PathEscape(cvr), nil, body, nil)
	c.back(w, r, s, "/console/orgs/"+url.PathEscape(cvr)+"/settings", translate(langOf(r, s), "settings.saved"), err)
}

func nonNilList(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}
