package api

import (
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// adminMetrics count the admin API's requests by route template (never
// the raw path, so identifiers in it cannot create series), method and
// status, and time them in seconds.
type adminMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newAdminMetrics(reg *prometheus.Registry) *adminMetrics {
	m := &adminMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "adgang_admin_requests_total",
			Help: "Admin API requests by route template, method and HTTP status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "adgang_admin_request_duration_seconds",
			Help:    "Time to answer an admin API request, by route template and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10, 60},
		}, []string{"route", "method"}),
	}
	if reg == nil {
		return m
	}
	m.requests = registerOr(reg, m.requests)
	m.duration = registerOr(reg, m.duration)
	return m
}

// registerOr registers c, or returns the collector already registered
// under its name (several servers on one registry, in tests).
func registerOr[C prometheus.Collector](reg *prometheus.Registry, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

func (m *adminMetrics) observe(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route, method).Observe(d.Seconds())
}
