package api_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// TestPrivilegesGolden: POST /v1/privileges answers the login decision as
// an OIO BPP 1.2 PrivilegeList. Golden files in testdata/privileges/ are
// written by hand from the profile's published structure (PrivilegeList /
// PrivilegeGroup Scope= / Privilege); each answer must equal its file and
// parse back to the rights and scopes of the decision.
func TestPrivilegesGolden(t *testing.T) {
	e := newEnv(t, pdp.Config{})
	// A catalogue privilege URI replaces the default one.
	if _, err := e.st.Update(context.Background(), "test", func(tx *store.Tx) error {
		r, err := tx.GetRight("imi.case_worker")
		if err != nil {
			return err
		}
		r.Privilege = "http://imi.example.dk/roles/case_worker"
		return tx.PutRight(r)
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.eng.RefreshRights(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, golden string
		req          pdp.LoginRequest
	}{
		// bob: CVR grant and P grant of eks: one CVR group, no P groups (D11).
		{"cvr overrides p", "bob_cvr.xml", pdp.LoginRequest{Subject: subj("bob", cvrA), Right: eks}},
		// erin: two P grants add up: two P groups.
		{"p grants add up", "erin_p.xml", pdp.LoginRequest{Subject: subj("erin", cvrA), Right: eks}},
		// dave on imi: an SE grant gives an SE group, with the catalogue URI;
		// his SE grant of eks (no_se, D8) gives nothing.
		{"se scope", "dave_se.xml", pdp.LoginRequest{Subject: subj("dave", cvrA), Service: "imi"}},
		// frank is inactive (D3): denied, so an empty list.
		{"denied", "empty.xml", pdp.LoginRequest{Subject: subj("frank", cvrA), Right: eks}},
		// carol's only eks grant comes through a group (D7): denied.
		{"group grant ignored", "empty.xml", pdp.LoginRequest{Subject: subj("carol", cvrA), Right: eks}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", "privileges", tc.golden))
			if err != nil {
				t.Fatal(err)
			}
			var ans pdp.PrivilegesAnswer
			if status := e.post("/v1/privileges", tc.req, &ans); status != 200 {
				t.Fatalf("status %d", status)
			}
			got, err := base64.StdEncoding.DecodeString(ans.Privileges)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("privileges =\n%s\nwant (%s)\n%s", got, tc.golden, want)
			}
			if ans.Revision == 0 || ans.DecisionID == "" {
				t.Errorf("answer lacks revision or decision id: %+v", ans)
			}
			// ?format=xml answers the XML itself.
			raw, _ := jsonBody(tc.req)
			resp, err := http.Post(e.srv.URL+"/v1/privileges?format=xml", "application/json", strings.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			xmlBody, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/xml") || string(xmlBody) != string(want) {
				t.Errorf("format=xml: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), xmlBody)
			}

			// Parse back: exactly the decision's rights and scopes.
			d, _ := e.login(tc.req)
			l, err := pdp.ParsePrivilegeList([]byte(ans.Privileges))
			if err != nil {
				t.Fatal(err)
			}
			var rights []*store.Right
			_ = e.st.View(context.Background(), func(tx *store.Tx) error { rights, err = tx.ListRights(); return err })
			grants, refused := pdp.GrantsOfPrivileges(l, rights)
			if len(refused) != 0 {
				t.Errorf("refused on parse back: %+v", refused)
			}
			if got, want := grantSet(grants), decisionScopes(d); got != want {
				t.Errorf("parsed back %s, decision allows %s", got, want)
			}
		})
	}
}

func jsonBody(v any) (string, error) { return jsonOf(v), nil }

func grantSet(gs []pdp.PrivilegeGrant) string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Right+"@"+g.Scope.Type+":"+g.Scope.Value)
	}
	return jsonOf(nonNilS(sorted(out...)))
}

