package api

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// Server is the decision listener: the engine it asks and the password
// login service that cmd wires in (pdp/api never imports admin).
type Server struct {
	eng       *pdp.Engine
	passwords PasswordLogins
	throttle  *passwordThrottle
}

// Options are what the decision listener needs beside the engine.
type Options struct {
	// Passwords answers POST /v1/authn/password; nil answers it 404, as
	// a listener without local accounts.
	Passwords PasswordLogins
}

// New returns the decision listener over eng.
func New(eng *pdp.Engine, opts Options) *Server {
	return &Server{eng: eng, passwords: opts.Passwords, throttle: newPasswordThrottle(eng.Now)}
}

// Handler returns the decision listener's HTTP API. Every route is here.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/decisions/login", s.handleLogin)
	if s.passwords != nil {
		mux.HandleFunc("POST /v1/authn/password", s.handlePassword)
	}
	mux.HandleFunc("POST /v1/data/{path...}", s.handleDataAPI)
	mux.HandleFunc("GET /v1/data/{path...}", s.handleDataAPI)
	mux.HandleFunc("POST /v1/data", s.handleDataAPI)
	mux.HandleFunc("GET /v1/data", s.handleDataAPI)
	mux.HandleFunc("POST /access/v1/evaluation", s.handleEvaluation)
	mux.HandleFunc("POST /access/v1/evaluations", s.handleEvaluations)
	mux.HandleFunc("GET /.well-known/authzen-configuration", s.handleAuthZENConfig)
	mux.HandleFunc("POST /access/v1/search/subject", s.handleSearch(pdp.SearchSubject))
	mux.HandleFunc("POST /access/v1/search/resource", s.handleSearch(pdp.SearchResource))
	mux.HandleFunc("POST /access/v1/search/action", s.handleSearch(pdp.SearchAction))
	mux.HandleFunc("POST /v1/privileges", s.handlePrivileges)
	mux.Handle("GET /health", HealthHandler(s.eng))
	mux.Handle("GET /metrics", MetricsHandler(s.eng))
	// OPA Data API parity (issue 16): the default decision and the batch API.
	mux.HandleFunc("POST /{$}", s.handleDefaultDecision)
	mux.HandleFunc("POST /v1/batch/data/{path...}", s.handleBatchData)
	mux.HandleFunc("POST /v1/batch/data", s.handleBatchData)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, store.Errorf(store.ENotFound, "no route %s %s", r.Method, r.URL.Path))
	})
	return withRequestID(s.withConsistency(s.withDurableLog(limitBody(mux))))
}

// HealthHandler serves GET /health, the same answer on every listener
// (SPEC §8: the admin listener answers the decision listener's /health):
// 200 while ready or degraded, 503 while unavailable.
func HealthHandler(eng *pdp.Engine) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := eng.Health(r.Context())
		status := http.StatusOK
		if h.Status == pdp.HealthUnavailable {
			status = http.StatusServiceUnavailable
		}
		WriteJSON(w, status, h)
	})
}

// MetricsHandler serves the engine's Prometheus registry, the one the
// admin API's metrics are registered on as well.
func MetricsHandler(eng *pdp.Engine) http.Handler {
	return promhttp.HandlerFor(eng.Registry(), promhttp.HandlerOpts{})
}
