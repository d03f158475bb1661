package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrivilegesRoundTrip runs the real wiring: a grant made over the
// admin API, the login decision answered as a NemLog-in privilege list
// by POST /v1/privileges, and `adgang privileges parse` reading that list
// back to the same grant — offline, and checked by the running server in
// the org (where a scope of another org is refused, A7).
func TestPrivilegesRoundTrip(t *testing.T) {
	const boot = "bootstrap-token-for-tests-0123456789"
	m := startMain(t, Config{BootstrapToken: boot})
	if s, out := call(t, "POST", m.AdminURL+"/v1/orgs", boot,
		`{"cvr":"29190011","name":"Skolen","type":"institution","p_units":[{"p_number":"4000000001"},{"p_number":"4000000002"}]}`); s != 201 {
		t.Fatalf("create org: %d %v", s, out)
	}
	s, out := call(t, "POST", m.AdminURL+"/v1/orgs/29190011/users", boot,
		`{"name":"Ulla Underviser","email":"ulla@skolen.example","p_number":"4000000001","kind":"employee"}`)
	if s != 201 {
		t.Fatalf("create user: %d %v", s, out)
	}
	id, _ := out["user"].(map[string]any)["id"].(string)
	if s, out := call(t, "POST", m.AdminURL+"/v1/users/"+id+"/grants", boot,
		`{"right":"eksamensdatabasen.view","scope":{"type":"p","value":"4000000002"}}`); s != 201 {
		t.Fatalf("grant: %d %v", s, out)
	}
	s, ans := postJSON(t, m.DecisionURL+"/v1/privileges",
		`{"subject":{"id":"`+id+`","cvr":"29190011","kind":"employee","cpr_linked":true},"service":"eksamensdatabasen"}`)
	list, _ := ans["privileges"].(string)
	if s != 200 || list == "" || ans["allow"] != true {
		t.Fatalf("POST /v1/privileges: %d %v", s, ans)
	}
	file := filepath.Join(t.TempDir(), "privileges.b64")
	if err := os.WriteFile(file, []byte(list), 0o600); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"privileges", "parse", file}, &stdout, &stderr); err != nil {
		t.Fatalf("parse: %v %s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "grant   eksamensdatabasen.view  p      4000000002") ||
		!strings.Contains(stdout.String(), "1 grants, 0 refused") {
		t.Errorf("offline parse:\n%s", stdout.String())
	}

	// Checked by the server in the org: the same grant. A second list
	// names a P-unit of no org of ours: refused by A7.
	check := func(path string) privilegesCheck {
		t.Helper()
		stdout.Reset()
		if err := run(context.Background(), []string{"privileges", "parse", "--org", "29190011", "--admin-addr", m.AdminURL,
			"--token", boot, "--json", path}, &stdout, &stderr); err != nil {
			t.Fatalf("parse --org: %v %s", err, stderr.String())
		}
		var res privilegesCheck
		if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
			t.Fatalf("%s: %v", stdout.String(), err)
		}
		return res
	}
	if res := check(file); len(res.Grants) != 1 || res.Grants[0].Right != "eksamensdatabasen.view" ||
		res.Grants[0].Scope.Value != "4000000002" || len(res.Refused) != 0 {
		t.Errorf("parse --org: %+v", res)
	}
	other := filepath.Join(t.TempDir(), "other.xml")
	if err := os.WriteFile(other, []byte(`<PrivilegeList xmlns="http://digst.dk/oiosaml/basic_privilege_profile">
  <PrivilegeGroup Scope="urn:dk:gov:saml:productionUnitIdentifier:9000000001"><Privilege>urn:dk:adgang:imi.case_worker</Privilege></PrivilegeGroup>
</PrivilegeList>`), 0o600); err != nil {
		t.Fatal(err)
	}
	if res := check(other); len(res.Grants) != 0 || len(res.Refused) != 1 || res.Refused[0].Rule != "A7" {
		t.Errorf("other org's P-unit: %+v", res)
	}
	if err := run(context.Background(), []string{"privileges", "parse"}, &stdout, &stderr); err == nil {
		t.Error("parse without FILE: no usage error")
	}
}
