// Package admin is Adgang's admin HTTP API (SPEC §3 and §5): bearer-token
// or JWT authentication, Casbin role checks per organisation (A1, A14),
// and handlers that gather facts from the store, ask the adgang.admin
// Rego rules (A2–A13) through pdp.Engine.CheckAdmin, and store each
// accepted change in one store transaction with its audit events.
//
// Nothing here decides a rule that Rego decides: the Go code only reads
// facts (the target, the proposed change, the holders of admin roles, the
// unique-index conflicts) and applies what the policy allows.
package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"github.com/rs/zerolog"

	"github.com/adgang/adgang/pdp"
	pdpapi "github.com/adgang/adgang/pdp/api"
	"github.com/adgang/adgang/store"
)

// Config configures New.
type Config struct {
	// Store is the system of record. Required.
	Store *store.Store
	// Engine asks the adgang.admin rules (CheckAdmin) and reloads the
	// rights catalogue after a change (RefreshRights). Required.
	Engine *pdp.Engine
	// Logger receives one line per request (method, route template,
	// status, actor, duration) and errors; never a body, a query string
	// or a CPR number.
	Logger zerolog.Logger
	// Now is the clock for token, JWT and grant expiry (default time.Now).
	Now func() time.Time
	// JWKSFile, when set, enables JWT bearer authentication: RS256/ES256
	// tokens signed by a key of this JWKS file, with issuer JWTIssuer and
	// audience JWTAudience (both then required), and `sub` a stored user.
	JWKSFile    string
	JWTIssuer   string
	JWTAudience string
	// CPRRefusalsPerDay is how many CPR refusals an administrator may meet
	// per day before changes by CPR number answer 429 (0: the default,
	// DefaultCPRRefusalsPerDay). See cprLimiter.
	CPRRefusalsPerDay int
}

// Server is the admin API. Safe for concurrent use. Close stops its
// change-feed goroutine.
type Service struct {
	st    *store.Store
	eng   *pdp.Engine
	log   zerolog.Logger
	now   func() time.Time
	roles *roleIndex
	jwt   *jwtVerifier
	memo  sync.Map // *store.Tx → *txMemo, for import batches
	cpr   *cprLimiter

	activation *activationThrottle // POST /v1/activate attempts per user and source
	metrics    *adminMetrics       // requests by route template and status, on the engine's registry

	router *mux.Router
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// New builds the role links from the store, subscribes to the store's
// change feed to keep them current, and prepares the routes.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Engine == nil {
		return nil, errors.New("admin: a store and a policy engine are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{st: cfg.Store, eng: cfg.Engine, log: cfg.Logger, now: cfg.Now, done: make(chan struct{}),
		cpr: newCPRLimiter(cfg.CPRRefusalsPerDay, cfg.Now)}
	s.activation = newActivationThrottle(cfg.Now)
	s.metrics = newAdminMetrics(cfg.Engine.Registry())
	if cfg.JWKSFile != "" {
		if cfg.JWTIssuer == "" || cfg.JWTAudience == "" {
			return nil, errors.New("admin: JWT authentication needs an issuer and an audience")
		}
		keys, err := loadJWKS(cfg.JWKSFile)
		if err != nil {
			return nil, err
		}
		s.jwt = &jwtVerifier{keys: keys, issuer: cfg.JWTIssuer, audience: cfg.JWTAudience}
	}
	s.roles = &roleIndex{st: cfg.Store, now: cfg.Now, wake: make(chan struct{}, 1)}
	// Subscribe before reading the links, so no change falls between.
	feed, unsubscribe := cfg.Store.Subscribe(1024)
	last := cfg.Store.Revision()
	if err := s.roles.rebuild(ctx); err != nil {
		unsubscribe()
		return nil, fmt.Errorf("admin: %w", err)
	}
	bg, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() {
		defer close(s.done)
		defer unsubscribe()
		s.followFeed(bg, feed, last)
	}()
	s.router = s.routes()
	// New knocks notify the org's administrators (notifications.go).
	cfg.Engine.SetKnockHook(s.notifyKnock)
	return s, nil
}

// Close stops the change-feed goroutine. Idempotent.
func (s *Service) Close() error {
	s.once.Do(func() {
		s.eng.SetKnockHook(nil)
		s.cancel()
		<-s.done
	})
	return nil
}

// Handler returns the admin API.
func (s *Service) Handler() http.Handler { return s.router }

