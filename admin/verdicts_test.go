package admin

import (
	"fmt"
	"testing"

	"github.com/adgang/adgang/store"
)

// TestEnforceVerdictsFollowRoleChanges: the roleIndex remembers Casbin's
// answers, and every change of the role links forgets them, so an answer
// is always that of the links as they are now: a user-admin made
// org-admin may change the org's settings at once, and no longer once the
// role is taken back; a memo past its bound starts over and stays exact.
func TestEnforceVerdictsFollowRoleChanges(t *testing.T) {
	const cvr, sub = "12345674", "00000000-0000-4000-8000-000000000001"
	enf, err := newEnforcer(map[string][]link{sub: {{role: store.RoleUserAdmin, org: cvr, source: "direct"}}})
	if err != nil {
		t.Fatal(err)
	}
	ri := &roleIndex{enf: enf, links: map[string][]link{sub: {{role: store.RoleUserAdmin, org: cvr, source: "direct"}}},
		viaGroup: map[string]map[string]bool{}, byOrg: map[string]map[string]bool{}}
	may := func(obj, act string) bool {
		t.Helper()
		ok, err := ri.enforce(sub, cvr, obj, act)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	set := func(role store.AdminRole) {
		t.Helper()
		ri.rw.Lock()
		defer ri.rw.Unlock()
		if err := ri.replaceLocked(sub, []link{{role: role, org: cvr, source: "direct"}}); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		role     store.AdminRole
		settings bool
	}{{"", false}, {store.RoleOrgAdmin, true}, {store.RoleUserAdmin, false}, {store.RoleOrgAdmin, true}}
	for i, s := range steps {
		if s.role != "" {
			set(s.role)
		}
		for range 2 { // computed, then remembered
			if got := may(objOrg, actUpdate); got != s.settings {
				t.Fatalf("step %d (%s): may update the org = %v, want %v", i, s.role, got, s.settings)
			}
		}
		if !may(objUser, actUpdate) {
			t.Fatalf("step %d: an admin of either role may update users", i)
		}
	}
	// Past the bound the memo starts over; answers stay right.
	for i := range maxVerdicts + 10 {
		if _, err := ri.enforce(sub, fmt.Sprintf("%08d", i), objUser, actRead); err != nil {
			t.Fatal(err)
		}
	}
	if n := ri.nVerdicts.Load(); n > maxVerdicts {
		t.Errorf("%d verdicts remembered, bound %d", n, maxVerdicts)
	}
	if !may(objOrg, actUpdate) || !may(objUser, actUpdate) {
		t.Error("answers changed after the memo started over")
	}
}
