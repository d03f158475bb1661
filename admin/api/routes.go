// Package api is Adgang's admin listener (SPEC §3 and §5): the route
// table (which names how each route's body is decoded), bearer-token or
// JWT authentication, and handlers that call the change service (package
// admin) and encode its answer. Every error is answered through pdp/api's
// one error writer.
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
// document openapi.json lists the same set (a test walks both). A body
// is decoded by the adapter named here (withBody, withOptionalBody,
// noBody), and the plain page reads and deletions are answered by
// listIn, list and deleteByID.
func (s *Server) routeTable() []route {
	return []route{
		{"GET", "/openapi.json", false, s.handleOpenAPI},
		{"POST", "/v1/orgs", true, withBody(s, s.handleCreateOrg)},
		{"GET", "/v1/orgs/{cvr}", true, s.handleGetOrg},
		{"PATCH", "/v1/orgs/{cvr}", true, withBody(s, s.handlePatchOrg)},
		{"POST", "/v1/orgs/{cvr}/users", true, withBody(s, s.handleCreateUser)},
		{"GET", "/v1/orgs/{cvr}/users", true, listIn(s, "users", "cvr", s.svc.ListUsers)},
		{"GET", "/v1/users/{id}", true, s.handleGetUser},
		{"PATCH", "/v1/users/{id}", true, withBody(s, s.handlePatchUser)},
		{"DELETE", "/v1/users/{id}", true, deleteByID(s, s.svc.DeleteUser)},
		{"POST", "/v1/users/{id}/inactivate", true, withOptionalBody(s, s.handleUserStatus("user.inactivate"))},
		{"POST", "/v1/users/{id}/activate", true, withOptionalBody(s, s.handleUserStatus("user.activate"))},
		{"POST", "/v1/users/{id}/deactivate", true, withOptionalBody(s, s.handleUserStatus("user.deactivate"))},
		{"POST", "/v1/users/{id}/grants", true, withBody(s, s.handleCreateGrant(store.HolderUser))},
		{"GET", "/v1/users/{id}/grants", true, listIn(s, "grants", "id", s.svc.ListUserGrants)},
		{"DELETE", "/v1/grants/{id}", true, deleteByID(s, s.svc.DeleteGrant)},
		{"POST", "/v1/orgs/{cvr}/groups", true, withBody(s, s.handleCreateGroup)},
		{"GET", "/v1/groups/{id}", true, s.handleGetGroup},
		{"DELETE", "/v1/groups/{id}", true, deleteByID(s, s.svc.DeleteGroup)},
		{"POST", "/v1/groups/{id}/members", true, withBody(s, s.handleAddMember)},
		{"DELETE", "/v1/groups/{id}/members/{user_id}", true, s.handleRemoveMember},
		{"POST", "/v1/groups/{id}/grants", true, withBody(s, s.handleCreateGrant(store.HolderGroup))},
		{"GET", "/v1/rights", true, list(s, "rights", s.svc.ListRights)},
		{"PUT", "/v1/rights/{id}", true, withBody(s, s.handlePutRight)},
		{"GET", "/v1/orgs/{cvr}/knocks", true, listIn(s, "knocks", "cvr", s.svc.ListKnocks)},
		{"POST", "/v1/knocks/{id}/accept", true, withOptionalBody(s, s.handleAcceptKnock)},
		{"DELETE", "/v1/knocks/{id}", true, deleteByID(s, s.svc.DeleteKnock)},
		{"POST", "/v1/orgs/{cvr}/knocks:delete", true, withBody(s, s.handleDeleteKnocks)},
		{"GET", "/v1/users/{id}/history", true, listIn(s, "events", "id", s.svc.UserHistory)},
		{"GET", "/v1/orgs/{cvr}/audit", true, listIn(s, "events", "cvr", s.svc.OrgAudit)},
		{"POST", "/v1/tokens", true, withBody(s, s.handleCreateToken)},
		{"GET", "/v1/tokens", true, list(s, "tokens", s.svc.ListTokens)},
		{"DELETE", "/v1/tokens/{id}", true, deleteByID(s, s.svc.DeleteToken)},
		{"POST", "/v1/policy/check", true, withBody(s, s.handlePolicyCheck)},
		{"POST", "/v1/orgs/{cvr}/imports", true, s.handleImport},
		{"GET", "/v1/imports/template.csv", true, s.handleImportTemplate},
		{"POST", "/v1/users/{id}/activation", true, noBody(s, s.handleSendActivation)},
		{"POST", "/v1/orgs/{cvr}/activations", true, withBody(s, s.handleBulkActivation)},
		{"POST", "/v1/activate", false, withBody(s, s.handleActivate)},
		{"GET", "/v1/outbox", true, list(s, "mails", s.svc.Outbox)},
		{"GET", "/v1/orgs/{cvr}/login-activity", true, s.handleLoginActivity},
		{"POST", "/v1/orgs/{cvr}/users:inactivate", true, withBody(s, s.handleBulkStatus("user.inactivate"))},
		{"POST", "/v1/orgs/{cvr}/users:activate", true, withBody(s, s.handleBulkStatus("user.activate"))},
		{"POST", "/v1/orgs/{cvr}/associations", true, withBody(s, s.handleCreateAssociation)},
		{"POST", "/v1/users/{id}/confirm", true, noBody(s, s.handleConfirm)},
		{"GET", "/v1/orgs/{cvr}/lifecycle", true, s.handleLifecyclePreview},
		{"POST", "/v1/users/{id}/password:reset", true, noBody(s, s.handlePasswordReset)},
		{"POST", "/v1/users/{id}/unblock", true, noBody(s, s.handleUnblock)},
		{"POST", "/v1/orgs/{cvr}/admins", true, withBody(s, s.handleCreateAdmin)},
		{"GET", "/v1/orgs/{cvr}/admins", true, listIn(s, "admins", "cvr", s.svc.ListAdmins)},
		{"POST", "/v1/users/{id}/anonymity-requests", true, withOptionalBody(s, s.handleCreateAnonymityRequest)},
		{"GET", "/v1/orgs/{cvr}/anonymity-requests", true, listIn(s, "anonymity_requests", "cvr", s.svc.ListAnonymityRequests)},
		{"POST", "/v1/anonymity-requests/{id}/approve", true, s.handleDecideAnonymityRequest(true)},
		{"POST", "/v1/anonymity-requests/{id}/reject", true, s.handleDecideAnonymityRequest(false)},
		{"GET", "/v1/notifications", true, list(s, "notifications", s.svc.ListNotifications)},
		{"POST", "/v1/notifications/{id}/read", true, s.handleReadNotification},
		{"GET", "/v1/me", true, s.handleMe},
		{"POST", "/v1/orgs/{cvr}/privileges:check", true, s.handlePrivilegesCheck},
		{"POST", "/v1/orgs/{cvr}/certificates", true, withBody(s, s.handleOrderCertificate)},
		{"GET", "/v1/orgs/{cvr}/certificates", true, s.handleListCertificates},
		{"GET", "/v1/certificates/{serial}", true, s.handleGetCertificate},
		{"POST", "/v1/certificates/{serial}/issue", true, s.handleCertificateAction("certificate.issue")},
		{"POST", "/v1/certificates/{serial}/revoke", true, s.handleCertificateAction("certificate.revoke")},
		{"POST", "/v1/certificates/{serial}/renew", true, s.handleCertificateAction("certificate.renew")},
		{"DELETE", "/v1/certificates/{serial}", true, s.handleCertificateAction("certificate.delete")},
		{"POST", "/v1/users/{id}/transfer-admin", true, withBody(s, s.handleTransferAdmin)},
		{"GET", "/v1/decisions", true, s.handleListDecisions},
		{"GET", "/v1/decisions/{decision_id}", true, s.handleGetDecision},
		{"GET", "/v1/orgs", true, list(s, "orgs", s.svc.ListOrgs)},
		{"GET", "/v1/groups/{id}/members", true, listIn(s, "members", "id", s.svc.ListMembers)},
		{"GET", "/v1/orgs/{cvr}/imports", true, listIn(s, "imports", "cvr", s.svc.ListImports)},
		{"POST", "/v1/imports/{id}/retire", true, noBody(s, s.handleRetireImport)},
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
		authenticate := func() bool {
			var err error
			if c, err = s.authenticate(req); err != nil {
				rec.Header().Set("WWW-Authenticate", `Bearer realm="adgang-admin"`)
				writeErr(rec, err)
				return false
			}
			return true
		}
		authedAt := s.svc.Revision()
		if auth && !authenticate() {
			return
		}
		if method == http.MethodGet {
			// The consistency token on the admin API's reads (SPEC §8):
			// the answer is read at this revision or a later one.
			rev, err := pdpapi.MinRevision(req)
			if err == nil {
				err = s.svc.WaitRevision(req.Context(), rev)
			}
			if err != nil {
				writeErr(rec, err)
				return
			}
			// The credentials too: a token revoked at or before rev (on
			// another node, or while this request waited) is refused, as
			// on a node that had applied the revocation before the request.
			if auth && rev > authedAt && !authenticate() {
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