// routes registers every route of the admin API (SPEC §5); the OpenAPI
// document admin/openapi.json lists the same set (a test walks both).
func (s *Service) routes() *mux.Router {
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, store.Errorf(store.ENotFound, "no route %s %s", r.Method, r.URL.Path))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, pdpapi.MethodNotAllowed(r.Method))
	})
	h := func(method, path string, fn handlerFunc) { s.handle(r, method, path, true, fn) }

	s.handle(r, http.MethodGet, "/openapi.json", false, s.handleOpenAPI)

	h(http.MethodPost, "/v1/orgs", s.handleCreateOrg)
	h(http.MethodGet, "/v1/orgs/{cvr}", s.handleGetOrg)
	h(http.MethodPatch, "/v1/orgs/{cvr}", s.handlePatchOrg)

	h(http.MethodPost, "/v1/orgs/{cvr}/users", s.handleCreateUser)
	h(http.MethodGet, "/v1/orgs/{cvr}/users", s.handleListUsers)
	h(http.MethodGet, "/v1/users/{id}", s.handleGetUser)
	h(http.MethodPatch, "/v1/users/{id}", s.handlePatchUser)
	h(http.MethodDelete, "/v1/users/{id}", s.handleDeleteUser)
	h(http.MethodPost, "/v1/users/{id}/inactivate", s.handleUserStatus("user.inactivate"))
	h(http.MethodPost, "/v1/users/{id}/activate", s.handleUserStatus("user.activate"))
	h(http.MethodPost, "/v1/users/{id}/deactivate", s.handleUserStatus("user.deactivate"))

	h(http.MethodPost, "/v1/users/{id}/grants", s.handleCreateUserGrant)
	h(http.MethodGet, "/v1/users/{id}/grants", s.handleListUserGrants)
	h(http.MethodDelete, "/v1/grants/{id}", s.handleDeleteGrant)

	h(http.MethodPost, "/v1/orgs/{cvr}/groups", s.handleCreateGroup)
	h(http.MethodGet, "/v1/groups/{id}", s.handleGetGroup)
	h(http.MethodDelete, "/v1/groups/{id}", s.handleDeleteGroup)
	h(http.MethodPost, "/v1/groups/{id}/members", s.handleAddMember)
	h(http.MethodDelete, "/v1/groups/{id}/members/{user_id}", s.handleRemoveMember)
	h(http.MethodPost, "/v1/groups/{id}/grants", s.handleCreateGroupGrant)

	h(http.MethodGet, "/v1/rights", s.handleListRights)
	h(http.MethodPut, "/v1/rights/{id}", s.handlePutRight)

	h(http.MethodGet, "/v1/orgs/{cvr}/knocks", s.handleListKnocks)
	h(http.MethodPost, "/v1/knocks/{id}/accept", s.handleAcceptKnock)
	h(http.MethodDelete, "/v1/knocks/{id}", s.handleDeleteKnock)
	h(http.MethodPost, "/v1/orgs/{cvr}/knocks:delete", s.handleDeleteKnocks)

	h(http.MethodGet, "/v1/users/{id}/history", s.handleHistory)
	h(http.MethodGet, "/v1/orgs/{cvr}/audit", s.handleOrgAudit)

	h(http.MethodPost, "/v1/tokens", s.handleCreateToken)
	h(http.MethodGet, "/v1/tokens", s.handleListTokens)
	h(http.MethodDelete, "/v1/tokens/{id}", s.handleDeleteToken)

	h(http.MethodPost, "/v1/policy/check", s.handlePolicyCheck)

	// Issue 5: bulk CSV, activation, outbox, login activity, associations,
	// lifecycle preview and local passwords.
	h(http.MethodPost, "/v1/orgs/{cvr}/imports", s.handleImport)
	h(http.MethodGet, "/v1/imports/template.csv", s.handleImportTemplate)
	h(http.MethodPost, "/v1/users/{id}/activation", s.handleSendActivation)
	h(http.MethodPost, "/v1/orgs/{cvr}/activations", s.handleBulkActivation)
	s.handle(r, http.MethodPost, "/v1/activate", false, s.handleActivate)
	h(http.MethodGet, "/v1/outbox", s.handleOutbox)
	h(http.MethodGet, "/v1/orgs/{cvr}/login-activity", s.handleLoginActivity)
	h(http.MethodPost, "/v1/orgs/{cvr}/users:inactivate", s.handleBulkStatus("user.inactivate"))
	h(http.MethodPost, "/v1/orgs/{cvr}/users:activate", s.handleBulkStatus("user.activate"))
	h(http.MethodPost, "/v1/orgs/{cvr}/associations", s.handleCreateAssociation)
	h(http.MethodPost, "/v1/users/{id}/confirm", s.handleConfirm)
	h(http.MethodGet, "/v1/orgs/{cvr}/lifecycle", s.handleLifecyclePreview)
	h(http.MethodPost, "/v1/users/{id}/password:reset", s.handlePasswordReset)
	h(http.MethodPost, "/v1/users/{id}/unblock", s.handleUnblock)
	h(http.MethodPost, "/v1/orgs/{cvr}/admins", s.handleCreateAdmin)
	h(http.MethodGet, "/v1/orgs/{cvr}/admins", s.handleListAdmins)

	// Issue 17 (part 2): anonymity requests, notifications, my profile.
	h(http.MethodPost, "/v1/users/{id}/anonymity-requests", s.handleCreateAnonymityRequest)
	h(http.MethodGet, "/v1/orgs/{cvr}/anonymity-requests", s.handleListAnonymityRequests)
	h(http.MethodPost, "/v1/anonymity-requests/{id}/approve", s.handleDecideAnonymityRequest(true))
	h(http.MethodPost, "/v1/anonymity-requests/{id}/reject", s.handleDecideAnonymityRequest(false))
	h(http.MethodGet, "/v1/notifications", s.handleListNotifications)
	h(http.MethodPost, "/v1/notifications/{id}/read", s.handleReadNotification)
	h(http.MethodGet, "/v1/me", s.handleMe)
	// Issue 16: NemLog-in privilege lists in (dry run, changes nothing).
	h(http.MethodPost, "/v1/orgs/{cvr}/privileges:check", s.handlePrivilegesCheck)
	// Issue 17 (part 1): certificates, role transfer.
	h(http.MethodPost, "/v1/orgs/{cvr}/certificates", s.handleOrderCertificate)
	h(http.MethodGet, "/v1/orgs/{cvr}/certificates", s.handleListCertificates)
	h(http.MethodGet, "/v1/certificates/{serial}", s.handleGetCertificate)
	h(http.MethodPost, "/v1/certificates/{serial}/issue", s.handleCertificateAction("certificate.issue"))
	h(http.MethodPost, "/v1/certificates/{serial}/revoke", s.handleCertificateAction("certificate.revoke"))
	h(http.MethodPost, "/v1/certificates/{serial}/renew", s.handleCertificateAction("certificate.renew"))
	h(http.MethodDelete, "/v1/certificates/{serial}", s.handleCertificateAction("certificate.delete"))
	h(http.MethodPost, "/v1/users/{id}/transfer-admin", s.handleTransferAdmin)
	// Issue 16: the queryable decision log (S11).
	h(http.MethodGet, "/v1/decisions", s.handleListDecisions)
	h(http.MethodGet, "/v1/decisions/{decision_id}", s.handleGetDecision)
	// Issue 18: every collection pages (admin/page.go).
	h(http.MethodGet, "/v1/orgs", s.handleListOrgs)
	h(http.MethodGet, "/v1/groups/{id}/members", s.handleListMembers)
	// Issue 17 (half done): import batches ("Vis importerede", "Nedlæg import").
	h(http.MethodGet, "/v1/orgs/{cvr}/imports", s.handleListImports)
	h(http.MethodPost, "/v1/imports/{id}/retire", s.handleRetireImport)
	return r
}

