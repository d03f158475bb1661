package pdp

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// StoreKind is the /health answer's store.kind of the embedded Badger
// store (SPEC §8: "badger" or "postgres").
const StoreKind = "badger"

// Registry is the Prometheus registry the engine's metrics are on; other
// parts of the service (the admin API) register theirs beside them.
func (e *Engine) Registry() *prometheus.Registry { return e.cfg.Registry }

// PolicyID is the id of the serving policy set ("" before one is loaded).
func (e *Engine) PolicyID() string {
	if ps := e.policy.Load(); ps != nil {
		return ps.ID
	}
	return ""
}

// opsMetrics are the operational metrics beside the decision counters:
// the store revision and the decision cache's hits and misses.
type opsMetrics struct {
	cacheHits   prometheus.Counter
	cacheMisses prometheus.Counter
}

var opsOnce sync.Map // *prometheus.Registry → *opsMetrics (a registry shared by engines in tests)

// ops returns the engine's operational metrics, registering them on first
// use: adgang_store_revision, adgang_decision_cache_hits_total and
// adgang_decision_cache_misses_total.
func (e *Engine) ops() *opsMetrics {
	if m, ok := opsOnce.Load(e.cfg.Registry); ok {
		return m.(*opsMetrics)
	}
	m := &opsMetrics{
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "adgang_decision_cache_hits_total",
			Help: "Login decisions answered from the decision cache.",
		}),
		cacheMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "adgang_decision_cache_misses_total",
			Help: "Login decisions evaluated because the cache held no valid answer.",
		}),
	}
	actual, loaded := opsOnce.LoadOrStore(e.cfg.Registry, m)
	if loaded {
		return actual.(*opsMetrics)
	}
	st := e.store
	_ = e.cfg.Registry.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "adgang_store_revision",
		Help: "The store revision this node has applied.",
	}, func() float64 { return float64(st.Revision()) }))
	_ = e.cfg.Registry.Register(m.cacheHits)
	_ = e.cfg.Registry.Register(m.cacheMisses)
	return m
}

// resultLabel is the result label of a Data API or AuthZEN decision: allow
// or deny for a boolean result and for a result object with a boolean
// "allow" (the login decision, AuthZEN's "decision"), else other.
func resultLabel(result any) string {
	var allow, ok bool
	switch v := result.(type) {
	case bool:
		allow, ok = v, true
	case map[string]any:
		if allow, ok = v["allow"].(bool); !ok {
			allow, ok = v["decision"].(bool)
		}
	case *Decision:
		if v != nil {
			allow, ok = v.Allow, true
		}
	}
	switch {
	case !ok:
		return "other"
	case allow:
		return "allow"
	}
	return "deny"
}

// Now is the engine's clock (Config.Now), which the listeners' throttles
// share so tests can move it.
func (e *Engine) Now() time.Time { return e.cfg.Now() }
