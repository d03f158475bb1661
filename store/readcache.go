package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	badger "github.com/dgraph-io/badger/v4"
)

// recordCacheSize bounds each decoded-record cache (organisations, groups,
// tokens).
const recordCacheSize = 1 << 14

// recordCache holds decoded records by key and the Badger version of the
// entry, like grantCache: a key rewritten gets a new version, so an entry
// never needs invalidating. That holds because the store runs Badger
// unmanaged: every commit takes its version from Badger's own counter,
// which only grows while the database is open (managed mode, with commit
// timestamps chosen by the caller, would break it). Callers share the
// cached value and must not change it.
type recordCache[T any] struct {
	mu sync.RWMutex
	m  map[grantVersion]*T
}

func (c *recordCache[T]) get(key string, ver uint64) *T {
	c.mu.RLock()
	v := c.m[grantVersion{key, ver}]
	c.mu.RUnlock()
	return v
}

func (c *recordCache[T]) put(key string, ver uint64, v *T) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= recordCacheSize {
		c.m = make(map[grantVersion]*T, 64)
	}
	c.m[grantVersion{key, ver}] = v
	c.mu.Unlock()
}

// getShared is getJSON through a decoded-record cache: the JSON is decoded
// only for a key version not seen before. The value is shared, in read and
// write transactions alike: read it, never change it (callers that do
// copy it: Org.clone, tokenRecord.token).
//
// A write transaction uses the cache only for committed values: Badger
// gives the transaction's own pending writes its read timestamp as their
// version, so only a version below that timestamp is certainly a
// committed one (a committed version equal to it is decoded, not cached).
func getShared[T any](tx *Tx, c *recordCache[T], key, what string) (*T, error) {
	item, err := tx.txn.Get([]byte(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, &Error{Code: ENotFound, Message: what + " not found"}
	}
	if err != nil {
		return nil, err
	}
	cacheable := !tx.write || item.Version() < tx.txn.ReadTs()
	if cacheable {
		if v := c.get(key, item.Version()); v != nil {
			return v, nil
		}
	}
	v := new(T)
	if err := item.Value(func(b []byte) error { return json.Unmarshal(b, v) }); err != nil {
		return nil, fmt.Errorf("decode %s: %w", what, err)
	}
	if cacheable {
		c.put(key, item.Version(), v)
	}
	return v, nil
}
