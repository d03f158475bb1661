// Package api is Adgang's admin listener (SPEC §3 and §5): the route
// table, bearer-token or JWT authentication, and handlers that decode a
// request, call the change service (package admin) and encode its
// answer. Every error is answered through pdp/api's one error writer.
package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/adgang/adgang/admin"
	"github.com/adgang/adgang/pdp"
	pdpapi "github.com/adgang/adgang/pdp/api"
	"github.com/adgang/adgang/store"
)

// Server is the admin listener: the route table, authentication, the
// request log and metrics in front of the change service admin.Service.
// Safe for concurrent use.
type Server struct {
	svc     *admin.Service
	log     zerolog.Logger
	metrics *adminMetrics // requests by route template and status
	router  *mux.Router
}

// Config configures New.
type Config struct {
	// Logger receives one line per request (method, route template,
	// status, actor, duration) and errors; never a body, a query string
	// or a CPR number.
	Logger zerolog.Logger
	// Registry, when set, gets the request metrics (the engine's).
	Registry *prometheus.Registry
}

// New prepares the admin API's routes in front of svc.
func New(svc *admin.Service, cfg Config) *Server {
	s := &Server{svc: svc, log: cfg.Logger, metrics: newAdminMetrics(cfg.Registry)}
	s.router = s.routes()
	return s
}

// Handler returns the admin API.
func (s *Server) Handler() http.Handler { return s.router }

// route is one route of the admin API: auth false only for the
// unauthenticated /openapi.json and /v1/activate.
type route struct {
	method, path string
	auth         bool
	handler      handlerFunc
}

// routeTable is every route of the admin API (SPEC §5); the OpenAPI
// document openapi.json lists the same set (a test walks both).
func (s *Server) routeTable() []route {
	return []route{
		{"GET", "/openapi.json", false, s.handleOpenAPI},
		{"POST", "/v1/orgs", true, s.handleCreateOrg},
		{"GET", "/v1/orgs/{cvr}", true, s.handleGetOrg},
		{"PATCH", "/v1/orgs/{cvr}", true, s.handlePatchOrg},
		{"POST", "/v1/orgs/{cvr}/users", true, s.handleCreateUser},
		{"GET", "/v1/orgs/{cvr}/users", true, s.handleListUsers},
		{"GET", "/v1/users/{id}", true, s.handleGetUser},
		{"PATCH", "/v1/users/{id}", true, s.handlePatchUser},
		{"DELETE", "/v1/users/{id}", true, s.handleDeleteUser},
		{"POST", "/v1/users/{id}/inactivate", true, s.handleUserStatus("user.inactivate")},
		{"POST", "/v1/users/{id}/activate", true, s.handleUserStatus("user.activate")},
		{"POST", "/v1/users/{id}/deactivate", true, s.handleUserStatus("user.deactivate")},
		{"POST", "/v1/users/{id}/grants", true, s.handleCreateUserGrant},
		{"GET", "/v1/users/{id}/grants", true, s.handleListUserGrants},
		{"DELETE", "/v1/grants/{id}", true, s.handleDeleteGrant},
		{"POST", "/v1/orgs/{cvr}/groups", true, s.handleCreateGroup},
		{"GET", "/v1/groups/{id}", true, s.handleGetGroup},
		{"DELETE", "/v1/groups/{id}", true, s.handleDeleteGroup},
		{"POST", "/v1/groups/{id}/members", true, s.handleAddMember},
		{"DELETE", "/v1/groups/{id}/members/{user_id}", true, s.handleRemoveMember},
		{"POST", "/v1/groups/{id}/grants", true, s.handleCreateGroupGrant},
		{"GET", "/v1/rights", true, s.handleListRights},
		{"PUT", "/v1/rights/{id}", true, s.handlePutRight},
		{"GET", "/v1/orgs/{cvr}/knocks", true, s.handleListKnocks},
		{"POST", "/v1/knocks/{id}/accept", true, s.handleAcceptKnock},
		{"DELETE", "/v1/knocks/{id}", true, s.handleDeleteKnock},
		{"POST", "/v1/orgs/{cvr}/knocks:delete", true, s.handleDeleteKnocks},
		{"GET", "/v1/users/{id}/history", true, s.handleHistory},
		{"GET", "/v1/orgs/{cvr}/audit", true, s.handleOrgAudit},
		{"POST", "/v1/tokens", true, s.handleCreateToken},
		{"GET", "/v1/tokens", true, s.handleListTokens},
		{"DELETE", "/v1/tokens/{id}", true, s.handleDeleteToken},
		{"POST", "/v1/policy/check", true, s.handlePolicyCheck},
		{"POST", "/v1/orgs/{cvr}/imports", true, s.handleImport},
		{"GET", "/v1/imports/template.csv", true, s.handleImportTemplate},
		{"POST", "/v1/users/{id}/activation", true, s.handleSendActivation},
		{"POST", "/v1/orgs/{cvr}/activations", true, s.handleBulkActivation},
		{"POST", "/v1/activate", false, s.handleActivate},
		{"GET", "/v1/outbox", true, s.handleOutbox},
		{"GET", "/v1/orgs/{cvr}/login-activity", true, s.handleLoginActivity},
		{"POST", "/v1/orgs/{cvr}/users:inactivate", true, s.handleBulkStatus("user.inactivate")},
		{"POST", "/v1/orgs/{cvr}/users:activate", true, s.handleBulkStatus("user.activate")},
		{"POST", "/v1/orgs/{cvr}/associations", true, s.handleCreateAssociation},
		{"POST", "/v1/users/{id}/confirm", true, s.handleConfirm},
		{"GET", "/v1/orgs/{cvr}/lifecycle", true, s.handleLifecyclePreview},
		{"POST", "/v1/users/{id}/password:reset", true, s.handlePasswordReset},
		{"POST", "/v1/users/{id}/unblock", true, s.handleUnblock},
		{"POST", "/v1/orgs/{cvr}/admins", true, s.handleCreateAdmin},
		{"GET", "/v1/orgs/{cvr}/admins", true, s.handleListAdmins},
		{"POST", "/v1/users/{id}/anonymity-requests", true, s.handleCreateAnonymityRequest},
		{"GET", "/v1/orgs/{cvr}/anonymity-requests", true, s.handleListAnonymityRequests},
		{"POST", "/v1/anonymity-requests/{id}/approve", true, s.handleDecideAnonymityRequest(true)},
		{"POST", "/v1/anonymity-requests/{id}/reject", true, s.handleDecideAnonymityRequest(false)},
		{"GET", "/v1/notifications", true, s.handleListNotifications},
		{"POST", "/v1/notifications/{id}/read", true, s.handleReadNotification},
		{"GET", "/v1/me", true, s.handleMe},
		{"POST", "/v1/orgs/{cvr}/privileges:check", true, s.handlePrivilegesCheck},
		{"POST", "/v1/orgs/{cvr}/certificates", true, s.handleOrderCertificate},
		{"GET", "/v1/orgs/{cvr}/certificates", true, s.handleListCertificates},
		{"GET", "/v1/certificates/{serial}", true, s.handleGetCertificate},
		{"POST", "/v1/certificates/{serial}/issue", true, s.handleCertificateAction("certificate.issue")},
		{"POST", "/v1/certificates/{serial}/revoke", true, s.handleCertificateAction("certificate.revoke")},
		{"POST", "/v1/certificates/{serial}/renew", true, s.handleCertificateAction("certificate.renew")},
		{"DELETE", "/v1/certificates/{serial}", true, s.handleCertificateAction("certificate.delete")},
		{"POST", "/v1/users/{id}/transfer-admin", true, s.handleTransferAdmin},
		{"GET", "/v1/decisions", true, s.handleListDecisions},
		{"GET", "/v1/decisions/{decision_id}", true, s.handleGetDecision},
		{"GET", "/v1/orgs", true, s.handleListOrgs},
		{"GET", "/v1/groups/{id}/members", true, s.handleListMembers},
		{"GET", "/v1/orgs/{cvr}/imports", true, s.handleListImports},
		{"POST", "/v1/imports/{id}/retire", true, s.handleRetireImport},
	}
}

