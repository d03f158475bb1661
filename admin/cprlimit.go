package admin

import (
	"sync"
	"time"

	"github.com/adgang/adgang/store"
)

// DefaultCPRRefusalsPerDay is how many CPR refusals an administrator may
// meet per (UTC) day before every change that gives a user a CPR number,
// or identifies one by it, answers 429 rate_limited (Config.CPRRefusalsPerDay).
//
// A CPR refusal is an answer that tells the caller something about the
// CPR numbers of its organisation: a CPR number already held by a user of
// the organisation (A12 duplicate on create, PATCH, association, import
// row, dry run or POST /v1/policy/check), or an update/delete import row
// whose CPR-nummer does not name the user its other cells name. CPR
// numbers are unique per organisation, so no refusal says anything about
// other organisations; the limit keeps masked numbers (DDMMYY-****) of
// the own organisation from being recovered by guessing the last four
// digits.
const DefaultCPRRefusalsPerDay = 100

// maxCPRCounters bounds the limiter's memory: the administrators with a
// CPR refusal on the current day. When it is full, an administrator
// without a count is refused too (fail closed) until the day ends.
const maxCPRCounters = 10000

// cprLimiter counts CPR refusals per administrator per UTC day. It lives
// in memory only: a restart forgets the counts (the limit slows guessing
// down, it is no audit record; the audit log keeps the refused writes'
// actors, dry runs are not written anywhere).
type cprLimiter struct {
	limit int
	now   func() time.Time

	mu     sync.Mutex
	day    string         // UTC date of the counts
	counts map[string]int // administrator → refusals on day
}

func newCPRLimiter(limit int, now func() time.Time) *cprLimiter {
	if limit <= 0 {
		limit = DefaultCPRRefusalsPerDay
	}
	return &cprLimiter{limit: limit, now: now, counts: map[string]int{}}
}

// rollover forgets the counts of an earlier day. Callers hold mu.
func (l *cprLimiter) rollover() {
	if d := l.now().UTC().Format(time.DateOnly); d != l.day {
		l.day = d
		clear(l.counts)
	}
}

// allow refuses with rate_limited once key has used its day's refusals.
func (l *cprLimiter) allow(key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rollover()
	n, ok := l.counts[key]
	if n >= l.limit || (!ok && len(l.counts) >= maxCPRCounters) {
		return &store.Error{Code: store.ERateLimited, Message: "too many CPR numbers refused today: " +
			"changes that give or identify a user by CPR number are refused until tomorrow (UTC)"}
	}
	return nil
}

// refused counts one CPR refusal of key.
func (l *cprLimiter) refused(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rollover()
	if _, ok := l.counts[key]; ok || len(l.counts) < maxCPRCounters {
		l.counts[key]++
	}
}

// cprKey is the administrator a caller's CPR refusals count against: its
// user (whichever of its tokens or JWTs it uses), or the token of an
// unbound superadmin token.
func cprKey(c *Caller) string {
	if c.userID != "" {
		return "user:" + c.userID
	}
	return c.actor
}

// cprGuard is the store.CPRGuard of a caller's write or dry run.
type cprGuard struct {
	l   *cprLimiter
	key string
}

func (g cprGuard) Allow() error { return g.l.allow(g.key) }
func (g cprGuard) Duplicate()   { g.l.refused(g.key) }

func (s *Service) cprGuardOf(c *Caller) store.CPRGuard { return cprGuard{l: s.cpr, key: cprKey(c)} }
