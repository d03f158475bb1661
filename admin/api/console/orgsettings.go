package console

import (
	"net/http"
	"net/url"
	"strings"
)

// certificatesData is the certificates page: the API's answer and the
// status filter.
type certificatesData struct {
	Certificates []certificate `json:"certificates"`
	Next         string        `json:"next_page_token"`
	Status       string        `json:"-"`
}

// certificatesPage lists the org's certificates, by status.
func (c *Console) certificatesPage(w http.ResponseWriter, r *http.Request, s *session) {
	if o, ok := c.orgOf(w, r, s); ok {
		d := &certificatesData{Status: r.URL.Query().Get("status")}
		q := pickQuery(r, url.Values{"limit": {"200"}}, "status", "q", "page_token")
		c.listPage(w, r, s, o, "certificates", "certificates", q, d, d)
	}
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
	o, ok := c.orgOf(w, r, s)
	if !ok {
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
