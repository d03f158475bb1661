package console

import (
	"net/http"
	"net/url"
	"strings"
)

// groupsPage lists the org's custom and system groups ("Brugergrupper").
func (c *Console) groupsPage(w http.ResponseWriter, r *http.Request, s *session) {
	o, groups, err := c.loadOrg(r, s, r.PathValue("cvr"))
	if err != nil {
		c.fail(w, r, s, nil, err)
		return
	}
	c.render(w, r, s, http.StatusOK, "groups", &page{Org: o, Active: "groups", Data: groups})
}

// createGroup creates a custom group (org-admin; A14 refuses others).
func (c *Console) createGroup(w http.ResponseWriter, r *http.Request, s *session) {
	cvr := r.PathValue("cvr")
	var ans struct {
		Group group `json:"group"`
	}
	body := map[string]any{"name": strings.TrimSpace(r.PostFormValue("name"))}
	err := c.send(r, s, http.MethodPost, "/v1/orgs/"+url.PathEscape(cvr)+"/groups", nil, body, &ans)
	if err != nil {
		c.back(w, r, s, "/console/orgs/"+url.PathEscape(cvr)+"/groups", "", err)
		return
	}
	c.back(w, r, s, "/console/groups/"+url.PathEscape(ans.Group.ID), translate(langOf(r, s), "group.created"), nil)
}

// member is a group member as the page shows it: external members (of
// another org) are marked.
type member struct {
	ID, Name, Org string
	External      bool
}

// groupData is one group's page.
type groupData struct {
	Group   group
	Members []member
	More    bool
	Grants  []grant
	Rights  []right
}

// maxNamedMembers is how many members the page looks up by name.
const maxNamedMembers = 100

// groupPage shows a group: members (with names) and its grants.
func (c *Console) groupPage(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	var ans struct {
		Group   group    `json:"group"`
		Members []string `json:"members"`
		Next    string   `json:"members_next_page_token"`
		Grants  []grant  `json:"grants"`
	}
	if err := c.get(r, s, "/v1/groups/"+url.PathEscape(id), nil, &ans); err != nil {
		c.fail(w, r, s, nil, err)
		return
	}
	o, _, err := c.loadOrg(r, s, ans.Group.Org)
	if err != nil {
		c.fail(w, r, s, nil, err)
		return
	}
	d := groupData{Group: ans.Group, Grants: ans.Grants, Rights: c.rights(r, s), More: ans.Next != ""}
	for i, m := range ans.Members {
		mb := member{ID: m}
		var ua struct {
			User user `json:"user"`
		}
		if i < maxNamedMembers && c.get(r, s, "/v1/users/"+url.PathEscape(m), nil, &ua) == nil {
			mb.Name, mb.Org, mb.External = ua.User.Name, ua.User.Org, ua.User.Org != o.CVR
		}
		d.Members = append(d.Members, mb)
	}
	c.render(w, r, s, http.StatusOK, "group", &page{Org: o, Active: "groups", Title: ans.Group.Name, Data: d})
}

// addMember adds a user (of this org or, where allowed, another) by UUID.
func (c *Console) addMember(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	body := map[string]any{"user_id": strings.TrimSpace(r.PostFormValue("user_id"))}
	err := c.send(r, s, http.MethodPost, "/v1/groups/"+url.PathEscape(id)+"/members", nil, body, nil)
	c.back(w, r, s, "/console/groups/"+url.PathEscape(id), translate(langOf(r, s), "member.added"), err)
}

// removeMember removes one member.
func (c *Console) removeMember(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	err := c.send(r, s, http.MethodDelete, "/v1/groups/"+url.PathEscape(id)+"/members/"+url.PathEscape(r.PathValue("uid")), nil, nil, nil)
	c.back(w, r, s, "/console/groups/"+url.PathEscape(id), translate(langOf(r, s), "member.removed"), err)
}

// createGroupGrant grants a right to the group.
func (c *Console) createGroupGrant(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	err := c.postGrants(r, s, "/v1/groups/"+url.PathEscape(id)+"/grants")
	c.back(w, r, s, "/console/groups/"+url.PathEscape(id), translate(langOf(r, s), "grant.created"), err)
}

// deleteGroup deletes a custom group (A13 refuses system groups).
func (c *Console) deleteGroup(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	cvr := r.PostFormValue("org")
	err := c.send(r, s, http.MethodDelete, "/v1/groups/"+url.PathEscape(id), nil, nil, nil)
	if err != nil {
		c.back(w, r, s, "/console/groups/"+url.PathEscape(id), "", err)
		return
	}
	c.back(w, r, s, "/console/orgs/"+url.PathEscape(cvr)+"/groups", translate(langOf(r, s), "group.deleted"), nil)
}
