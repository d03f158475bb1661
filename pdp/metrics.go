package pdp

import (
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

type metrics struct {
	decisions      *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	reloads        *prometheus.CounterVec
	storeErrors    prometheus.Counter
	knocksDropped  prometheus.Counter
	loginFallbacks *prometheus.CounterVec
	adminFallbacks prometheus.Counter
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adgang_decisions_total",
			Help: "Decisions by path, result (allow/deny) and first deny reason code.",
		}, []string{"path", "result", "reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "adgang_decision_duration_seconds",
			Help:    "Time to answer a decision, from parsed request to answer.",
			Buckets: []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .05},
		}, []string{"path"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adgang_policy_reloads_total",
			Help: "Policy set loads by result (ok/error); a refused set never replaces the serving one.",
		}, []string{"result"}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "adgang_store_errors_total",
			Help: "Store reads or writes that failed on the decision side.",
		}),
		knocksDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "adgang_knocks_dropped_total",
			Help: "Knocks not recorded because the queue was full.",
		}),
		loginFallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adgang_login_evaluator_fallbacks_total",
			Help: "Login decisions a compiled evaluator (plan or wasm) handed to topdown, by evaluator and why (input: not representable; error: the evaluation failed).",
		}, []string{"evaluator", "why"}),
		adminFallbacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "adgang_admin_evaluator_fallbacks_total",
			Help: "Admin decisions the plan evaluator failed to answer, answered by topdown instead.",
		}),
	}
	for _, c := range []prometheus.Collector{m.decisions, m.latency, m.reloads, m.storeErrors, m.knocksDropped, m.loginFallbacks, m.adminFallbacks} {
		reg.MustRegister(c)
	}
	// Registering the process/Go collectors twice on a shared registry panics;
	// tolerate a registry that already has them.
	_ = reg.Register(collectors.NewGoCollector())
	_ = reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// otherPath is the path label of every Data API request whose path the
// serving policy set does not define.
const otherPath = "other"

// knownPaths are the data paths a policy set defines, computed once per set.
type knownPaths struct {
	ps    *PolicySet
	paths map[string]bool
}

// metricPath is the path label of a Data API decision: the path itself
// when the serving policy set defines it (a package, a parent of one, or a
// rule), else "other". Label values come from the policy, never from the
// client, so random paths cannot create new series.
func (e *Engine) metricPath(path string) string {
	ps := e.policy.Load()
	if ps == nil {
		return otherPath
	}
	kp := e.paths.Load()
	if kp == nil || kp.ps != ps {
		kp = &knownPaths{ps: ps, paths: policyPaths(ps.modules)}
		e.paths.Store(kp)
	}
	if kp.paths[path] {
		return path
	}
	return otherPath
}

// policyPaths lists, slash-separated and without "data", every package of
// the modules, its parents, and every rule (the ground prefix of its head).
func policyPaths(modules map[string]*ast.Module) map[string]bool {
	out := map[string]bool{"": true}
	add := func(segs []string) {
		for i := 1; i <= len(segs); i++ {
			out[strings.Join(segs[:i], "/")] = true
		}
	}
	for _, m := range modules {
		if m.Package == nil || len(m.Package.Path) == 0 {
			continue
		}
		pkg := refSegments(m.Package.Path[1:])
		add(pkg)
		for _, r := range m.Rules {
			add(append(pkg[:len(pkg):len(pkg)], refSegments(r.Head.Ref().GroundPrefix())...))
		}
	}
	return out
}

// refSegments turns the leading names and strings of a ref into path
// segments, stopping at the first term that is neither.
func refSegments(ref ast.Ref) []string {
	var out []string
	for _, t := range ref {
		switch v := t.Value.(type) {
		case ast.Var:
			out = append(out, string(v))
		case ast.String:
			out = append(out, string(v))
		default:
			return out
		}
	}
	return out
}

// StoreFailed counts a store read or write that failed on the decision
// path (adgang_store_errors_total), for callers outside the engine such
// as the password login.
func (e *Engine) StoreFailed() { e.metrics.storeErrors.Inc() }
