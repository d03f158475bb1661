package api_test

import (
	"context"
	"testing"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// TestLoginOrgPasswordMaxAge: an organisation's own maximum password age
// (settings.password_max_age_days) reaches the login policy (D15): nils's
// 10-day-old password is refused once his organisation allows 5 days.
func TestLoginOrgPasswordMaxAge(t *testing.T) {
	e := newEnv(t, pdp.Config{CacheSize: -1})
	s := subj("nils", cvrA)
	s.AuthMethod = "password"
	req := pdp.LoginRequest{Subject: s, Service: "imi"}
	if d, _ := e.login(req); !d.Allow {
		t.Fatalf("not allowed with the default 180 days: %+v", d.Reasons)
	}
	if _, err := e.st.Update(context.Background(), "test", func(tx *store.Tx) error {
		o, err := tx.GetOrg(cvrA)
		if err != nil {
			return err
		}
		o.Settings.PasswordMaxAgeDays = 5
		return tx.UpdateOrg(o)
	}); err != nil {
		t.Fatal(err)
	}
	if d, _ := e.login(req); d.Allow || !codes(d)["password_change_required/D15"] {
		t.Fatalf("a 10-day-old password allowed under a 5-day limit: allow=%v %+v", d.Allow, d.Reasons)
	}
}
