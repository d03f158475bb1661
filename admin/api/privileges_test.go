package api_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// privilegeXML builds an OIO BPP 1.2 PrivilegeList from the profile's
// published structure: PrivilegeList / PrivilegeGroup Scope= / Privilege.
func privilegeXML(groups [][2]string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<PrivilegeList xmlns="http://digst.dk/oiosaml/basic_privilege_profile">` + "\n")
	for _, g := range groups {
		b.WriteString(`  <PrivilegeGroup Scope="` + g[0] + `">` + "\n    <Privilege>" + g[1] + "</Privilege>\n  </PrivilegeGroup>\n")
	}
	b.WriteString("</PrivilegeList>\n")
	return b.String()
}

const (
	bppCVR = "urn:dk:gov:saml:cvrNumberIdentifier:"
	bppP   = "urn:dk:gov:saml:productionUnitIdentifier:"
	bppSE  = "urn:dk:gov:saml:seNumberIdentifier:"
)

// TestPrivilegesCheck: POST /v1/orgs/{cvr}/privileges:check reads a
// privilege list into grants and asks adgang.admin about each as a grant
// creation would: A7 refuses scopes of another org, A6 SE scopes of no_se
// rights, A3 forbidden rights, A11 admin roles the caller lacks. The XML,
// its base64 and the JSON form answer the same; nothing is stored.
func TestPrivilegesCheck(t *testing.T) {
	e := newEnv(t)
	list := privilegeXML([][2]string{
		{bppCVR + cvrA, "urn:dk:adgang:imi.case_worker"},
		{bppP + pA1, "urn:dk:adgang:eksamensdatabasen.view"},
		{bppSE + seA, "urn:dk:adgang:eksamensdatabasen.view"},    // A6
		{bppCVR + cvrB, "urn:dk:adgang:imi.case_worker"},         // A7
		{bppP + pB1, "urn:dk:adgang:imi.case_worker"},            // A7
		{bppCVR + cvrA, "urn:dk:adgang:amp.lss"},                 // A3
		{bppCVR + cvrA, "urn:dk:adgang:mitid_erhverv.org_admin"}, // A11 for a user-admin
		{bppCVR + cvrA, "urn:dk:adgang:nope"},                    // no such right
	})
	wantGrants := `["eksamensdatabasen.view@p:1000000001","imi.case_worker@cvr:12345674"]`
	wantRefused := `["amp.lss@cvr:12345674 forbidden_right/A3","eksamensdatabasen.view@se:29190003 se_scope_not_allowed/A6",` +
		`"imi.case_worker@cvr:55133018 scope_not_in_org/A7","imi.case_worker@p:2000000001 scope_not_in_org/A7",` +
		`"mitid_erhverv.org_admin@cvr:12345674 escalation/A11","urn:dk:adgang:nope unknown_privilege/"]`
	b64 := base64.StdEncoding.EncodeToString([]byte(list))
	for name, body := range map[string]any{
		"xml":    list,
		"base64": b64[:30] + "\n" + b64[30:],
		"json":   map[string]any{"privileges": b64},
	} {
		t.Run(name, func(t *testing.T) {
			before := e.snap()
			r := e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/privileges:check", body)
			if r.status != http.StatusOK {
				t.Fatalf("got %s", r)
			}
			e.unchanged(t, before)
			grants, refused := checkAnswer(t, r.raw)
			if grants != wantGrants {
				t.Errorf("grants = %s, want %s", grants, wantGrants)
			}
			if refused != wantRefused {
				t.Errorf("refused = %s\nwant %s", refused, wantRefused)
			}
		})
	}
	// For one user of the org: the whole grant-create path, same answer.
	user := e.newUser(cvrA)
	r := e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/privileges:check?user_id="+user, list)
	if grants, refused := checkAnswer(t, r.raw); r.status != 200 || grants != wantGrants || refused != wantRefused {
		t.Errorf("with user_id: %s", r)
	}
	// A user of another org is not found here (A1).
	if r := e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/privileges:check?user_id="+e.newUser(cvrB), list); r.status != http.StatusNotFound {
		t.Errorf("user of another org: %s", r)
	}
	// Not a privilege list: 400.
	for _, bad := range []string{`<PrivilegeList xmlns="urn:x"/>`, `%%%`, `<PrivilegeList`} {
		if r := e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/privileges:check", bad); r.status != http.StatusBadRequest {
			t.Errorf("body %q: %s, want 400", bad, r)
		}
	}

	// A catalogue privilege URI is read back to its right; URIs are unique.
	if r := e.do("superadmin", "PUT", "/v1/rights/imi.case_worker", map[string]any{"title": "Sagsbehandler", "service": "imi",
		"privilege": "http://imi.example.dk/roles/case_worker"}); r.status != http.StatusOK || dig(r.body, "right", "privilege") != "http://imi.example.dk/roles/case_worker" {
		t.Fatalf("PUT privilege: %s", r)
	}
	r = e.do("user-admin", "POST", "/v1/orgs/"+cvrA+"/privileges:check",
		privilegeXML([][2]string{{bppCVR + cvrA, "http://imi.example.dk/roles/case_worker"}}))
	if grants, _ := checkAnswer(t, r.raw); grants != `["imi.case_worker@cvr:12345674"]` {
		t.Errorf("catalogue URI: %s", r)
	}
	if r := e.do("superadmin", "PUT", "/v1/rights/imi.superuser", map[string]any{"title": "Superbruger", "service": "imi",
		"admin_role": "org-admin", "privilege": "http://imi.example.dk/roles/case_worker"}); r.status != http.StatusConflict {
		t.Errorf("duplicate privilege: %s, want 409", r)
	}
	if r := e.do("superadmin", "PUT", "/v1/rights/imi.superuser", map[string]any{"title": "Superbruger", "service": "imi",
		"admin_role": "org-admin", "privilege": "not a uri"}); r.status != http.StatusBadRequest {
		t.Errorf("bad privilege: %s, want 400", r)
	}
	if r := e.do("superadmin", "PUT", "/v1/rights/imi.auditor_x", map[string]any{"title": "X", "service": "imi"}); r.status != http.StatusCreated ||
		dig(r.body, "right", "privilege") != "urn:dk:adgang:imi.auditor_x" {
		t.Errorf("default privilege: %s", r)
	}
}

// checkAnswer renders a privileges:check answer as sorted strings.
func checkAnswer(t *testing.T, raw []byte) (grants, refused string) {
	t.Helper()
	var ans struct {
		Grants []struct {
			Right string `json:"right"`
			Scope struct {
				Type  string `json:"type"`
				Value string `json:"value"`
			} `json:"scope"`
		} `json:"grants"`
		Refused []struct {
			Scope     string `json:"scope"`
			Privilege string `json:"privilege"`
			Right     string `json:"right"`
			Code      string `json:"code"`
			Rule      string `json:"rule"`
		} `json:"refused"`
	}
	if err := json.Unmarshal(raw, &ans); err != nil {
		t.Fatalf("answer %s: %v", raw, err)
	}
	g, rf := []string{}, []string{}
	for _, x := range ans.Grants {
		g = append(g, x.Right+"@"+x.Scope.Type+":"+x.Scope.Value)
	}
	scopeOf := func(uri string) string {
		for prefix, typ := range map[string]string{bppCVR: "cvr", bppP: "p", bppSE: "se"} {
			if v, ok := strings.CutPrefix(uri, prefix); ok {
				return typ + ":" + v
			}
		}
		return uri
	}
	for _, x := range ans.Refused {
		if x.Right == "" {
			rf = append(rf, x.Privilege+" "+x.Code+"/"+x.Rule)
			continue
		}
		rf = append(rf, x.Right+"@"+scopeOf(x.Scope)+" "+x.Code+"/"+x.Rule)
	}
	sort.Strings(g)
	sort.Strings(rf)
	gb, _ := json.Marshal(g)
	rb, _ := json.Marshal(rf)
	return string(gb), string(rb)
}