// handlerFunc is an admin handler: c is the authenticated caller (nil on
// the unauthenticated /openapi.json).
type handlerFunc func(w http.ResponseWriter, r *http.Request, c *Caller)

// handle registers one route with authentication, panic recovery and the
// request log line.
func (s *Service) handle(r *mux.Router, method, path string, auth bool, fn handlerFunc) {
	r.Handle(path, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		var c *Caller
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
				ev = ev.Str("actor", c.actor)
				if c.tokenID != "" {
					ev = ev.Str("token", c.tokenID)
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

// writeError answers err and logs internal errors (masked: never a CPR).
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if httpStatus(err) >= 500 {
		s.log.Error().Str("method", r.Method).Str("route", routeOf(r)).Str("error", pdp.MaskCPR(err.Error())).Msg("admin request failed")
	}
	writeErr(w, err)
}

func routeOf(r *http.Request) string {
	if rt := mux.CurrentRoute(r); rt != nil {
		if t, err := rt.GetPathTemplate(); err == nil {
			return t
		}
	}
	return "?"
}

// followFeed keeps the role links current from the store's change feed,
// reads commits the feed dropped from the store's recent changes, and
// drops links whose grant expired.
func (s *Service) followFeed(ctx context.Context, feed <-chan store.Commit, last uint64) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	arm := func() {
		timer.Stop()
		if next := s.roles.nextExpiry(); !next.IsZero() {
			timer.Reset(max(next.Sub(s.now()), 0) + time.Millisecond)
		}
	}
	arm()
	for {
		select {
		case <-ctx.Done():
			return
		case ch, ok := <-feed:
			if !ok {
				return
			}
			changes := ch.Changes
			if ch.Revision > last+1 {
				missed, err := s.changesBetween(last, ch.Revision)
				if err != nil {
					s.log.Warn().Err(err).Msg("admin: read missed changes; rebuilding role links")
					s.rebuildRoles(ctx)
					changes = nil
				} else {
					changes = append(missed, changes...)
				}
			}
			last = max(last, ch.Revision)
			if err := s.roles.apply(ctx, changes); err != nil {
				s.log.Error().Err(err).Msg("admin: update role links")
				s.rebuildRoles(ctx)
			}
		case <-s.roles.wake:
			arm()
		case <-timer.C:
			if err := s.roles.expire(ctx); err != nil {
				s.log.Error().Err(err).Msg("admin: expire role links")
			}
			arm()
		}
	}
}

func (s *Service) rebuildRoles(ctx context.Context) {
	if err := s.roles.rebuild(ctx); err != nil && ctx.Err() == nil {
		s.log.Error().Err(err).Msg("admin: rebuild role links")
	}
}

// maxReplay bounds how many missed changes are replayed one by one before
// a full rebuild is cheaper.
const maxReplay = 10000

// changesBetween returns the typed changes of revisions in (from, to),
// from the store's recent commits; an error when the store no longer
// holds them all or there are too many to replay.
func (s *Service) changesBetween(from, to uint64) ([]store.Change, error) {
	commits, ok := s.st.ChangesSince(from)
	if !ok {
		return nil, fmt.Errorf("changes after revision %d are no longer held", from)
	}
	var out []store.Change
	for _, c := range commits {
		if c.Revision < to {
			out = append(out, c.Changes...)
		}
	}
	if len(out) > maxReplay {
		return nil, fmt.Errorf("%d missed changes", len(out))
	}
	return out, nil
}

// syncRoles applies the server's own write of revision rev to the role
// links before the request is answered (read-your-writes: a grant of an
// admin right takes effect at once). The feed applies it again later,
// which is harmless.
func (s *Service) syncRoles(ctx context.Context, rev uint64) {
	ctx = context.WithoutCancel(ctx)
	changes, err := s.changesBetween(rev-1, rev+1)
	if err == nil {
		err = s.roles.apply(ctx, changes)
	}
	if err != nil {
		s.log.Error().Err(err).Uint64("revision", rev).Msg("admin: update role links after write")
		s.rebuildRoles(ctx)
	}
}

// --- callers and authorisation ---

// caller is an authenticated client of the admin API.
type Caller struct {
	subject    string // Casbin subject: a user id, or token:<id> for superadmin tokens
	actor      string // audit actor: the user id, or token:<id>
	userID     string // the user the credentials act for ("" for unbound superadmin tokens)
	tokenID    string // the API token used ("" for JWT)
	superadmin bool
	expires    *time.Time // when the credentials expire (JWT exp, token expires_at); nil: never
	cprLinked  bool       // the user the credentials act for has a linked CPR number (A18)
}

// actorInput is the policy input's actor: its roles in org.
func (s *Service) actorInput(c *Caller, org string) map[string]any {
	id := c.userID
	if id == "" {
		id = c.actor
	}
	return map[string]any{"id": id, "superadmin": c.superadmin, "roles": s.roles.rolesIn(c.subject, org),
		"cpr_linked": c.cprLinked}
}

// notFound is the one not-found answer for an object: a missing object
// and an object of an organisation where the caller holds no role (A1)
// answer exactly alike, so neither existence nor the rule leaks.
func notFound(what string) error { return store.Errorf(store.ENotFound, "%s not found", what) }

func invalid(format string, args ...any) error { return store.Errorf(store.EInvalid, format, args...) }

// forbidden is an A14 refusal: the caller's role lacks the permission.
func forbidden(format string, args ...any) error {
	return store.RuleError(store.EForbidden, "A14", "forbidden", format, args...)
}

// authorize decides A1 and A14 for an action on an object of org: a
// caller without any role in org gets notFound(what) (never 403), a role
// without the permission gets 403 forbidden (A14).
func (s *Service) authorize(c *Caller, org, what, obj, act string) error {
	if !c.superadmin && len(s.roles.rolesIn(c.subject, org)) == 0 {
		return notFound(what)
	}
	ok, err := s.roles.enforce(c.subject, org, obj, act)
	if err != nil {
		return fmt.Errorf("casbin: %w", err)
	}
	if !ok {
		return forbidden("your role in organisation %s may not %s %s", org, act, strings.ReplaceAll(obj, "_", " "))
	}
	return nil
}

// authorizeGlobal decides A14 for objects outside any organisation (org
// creation, the rights catalogue, tokens): allowed when a role the caller
// holds in some organisation (or superadmin) permits it.
func (s *Service) authorizeGlobal(c *Caller, obj, act string) error {
	domains := s.roles.domainsOf(c.subject)
	for _, d := range domains {
		ok, err := s.roles.enforce(c.subject, d, obj, act)
		if err != nil {
			return fmt.Errorf("casbin: %w", err)
		}
		if ok {
			return nil
		}
	}
	return forbidden("your roles may not %s %s", act, obj)
}
