package store

import (
	"strings"
	"sync"

	badger "github.com/dgraph-io/badger/v4"
)

// grantCacheSize bounds the decoded-grant cache (about 300 bytes each).
const grantCacheSize = 1 << 16

// grantCache holds decoded grants for read transactions, keyed by grant id
// and the Badger version of the holder-index entry that led to it.
//
// Decoding JSON is most of the cost of a login read. A grant is never
// changed in place: its index entry and record are written together and
// removed together, so one (id, version) always names the same content,
// and a grant deleted and made again under the same id gets a new version.
// The cache therefore needs no invalidation; stale entries are simply
// never asked for again, and the whole map is dropped when it is full.
type grantCache struct {
	mu sync.RWMutex
	m  map[grantVersion]*Grant
}

type grantVersion struct {
	id  string
	ver uint64
}

func (c *grantCache) get(id string, ver uint64) (*Grant, bool) {
	c.mu.RLock()
	g, ok := c.m[grantVersion{id, ver}]
	c.mu.RUnlock()
	return g, ok
}

func (c *grantCache) put(id string, ver uint64, g *Grant) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= grantCacheSize {
		c.m = make(map[grantVersion]*Grant, 1024)
	}
	c.m[grantVersion{id, ver}] = g
	c.mu.Unlock()
}

// keyRef is a key suffix under a prefix with the version of its entry.
type keyRef struct {
	suffix string
	ver    uint64
}

// keyRefs is keys with the Badger version of each entry.
func (tx *Tx) keyRefs(prefix string) []keyRef {
	it := tx.sharedIterator()
	if it == nil {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = []byte(prefix)
		it = tx.txn.NewIterator(opts)
		defer it.Close()
	}
	var out []keyRef
	for it.Seek([]byte(prefix)); it.ValidForPrefix([]byte(prefix)); it.Next() {
		item := it.Item()
		out = append(out, keyRef{string(item.Key()[len(prefix):]), item.Version()})
	}
	return out
}

// cachedGrants returns the grants listed with the versions that name
// them (a holder index's entries, iug/… or igg/…, or a user login index
// record) for a read transaction, decoding only those not seen before.
// Each is the caller's own copy unless own is false (see grantsOf), so the
// cached value is never changed.
func (tx *Tx) cachedGrants(refs []keyRef, own bool) ([]*Grant, error) {
	out := make([]*Grant, 0, len(refs))
	for _, r := range refs {
		g, ok := tx.s.grants.get(r.suffix, r.ver)
		if !ok {
			var err error
			if g, err = tx.GetGrant(r.suffix); err != nil {
				return nil, err
			}
			tx.s.grants.put(strings.Clone(r.suffix), r.ver, g) // suffix may share a record's copy (decodeUserIndex)
		}
		if own {
			cp := *g
			g = &cp
		}
		out = append(out, g)
	}
	return out, nil
}
