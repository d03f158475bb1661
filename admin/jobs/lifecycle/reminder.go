package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/adgang/adgang/store"
)

// ReminderQuery decides whether a user's local password is due for its
// expiry reminder (L8, IMI: "Brugerne får en påmindelse pr. e-mail").
const ReminderQuery = "data.adgang.lifecycle.password_reminder"

// reminderKey remembers, per user, the change time of the password it was
// last reminded about, so each password is reminded about once.
func reminderKey(userID string) string { return "lifecycle/password-reminded/" + userID }

// reminderDue asks the policy whether u (with a local password, of org)
// is due for the reminder at `at`; it returns the expiry time when due.
func (r *Runner) reminderDue(ctx context.Context, tx *store.Tx, org *store.Org, u *store.User, at time.Time) (time.Time, bool, error) {
	if u.Password == nil {
		return time.Time{}, false, nil
	}
	var reminded time.Time
	if err := tx.GetMeta(reminderKey(u.ID), &reminded); err != nil && !store.IsNotFound(err) {
		return time.Time{}, false, err
	}
	input, err := json.Marshal(map[string]any{
		"now_ns": at.UnixNano(),
		"org": map[string]any{"cvr": org.CVR, "settings": map[string]any{"password_login": org.Settings.PasswordLogin,
			"password_max_age_days": org.Settings.PasswordMaxAgeDays}},
		"user": map[string]any{"id": u.ID, "kind": u.Kind, "status": u.Status, "has_email": u.Email != ""},
		"password": map[string]any{"changed_at_ns": ns(&u.Password.ChangedAt), "temporary": u.Password.Temporary,
			"reminded_for_ns": ns(&reminded)},
	})
	if err != nil {
		return time.Time{}, false, err
	}
	res, _, err := r.Policy.Evaluate(ctx, ReminderQuery, input)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("password reminder policy: %w", err)
	}
	m, ok := res.(map[string]any)
	if !ok {
		return time.Time{}, false, nil // undefined: not due
	}
	n, _ := m["expires_ns"].(json.Number)
	v, err := n.Int64()
	if err != nil {
		return time.Time{}, false, fmt.Errorf("password reminder policy: expires_ns is %v", m["expires_ns"])
	}
	return time.Unix(0, v).UTC(), true, nil
}

// remindPasswords mails the password-expiry reminder (L8) to every user
// that is due at `at`, each in its own transaction that re-checks it,
// and returns how many it sent. Only organisations with password_login
// are read.
func (r *Runner) remindPasswords(ctx context.Context, at time.Time) (int, error) {
	var due []*store.User
	err := r.Store.View(ctx, func(tx *store.Tx) error {
		orgs, err := tx.ListOrgs()
		if err != nil {
			return err
		}
		for _, org := range orgs {
			if !org.Settings.PasswordLogin {
				continue
			}
			after := ""
			for {
				users, next, err := tx.ListUsers(org.CVR, after, 1000)
				if err != nil {
					return err
				}
				for _, u := range users {
					if _, ok, err := r.reminderDue(ctx, tx, org, u, at); err != nil {
						return err
					} else if ok {
						due = append(due, u)
					}
				}
				if next == "" || len(users) == 0 {
					break
				}
				after = next
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	sent := 0
	var errs []error
	for _, u := range due {
		ok, err := r.remind(ctx, u.ID, at)
		if err != nil {
			errs = append(errs, fmt.Errorf("remind_password %s: %w", u.ID, err))
		} else if ok {
			sent++
		}
	}
	return sent, errors.Join(errs...)
}

// remind sends one reminder if it is still due inside the transaction.
func (r *Runner) remind(ctx context.Context, userID string, at time.Time) (bool, error) {
	done := false
	_, err := r.Store.Update(ctx, Actor, func(tx *store.Tx) error {
		u, err := tx.GetUser(userID)
		if err != nil {
			return ignoreNotFound(err)
		}
		org, err := tx.GetOrg(u.Org)
		if err != nil {
			return ignoreNotFound(err)
		}
		expires, ok, err := r.reminderDue(ctx, tx, org, u, at)
		if err != nil || !ok {
			return err
		}
		if err := tx.PutMail(&store.OutboxMail{
			ID:        fmt.Sprintf("pwreminder-%s-%d", u.ID, u.Password.ChangedAt.UnixNano()),
			To:        u.Email,
			UserID:    u.ID,
			Kind:      "password_reminder",
			Subject:   "Your password expires soon",
			Body:      fmt.Sprintf("Your password expires on %s. Change it before then; after that you must change it at your next login.", expires.Format("2006-01-02")),
			CreatedAt: at,
		}); err != nil {
			return err
		}
		if err := tx.PutMeta(reminderKey(u.ID), u.Password.ChangedAt); err != nil {
			return err
		}
		tx.Audit(store.AuditEvent{Type: "lifecycle.remind", Org: org.CVR, UserID: u.ID, Object: u.ID,
			Details: map[string]any{"job": "remind_password", "rule": "L8", "expires": expires}})
		done = true
		return nil
	})
	return done, err
}
