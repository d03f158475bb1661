// Package admin is Adgang's change service (SPEC §3 and §5), without
// net/http: bearer-token or JWT credential checks (Service.Authenticate),
// Casbin role checks per organisation (A1, A14), and typed Service
// methods that gather facts from the store, ask the adgang.admin Rego
// rules (A2–A13) through pdp.Engine.CheckAdmin, and store each accepted
// change in one store transaction with its audit events. The admin
// listener that calls them over HTTP is package admin/api.
//
// Nothing here decides a rule that Rego decides: the Go code only reads
// facts (the target, the proposed change, the holders of admin roles, the
// unique-index conflicts) and applies what the policy allows.
package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// Config configures New.
type Config struct {
	// Store is the system of record. Required.
	Store *store.Store
	// Engine asks the adgang.admin rules (CheckAdmin) and reloads the
	// rights catalogue after a change (RefreshRights). Required.
	Engine *pdp.Engine
	// Logger receives the service's errors and import summaries; never
	// a CPR number. (The request log is admin/api's.)
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

// Service is the change service. Safe for concurrent use. Close stops its
// change-feed goroutine.
type Service struct {
	st  *store.Store
	eng *pdp.Engine
	log zerolog.Logger
	now func() time.Time
	// tokens are the callers API tokens resolved to (tokencache.go).
	tokens tokenCache
	roles  *roleIndex
	jwt    *jwtVerifier
	memo   sync.Map // *store.Tx → *txMemo, for import batches
	cpr    *cprLimiter

	activation *activationThrottle // POST /v1/activate attempts per user and source

	// rolesAt is the revision through which the role links have applied
	// every change (rolesUpTo).
	rolesAt atomic.Uint64

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
	s.rolesAt.Store(last)
	bg, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() {
		defer close(s.done)
		defer unsubscribe()
		s.followFeed(bg, feed, last)
	}()
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
			if s.rolesAt.Load() >= ch.Revision {
				// This revision and every one before it are in the links
				// already (rolesAt only moves past applied revisions): a
				// write on this node applied its own in its request
				// (syncRoles). Applying them again cost as much as that.
				last = max(last, ch.Revision)
				continue
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
			s.rolesApplied(ch.Revision)
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

// rebuildRoles rebuilds the role links; false (logged) when it failed.
func (s *Service) rebuildRoles(ctx context.Context) bool {
	err := s.roles.rebuild(ctx)
	if err != nil && ctx.Err() == nil {
		s.log.Error().Err(err).Msg("admin: rebuild role links")
	}
	return err == nil
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

// Revision is the store revision this node has applied.
func (s *Service) Revision() uint64 { return s.st.Revision() }

// WaitRevision returns once this node's store has applied revision rev
// (the consistency token of the admin API's reads), or answers 503
// revision_not_reached after the decision engine's --min-revision-wait.
func (s *Service) WaitRevision(ctx context.Context, rev uint64) error {
	return s.eng.WaitRevision(ctx, rev)
}

// rolesApplied records that the role links reflect every change through
// revision rev.
func (s *Service) rolesApplied(rev uint64) {
	for {
		at := s.rolesAt.Load()
		if at >= rev || s.rolesAt.CompareAndSwap(at, rev) {
			return
		}
	}
}

// rolesUpTo brings the role links up to revision rev before a change is
// planned on the state of rev (inside its write transaction). The links
// follow the change feed on their own; this matters when commits arrive
// faster than the feed is read — in a fleet, whole runs of other nodes'
// writes are applied just before a write — because a change reads the
// holders of admin roles (A10) and the caller's roles (A14) from them.
func (s *Service) rolesUpTo(ctx context.Context, rev uint64) error {
	at := s.rolesAt.Load()
	if at >= rev {
		return nil
	}
	changes, err := s.changesBetween(at, rev+1)
	if err == nil {
		err = s.roles.apply(context.WithoutCancel(ctx), changes)
	}
	if err != nil {
		if err := s.roles.rebuild(context.WithoutCancel(ctx)); err != nil {
			return fmt.Errorf("admin: role links: %w", err)
		}
	}
	s.rolesApplied(rev)
	return nil
}

// syncRoles applies the server's own write of revision rev to the role
// links before the request is answered (read-your-writes: a grant of an
// admin right takes effect at once). Once the links hold every revision
// through rev, the feed does not apply it again; when neither the apply
// nor a rebuild succeeded, the revision is left to the feed.
func (s *Service) syncRoles(ctx context.Context, rev uint64) {
	ctx = context.WithoutCancel(ctx)
	changes, err := s.changesBetween(rev-1, rev+1)
	if err == nil {
		err = s.roles.apply(ctx, changes)
	}
	if err != nil {
		s.log.Error().Err(err).Uint64("revision", rev).Msg("admin: update role links after write")
		if !s.rebuildRoles(ctx) {
			return
		}
	}
	if s.rolesAt.Load() >= rev-1 {
		s.rolesApplied(rev)
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

// Actor is the caller as the audit log names it: its user id, or
// token:<id> for an unbound superadmin token.
func (c *Caller) Actor() string { return c.actor }

// TokenID is the API token the caller authenticated with ("" for a JWT).
func (c *Caller) TokenID() string { return c.tokenID }

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
