package lifecycle_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/admin/jobs/lifecycle"
	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

const (
	cvr = "12345674"
	day = 24 * time.Hour
)

var t0 = time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)

func id(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

type fixture struct {
	st     *store.Store
	runner *lifecycle.Runner
}

func setup(t *testing.T, users ...*store.User) *fixture {
	t.Helper()
	st := storetest.Open(t)
	_, err := st.Update(context.Background(), "test", func(tx *store.Tx) error {
		if err := tx.CreateOrg(&store.Org{CVR: cvr, Name: "Skolen", Type: store.OrgInstitution,
			PUnits: []store.PUnit{{PNumber: "1000000001"}}}); err != nil {
			return err
		}
		admin := &store.User{ID: id(999), Org: cvr, Name: "Admin", Email: "admin@skolen.dk", Kind: store.KindEmployee,
			Status: store.StatusActive, CreatedAt: t0, StatusChangedAt: t0, LastLogin: ptr(t0.Add(10000 * day))}
		if err := tx.CreateUser(admin); err != nil {
			return err
		}
		if err := tx.CreateGrant(&store.Grant{ID: id(998), Right: "unilogin.admin", HolderType: store.HolderUser,
			HolderID: admin.ID, Org: cvr, Scope: store.Scope{Type: store.ScopeCVR, Value: cvr}}); err != nil {
			return err
		}
		for _, u := range users {
			if err := tx.CreateUser(u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := pdp.New(context.Background(), st, pdp.Config{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return &fixture{st: st, runner: &lifecycle.Runner{Store: st, Policy: eng, Logger: zerolog.Nop()}}
}

func ptr[T any](v T) *T { return &v }

func user(n int, mut func(*store.User)) *store.User {
	u := &store.User{ID: id(n), Org: cvr, Name: "U", Kind: store.KindEmployee, Status: store.StatusActive,
		Source: "manual", CreatedAt: t0, StatusChangedAt: t0}
	if mut != nil {
		mut(u)
	}
	return u
}

func (f *fixture) get(t *testing.T, userID string) *store.User {
	t.Helper()
	var u *store.User
	err := f.st.View(context.Background(), func(tx *store.Tx) error {
		var err error
		u, err = tx.GetUser(userID)
		return err
	})
	if store.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestLifecycleThresholds walks each L rule across its threshold and back.
func TestLifecycleThresholds(t *testing.T) {
	tests := []struct {
		name   string
		user   *store.User
		at     time.Duration // run time after t0
		status store.UserStatus
		gone   bool
	}{
		{"L1 login the day before the limit keeps the user active",
			user(1, func(u *store.User) { u.LastLogin = ptr(t0.Add(day)) }), 90 * day, store.StatusActive, false},
		{"L1 90 days without login inactivates",
			user(1, func(u *store.User) { u.LastLogin = ptr(t0) }), 90 * day, store.StatusInactive, false},
		{"L1 function certificate users stay",
			user(1, func(u *store.User) { u.Kind = store.KindFunction; u.LastLogin = ptr(t0) }), 400 * day, store.StatusActive, false},
		{"L2 99 days inactive stays",
			user(1, func(u *store.User) { u.Status = store.StatusInactive }), 99 * day, store.StatusInactive, false},
		{"L2 100 days inactive deletes",
			user(1, func(u *store.User) { u.Status = store.StatusInactive }), 100 * day, "", true},
		{"L3 deactivation before its end stays",
			user(1, func(u *store.User) {
				u.Status = store.StatusDeactivated
				u.DeactivatedUntil = ptr(t0.Add(10 * day))
				u.LastLogin = ptr(t0.Add(9 * day))
			}), 9 * day, store.StatusDeactivated, false},
		{"L3 deactivation end reactivates",
			user(1, func(u *store.User) {
				u.Status = store.StatusDeactivated
				u.DeactivatedUntil = ptr(t0.Add(10 * day))
				u.LastLogin = ptr(t0.Add(9 * day))
			}), 10 * day, store.StatusActive, false},
		{"L4 confirmed association stays",
			user(1, func(u *store.User) {
				u.UserType = "student"
				u.ConfirmedAt = ptr(t0.Add(300 * day))
				u.LastLogin = ptr(t0.Add(364 * day))
			}), 365 * day, store.StatusActive, false},
		{"L4 unconfirmed association deleted after 365 days",
			user(1, func(u *store.User) { u.UserType = "student"; u.LastLogin = ptr(t0.Add(364 * day)) }), 365 * day, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, tc.user)
			if _, err := f.runner.RunOnce(context.Background(), t0.Add(tc.at)); err != nil {
				t.Fatal(err)
			}
			u := f.get(t, tc.user.ID)
			if tc.gone {
				if u != nil {
					t.Fatalf("user still there with status %s", u.Status)
				}
				return
			}
			if u == nil || u.Status != tc.status {
				t.Fatalf("user = %+v, want status %s", u, tc.status)
			}
			// Idempotent: a second run at the same time does nothing more.
			if n, err := f.runner.RunOnce(context.Background(), t0.Add(tc.at)); err != nil || n != 0 {
				t.Fatalf("second run applied %d (%v)", n, err)
			}
		})
	}
}

// TestLifecycleAuditAndWarning: every action is an audit event by the
// system; L4 warns the org's admins once, 30 days before.
func TestLifecycleAuditAndWarning(t *testing.T) {
	idle := user(1, func(u *store.User) { u.LastLogin = ptr(t0) })
	assoc := user(2, func(u *store.User) { u.UserType = "student"; u.LastLogin = ptr(t0.Add(334 * day)) })
	f := setup(t, idle, assoc)
	at := t0.Add(335 * day)

	plan, err := f.runner.Plan(context.Background(), cvr, at)
	if err != nil {
		t.Fatal(err)
	}
	jobs := map[string]string{}
	for _, a := range plan {
		jobs[a.UserID] = a.Job
	}
	if jobs[idle.ID] != "inactivate_idle" || jobs[assoc.ID] != "warn_unconfirmed" || len(plan) != 2 {
		t.Fatalf("plan = %+v", plan)
	}
	if n, err := f.runner.RunOnce(context.Background(), at); err != nil || n != 2 {
		t.Fatalf("run applied %d: %v", n, err)
	}
	if n, _ := f.runner.RunOnce(context.Background(), at.Add(day)); n != 0 {
		t.Fatalf("warning repeated: %d actions", n)
	}
	err = f.st.View(context.Background(), func(tx *store.Tx) error {
		mails, err := tx.ListMail("admin@skolen.dk", "")
		if err != nil {
			return err
		}
		if len(mails) != 1 || mails[0].UserID != assoc.ID || mails[0].Kind != "lifecycle_warning" {
			t.Errorf("mails = %+v", mails)
		}
		hist, err := tx.History(idle.ID, time.Time{}, time.Time{}, "lifecycle.inactivate", 200)
		if err != nil {
			return err
		}
		if len(hist) != 1 || hist[0].Actor != lifecycle.Actor || hist[0].Details["rule"] != "L1" {
			t.Errorf("history = %+v", hist)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLifecycleRetiresImports: an import batch older than 12 calendar
// months is retired and its unconfirmed users lose their association (L5);
// the org's admins are warned once, a calendar month before.
func TestLifecycleRetiresImports(t *testing.T) {
	// t0 is 2026-01-01: warned on 2026-12-01 (day 334), retired on
	// 2027-01-01 (day 365), not after 360 days.
	batch := &store.ImportBatch{ID: "batch-1", Org: cvr, Mode: "create", CreatedAt: t0, Rows: 2}
	imported := user(1, func(u *store.User) { u.Source = "import:batch-1"; u.LastLogin = ptr(t0.Add(364 * day)) })
	confirmed := user(2, func(u *store.User) {
		u.Source = "import:batch-1"
		u.ConfirmedAt = ptr(t0.Add(100 * day))
		u.LastLogin = ptr(t0.Add(364 * day))
	})
	f := setup(t, imported, confirmed)
	if _, err := f.st.Update(context.Background(), "test", func(tx *store.Tx) error { return tx.PutImport(batch) }); err != nil {
		t.Fatal(err)
	}
	mails := func() []*store.OutboxMail {
		var out []*store.OutboxMail
		if err := f.st.View(context.Background(), func(tx *store.Tx) error {
			var err error
			out, err = tx.ListMail("admin@skolen.dk", "")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if n, _ := f.runner.RunOnce(context.Background(), t0.Add(334*day-time.Second)); n != 0 {
		t.Fatalf("warned too early: %d", n)
	}
	if n, err := f.runner.RunOnce(context.Background(), t0.Add(334*day)); err != nil || n != 1 {
		t.Fatalf("warn: %d %v", n, err)
	}
	if m := mails(); len(m) != 1 || m[0].Kind != "lifecycle_warning" || !strings.Contains(m[0].Body, "batch-1") {
		t.Fatalf("mails = %+v", m)
	}
	if n, _ := f.runner.RunOnce(context.Background(), t0.Add(360*day)); n != 0 {
		t.Fatalf("retired after 360 days, or warned twice: %d", n)
	}
	if n, _ := f.runner.RunOnce(context.Background(), t0.Add(365*day-time.Second)); n != 0 {
		t.Fatalf("retired too early: %d", n)
	}
	if n, err := f.runner.RunOnce(context.Background(), t0.Add(365*day)); err != nil || n != 1 {
		t.Fatalf("retire: %d %v", n, err)
	}
	if f.get(t, imported.ID) != nil {
		t.Error("unconfirmed imported user kept its association")
	}
	if u := f.get(t, confirmed.ID); u == nil || u.Source != "manual" {
		t.Errorf("confirmed user = %+v", u)
	}
	if n, _ := f.runner.RunOnce(context.Background(), t0.Add(400*day)); n != 0 {
		t.Fatalf("retired twice: %d", n)
	}
	if m := mails(); len(m) != 1 {
		t.Fatalf("mails after retirement = %d", len(m))
	}
}

// TestLifecycleNoImportWarningWhenAllConfirmed: a batch whose users are
// all confirmed is retired without a warning (the seed warns only when an
// old import holds users that would lose their association).
func TestLifecycleNoImportWarningWhenAllConfirmed(t *testing.T) {
	batch := &store.ImportBatch{ID: "batch-2", Org: cvr, Mode: "create", CreatedAt: t0, Rows: 1}
	confirmed := user(2, func(u *store.User) {
		u.Source = "import:batch-2"
		u.ConfirmedAt = ptr(t0.Add(100 * day))
		u.LastLogin = ptr(t0.Add(364 * day))
	})
	f := setup(t, confirmed)
	if _, err := f.st.Update(context.Background(), "test", func(tx *store.Tx) error { return tx.PutImport(batch) }); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.runner.RunOnce(context.Background(), t0.Add(340*day)); n != 0 {
		t.Fatalf("warned about a batch without unconfirmed users: %d", n)
	}
}

// TestLifecyclePerOrgThresholds walks one user across an org's own
// thresholds (L1 30 days, L2 10 days) with the injectable clock: each step
// just before a limit changes nothing, each step at it acts once.
func TestLifecyclePerOrgThresholds(t *testing.T) {
	u := user(1, func(u *store.User) { u.LastLogin = ptr(t0) })
	f := setup(t, u)
	if _, err := f.st.Update(context.Background(), "test", func(tx *store.Tx) error {
		o, err := tx.GetOrg(cvr)
		if err != nil {
			return err
		}
		o.Settings.Lifecycle = store.Lifecycle{InactivateAfterDays: 30, DeleteAfterDays: 10}
		return tx.UpdateOrg(o)
	}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		at     time.Duration
		status store.UserStatus // "" = deleted
	}{
		{30*day - time.Second, store.StatusActive},
		{30 * day, store.StatusInactive},
		{40*day - time.Second, store.StatusInactive},
		{40 * day, ""},
	}
	for _, s := range steps {
		now := t0.Add(s.at)
		f.runner.Now = func() time.Time { return now }
		if _, err := f.runner.RunOnce(context.Background(), f.runner.Now()); err != nil {
			t.Fatal(err)
		}
		got := f.get(t, u.ID)
		switch {
		case s.status == "" && got != nil:
			t.Fatalf("at %v: user still there (%s)", s.at, got.Status)
		case s.status != "" && (got == nil || got.Status != s.status):
			t.Fatalf("at %v: user %+v, want %s", s.at, got, s.status)
		}
	}
}
