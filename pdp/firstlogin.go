package pdp

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/adgang/adgang/store"
)

// FirstLoginQuery decides whether a login makes a user active (L1: a
// user who "har logget ind mindst én gang" is active, IMI).
const FirstLoginQuery = "data.adgang.lifecycle.login_activation"

// FirstLoginActor is the audit actor of the status change a first login
// makes.
const FirstLoginActor = "system:login"

// activateFirstLogins makes the `new` users among logins `active` when the
// lifecycle policy says so. It runs on the last-login writer, never on the
// decision path. Unlike a login time, a status is a real change (the
// login decision and the lifecycle jobs read it), so it is an ordinary
// store write: it takes a revision and leaves an audit event by the
// system. A user whose status changed meanwhile is left alone.
func (e *Engine) activateFirstLogins(ctx context.Context, logins map[string]time.Time) error {
	var ids []string
	err := e.store.View(ctx, func(tx *store.Tx) error {
		for id := range logins {
			u, err := tx.GetUser(id)
			if err != nil {
				if store.IsNotFound(err) {
					continue
				}
				return err
			}
			if u.Status == store.StatusNew {
				ids = append(ids, id)
			}
		}
		return nil
	})
	if err != nil || len(ids) == 0 {
		return err
	}
	sort.Strings(ids)
	_, err = e.store.Update(ctx, FirstLoginActor, func(tx *store.Tx) error {
		for _, id := range ids {
			u, err := tx.GetUser(id)
			if store.IsNotFound(err) {
				continue
			} else if err != nil {
				return err
			}
			at := logins[id]
			act, err := e.firstLoginAction(ctx, u, at)
			if err != nil {
				return err
			}
			if act == nil {
				continue
			}
			u.Status, u.StatusChangedAt = store.StatusActive, at
			if u.LastLogin == nil || at.After(*u.LastLogin) {
				u.LastLogin = &at
			}
			if err := tx.UpdateUser(u); err != nil {
				return err
			}
			tx.Audit(store.AuditEvent{Type: "lifecycle.activate", Org: u.Org, UserID: u.ID, Object: u.ID,
				Details: map[string]any{"job": act["job"], "rule": act["rule"], "login": at}})
		}
		return nil
	})
	return err
}

// firstLoginAction asks the lifecycle policy whether a login at `at`
// makes u active; nil when it does not.
func (e *Engine) firstLoginAction(ctx context.Context, u *store.User, at time.Time) (map[string]any, error) {
	input, err := json.Marshal(map[string]any{
		"login_ns": at.UnixNano(),
		"user":     map[string]any{"id": u.ID, "kind": u.Kind, "status": u.Status},
	})
	if err != nil {
		return nil, err
	}
	res, _, err := e.Evaluate(ctx, FirstLoginQuery, input)
	if err != nil {
		return nil, fmt.Errorf("lifecycle policy: %w", err)
	}
	m, ok := res.(map[string]any)
	if !ok || m["action"] != "activate" {
		return nil, nil
	}
	return m, nil
}
