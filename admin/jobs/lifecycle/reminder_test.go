package lifecycle_test

import (
	"context"
	"testing"
	"time"

	"github.com/adgang/adgang/admin/jobs/lifecycle"
	"github.com/adgang/adgang/store"
)

// TestPasswordExpiryReminder walks the L8 reminder on a fake clock: a
// local password changed at t0 expires after 180 days; its user is mailed
// once, 14 days before, and again only for a new password.
func TestPasswordExpiryReminder(t *testing.T) {
	withPassword := func(email string, temporary bool) func(*store.User) {
		return func(u *store.User) {
			u.Email, u.LastLogin = email, ptr(t0.Add(160*day))
			u.Password = &store.Password{Hash: "x", ChangedAt: t0, Temporary: temporary}
		}
	}
	f := setup(t,
		user(1, withPassword("pia@skolen.dk", false)),
		user(2, withPassword("", false)),             // no e-mail: nobody to remind
		user(3, withPassword("tim@skolen.dk", true)), // temporary: changed at the next login anyway
	)
	ctx := context.Background()
	setOrg := func(passwordLogin bool) {
		if _, err := f.st.Update(ctx, "test", func(tx *store.Tx) error {
			o, err := tx.GetOrg(cvr)
			if err != nil {
				return err
			}
			o.Settings.PasswordLogin = passwordLogin
			return tx.UpdateOrg(o)
		}); err != nil {
			t.Fatal(err)
		}
	}
	reminders := func() []*store.OutboxMail {
		var out []*store.OutboxMail
		if err := f.st.View(ctx, func(tx *store.Tx) error {
			ms, err := tx.ListMail("", "")
			for _, m := range ms {
				if m.Kind == "password_reminder" {
					out = append(out, m)
				}
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	run := func(at time.Time) {
		t.Helper()
		if _, err := f.runner.RunOnce(ctx, at); err != nil {
			t.Fatal(err)
		}
	}

	setOrg(false)
	run(t0.Add(170 * day))
	if got := reminders(); len(got) != 0 {
		t.Fatalf("reminded in an org without local passwords: %v", got)
	}
	setOrg(true)
	run(t0.Add(165 * day))
	if got := reminders(); len(got) != 0 {
		t.Fatalf("reminded 15 days before expiry: %v", got)
	}
	run(t0.Add(166 * day))
	got := reminders()
	if len(got) != 1 || got[0].To != "pia@skolen.dk" || got[0].UserID != id(1) {
		t.Fatalf("reminders 14 days before: %+v", got)
	}
	run(t0.Add(170 * day))
	if got := reminders(); len(got) != 1 {
		t.Fatalf("reminded twice about one password: %d mails", len(got))
	}
	// A new password gets its own reminder, 14 days before it expires.
	if _, err := f.st.Update(ctx, "test", func(tx *store.Tx) error {
		u, err := tx.GetUser(id(1))
		if err != nil {
			return err
		}
		u.Password.ChangedAt, u.LastLogin = t0.Add(171*day), ptr(t0.Add(330*day))
		return tx.UpdateUser(u)
	}); err != nil {
		t.Fatal(err)
	}
	run(t0.Add(337 * day))
	if got := reminders(); len(got) != 2 {
		t.Fatalf("new password: %d reminder mails, want 2", len(got))
	}
	var events []store.AuditEvent
	_ = f.st.View(ctx, func(tx *store.Tx) (err error) {
		events, err = tx.History(id(1), time.Time{}, time.Time{}, "lifecycle.remind", 0)
		return
	})
	if len(events) != 2 || events[0].Actor != lifecycle.Actor {
		t.Errorf("audit events: %+v", events)
	}
}
