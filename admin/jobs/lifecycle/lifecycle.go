// Package lifecycle runs Adgang's automatic user lifecycle jobs (SPEC §4,
// L1–L5). Which action is due for a user is decided by the Rego package
// adgang.lifecycle; this package only gathers the facts, asks the policy,
// and applies each due action in its own store transaction with an audit
// event attributed to "system".
//
// Jobs are idempotent and resumable: a run recomputes what is due from the
// store's state, and every action re-checks its user inside the
// transaction that applies it, so a crash mid-run leaves the rest for the
// next run and an action is never applied twice.
package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// Query is the policy entrypoint that lists a user's due actions.
const Query = "data.adgang.lifecycle.actions"

// ImportQuery decides whether an import batch is due for retirement (L5).
const ImportQuery = "data.adgang.lifecycle.import_retirement"

// ImportWarningQuery decides whether the org is warned, a month ahead,
// that an import batch will be retired (L5).
const ImportWarningQuery = "data.adgang.lifecycle.import_warning"

// Actor is the audit actor of every lifecycle action.
const Actor = "system:lifecycle"

// Action is one due lifecycle action.
type Action struct {
	Job      string    `json:"job"`
	Rule     string    `json:"rule"`
	Org      string    `json:"org"`
	UserID   string    `json:"user_id,omitempty"`
	ImportID string    `json:"import_id,omitempty"`
	Action   string    `json:"action"`
	Due      time.Time `json:"due"`
	// Event is when what a warning warns about will happen (the policy's
	// event_ns): the deletion (L4) or the retirement (L5).
	Event time.Time `json:"event,omitempty"`
}

// Evaluator evaluates a policy query over a JSON input (pdp.Engine).
type Evaluator interface {
	Evaluate(ctx context.Context, query string, rawInput []byte) (any, uint64, error)
}

var _ Evaluator = (*pdp.Engine)(nil)

