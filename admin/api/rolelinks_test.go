package api_test

import (
	"slices"
	"testing"
)

// TestRoleThroughSystemGroupOfNewUser: a user created with a P-number
// is an implicit member of that P-unit's system group, so an admin right
// the group holds makes the new user an admin at once, though no event
// but its creation names it; a P-unit whose group holds none does not.
func TestRoleThroughSystemGroupOfNewUser(t *testing.T) {
	e := newEnv(t)
	r := e.do("superadmin", "POST", "/v1/groups/sys-"+pA2+"/grants", map[string]any{"right": "mitid_erhverv.user_admin",
		"scope": map[string]any{"type": "cvr", "value": cvrA}, "justification": "all of P-unit 2 administer users"})
	if r.status != 201 {
		t.Fatalf("group grant: %s", r)
	}
	for _, tc := range []struct {
		pNumber string
		roles   []string
	}{
		{pA2, []string{"user-admin"}},
		{pA1, nil},
		{"", nil},
	} {
		body := map[string]any{"name": "Ny " + tc.pNumber}
		if tc.pNumber != "" {
			body["p_number"] = tc.pNumber
		}
		c := e.do("superadmin", "POST", "/v1/orgs/"+cvrA+"/users", body)
		if c.status != 201 {
			t.Fatalf("create: %s", c)
		}
		u := e.do("superadmin", "GET", "/v1/users/"+str(dig(c.body, "user", "id")), nil)
		var got []string
		roles, _ := dig(u.body, "admin_roles").([]any)
		for _, r := range roles {
			got = append(got, str(r))
		}
		if !slices.Equal(got, tc.roles) {
			t.Errorf("P-number %q: admin roles %v, want %v", tc.pNumber, got, tc.roles)
		}
	}
}
