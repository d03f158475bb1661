package pdp

// CacheCounts exposes the decision cache's hits and misses to the tests.
func (e *Engine) CacheCounts() (hits, misses uint64) { return e.cache.counts() }
