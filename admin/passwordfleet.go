package admin

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// Password failures in a fleet (L8, issue 14): a wrong password must not
// wait for nor take a revision, yet the count of failures in a row and the
// block it leads to are the whole fleet's. A fleet node keeps each failure
// (and each right password that ends a run of failures) as a side event,
// shipped within a second; the node holding the job lease folds them, in
// order, into the user records with the adgang.password block rule
// (FoldPasswordEvents), which every replica then applies. Until then a node
// counts its own recent failures on top of the replica's count, so it
// blocks at once by what it saw itself, and all nodes within seconds.

// passwordEvent is one password failure, or a right password (OK).
type passwordEvent struct {
	UserID string    `json:"user_id"`
	OK     bool      `json:"ok,omitempty"`
	At     time.Time `json:"at"`
}

// recentWindow is how long a node counts its own failures on top of the
// replica's: longer than shipping and folding take (a failure counted
// twice meanwhile only blocks sooner).
const recentWindow = 30 * time.Second

// recentFailures are this node's failures of the last recentWindow.
type recentFailures struct {
	mu sync.Mutex
	m  map[string][]time.Time
}

// add records a failure of user at now and answers the recent count.
func (r *recentFailures) add(user string, now time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string][]time.Time{}
	}
	r.m[user] = append(r.prune(user, now), now)
	return len(r.m[user])
}

// count is user's recent failure count.
func (r *recentFailures) count(user string, now time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.prune(user, now))
}

// clear forgets user's recent failures (a right password).
func (r *recentFailures) clear(user string) {
	r.mu.Lock()
	delete(r.m, user)
	r.mu.Unlock()
}

func (r *recentFailures) prune(user string, now time.Time) []time.Time {
	ts := r.m[user]
	for len(ts) > 0 && now.Sub(ts[0]) > recentWindow {
		ts = ts[1:]
	}
	if len(ts) == 0 {
		delete(r.m, user)
		return nil
	}
	r.m[user] = ts
	return ts
}

// failedInFleet is failed on a fleet node: the failure is kept as a side
// event; the answer counts the replica's failures and this node's recent ones.
func (p *PasswordLogin) failedInFleet(ctx context.Context, user *store.User) *pdp.PasswordAnswer {
	now := p.eng.Now()
	if err := p.st.KeepEvents(store.EventPassword, []any{passwordEvent{UserID: user.ID, At: now}}); err != nil {
		p.eng.StoreFailed()
		return p.unavailable("the failed attempt could not be recorded")
	}
	n := user.Password.Failures + p.recent.add(user.ID, now)
	switch {
	case user.Password.Blocked:
		return p.deny(pdp.ReasonPasswordBlocked, "the password is blocked; an administrator must unblock it")
	case p.eng.PasswordBlocks(ctx, n):
		return p.deny(pdp.ReasonPasswordBlocked, "too many wrong passwords; an administrator must unblock the account")
	default:
		return p.deny(pdp.ReasonInvalidCredentials, msgInvalidCredentials)
	}
}

// rightInFleet is a right password on a fleet node: blocked already by
// failures not yet folded (answered), or the end of a run of failures
// (kept as a side event that resets the count).
func (p *PasswordLogin) rightInFleet(ctx context.Context, user *store.User) *pdp.PasswordAnswer {
	now := p.eng.Now()
	n := user.Password.Failures + p.recent.count(user.ID, now)
	if user.Password.Blocked || n == 0 {
		return nil // a blocked password is L8's in the login decision
	}
	if p.eng.PasswordBlocks(ctx, n) {
		return p.deny(pdp.ReasonPasswordBlocked, "too many wrong passwords; an administrator must unblock the account")
	}
	p.recent.clear(user.ID)
	if err := p.st.KeepEvents(store.EventPassword, []any{passwordEvent{UserID: user.ID, OK: true, At: now}}); err != nil {
		p.eng.StoreFailed()
		return p.unavailable("the password login could not be recorded")
	}
	return nil
}

// FoldPasswordEvents writes the password failures every node of a fleet
// shipped into the user records, in order and in one write: each failure
// counts one more in a row and the adgang.password rule says whether the
// count blocks (with the audit event a failure has on a store of its own);
// a right password ends the run unless the password is blocked. The node
// holding the job lease calls it. It answers how many events it folded.
func (p *PasswordLogin) FoldPasswordEvents(ctx context.Context) (int, error) {
	bodies, token, err := p.st.ShippedEvents(ctx, store.EventPassword, 500)
	if err != nil || len(bodies) == 0 {
		return 0, err
	}
	_, err = p.st.Update(ctx, "system:authn", func(tx *store.Tx) error {
		for _, b := range bodies {
			var ev passwordEvent
			if json.Unmarshal(b, &ev) != nil {
				continue
			}
			if err := p.foldOne(ctx, tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(bodies), p.st.DoneEvents(ctx, token)
}

func (p *PasswordLogin) foldOne(ctx context.Context, tx *store.Tx, ev passwordEvent) error {
	u, err := tx.GetUser(ev.UserID)
	if store.IsNotFound(err) || err == nil && u.Password == nil {
		return nil
	} else if err != nil {
		return err
	}
	if ev.OK {
		if u.Password.Blocked || u.Password.Failures == 0 {
			return nil
		}
		u.Password.Failures = 0
		return tx.UpdateUser(u)
	}
	u.Password.Failures++
	u.Password.Blocked = u.Password.Blocked || p.eng.PasswordBlocks(ctx, u.Password.Failures)
	tx.Audit(store.AuditEvent{Type: "password.failure", Org: u.Org, UserID: u.ID, Object: u.ID, Time: ev.At,
		Details: map[string]any{"failures": u.Password.Failures, "blocked": u.Password.Blocked}})
	return tx.UpdateUser(u)
}