// Runner runs the lifecycle jobs on a schedule.
type Runner struct {
	Store    *store.Store
	Policy   Evaluator
	Logger   zerolog.Logger
	Now      func() time.Time // injectable clock (default time.Now)
	Interval time.Duration    // default 1h
	// Notify, when set, fans a notification out to the administrators of
	// its org inside the action's transaction (admin.Service.Notify; the
	// L4 warning is mailed by warn itself, so Notify adds no mail).
	Notify func(tx *store.Tx, n store.Notification) error

	mu sync.Mutex // one run at a time
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

// Start runs the jobs every Interval until ctx ends.
func (r *Runner) Start(ctx context.Context) {
	interval := r.Interval
	if interval <= 0 {
		interval = time.Hour
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := r.RunOnce(ctx, r.now()); err != nil && ctx.Err() == nil {
			r.Logger.Error().Err(err).Msg("lifecycle run failed; it resumes on the next run")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func ns(t *time.Time) int64 {
	if t == nil || t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func userInput(u *store.User, warnedAt int64) map[string]any {
	assoc := ""
	if u.Source == "manual" && u.UserType != "" {
		assoc = "manual" // a Unilogin-style manual association (L4)
	}
	return map[string]any{
		"id":                   u.ID,
		"kind":                 u.Kind,
		"status":               u.Status,
		"source":               u.Source,
		"association":          assoc,
		"created_at_ns":        ns(&u.CreatedAt),
		"last_login_ns":        ns(u.LastLogin),
		"status_changed_at_ns": ns(&u.StatusChangedAt),
		"deactivated_until_ns": ns(u.DeactivatedUntil),
		"confirmed_at_ns":      ns(u.ConfirmedAt),
		"warned_at_ns":         warnedAt,
	}
}

func warnKey(userID string) string { return "lifecycle/l4-warned/" + userID }

// due asks the policy which actions are due for u at `at`; h says who
// holds the administrator roles (A10).
func (r *Runner) due(ctx context.Context, tx *store.Tx, org *store.Org, u *store.User, at time.Time, h holding) ([]Action, error) {
	var warned, adminWarned time.Time
	if err := tx.GetMeta(warnKey(u.ID), &warned); err != nil && !store.IsNotFound(err) {
		return nil, err
	}
	user := userInput(u, ns(&warned))
	if roles := h.rolesOf(u.ID); len(roles) > 0 {
		if err := tx.GetMeta(lastAdminWarnKey(u.ID), &adminWarned); err != nil && !store.IsNotFound(err) {
			return nil, err
		}
		user["admin_roles"], user["last_admin_warned_ns"] = roles, ns(&adminWarned)
	}
	input, err := json.Marshal(map[string]any{
		"now_ns": at.UnixNano(),
		"org":    map[string]any{"cvr": org.CVR, "settings": map[string]any{"lifecycle": org.Settings.Lifecycle}},
		"user":   user,
	})
	if err != nil {
		return nil, err
	}
	res, _, err := r.Policy.Evaluate(ctx, Query, input)
	if err != nil {
		return nil, fmt.Errorf("lifecycle policy: %w", err)
	}
	list, ok := res.([]any)
	if !ok {
		return nil, fmt.Errorf("lifecycle policy: actions is %T, not a list", res)
	}
	out := make([]Action, 0, len(list))
	for _, x := range list {
		m, _ := x.(map[string]any)
		out = append(out, actionFrom(m, Action{Org: org.CVR, UserID: u.ID}))
	}
	return out, nil
}

// actionFrom fills a's job, rule, action and due time from a policy answer.
func actionFrom(m map[string]any, a Action) Action {
	a.Job, _ = m["job"].(string)
	a.Rule, _ = m["rule"].(string)
	a.Action, _ = m["action"].(string)
	a.Due, a.Event = nsTime(m["due_ns"]), nsTime(m["event_ns"])
	return a
}

// nsTime reads a policy's nanosecond time; zero when absent.
func nsTime(x any) time.Time {
	if n, ok := x.(json.Number); ok {
		if v, err := n.Int64(); err == nil {
			return time.Unix(0, v).UTC()
		}
	}
	return time.Time{}
}

// importDue asks the policy what is due for an import batch at `at`: its
// retirement, or the warning a month before (L5). unconfirmed is how many
// of its users would lose their association.
func (r *Runner) importDue(ctx context.Context, tx *store.Tx, org *store.Org, b *store.ImportBatch, unconfirmed int, at time.Time) ([]Action, error) {
	var warned time.Time
	if err := tx.GetMeta(importWarnKey(b.ID), &warned); err != nil && !store.IsNotFound(err) {
		return nil, err
	}
	input, err := json.Marshal(map[string]any{
		"now_ns": at.UnixNano(),
		"org":    map[string]any{"settings": map[string]any{"lifecycle": org.Settings.Lifecycle}},
		"import": map[string]any{"id": b.ID, "created_at_ns": b.CreatedAt.UnixNano(), "retired": b.Retired,
			"users": unconfirmed, "warned_at_ns": ns(&warned)},
	})
	if err != nil {
		return nil, err
	}
	var out []Action
	for _, q := range []string{ImportQuery, ImportWarningQuery} {
		res, _, err := r.Policy.Evaluate(ctx, q, input)
		if err != nil {
			return nil, fmt.Errorf("lifecycle policy: %w", err)
		}
		if m, ok := res.(map[string]any); ok { // undefined: not due
			out = append(out, actionFrom(m, Action{Org: org.CVR, ImportID: b.ID}))
		}
	}
	return out, nil
}

// Plan lists the actions the jobs would take at `at` for one org (cvr) or
// for every org (cvr == ""). It changes nothing.
func (r *Runner) Plan(ctx context.Context, cvr string, at time.Time) ([]Action, error) {
	var out []Action
	err := r.Store.View(ctx, func(tx *store.Tx) error {
		orgs, err := r.orgs(tx, cvr)
		if err != nil {
			return err
		}
		h, err := readHolding(tx, at)
		if err != nil {
			return err
		}
		for _, org := range orgs {
			imports, err := tx.ListImports(org.CVR)
			if err != nil {
				return err
			}
			for _, b := range imports {
				unconfirmed := 0
				if !b.Retired {
					users, err := importUsers(tx, org, b)
					if err == nil {
						unconfirmed, err = losing(ctx, tx, r.Policy, b, users, 1)
					}
					if err != nil {
						return err
					}
				}
				acts, err := r.importDue(ctx, tx, org, b, unconfirmed, at)
				if err != nil {
					return err
				}
				out = append(out, acts...)
			}
			after := ""
			for {
				users, next, err := tx.ListUsers(org.CVR, after, 1000)
				if err != nil {
					return err
				}
				for _, u := range users {
					acts, err := r.due(ctx, tx, org, u, at, h)
					if err != nil {
						return err
					}
					out = append(out, acts...)
				}
				if next == "" || len(users) == 0 {
					break
				}
				after = next
			}
		}
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Org != out[j].Org {
			return out[i].Org < out[j].Org
		}
		if out[i].UserID != out[j].UserID {
			return out[i].UserID < out[j].UserID
		}
		return out[i].Job < out[j].Job
	})
	return out, err
}

func (r *Runner) orgs(tx *store.Tx, cvr string) ([]*store.Org, error) {
	if cvr == "" {
		return tx.ListOrgs()
	}
	o, err := tx.GetOrg(cvr)
	if err != nil {
		return nil, err
	}
	return []*store.Org{o}, nil
}

// RunOnce applies every action due at `at` and returns how many it
// applied. Each action is its own transaction and re-checks that it is
// still due, so the run can be repeated or resumed after a crash.
func (r *Runner) RunOnce(ctx context.Context, at time.Time) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	plan, err := r.Plan(ctx, "", at)
	if err != nil {
		return 0, err
	}
	applied := 0
	var errs []error
	for _, a := range plan {
		if ctx.Err() != nil {
			return applied, ctx.Err()
		}
		if a.Action == "skip" {
			continue // listed for the preview; its warning is its own action
		}
		ok, err := r.apply(ctx, a, at)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s %s: %w", a.Job, a.UserID, a.ImportID, err))
			continue
		}
		if ok {
			applied++
			if a.Action == "warn_last_admin" {
				r.Logger.Warn().Str("org", a.Org).Str("user_id", a.UserID).Str("rule", a.Rule).Time("due", a.Due).
					Msg("lifecycle kept the last administrator of an organisation; appoint another administrator")
			}
		}
	}
	reminded, err := r.remindPasswords(ctx, at) // L8 reminders (reminder.go)
	applied += reminded
	errs = append(errs, err)
	if applied > 0 {
		r.Logger.Info().Int("actions", applied).Msg("lifecycle run applied actions")
	}
	return applied, errors.Join(errs...)
}

// apply carries out one action if it is still due inside the transaction.
func (r *Runner) apply(ctx context.Context, a Action, at time.Time) (bool, error) {
	done := false
	_, err := r.Store.Update(ctx, Actor, func(tx *store.Tx) error {
		org, err := tx.GetOrg(a.Org)
		if err != nil {
			return ignoreNotFound(err)
		}
		if a.ImportID != "" {
			done, err = r.applyImport(ctx, tx, org, a, at)
			return err
		}
		u, err := tx.GetUser(a.UserID)
		if err != nil {
			return ignoreNotFound(err)
		}
		h, err := readHolding(tx, at)
		if err != nil {
			return err
		}
		still, err := r.due(ctx, tx, org, u, at, h)
		if err != nil {
			return err
		}
		if !containsJob(still, a.Job) {
			return nil // already done, or no longer due
		}
		audit := store.AuditEvent{Type: "lifecycle." + a.Action, Org: org.CVR, UserID: u.ID, Object: u.ID,
			Details: map[string]any{"job": a.Job, "rule": a.Rule, "due": a.Due}}
		switch a.Action {
		case "inactivate":
			u.Status, u.StatusChangedAt = store.StatusInactive, at
			err = tx.UpdateUser(u)
		case "activate":
			u.Status, u.StatusChangedAt, u.DeactivatedUntil = store.StatusActive, at, nil
			err = tx.UpdateUser(u)
		case "delete":
			err = tx.DeleteUser(u.ID)
		case "warn":
			err = r.warn(tx, org, u, a, at)
		case "warn_last_admin":
			err = r.warnLastAdmin(tx, org, u, a, at)
		default:
			return fmt.Errorf("unknown lifecycle action %q", a.Action)
		}
		if err != nil {
			return err
		}
		tx.Audit(audit)
		done = true
		return nil
	})
	return done, err
}

func ignoreNotFound(err error) error {
	if store.IsNotFound(err) {
		return nil
	}
	return err
}

func containsJob(acts []Action, job string) bool {
	for _, a := range acts {
		if a.Job == job {
			return true
		}
	}
	return false
}

// warn mails the org's administrators about a user whose manual
// association will be deleted (L4) and remembers that it did.
func (r *Runner) warn(tx *store.Tx, org *store.Org, u *store.User, a Action, at time.Time) error {
	admins, err := adminEmails(tx, org.CVR)
	if err != nil {
		return err
	}
	deleteAt := a.Event // the policy's date of the deletion (L4)
	for _, to := range admins {
		if err := tx.PutMail(&store.OutboxMail{
			ID:        fmt.Sprintf("l4-%s-%d-%s", u.ID, at.Unix(), to),
			To:        to,
			UserID:    u.ID,
			Kind:      "lifecycle_warning",
			Subject:   "Unconfirmed user will be deleted",
			Body:      fmt.Sprintf("The manual association of %s (%s) has not been confirmed and will be deleted on %s unless an administrator confirms it.", u.Name, u.ID, deleteAt.Format("2006-01-02")),
			CreatedAt: at,
		}); err != nil {
			return err
		}
	}
	if r.Notify != nil {
		if err := r.Notify(tx, store.Notification{Org: org.CVR, Kind: store.NotifyLifecycleWarning, Object: u.ID, UserID: u.ID,
			Subject: "Unconfirmed user will be deleted",
			Body:    fmt.Sprintf("The manual association of %s (%s) has not been confirmed and will be deleted on %s unless an administrator confirms it.", u.Name, u.ID, deleteAt.Format("2006-01-02"))}); err != nil {
			return err
		}
	}
	return tx.PutMeta(warnKey(u.ID), at)
}

// adminEmails lists the e-mail addresses of the org's active holders of
// an administrator role.
func adminEmails(tx *store.Tx, cvr string) ([]string, error) {
	rights, err := tx.ListRights()
	if err != nil {
		return nil, err
	}
	adminRight := map[string]bool{}
	for _, rt := range rights {
		if rt.AdminRole == store.RoleOrgAdmin || rt.AdminRole == store.RoleUserAdmin {
			adminRight[rt.ID] = true
		}
	}
	var out []string
	after := ""
	for {
		users, next, err := tx.ListUsers(cvr, after, 1000)
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			if u.Status != store.StatusActive || u.Email == "" {
				continue
			}
			grants, err := tx.EffectiveGrants(u.ID)
			if err != nil {
				return nil, err
			}
			for _, g := range grants {
				if adminRight[g.Right] && g.Org == cvr {
					out = append(out, u.Email)
					break
				}
			}
		}
		if next == "" || len(users) == 0 {
			return out, nil
		}
		after = next
	}
}

// applyImport carries out an import action (retire or warn) if it is
// still due inside the transaction.
func (r *Runner) applyImport(ctx context.Context, tx *store.Tx, org *store.Org, a Action, at time.Time) (bool, error) {
	b, err := tx.GetImport(a.ImportID)
	if err != nil {
		return false, ignoreNotFound(err)
	}
	users, err := importUsers(tx, org, b)
	if err != nil {
		return false, err
	}
	unconfirmed, err := losing(ctx, tx, r.Policy, b, users, 0)
	if err != nil {
		return false, err
	}
	still, err := r.importDue(ctx, tx, org, b, unconfirmed, at)
	if err != nil || !containsJob(still, a.Job) {
		return false, err
	}
	if a.Action == "warn" {
		if err := r.warnImport(tx, org, b, a, unconfirmed, at); err != nil {
			return false, err
		}
		tx.Audit(store.AuditEvent{Type: "lifecycle.warn", Org: org.CVR, Object: b.ID,
			Details: map[string]any{"job": a.Job, "rule": a.Rule, "users_unconfirmed": unconfirmed}})
		return true, nil
	}
	return true, RetireImport(ctx, tx, r.Policy, org, b, users, map[string]any{"job": a.Job, "rule": a.Rule})
}

// ImportUserQuery decides, when an import batch is retired, whether one of
// its users keeps the org (as a manual association) or loses it (L5, A10).
const ImportUserQuery = "data.adgang.lifecycle.import_user_action"

// RetireImport retires an import batch (L5, also "Nedlæg import" by an
// administrator): for each user the batch brought in, the lifecycle policy
// says whether it is kept (confirmed since the import, or the org's last
// administrator: it stays, now as a manual association) or loses its
// association with the org (it is deleted). users are the batch's users
// (nil: read them); details go into the audit event.
func RetireImport(ctx context.Context, tx *store.Tx, policy Evaluator, org *store.Org, b *store.ImportBatch, users []*store.User, details map[string]any) error {
	if users == nil {
		var err error
		if users, err = importUsers(tx, org, b); err != nil {
			return err
		}
	}
	h, err := readHolding(tx, tx.Now())
	if err != nil {
		return err
	}
	removed, kept := 0, 0
	for _, u := range users {
		res, err := importUserAction(ctx, policy, b, u, h)
		if err != nil {
			return err
		}
		switch res {
		case "keep":
			u.Source = "manual"
			if err := tx.UpdateUser(u); err != nil {
				return err
			}
			kept++
		case "remove":
			if err := tx.DeleteUser(u.ID); err != nil {
				return err
			}
			removed++
		default:
			return fmt.Errorf("lifecycle policy: %s answered %v", ImportUserQuery, res)
		}
	}
	b.Retired = true
	if err := tx.PutImport(b); err != nil {
		return err
	}
	ev := map[string]any{"users_removed": removed, "users_kept": kept}
	for k, v := range details {
		ev[k] = v
	}
	tx.Audit(store.AuditEvent{Type: "lifecycle.retire", Org: org.CVR, Object: b.ID, Details: ev})
	return nil
}

// String renders an action for logs.
func (a Action) String() string {
	return strings.Join([]string{a.Rule, a.Job, a.Org, a.UserID + a.ImportID, a.Due.Format(time.RFC3339)}, " ")
}
