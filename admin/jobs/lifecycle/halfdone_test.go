package lifecycle_test

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/admin/jobs/lifecycle"
	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// TestLifecycleNewUsersExpire walks L1 for `new` users with the fake
// clock: one that never logs in is inactivated 90 days after its creation;
// one that logs in becomes active at once (an audit event by the system,
// a new revision) and is then counted from that login.
func TestLifecycleNewUsersExpire(t *testing.T) {
	never := user(1, func(u *store.User) { u.Status = store.StatusNew })
	loggedIn := user(2, func(u *store.User) { u.Status = store.StatusNew })
	f := setup(t, never, loggedIn)
	ctx := context.Background()
	if _, err := f.st.Update(ctx, "test", func(tx *store.Tx) error {
		return tx.CreateGrant(&store.Grant{ID: id(500), Right: "imi.case_worker", HolderType: store.HolderUser,
			HolderID: loggedIn.ID, Org: cvr, Scope: store.Scope{Type: store.ScopeCVR, Value: cvr}})
	}); err != nil {
		t.Fatal(err)
	}

	// Day 10: loggedIn logs in (a decision that allows).
	login := t0.Add(10 * day)
	eng, err := pdp.New(ctx, f.st, pdp.Config{Logger: zerolog.Nop(), Now: func() time.Time { return login }})
	if err != nil {
		t.Fatal(err)
	}
	d, err := eng.Login(ctx, &pdp.LoginRequest{Subject: pdp.Subject{ID: loggedIn.ID, CVR: cvr, Kind: "employee"},
		Service: "imi"}, pdp.RequestMeta{})
	if err != nil || !d.Allow {
		t.Fatalf("login: %+v %v", d, err)
	}
	rev := f.st.Revision()
	eng.Close() // flushes the last-login writer
	if f.st.Revision() <= rev {
		t.Errorf("the status change took no revision (%d → %d)", rev, f.st.Revision())
	}
	u := f.get(t, loggedIn.ID)
	if u.Status != store.StatusActive || u.LastLogin == nil || !u.LastLogin.Equal(login) {
		t.Fatalf("after login: status %s, last login %v", u.Status, u.LastLogin)
	}
	if err := f.st.View(ctx, func(tx *store.Tx) error {
		hist, err := tx.History(loggedIn.ID, time.Time{}, time.Time{}, "lifecycle.activate", 200)
		if err != nil {
			return err
		}
		if len(hist) != 1 || hist[0].Actor != pdp.FirstLoginActor || hist[0].Details["rule"] != "L1" {
			t.Errorf("history = %+v", hist)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		at            time.Duration
		never, logged store.UserStatus
	}{
		{90*day - time.Second, store.StatusNew, store.StatusActive},
		{90 * day, store.StatusInactive, store.StatusActive},
		{100*day - time.Second, store.StatusInactive, store.StatusActive},
		{100 * day, store.StatusInactive, store.StatusInactive},
	}
	for _, s := range steps {
		if _, err := f.runner.RunOnce(ctx, t0.Add(s.at)); err != nil {
			t.Fatal(err)
		}
		if got := f.get(t, never.ID).Status; got != s.never {
			t.Errorf("at %v: never-logged-in user is %s, want %s", s.at, got, s.never)
		}
		if got := f.get(t, loggedIn.ID).Status; got != s.logged {
			t.Errorf("at %v: logged-in user is %s, want %s", s.at, got, s.logged)
		}
	}
}

// TestLifecycleKeepsLastAdmin: the lifecycle jobs never inactivate or
// delete an organisation's only administrator (A10); they skip it, warn
// the org once (mail, audit event) and act again once another
// administrator exists.
func TestLifecycleKeepsLastAdmin(t *testing.T) {
	ctx := context.Background()
	// The fixture's admin (id 999) is the org's only unilogin.admin; make
	// it idle and give it a manual association nobody confirmed.
	f := setup(t)
	if _, err := f.st.Update(ctx, "test", func(tx *store.Tx) error {
		u, err := tx.GetUser(id(999))
		if err != nil {
			return err
		}
		u.LastLogin, u.UserType, u.Source = ptr(t0), "employee", "manual"
		return tx.UpdateUser(u)
	}); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Duration{90 * day, 91 * day, 400 * day} {
		if _, err := f.runner.RunOnce(ctx, t0.Add(at)); err != nil {
			t.Fatal(err)
		}
		if u := f.get(t, id(999)); u == nil || u.Status != store.StatusActive {
			t.Fatalf("at %v: last admin = %+v", at, u)
		}
	}
	plan, err := f.runner.Plan(ctx, cvr, t0.Add(400*day))
	if err != nil {
		t.Fatal(err)
	}
	skipped := false
	for _, a := range plan {
		if a.Action == "skip" && a.Rule == "A10" && a.UserID == id(999) {
			skipped = true
		}
		if a.Action == "inactivate" || a.Action == "delete" {
			t.Errorf("plan removes the last admin: %+v", a)
		}
	}
	if !skipped {
		t.Errorf("plan does not show the skip: %+v", plan)
	}
	if err := f.st.View(ctx, func(tx *store.Tx) error {
		hist, err := tx.OrgAudit(cvr, time.Time{}, time.Time{}, "lifecycle.warn_last_admin", 200)
		if err != nil {
			return err
		}
		mails, err := tx.ListMail("admin@skolen.dk", "")
		if err != nil {
			return err
		}
		// Day 90 warns (the first removal falls due); later runs do not
		// repeat it.
		if len(hist) != 1 || len(mails) != 1 || mails[0].UserID != id(999) {
			t.Errorf("warnings: %d audit events, %d mails", len(hist), len(mails))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// A second administrator: the idle one is now inactivated.
	if _, err := f.st.Update(ctx, "test", func(tx *store.Tx) error {
		if err := tx.CreateUser(user(2, func(u *store.User) { u.LastLogin = ptr(t0.Add(399 * day)); u.Source = "" })); err != nil {
			return err
		}
		return tx.CreateGrant(&store.Grant{ID: id(501), Right: "unilogin.admin", HolderType: store.HolderUser,
			HolderID: id(2), Org: cvr, Scope: store.Scope{Type: store.ScopeCVR, Value: cvr}})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.runner.RunOnce(ctx, t0.Add(401*day)); err != nil {
		t.Fatal(err)
	}
	if u := f.get(t, id(999)); u != nil {
		t.Fatalf("with another admin, the unconfirmed idle admin stays: %+v", u)
	}
	if u := f.get(t, id(2)); u == nil || u.Status != store.StatusActive {
		t.Fatalf("the new last admin = %+v", u)
	}
	_ = lifecycle.Actor
}

// TestLifecycleRetirementKeepsLastAdmin: retiring an import batch (L5)
// never deletes the org's last administrator, even one the batch brought
// in and nobody confirmed (A10); its other unconfirmed users go.
func TestLifecycleRetirementKeepsLastAdmin(t *testing.T) {
	ctx := context.Background()
	other := user(3, func(u *store.User) { u.Source = "import:batch-3"; u.LastLogin = ptr(t0.Add(364 * day)) })
	f := setup(t, other)
	if _, err := f.st.Update(ctx, "test", func(tx *store.Tx) error {
		u, err := tx.GetUser(id(999))
		if err != nil {
			return err
		}
		u.Source = "import:batch-3"
		if err := tx.UpdateUser(u); err != nil {
			return err
		}
		return tx.PutImport(&store.ImportBatch{ID: "batch-3", Org: cvr, Mode: "create", CreatedAt: t0, Rows: 2})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.runner.RunOnce(ctx, t0.Add(365*day)); err != nil {
		t.Fatal(err)
	}
	if u := f.get(t, id(999)); u == nil || u.Source != "manual" {
		t.Fatalf("last admin after retirement: %+v", u)
	}
	if f.get(t, other.ID) != nil {
		t.Error("the unconfirmed imported user kept its association")
	}
}
