package pdp

import (
	"bytes"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/adgang/adgang/store"
)

// decisionCache keeps recent login decisions. An entry is only served
// while the policy set and rights catalogue are the ones it was computed
// from and nothing its store read depended on (the user, its groups, the
// organisation, the certificate, the rights catalogue: LoginView.Deps) has
// changed since the revision it was read at (store.DepsChangedSince; a
// store without that check: while the store revision is exactly the one
// it was read at). Either way read-your-writes holds at any cache size: a
// write is recorded before it is answered. Nor is an entry served past its
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

	hits, misses atomic.Uint64
}

// DefaultCacheBytes is the default byte bound of the decision cache
// (SPEC §8: --decision-cache-bytes, 128 MiB).
const DefaultCacheBytes = 128 << 20

const cacheMaxAge = 5 * time.Minute

type cacheKey struct {
	subject Subject
	service string
	right   string
	pNumber string
}

type cacheEntry struct {
	size     int64  // approximate bytes, see sizeOf
	revision uint64 // the revision the store read was labelled with
	// exactAt is the latest revision the entry was found exact at (none
	// of deps changed since revision): checks start from there, so an
	// entry in use stays newer than the dependency table's floor
	// (store.depTable prunes its older half when full).
	exactAt atomic.Uint64
	deps    []store.Dep
	policy  *PolicySet
	rights  *rightsIndex
	until   time.Time
	userID  string // for the last-login record of an allowed decision
	// loggedIn is when the user's login was last recorded or queued (Unix
	// nanoseconds; 0: never; loginAlways: a new user's), so a hit queues
	// one only when it is stale.
	loggedIn atomic.Int64
	d        Decision
	// revAt, revEnd: where the revision's digits are in d.body (revAt 0:
	// not found; the body is then served as computed).
	revAt, revEnd int
}

// depChecker is the store's dependency check (store.Store implements it).
type depChecker interface {
	DepsChangedSince(deps []store.Dep, rev uint64) bool
}

// served is the entry's decision as answered at revision rev, at which it
// was found still exact: its answer names rev. The encoded body is shared,
// not copied: AppendJSON writes rev where the body names the revision it
// was read at.
func (e *cacheEntry) served(rev uint64) Decision {
	d := e.d
	d.Revision = rev
	if e.revAt > 0 && rev != e.d.Revision {
		d.revAt, d.revEnd = e.revAt, e.revEnd
	}
	return d
}

// revisionSpan finds the top-level "revision" value in an encoded body
// (after rights and reasons; a quote inside a JSON string is escaped, so
// the raw key can only be a key).
func revisionSpan(body []byte) (int, int) {
	const key = `,"revision":`
	i := bytes.LastIndex(body, []byte(key))
	if i < 0 {
		return 0, 0
	}
	start := i + len(key)
	end := start
	for end < len(body) && body[end] >= '0' && body[end] <= '9' {
		end++
	}
	if end == start {
		return 0, 0
	}
	return start, end
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

// sizeOf approximates the heap an entry holds: its map slot (key and
// pointer, at the map's average load), the entry itself, its compact
// reasons and dependencies, and every string and byte slice it keeps,
// each rounded up as the allocator does. TestDecisionCacheBytes holds the
// sum to the heap a filled cache really takes.
func sizeOf(k *cacheKey, e *cacheEntry) int64 {
	const slot = int64(unsafe.Sizeof(cacheKey{}) + unsafe.Sizeof((*cacheEntry)(nil)))
	s := &k.subject
	n := slot*3/2 + allocSize(int(unsafe.Sizeof(cacheEntry{}))) +
		allocSize(cap(e.d.Reasons)*int(unsafe.Sizeof(Reason{}))) +
		allocSize(cap(e.deps)*int(unsafe.Sizeof(store.Dep{}))) + allocSize(cap(e.d.body)) +
		allocSize(len(s.ID)) + allocSize(len(s.CVR)) + allocSize(len(s.PNumber)) + allocSize(len(s.Kind)) +
		allocSize(len(s.AuthMethod)) + allocSize(len(s.CertificateSerial)) + allocSize(len(k.service)) +
		allocSize(len(k.right)) + allocSize(len(k.pNumber)) + allocSize(len(e.userID)) + allocSize(len(e.d.DecisionID))
	for _, r := range e.d.Reasons {
		n += allocSize(len(r.Code)) + allocSize(len(r.Rule))
	}
	for _, d := range e.deps {
		n += allocSize(len(d.ID))
	}
	if e.d.Knock != nil {
		n += allocSize(int(unsafe.Sizeof(KnockAnswer{})))
	}
	return n
}

// allocSize is about what the allocator takes for n bytes: small sizes
// round up to 16 bytes, larger ones to size classes about 1/8 apart.
func allocSize(n int) int64 {
	switch {
	case n == 0:
		return 0
	case n <= 256:
		return int64((n + 15) &^ 15)
	default:
		return int64(n + n/8)
	}
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

// counts returns the hits and misses of get so far.
func (c *decisionCache) counts() (hits, misses uint64) {
	if c == nil {
		return 0, 0
	}
	return c.hits.Load(), c.misses.Load()
}

// get returns the entry of req if it is still exact at revision rev (the
// store's current revision, read before the call) for policy set ps and
// rights catalogue idx, or nil.
func (c *decisionCache) get(req *LoginRequest, rev uint64, ps *PolicySet, idx *rightsIndex, now time.Time, deps depChecker) *cacheEntry {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	e := c.entries[keyOf(req)]
	c.mu.Unlock()
	if e == nil || e.policy != ps || e.rights != idx || !now.Before(e.until) || !e.validAt(rev, deps) {
		c.misses.Add(1)
		return nil
	}
	c.hits.Add(1)
	return e
}

// validAt reports whether nothing the entry's store read depended on has
// changed between the revision it was read at and rev.
func (e *cacheEntry) validAt(rev uint64, deps depChecker) bool {
	if e.revision > rev {
		return false // read from a newer state than the one asked about
	}
	at := e.exactAt.Load()
	if at >= rev {
		return true // unchanged from revision through at, and so through rev
	}
	if deps == nil || e.deps == nil || deps.DepsChangedSince(e.deps, at) {
		return false
	}
	for at < rev && !e.exactAt.CompareAndSwap(at, rev) {
		at = e.exactAt.Load()
	}
	return true
}

func (c *decisionCache) put(req *LoginRequest, view *store.LoginView, ps *PolicySet, idx *rightsIndex, now time.Time, d *Decision, loggedIn int64) {
	if c == nil || d.body == nil {
		return
	}
	until := now.Add(cacheMaxAge)
	if !d.validUntil.IsZero() && d.validUntil.Before(until) {
		until = d.validUntil
	}
	e := &cacheEntry{revision: view.Revision, deps: view.Deps, policy: ps, rights: idx, until: until, d: d.compacted()}
	e.exactAt.Store(view.Revision)
	e.revAt, e.revEnd = revisionSpan(e.d.body)
	e.loggedIn.Store(loggedIn)
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

// CacheStats is the decision cache's own accounting: its entries and
// their approximate bytes (tests and diagnostics).
func (e *Engine) CacheStats() (entries int, bytes int64) { return e.cache.stats() }

// CacheCounts is the decision cache's hits and misses since start.
func (e *Engine) CacheCounts() (hits, misses uint64) { return e.cache.counts() }
