package pdp

// CacheStats exposes the decision cache's own accounting to the tests:
// its entries and their approximate bytes.
func (e *Engine) CacheStats() (entries int, bytes int64) { return e.cache.stats() }
