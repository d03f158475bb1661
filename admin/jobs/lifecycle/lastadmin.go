package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/adgang/adgang/store"
)

// holding is who holds the administrator roles: org → role → the active
// (or new) users that hold it through a grant that has not expired,
// directly or through a group. The lifecycle policy reads it so that a job
// never removes an organisation's last administrator (A10).
type holding map[string]map[string]map[string]bool

// readHolding reads every administrator role holder of the store at `at`.
func readHolding(tx *store.Tx, at time.Time) (holding, error) {
	rights, err := tx.ListRights()
	if err != nil {
		return nil, err
	}
	h := holding{}
	active := map[string]bool{}
	isActive := func(id string) (bool, error) {
		if v, ok := active[id]; ok {
			return v, nil
		}
		u, err := tx.GetUser(id)
		if store.IsNotFound(err) {
			active[id] = false
			return false, nil
		} else if err != nil {
			return false, err
		}
		v := u.Status.Usable()
		active[id] = v
		return v, nil
	}
	for _, rt := range rights {
		if rt.AdminRole != store.RoleOrgAdmin && rt.AdminRole != store.RoleUserAdmin {
			continue
		}
		grants, err := tx.GrantsOfRight(rt.ID)
		if err != nil {
			return nil, err
		}
		for _, g := range grants {
			if g.ExpiresAt != nil && !g.ExpiresAt.After(at) {
				continue
			}
			users := []string{g.HolderID}
			if g.HolderType == store.HolderGroup {
				if users, err = tx.Members(g.HolderID); err != nil {
					if store.IsNotFound(err) {
						continue
					}
					return nil, err
				}
			}
			for _, id := range users {
				ok, err := isActive(id)
				if err != nil {
					return nil, err
				}
				if !ok {
					continue
				}
				role := string(rt.AdminRole)
				if h[g.Org] == nil {
					h[g.Org] = map[string]map[string]bool{}
				}
				if h[g.Org][role] == nil {
					h[g.Org][role] = map[string]bool{}
				}
				h[g.Org][role][id] = true
			}
		}
	}
	return h, nil
}

// rolesOf lists the administrator roles userID holds, each with the
// number of active holders of that role in its org:
// [{"org", "role", "holders"}], sorted.
func (h holding) rolesOf(userID string) []map[string]any {
	out := []map[string]any{}
	for org, roles := range h {
		for role, users := range roles {
			if users[userID] {
				out = append(out, map[string]any{"org": org, "role": role, "holders": len(users)})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return fmt.Sprint(out[i]["org"], out[i]["role"]) < fmt.Sprint(out[j]["org"], out[j]["role"])
	})
	return out
}

// lastAdminWarnKey remembers when the org was last warned that a job kept
// its last administrator.
func lastAdminWarnKey(userID string) string { return "lifecycle/a10-warned/" + userID }

// warnLastAdmin tells the org's administrators (a mail in the outbox) that
// a lifecycle job kept u because it is the organisation's last
// administrator (A10), and remembers that it did. The runner also logs it
// for the operator once the change is committed.
func (r *Runner) warnLastAdmin(tx *store.Tx, org *store.Org, u *store.User, a Action, at time.Time) error {
	admins, err := adminEmails(tx, org.CVR)
	if err != nil {
		return err
	}
	for _, to := range admins {
		if err := tx.PutMail(&store.OutboxMail{
			ID:        fmt.Sprintf("a10-%s-%d-%s", u.ID, at.Unix(), to),
			To:        to,
			UserID:    u.ID,
			Kind:      "lifecycle_warning",
			Subject:   "The last administrator was kept",
			Body:      fmt.Sprintf("%s (%s) was due for an automatic lifecycle action on %s, but is the organisation's last administrator and was kept. Appoint another administrator.", u.Name, u.ID, a.Due.Format("2006-01-02")),
			CreatedAt: at,
		}); err != nil {
			return err
		}
	}
	return tx.PutMeta(lastAdminWarnKey(u.ID), at)
}

// importWarnKey remembers when the org was warned about an import batch
// that will be retired (L5).
func importWarnKey(id string) string { return "lifecycle/l5-warned/" + id }

// importUsers lists the users an import batch brought in.
func importUsers(tx *store.Tx, org *store.Org, b *store.ImportBatch) ([]*store.User, error) {
	source := "import:" + b.ID
	var users []*store.User
	after := ""
	for {
		page, next, err := tx.ListUsers(org.CVR, after, 1000)
		if err != nil {
			return nil, err
		}
		for _, u := range page {
			if u.Source == source {
				users = append(users, u)
			}
		}
		if next == "" || len(page) == 0 {
			return users, nil
		}
		after = next
	}
}

// importUserAction asks the L5 rule whether u keeps its org ("keep") or
// loses the association ("remove") when batch b is retired.
func importUserAction(ctx context.Context, policy Evaluator, b *store.ImportBatch, u *store.User, h holding) (string, error) {
	user := map[string]any{"id": u.ID, "confirmed_at_ns": ns(u.ConfirmedAt), "admin_roles": h.rolesOf(u.ID)}
	input, err := json.Marshal(map[string]any{"import": map[string]any{"id": b.ID, "created_at_ns": b.CreatedAt.UnixNano()}, "user": user})
	if err != nil {
		return "", err
	}
	res, _, err := policy.Evaluate(ctx, ImportUserQuery, input)
	if err != nil {
		return "", fmt.Errorf("lifecycle policy: %w", err)
	}
	if a, ok := res.(string); ok && (a == "keep" || a == "remove") {
		return a, nil
	}
	return "", fmt.Errorf("lifecycle policy: %s answered %v", ImportUserQuery, res)
}

// losing is how many of an import batch's users would lose their
// association if it were retired now (the L5 rule, asked per user). With
// atMost > 0 it stops counting there: whether a warning is due only needs
// to know that someone would.
func losing(ctx context.Context, tx *store.Tx, policy Evaluator, b *store.ImportBatch, users []*store.User, atMost int) (int, error) {
	h, err := readHolding(tx, tx.Now())
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range users {
		a, err := importUserAction(ctx, policy, b, u, h)
		if err != nil {
			return 0, err
		}
		if a == "remove" {
			if n++; n == atMost {
				break
			}
		}
	}
	return n, nil
}

// warnImport mails the org's administrators that an import batch will be
// retired at a.Event (the policy's date) and its unconfirmed users will
// lose their association (L5), and remembers that it did.
func (r *Runner) warnImport(tx *store.Tx, org *store.Org, b *store.ImportBatch, a Action, unconfirmed int, at time.Time) error {
	admins, err := adminEmails(tx, org.CVR)
	if err != nil {
		return err
	}
	retireAt := a.Event.In(time.UTC)
	for _, to := range admins {
		if err := tx.PutMail(&store.OutboxMail{
			ID:        fmt.Sprintf("l5-%s-%d-%s", b.ID, at.Unix(), to),
			To:        to,
			Kind:      "lifecycle_warning",
			Subject:   "An import will be retired",
			Body:      fmt.Sprintf("Import %s of %s will be retired on %s. %d users it brought in have not been confirmed and will lose their association unless an administrator confirms them.", b.ID, b.CreatedAt.Format("2006-01-02"), retireAt.Format("2006-01-02"), unconfirmed),
			CreatedAt: at,
		}); err != nil {
			return err
		}
	}
	return tx.PutMeta(importWarnKey(b.ID), at)
}
