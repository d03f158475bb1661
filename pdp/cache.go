package pdp

import (
	"sync"
	"time"

	"github.com/adgang/adgang/store"
)

// decisionCache keeps recent login decisions. An entry is only served
// while the store revision and the policy set are exactly the ones it was
// computed from (read-your-writes at any cache size), and never past its
// deadline: the policy's own valid_until_ns (the first instant the clock
// alone could change the answer: a grant expiry (D13), a password's age
// limit (D15)), and at most cacheMaxAge after it was computed, a safety
// bound for a policy that reads the clock without declaring it.
type decisionCache struct {
	mu      sync.Mutex
	max     int
	entries map[cacheKey]*cacheEntry
}

const cacheMaxAge = 5 * time.Minute

type cacheKey struct {
	subject Subject
	service string
	right   string
	pNumber string
}

type cacheEntry struct {
	revision uint64
	policy   *PolicySet
	until    time.Time
	userID   string // for the last-login record of an allowed decision
	d        Decision
}

func newDecisionCache(size int) *decisionCache {
	if size <= 0 {
		return nil
	}
	return &decisionCache{max: size, entries: make(map[cacheKey]*cacheEntry, min(size, 1024))}
}

func keyOf(req *LoginRequest) cacheKey {
	return cacheKey{subject: req.Subject, service: req.Service, right: req.Right, pNumber: req.PNumber}
}

func (c *decisionCache) get(req *LoginRequest, rev uint64, ps *PolicySet, now time.Time) *cacheEntry {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[keyOf(req)]
	if e == nil || e.revision != rev || e.policy != ps || !now.Before(e.until) {
		return nil
	}
	return e
}

func (c *decisionCache) put(req *LoginRequest, view *store.LoginView, ps *PolicySet, now time.Time, d *Decision) {
	if c == nil || d.body == nil {
		return
	}
	until := now.Add(cacheMaxAge)
	if !d.validUntil.IsZero() && d.validUntil.Before(until) {
		until = d.validUntil
	}
	e := &cacheEntry{revision: view.Revision, policy: ps, until: until, d: d.compacted()}
	if view.User != nil {
		e.userID = view.User.ID
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Bounded: drop an arbitrary eighth (Go's map order is random), so
		// a full cache keeps most of its entries without tracking recency.
		drop := max(1, c.max/8)
		for k := range c.entries {
			if drop == 0 {
				break
			}
			delete(c.entries, k)
			drop--
		}
	}
	c.entries[keyOf(req)] = e
}
