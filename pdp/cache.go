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
//
// The cache is bounded twice: by entries (max) and by the approximate bytes
// its entries hold (maxBytes: keys, encoded answers, reasons), so large but
// legal requests cannot grow it past maxBytes.
type decisionCache struct {
	mu       sync.Mutex
	max      int
	maxBytes int64
	bytes    int64
	entries  map[cacheKey]*cacheEntry
}

// DefaultCacheBytes is the default byte bound of the decision cache
// (SPEC §8: --decision-cache-bytes, 128 MiB).
const DefaultCacheBytes = 128 << 20

// entryOverhead approximates what an entry costs beside its strings: the
// map slot, the entry and Decision structs, slice and string headers.
const entryOverhead = 320

const cacheMaxAge = 5 * time.Minute

type cacheKey struct {
	subject Subject
	service string
	right   string
	pNumber string
}

type cacheEntry struct {
	size     int64 // approximate bytes, see sizeOf
	revision uint64
	policy   *PolicySet
	until    time.Time
	userID   string // for the last-login record of an allowed decision
	d        Decision
}

func newDecisionCache(size int, maxBytes int64) *decisionCache {
	if size <= 0 || maxBytes <= 0 {
		return nil
	}
	return &decisionCache{max: size, maxBytes: maxBytes, entries: make(map[cacheKey]*cacheEntry, min(size, 1024))}
}

// keyOf is the cache key of a request. The subject's name and e-mail are
// left out: the decision does not read them (they only feed a knock, which
// is queued from the request itself).
func keyOf(req *LoginRequest) cacheKey {
	s := req.Subject
	s.Name, s.Email = "", ""
	return cacheKey{subject: s, service: req.Service, right: req.Right, pNumber: req.PNumber}
}

// sizeOf approximates the bytes an entry holds: its key's strings, the
// encoded answer, the compact reasons and a fixed overhead.
func sizeOf(k *cacheKey, e *cacheEntry) int64 {
	s := &k.subject
	n := entryOverhead + len(s.ID) + len(s.CVR) + len(s.PNumber) + len(s.Kind) + len(s.AuthMethod) +
		len(s.CertificateSerial) + len(k.service) + len(k.right) + len(k.pNumber) +
		len(e.userID) + len(e.d.DecisionID) + len(e.d.body)
	for _, r := range e.d.Reasons {
		n += 64 + len(r.Code) + len(r.Rule)
	}
	return int64(n)
}

// stats returns the number of entries and their approximate bytes.
func (c *decisionCache) stats() (int, int64) {
	if c == nil {
		return 0, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.bytes
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
	key := keyOf(req)
	e.size = sizeOf(&key, e)
	if e.size > c.maxBytes/8 {
		return // one answer may not crowd out an eighth of the cache
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.entries[key]; old != nil {
		c.bytes -= old.size
		delete(c.entries, key)
	}
	if len(c.entries) >= c.max || c.bytes+e.size > c.maxBytes {
		// Bounded: drop an arbitrary eighth, by count or by bytes
		// (Go's map order is random), so a full cache keeps most of its
		// entries without tracking recency.
		drop, target := 0, c.bytes
		if len(c.entries) >= c.max {
			drop = max(1, c.max/8)
		}
		if c.bytes+e.size > c.maxBytes {
			target = c.maxBytes - c.maxBytes/8 - e.size
		}
		for k, old := range c.entries {
			if drop <= 0 && c.bytes <= target {
				break
			}
			c.bytes -= old.size
			delete(c.entries, k)
			drop--
		}
	}
	c.entries[key] = e
	c.bytes += e.size
}