// routes registers the route table with authentication, panic recovery
// and the request log; an unknown path answers 404, a known path with
// another method 405.
func (s *Server) routes() *mux.Router {
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, store.Errorf(store.ENotFound, "no route %s %s", r.Method, r.URL.Path))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, pdpapi.MethodNotAllowed(r.Method))
	})
	for _, rt := range s.routeTable() {
		s.handle(r, rt.method, rt.path, rt.auth, rt.handler)
	}
	return r
}

// handle registers one route with authentication, panic recovery and the
// request log line.
func (s *Server) handle(r *mux.Router, method, path string, auth bool, fn handlerFunc) {
	r.Handle(path, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		var c *admin.Caller
		defer func() {
			if p := recover(); p != nil {
				s.log.Error().Str("route", method+" "+path).Str("panic", pdp.MaskCPR(fmt.Sprint(p))).Msg("admin handler panic")
				if !rec.wrote {
					writeErr(rec, fmt.Errorf("panic"))
				}
			}
			elapsed := time.Since(start)
			s.metrics.observe(path, method, rec.status, elapsed)
			ev := s.log.Info().Str("method", method).Str("route", path).Int("status", rec.status).
				Dur("duration", elapsed)
			if c != nil {
				ev = ev.Str("actor", c.Actor())
				if c.TokenID() != "" {
					ev = ev.Str("token", c.TokenID())
				}
			}
			ev.Msg("admin request")
		}()
		if auth {
			var err error
			if c, err = s.authenticate(req); err != nil {
				rec.Header().Set("WWW-Authenticate", `Bearer realm="adgang-admin"`)
				writeErr(rec, err)
				return
			}
		}
		fn(rec, req, c)
	})).Methods(method)
}

// writeError answers err and logs internal errors (masked: never a CPR).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if httpStatus(err) >= 500 {
		s.log.Error().Str("method", r.Method).Str("route", routeOf(r)).Str("error", pdp.MaskCPR(err.Error())).Msg("admin request failed")
	}
	writeErr(w, err)
}

// handlerFunc is an admin handler: c is the authenticated caller (nil on
// the unauthenticated /openapi.json).
type handlerFunc func(w http.ResponseWriter, r *http.Request, c *admin.Caller)

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// routeOf is the route template r matched, for the log ("?" if none).
func routeOf(r *http.Request) string {
	if rt := mux.CurrentRoute(r); rt != nil {
		if t, err := rt.GetPathTemplate(); err == nil {
			return t
		}
	}
	return "?"
}
