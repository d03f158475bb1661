package pdp

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

type metrics struct {
	decisions     *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	reloads       *prometheus.CounterVec
	storeErrors   prometheus.Counter
	knocksDropped prometheus.Counter
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
	}
	for _, c := range []prometheus.Collector{m.decisions, m.latency, m.reloads, m.storeErrors, m.knocksDropped} {
		reg.MustRegister(c)
	}
	// Registering the process/Go collectors twice on a shared registry panics;
	// tolerate a registry that already has them.
	_ = reg.Register(collectors.NewGoCollector())
	_ = reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
