package admin

import (
	"sync"
	"sync/atomic"

	"github.com/adgang/adgang/store"
)

// tokenCache keeps the callers that API tokens resolved to, by token hash,
// so that an administrator's requests do not each read the token, its
// hash index and its user from the store (three Badger look-ups, a fifth
// of an admin write's CPU under load).
//
// An entry is exact, never merely recent: it is used only while nothing
// it was read from has changed since the revision it was read at
// (store.DepsChangedSince over the token by id and by hash, and its
// user). A revoked or rotated token, or a deleted user, fails its next
// request as it did without the cache: the store records a write's
// dependencies before its commit. Expiry is checked on every use. Only
// hashes are kept, never a token's secret.
type tokenCache struct {
	mu sync.Mutex
	m  map[string]*tokenEntry
}

type tokenEntry struct {
	// rev is the latest revision the entry was found exact at: the
	// store's revision before the read, advanced on each use found exact,
	// so an entry in use stays above the dependency table's floor.
	rev    atomic.Uint64
	deps   []store.Dep // what the read depended on
	caller Caller
}

// tokenCacheMax bounds the cache: past it the cache starts again empty
// (there are as many entries as tokens in use).
const tokenCacheMax = 4096

// get returns the caller the token with hash h resolved to, if an entry
// for it is still exact.
func (c *tokenCache) get(st *store.Store, h string) (*Caller, bool) {
	c.mu.Lock()
	e := c.m[h]
	c.mu.Unlock()
	if e == nil {
		return nil, false
	}
	// The revision is read before the check: every write up to it is in
	// the dependency table by then (recorded before it is published).
	now, at := st.Revision(), e.rev.Load()
	if st.DepsChangedSince(e.deps, at) {
		return nil, false
	}
	for at < now && !e.rev.CompareAndSwap(at, now) {
		at = e.rev.Load()
	}
	caller := e.caller
	return &caller, true
}

// put keeps what the token with hash h resolved to, read at a state no
// older than revision rev.
func (c *tokenCache) put(h string, rev uint64, t *store.Token, caller *Caller) {
	deps := []store.Dep{{Kind: store.DepToken, ID: t.ID}, {Kind: store.DepToken, ID: h}}
	if t.UserID != "" {
		deps = append(deps, store.Dep{Kind: store.DepUser, ID: t.UserID})
	}
	e := &tokenEntry{deps: deps, caller: *caller}
	e.rev.Store(rev)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= tokenCacheMax {
		c.m = make(map[string]*tokenEntry)
	}
	c.m[h] = e
}
