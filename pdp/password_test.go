package pdp_test

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

// TestPasswordRules asks the adgang.password rules through the engine with
// the inputs input.go builds: the block after failures, the status shown
// to administrators (with the org's own maximum age) and the change check,
// which refuses any new password while the current one is blocked (L8).
func TestPasswordRules(t *testing.T) {
	ctx := context.Background()
	eng, err := pdp.New(ctx, storetest.Open(t), pdp.Config{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	for failures, want := range map[int]bool{0: false, 4: false, 5: true, 9: true} {
		if got := eng.PasswordBlocks(ctx, failures); got != want {
			t.Errorf("PasswordBlocks(%d) = %v, want %v", failures, got, want)
		}
	}

	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tenDays := now.AddDate(0, 0, -10)
	strict := &store.Org{CVR: "12345674", Settings: store.OrgSettings{PasswordMaxAgeDays: 5}}
	statuses := []struct {
		name string
		p    *store.Password
		org  *store.Org
		want string
	}{
		{"none", nil, nil, ""},
		{"valid", &store.Password{ChangedAt: tenDays}, nil, "valid"},
		{"expired under the org's 5 days", &store.Password{ChangedAt: tenDays}, strict, "expired"},
		{"temporary", &store.Password{ChangedAt: tenDays, Temporary: true}, nil, "temporary"},
		{"blocked first", &store.Password{ChangedAt: tenDays, Temporary: true, Blocked: true}, nil, "blocked"},
		{"never set", &store.Password{}, nil, "expired"},
	}
	for _, tc := range statuses {
		t.Run(tc.name, func(t *testing.T) {
			if got := eng.PasswordStatus(ctx, tc.p, tc.org, now); got != tc.want {
				t.Errorf("PasswordStatus = %q, want %q", got, tc.want)
			}
		})
	}

	checks := []struct {
		name  string
		check pdp.PasswordCheck
		allow bool
		code  string
	}{
		{"good", pdp.PasswordCheck{Password: "Sommer2025"}, true, ""},
		{"reused", pdp.PasswordCheck{Password: "Sommer2025", ReusedAt: 3}, false, "password_reused"},
		{"blocked", pdp.PasswordCheck{Password: "Sommer2025", Blocked: true}, false, pdp.ReasonPasswordBlocked},
	}
	for _, tc := range checks {
		t.Run(tc.name, func(t *testing.T) {
			v := eng.CheckPasswordChange(ctx, tc.check)
			if v.Allow != tc.allow || !tc.allow && (v.First() == nil || v.First().Code != tc.code || v.First().Rule != "L8") {
				t.Errorf("verdict %+v, want allow %v %s/L8", v, tc.allow, tc.code)
			}
		})
	}
}