// decisionScopes is what a privilege list of d must name: nothing when
// denied; the CVR for a whole-org right, else its P-units and SE-numbers.
func decisionScopes(d pdp.Decision) string {
	out := []string{}
	if d.Allow {
		for _, rs := range d.Rights {
			if rs.Scope.All {
				out = append(out, rs.Right+"@cvr:"+rs.Scope.CVR)
				continue
			}
			for _, p := range rs.Scope.PNumbers {
				out = append(out, rs.Right+"@p:"+p)
			}
			for _, se := range rs.Scope.SENumbers {
				out = append(out, rs.Right+"@se:"+se)
			}
		}
	}
	return jsonOf(nonNilS(sorted(out...)))
}

// TestParsePrivilegeList: the profile's forms are read (1.2 and 1.1
// namespaces, a prefixed root, base64 with line breaks, constraints);
// anything else is refused with an error, never half read.
func TestParsePrivilegeList(t *testing.T) {
	rights := []*store.Right{{ID: eks}, {ID: "imi.case_worker", Privilege: "http://imi.example.dk/roles/case_worker"}}
	prefixed := `<?xml version="1.0"?>
<bpp:PrivilegeList xmlns:bpp="http://digst.dk/oiosaml/basic_privilege_profile">
  <bpp:PrivilegeGroup Scope="urn:dk:gov:saml:productionUnitIdentifier:1000000001">
    <bpp:Privilege>urn:dk:adgang:eksamensdatabasen.view</bpp:Privilege>
  </bpp:PrivilegeGroup>
</bpp:PrivilegeList>`
	v11 := `<PrivilegeList xmlns="http://itst.dk/oiosaml/basic_privilege_profile"><PrivilegeGroup Scope="urn:dk:gov:saml:cvrNumberIdentifier:12345674"><Privilege>http://imi.example.dk/roles/case_worker</Privilege></PrivilegeGroup></PrivilegeList>`
	b64 := base64.StdEncoding.EncodeToString([]byte(prefixed))
	wrapped := b64[:20] + "\n" + b64[20:]
	for _, tc := range []struct {
		name, in, grants, refused, err string
	}{
		{"prefixed 1.2", prefixed, `["eksamensdatabasen.view@p:1000000001"]`, "", ""},
		{"1.1 namespace", v11, `["imi.case_worker@cvr:12345674"]`, "", ""},
		{"base64 with line breaks", wrapped, `["eksamensdatabasen.view@p:1000000001"]`, "", ""},
		{"unknown privilege, bad scope, constraint", `<PrivilegeList xmlns="http://digst.dk/oiosaml/basic_privilege_profile">
  <PrivilegeGroup Scope="urn:dk:gov:saml:cvrNumberIdentifier:12345674"><Privilege>urn:dk:adgang:nope</Privilege></PrivilegeGroup>
  <PrivilegeGroup Scope="urn:dk:gov:saml:cvrNumberIdentifier:12345675"><Privilege>urn:dk:adgang:eksamensdatabasen.view</Privilege></PrivilegeGroup>
  <PrivilegeGroup Scope="urn:dk:gov:saml:cvrNumberIdentifier:12345674"><Constraint Name="urn:dk:kombit:orgUnit">x</Constraint><Privilege>urn:dk:adgang:eksamensdatabasen.view</Privilege></PrivilegeGroup>
</PrivilegeList>`, `[]`, "unknown_privilege,invalid_scope,constraint_not_supported", ""},
		{"wrong namespace", `<PrivilegeList xmlns="urn:other"/>`, "", "", "namespace"},
		{"not xml", `<PrivilegeList xmlns="http://digst.dk/oiosaml/basic_privilege_profile">`, "", "", "well-formed"},
		{"neither", `%%%`, "", "", "neither XML nor base64"},
		{"trailing element", `<PrivilegeList xmlns="http://digst.dk/oiosaml/basic_privilege_profile"/><x/>`, "", "", "after its root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := pdp.ParsePrivilegeList([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			grants, refused := pdp.GrantsOfPrivileges(l, rights)
			if got := grantSet(grants); got != tc.grants {
				t.Errorf("grants = %s, want %s", got, tc.grants)
			}
			var codes []string
			for _, r := range refused {
				codes = append(codes, r.Code)
			}
			if got := strings.Join(codes, ","); got != tc.refused {
				t.Errorf("refused = %s, want %s", got, tc.refused)
			}
		})
	}
}
