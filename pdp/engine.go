// Package pdp is Adgang's decision service: it holds the compiled policy
// set, builds the policy input from a request and the store's login read,
// evaluates it with OPA, and serves the answers over HTTP (Adgang's own
// API, OPA's Data API and OpenID AuthZEN).
package pdp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/adgang/adgang/pdp/planvm"
	"github.com/adgang/adgang/store"
)

// Store is what the decision service needs from the system of record.
type Store interface {
	LoginView(ctx context.Context, cvr, subjectID, certSerial string) (*store.LoginView, error)
	View(ctx context.Context, fn func(tx *store.Tx) error) error
	Update(ctx context.Context, actor string, fn func(tx *store.Tx) error) (uint64, error)
	Subscribe(buffer int) (<-chan store.Commit, func())
	TouchLogins(ctx context.Context, logins map[string]time.Time) error
	Healthy() error
	Revision() uint64
	WaitRevision(ctx context.Context, rev uint64, d time.Duration) error
	ReplicaStatus() store.ReplicaStatus
	Fleet() bool
	KeepEvents(kind string, events []any) error
	ShippedEvents(ctx context.Context, kind string, limit int) ([][]byte, []int64, error)
	DoneEvents(ctx context.Context, seqs []int64) error
}

// Config configures an Engine. Zero values are safe defaults.
type Config struct {
	// Policies is where the policy set comes from (default: embedded).
	Policies Source
	// WatchInterval is how often a policy directory is checked for
	// changes (default 1s; negative disables watching).
	WatchInterval time.Duration
	// Logger receives operational logs.
	Logger zerolog.Logger
	// DecisionLog receives one JSON line per decision; nil switches it off.
	DecisionLog io.Writer
	// AuthZENEntrypoint is the rule the AuthZEN endpoints evaluate with the
	// AuthZEN request as input, e.g. "todo/decision" for
	// data.todo.decision. Empty maps AuthZEN onto the login decision.
	AuthZENEntrypoint string
	// Registerer receives the metrics (default: a new registry, see Gatherer).
	Registry *prometheus.Registry
	// Now is the clock (default time.Now).
	Now func() time.Time
	// LoginFlushInterval is how often last-login times are written in one
	// batch (default 1s).
	LoginFlushInterval time.Duration
	// LoginGranularity is how stale a recorded last-login time may be:
	// a login is written when the user's recorded one is at least this
	// old (default 1 minute; the rules that read it, L1 and L9, count
	// days). A sidecar asked per request would otherwise rewrite every
	// active user's record every LoginFlushInterval.
	LoginGranularity time.Duration
	// CacheSize bounds the login decision cache (default 300000 entries,
	// about 130 MB when full; negative disables it). Cached answers are exact: served
	// only while nothing their store read depended on has changed, for the policy set
	// and rights catalogue they came from.
	CacheSize int
	// CacheBytes bounds the approximate bytes the login decision cache
	// holds (default DefaultCacheBytes, 128 MiB; negative disables the
	// cache). Both bounds apply.
	CacheBytes int64
	// LoginEvaluator evaluates login decisions: "plan" (default) runs OPA's
	// query plan of the policy set in Go (pdp/plan.go, pdp/planvm), "wasm"
	// the set compiled to WebAssembly (pdp/wasm.go), each where it gives
	// topdown's answers on a check sample; "topdown" uses OPA's
	// interpreter only.
	LoginEvaluator string
	// KnockLimitPerOrg bounds the pending knocks of one organisation
	// (default 1000); a new identity beyond it is not queued, a known one
	// still updates its knock.
	KnockLimitPerOrg int
	// KnockLimitTotal bounds the pending knocks of all organisations
	// together (default 100000).
	KnockLimitTotal int

	// DecisionStore, when set, keeps every decision in the store's
	// queryable decision log (--decision-log-store on).
	DecisionStore DecisionLogStore
	// DecisionLogMode is DecisionLogBestEffort (default) or
	// DecisionLogLossless.
	DecisionLogMode string
	// DecisionLogRetention is how long stored decisions are kept
	// (default DefaultDecisionLogRetention).
	DecisionLogRetention time.Duration
	// DefaultDecision is the rule OPA's default-decision endpoint POST /
	// evaluates, as a slash path (default DefaultDecision).
	DefaultDecision string
	// MinRevisionWait is how long a decision asked with a min_revision
	// waits for the store to apply it before answering 503
	// revision_not_reached (default DefaultMinRevisionWait).
	MinRevisionWait time.Duration
	// MaxStaleness, when positive, makes decisions answer 503 while the
	// fleet replica has not been up to date with the system of record for
	// longer (off by default: a replica keeps answering).
	MaxStaleness time.Duration
}

// DefaultMinRevisionWait is Config.MinRevisionWait's default (SPEC §8).
const DefaultMinRevisionWait = time.Second

// Engine evaluates decisions. Safe for concurrent use.
type Engine struct {
	cfg    Config
	store  Store
	log    zerolog.Logger
	declog *zerolog.Logger
	now    func() time.Time

	policy    atomic.Pointer[PolicySet]
	bg        context.Context // the background work's, cancelled by Close
	policyErr atomic.Pointer[string]
	rights    atomic.Pointer[rightsIndex]

	metrics *metrics
	paths   atomic.Pointer[knownPaths] // metric labels of Data API paths

	knocks chan knockReq
	logins chan loginTouch
	cache  *decisionCache
	// deps checks a cached decision's dependencies (nil: a store without
	// dependency tracking; entries are then valid for one revision only).
	deps depChecker

	dlog *declogWriter // the stored decision log; nil when off

	knockHook atomic.Pointer[KnockHook] // runs in the knock flush transaction (knockhook.go)

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New loads the policy set (refusing a broken one), loads the rights
// catalogue and starts the background work (policy watcher, change feed,
// knock and last-login writers). Close stops it.
func New(ctx context.Context, st Store, cfg Config) (*Engine, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.WatchInterval == 0 {
		cfg.WatchInterval = time.Second
	}
	if cfg.LoginFlushInterval <= 0 {
		cfg.LoginFlushInterval = time.Second
	}
	if cfg.LoginGranularity <= 0 {
		cfg.LoginGranularity = time.Minute
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.KnockLimitPerOrg <= 0 {
		cfg.KnockLimitPerOrg = 1000
	}
	if cfg.KnockLimitTotal <= 0 {
		cfg.KnockLimitTotal = 100_000
	}
	switch cfg.LoginEvaluator {
	case "":
		cfg.LoginEvaluator = EvaluatorPlan
	case EvaluatorPlan, EvaluatorWasm, EvaluatorTopdown:
	default:
		return nil, fmt.Errorf("login evaluator %q: want %s, %s or %s", cfg.LoginEvaluator, EvaluatorPlan, EvaluatorWasm, EvaluatorTopdown)
	}
	e := &Engine{
		cfg:     cfg,
		store:   st,
		log:     cfg.Logger,
		now:     cfg.Now,
		metrics: newMetrics(cfg.Registry),
		knocks:  make(chan knockReq, 1024),
		cache:   newDecisionCache(cacheSize(cfg.CacheSize), cacheBytes(cfg.CacheBytes)),
		logins:  make(chan loginTouch, 8192),
	}
	e.deps, _ = st.(depChecker)
	if cfg.DecisionLog != nil {
		l := zerolog.New(cfg.DecisionLog).With().Timestamp().Logger()
		e.declog = &l
	}
	ps, err := LoadPolicySet(ctx, cfg.Policies)
	if err != nil {
		return nil, err
	}
	e.policy.Store(ps)
	e.metrics.reloads.WithLabelValues("ok").Inc()
	e.ops() // store revision and cache metrics
	if err := e.RefreshRights(ctx); err != nil {
		return nil, fmt.Errorf("load rights catalogue: %w", err)
	}

	bg, cancel := context.WithCancel(context.Background())
	e.cancel, e.bg = cancel, bg
	e.attachEvaluators(ps)
	feed, unsubscribe := st.Subscribe(256)
	e.goBackground(func() { defer unsubscribe(); e.followFeed(bg, feed) })
	e.goBackground(func() { e.writeKnocks(bg) })
	e.goBackground(func() { e.writeLogins(bg) })
	if cfg.DecisionStore != nil {
		e.dlog = newDeclogWriter(cfg.DecisionStore, cfg.DecisionLogMode, cfg.DecisionLogRetention, cfg.Now, cfg.Registry)
		e.goBackground(func() { e.dlog.run(bg) })
	}
	if (cfg.Policies.Dir != "" || len(cfg.Policies.Extra) > 0) && cfg.WatchInterval > 0 {
		e.goBackground(func() { e.watchPolicies(bg) })
	}
	return e, nil
}

func cacheSize(n int) int {
	if n == 0 {
		// Enough for every user of a 100k-user store to log in to a few
		// services: a cache smaller than the working set keeps evicting
		// entries that are asked for again (measured: at 100k users a
		// 100k-entry cache cost 2.4× the CPU per decision of one that
		// holds them all).
		return 300_000
	}
	return n
}

func cacheBytes(n int64) int64 {
	if n == 0 {
		return DefaultCacheBytes
	}
	return n
}

func (e *Engine) goBackground(fn func()) {
	e.wg.Add(1)
	go func() { defer e.wg.Done(); fn() }()
}

// Close stops the background work, flushing pending knocks and last-login
// times. It does not close the store.
func (e *Engine) Close() error {
	if e.cancel != nil {
		e.cancel()
		e.wg.Wait()
	}
	return nil
}

// Policy returns the policy set in use (nil if none).
func (e *Engine) Policy() *PolicySet { return e.policy.Load() }

// PolicyError returns the last policy reload error ("" if the last reload
// succeeded).
func (e *Engine) PolicyError() string {
	if p := e.policyErr.Load(); p != nil {
		return *p
	}
	return ""
}

// Reload loads the configured policy set again and swaps it in only if it
// compiles and its tests pass; otherwise the current set keeps serving and
// the error is kept for /health.
func (e *Engine) Reload(ctx context.Context) error {
	ps, err := LoadPolicySet(ctx, e.cfg.Policies)
	if err != nil {
		msg := err.Error()
		e.policyErr.Store(&msg)
		e.metrics.reloads.WithLabelValues("error").Inc()
		e.log.Error().Err(err).Msg("policy reload refused; previous policy set keeps serving")
		return err
	}
	e.policy.Store(ps)
	e.attachEvaluators(ps)
	e.policyErr.Store(nil)
	e.metrics.reloads.WithLabelValues("ok").Inc()
	e.log.Info().Str("policy", ps.ID).Int("tests", ps.Tests).Msg("policy set loaded")
	return nil
}

func (e *Engine) watchPolicies(ctx context.Context) {
	paths := append([]string{}, e.cfg.Policies.Extra...)
	if e.cfg.Policies.Dir != "" {
		paths = append(paths, e.cfg.Policies.Dir)
	}
	last := fingerprint(paths)
	t := time.NewTicker(e.cfg.WatchInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fp := fingerprint(paths)
		if fp == last {
			continue
		}
		last = fp
		_ = e.Reload(ctx)
	}
}

// fingerprint summarises names, sizes and modification times of files.
func fingerprint(paths []string) string {
	var b strings.Builder
	for _, p := range paths {
		_ = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				fmt.Fprintf(&b, "%s!%v;", path, err)
				return nil
			}
			if info, err := d.Info(); err == nil && !d.IsDir() {
				fmt.Fprintf(&b, "%s:%d:%d;", path, info.Size(), info.ModTime().UnixNano())
			}
			return nil
		})
	}
	return b.String()
}

// --- rights catalogue cache ---

type rightsIndex struct {
	byID      map[string]*ast.Term // id → policy input term
	byService map[string][]string  // service → right ids
	// The input's rights object of each service and of each right asked
	// alone, built once per catalogue: shared by every decision, never
	// changed (evaluators do not change their input).
	serviceRights map[string]*ast.Term
	oneRight      map[string]*ast.Term
}

// RefreshRights reloads the rights catalogue from the store. The admin API
// calls it after changing a right so the next decision sees the change.
func (e *Engine) RefreshRights(ctx context.Context) error {
	var rights []*store.Right
	if err := e.store.View(ctx, func(tx *store.Tx) error {
		var err error
		rights, err = tx.ListRights()
		return err
	}); err != nil {
		return err
	}
	idx := &rightsIndex{byID: map[string]*ast.Term{}, byService: map[string][]string{}}
	for _, r := range rights {
		idx.byID[r.ID] = rightTerm(r)
		idx.byService[r.Service] = append(idx.byService[r.Service], r.ID)
	}
	idx.serviceRights = make(map[string]*ast.Term, len(idx.byService))
	for svc, ids := range idx.byService {
		sort.Strings(ids)
		items := make([][2]*ast.Term, len(ids))
		for i, id := range ids {
			items[i] = [2]*ast.Term{strT(id), idx.byID[id]}
		}
		idx.serviceRights[svc] = planvm.Presorted(ast.NewTerm(ast.NewObject(items...)))
	}
	idx.oneRight = make(map[string]*ast.Term, len(idx.byID))
	for id, t := range idx.byID {
		idx.oneRight[id] = planvm.Presorted(ast.NewTerm(ast.NewObject([2]*ast.Term{strT(id), t})))
	}
	e.rights.Store(idx)
	return nil
}

func (e *Engine) followFeed(ctx context.Context, feed <-chan store.Commit) {
	last := e.store.Revision()
	for {
		select {
		case <-ctx.Done():
			return
		case ch, ok := <-feed:
			if !ok {
				return
			}
			gap := ch.Revision > last+1
			last = ch.Revision
			refresh := gap
			for _, c := range ch.Changes {
				if c.Kind == store.ChangeRight {
					refresh = true
				}
			}
			if refresh {
				if err := e.RefreshRights(ctx); err != nil {
					e.metrics.storeErrors.Inc()
					e.log.Error().Err(err).Msg("refresh rights catalogue")
				}
			}
		}
	}
}

// --- login decisions ---

// Subject is the identity an application authenticated.
type Subject struct {
	ID                string `json:"id"`
	CVR               string `json:"cvr"`
	PNumber           string `json:"p_number,omitempty"`
	Kind              string `json:"kind"`
	CPRLinked         bool   `json:"cpr_linked"`
	AuthMethod        string `json:"auth_method,omitempty"`
	CertificateSerial string `json:"certificate_serial,omitempty"`
	Name              string `json:"name,omitempty"`
	Email             string `json:"email,omitempty"`
}

// LoginRequest asks whether Subject may use Service (optionally one Right,
// optionally on one target P-number).
type LoginRequest struct {
	Subject Subject `json:"subject"`
	Service string  `json:"service"`
	Right   string  `json:"right,omitempty"`
	PNumber string  `json:"p_number,omitempty"`
	// MinRevision is the consistency token: the answer is checked valid at
	// this store revision or a later one (see Engine.WaitRevision).
	MinRevision uint64 `json:"min_revision,omitempty"`
}

// Validate checks the request's shape; it decides nothing about access.
func (r *LoginRequest) Validate() error {
	s := &r.Subject
	for _, f := range [...]struct{ name, v string }{
		{"subject.id", s.ID}, {"subject.cvr", s.CVR}, {"subject.p_number", s.PNumber},
		{"subject.kind", s.Kind}, {"subject.auth_method", s.AuthMethod},
		{"subject.certificate_serial", s.CertificateSerial}, {"subject.name", s.Name},
		{"subject.email", s.Email}, {"service", r.Service}, {"right", r.Right}, {"p_number", r.PNumber},
	} {
		if err := CheckLen(f.name, f.v); err != nil {
			return err
		}
	}
	if s.ID == "" {
		return store.Errorf(store.EInvalid, "subject.id is required (a UUID or CVR:…-RID:…)")
	}
	if store.ValidUUID(s.ID) != nil {
		if _, _, err := store.ParseLegacyID(s.ID); err != nil {
			return store.Errorf(store.EInvalid, "subject.id must be a UUID or a CVR:…-RID:… id")
		}
	}
	if err := store.ValidCVR(s.CVR); err != nil {
		return store.Errorf(store.EInvalid, "subject.cvr: %v", err)
	}
	if s.PNumber != "" {
		if err := store.ValidPNumber(s.PNumber); err != nil {
			return store.Errorf(store.EInvalid, "subject.p_number: %v", err)
		}
	}
	switch s.Kind {
	case "":
		s.Kind = string(store.KindEmployee)
	case string(store.KindEmployee), string(store.KindFunction), string(store.KindPrivate):
	default:
		return store.Errorf(store.EInvalid, "subject.kind must be employee, function or private")
	}
	if r.Service == "" && r.Right == "" {
		return store.Errorf(store.EInvalid, "service is required")
	}
	if r.PNumber != "" {
		if err := store.ValidPNumber(r.PNumber); err != nil {
			return store.Errorf(store.EInvalid, "p_number: %v", err)
		}
	}
	return nil
}

// Reason explains a decision: a SPEC reason code and its rule ID.
type Reason struct {
	Code    string `json:"code"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
	Right   string `json:"right,omitempty"`
	Grant   string `json:"grant,omitempty"`
	Info    bool   `json:"info,omitempty"`
}

// Scope is the effective scope of one right.
type Scope struct {
	All       bool     `json:"all"`
	CVR       string   `json:"cvr"`
	PNumbers  []string `json:"p_numbers"`
	SENumbers []string `json:"se_numbers"`
}

// RightScope is a right with its effective scope.
type RightScope struct {
	Right string `json:"right"`
	Scope Scope  `json:"scope"`
}

// Decision is the answer to a login request.
type Decision struct {
	DecisionID string       `json:"decision_id"`
	Allow      bool         `json:"allow"`
	Rights     []RightScope `json:"rights"`
	Reasons    []Reason     `json:"reasons"`
	Revision   uint64       `json:"revision"`
	Policy     string       `json:"policy,omitempty"`
	// Knock is present on a D2 denial (SPEC §8): whether the attempt was
	// put in the organisation's knock queue, so the application can tell
	// the person that an administrator will see the request.
	Knock *KnockAnswer `json:"knock,omitempty"`

	knock bool
	// validUntil is the policy's valid_until_ns: when the clock alone could
	// change this answer (zero: never). It bounds the decision cache.
	validUntil time.Time
	// body is the JSON answer after "decision_id" (see AppendJSON), encoded
	// once per computed decision and shared by its cached copies.
	body []byte
	// revAt, revEnd (revAt > 0): body names an earlier revision at
	// body[revAt:revEnd], where AppendJSON writes Revision instead (a cached
	// answer found still exact at a later revision).
	revAt, revEnd int
	// compact: Rights is nil and Reasons carry only code, rule and info;
	// the full answer is in body (a cached decision, see expand).
	compact bool
	// userID is the store user the decision is about ("" if none), for
	// the stored decision log.
	userID string
}

// KnockAnswer is a D2 denial's knock field. Queued is true when the
// policy put the attempt in the knock queue (adgang.login knock: an
// employee of an organisation that allows knocks, whose id is no user of
// another organisation); a known identity's knock is counted again. The
// queue's bounds (Config.KnockLimitPerOrg, KnockLimitTotal) may still
// drop a new knock; that is counted in adgang_knocks_dropped_total.
type KnockAnswer struct {
	Queued bool `json:"queued"`
}

// UnmarshalJSON reads {queued} and also the policy's own boolean knock,
// which the OPA Data API answers unchanged
// (POST /v1/data/adgang/login/decision), so both decode into a Decision.
func (k *KnockAnswer) UnmarshalJSON(b []byte) error {
	var queued bool
	if err := json.Unmarshal(b, &queued); err == nil {
		k.Queued = queued
		return nil
	}
	type plain KnockAnswer
	return json.Unmarshal(b, (*plain)(k))
}

// compacted is the form a decision is cached in: the encoded answer plus
// what the decision log and metrics read, not the decoded rights and
// messages (which would double the cache's memory).
func (d *Decision) compacted() Decision {
	c := *d
	c.Rights, c.compact = nil, true
	c.Reasons = make([]Reason, len(d.Reasons))
	for i, r := range d.Reasons {
		c.Reasons[i] = Reason{Code: r.Code, Rule: r.Rule, Info: r.Info}
	}
	return c
}

// expand restores a compact decision's rights and reasons from its body.
func (d *Decision) expand() error {
	if !d.compact {
		return nil
	}
	var full decisionBody
	if err := json.Unmarshal(append([]byte{'{'}, d.body...), &full); err != nil {
		return err
	}
	d.Rights, d.Reasons, d.Knock, d.compact = full.Rights, full.Reasons, full.Knock, false
	return nil
}

// decisionBody is a Decision's JSON answer without its decision_id.
type decisionBody struct {
	Allow    bool         `json:"allow"`
	Rights   []RightScope `json:"rights"`
	Reasons  []Reason     `json:"reasons"`
	Revision uint64       `json:"revision"`
	Policy   string       `json:"policy,omitempty"`
	Knock    *KnockAnswer `json:"knock,omitempty"`
}

// encodeBody fills d.body.
func (d *Decision) encodeBody() {
	b, err := json.Marshal(decisionBody{Allow: d.Allow, Rights: d.Rights, Reasons: d.Reasons, Revision: d.Revision, Policy: d.Policy, Knock: d.Knock})
	if err != nil || len(b) < 2 {
		d.body = nil
		return
	}
	d.body = b[1:] // without the opening brace
}

// AppendJSON appends the JSON answer of d, the same as encoding/json gives
// for Decision, from the body encoded once per computed decision.
func (d *Decision) AppendJSON(dst []byte) []byte {
	if d.body == nil {
		d.encodeBody()
	}
	dst = append(dst, `{"decision_id":`...)
	dst = strconv.AppendQuote(dst, d.DecisionID)
	if len(d.body) > 1 {
		dst = append(dst, ',')
	}
	if d.revAt > 0 {
		dst = append(dst, d.body[:d.revAt]...)
		dst = strconv.AppendUint(dst, d.Revision, 10)
		dst = append(dst, d.body[d.revEnd:]...)
	} else {
		dst = append(dst, d.body...)
	}
	return append(dst, '\n')
}

func newDecisionID() string { return uuid.NewString() }

// Fail-closed reason codes (Adgang additions beside SPEC §2).
const (
	ReasonPolicyUnavailable = "policy_unavailable"
	ReasonPolicyError       = "policy_error"
	ReasonStoreUnavailable  = "store_unavailable"
	RuleFailClosed          = "fail_closed"
)

// Denied is a deny decision with one reason and a new decision id, for a
// login refused before the login rules run (a wrong password).
func Denied(code, rule, msg string, revision uint64) *Decision {
	return &Decision{DecisionID: newDecisionID(), Rights: []RightScope{},
		Reasons: []Reason{{Code: code, Rule: rule, Message: msg}}, Revision: revision}
}

func failClosed(d *Decision, code, msg string) *Decision {
	d.Allow = false
	d.Rights = []RightScope{}
	d.Reasons = []Reason{{Code: code, Rule: RuleFailClosed, Message: msg}}
	return d
}

// Login evaluates a login decision. A broken policy or store gives a deny
// with a fail_closed reason, never an allow. Only a malformed request
// returns an error.
func (e *Engine) Login(ctx context.Context, req *LoginRequest, meta RequestMeta) (*Decision, error) {
	d, err := e.LoginAnswer(ctx, req, meta)
	if err != nil {
		return nil, err
	}
	if err := d.expand(); err != nil {
		return failClosed(d, ReasonPolicyError, "the cached login decision could not be read"), nil
	}
	return d, nil
}

// LoginAnswer is Login for the HTTP handler: a cached decision comes back
// compact (its encoded answer only), which is all the handler writes.
func (e *Engine) LoginAnswer(ctx context.Context, req *LoginRequest, meta RequestMeta) (*Decision, error) {
	start := time.Now()
	if err := req.Validate(); err != nil {
		return nil, err
	}
	d := e.login(ctx, req, LoginQuery)
	e.finish(ctx, "adgang/login", req, d, meta, start)
	return d, nil
}

// login evaluates query (a login entrypoint) over the enriched input.
func (e *Engine) login(ctx context.Context, req *LoginRequest, query string) *Decision {
	d := &Decision{DecisionID: newDecisionID()}
	ps := e.policy.Load()
	if ps == nil || !ps.hasLogin {
		return failClosed(d, ReasonPolicyUnavailable, "no valid login policy is loaded")
	}
	d.Policy = ps.ID
	now := e.now()
	// A cached answer is only as good as the store behind it: a broken
	// store must deny (fail closed), so health is checked first.
	idx := e.rights.Load()
	if query == LoginQuery && e.store.Healthy() == nil {
		// The revision is read before the validity check: whatever a write
		// up to rev touched is already recorded (see store.DepsChangedSince),
		// so an entry found valid is exact at rev, which the answer names.
		rev := e.store.Revision()
		if c := e.cache.get(req, rev, ps, idx, now, e.deps); c != nil {
			e.ops().cacheHits.Inc()
			cached := c.served(rev)
			cached.DecisionID = d.DecisionID
			cached.userID = c.userID
			last := c.loggedIn.Load()
			if next := e.afterLogin(ctx, req, &cached, c.userID, last, now); next != last {
				c.loggedIn.CompareAndSwap(last, next)
			}
			return &cached
		}
	}
	if query == LoginQuery && e.cache != nil {
		e.ops().cacheMisses.Inc()
	}
	view, err := e.store.LoginView(ctx, req.Subject.CVR, req.Subject.ID, req.Subject.CertificateSerial)
	if err != nil {
		e.metrics.storeErrors.Inc()
		e.log.Error().Err(err).Msg("store read for login decision failed")
		return failClosed(d, ReasonStoreUnavailable, "the store could not be read")
	}
	d.Revision = view.Revision
	input := e.loginInputWith(idx, req, view)
	var perr error // the answer's shape
	if query == LoginQuery {
		err, perr = e.decideLogin(ctx, ps, input, now, d)
	} else {
		var pq *rego.PreparedEvalQuery
		var rs rego.ResultSet
		if pq, err = ps.query(ctx, query); err == nil {
			if rs, err = pq.Eval(ctx, rego.EvalParsedInput(input)); err == nil {
				perr = parseLoginResult(rs, d)
			}
		}
	}
	if err != nil {
		e.log.Error().Err(err).Msg("login policy evaluation failed")
		return failClosed(d, ReasonPolicyError, "the login policy could not be evaluated")
	}
	if perr != nil {
		e.log.Error().Err(perr).Msg("login policy answered in an unexpected shape")
		return failClosed(d, ReasonPolicyError, "the login policy answered in an unexpected shape")
	}
	// When the user's login was last recorded (as read, or as queued
	// now): the cached entry goes on from there.
	userID, loggedIn := "", recordedLogin(view.User)
	if view.User != nil {
		userID = view.User.ID
	}
	d.userID = userID
	loggedIn = e.afterLogin(ctx, req, d, userID, loggedIn, now)
	if query == LoginQuery && e.cache != nil {
		// Encoded once for the cache's copies; without a cache the
		// body is made only if the caller asks for JSON (AppendJSON).
		d.encodeBody()
		e.cache.put(req, view, ps, idx, now, d, loggedIn)
	}
	return d
}

// loginAlways, as the recorded login time, queues every login.
const loginAlways = -1

// recordedLogin is u's recorded login time for afterLogin (Unix
// nanoseconds; 0: none or no user). A user still new has every login
// queued: its first one activates it (L1), and if that failed the next
// one tries again (its activation changes the record, so a cached entry
// of a new user lasts until then).
func recordedLogin(u *store.User) int64 {
	switch {
	case u == nil:
		return 0
	case u.Status == store.StatusNew:
		return loginAlways
	case u.LastLogin != nil:
		return u.LastLogin.UnixNano()
	}
	return 0
}

// afterLogin does what follows a decision off the decision path, unless
// ctx is quiet: queue a knock (D2) and record the login time of an allowed
// user (L9) when the one recorded (loggedIn, Unix nanoseconds; 0: none;
// loginAlways) is LoginGranularity old or older, or later than now (a
// clock set back). It returns the recorded time to go on from: now when a
// login was queued, else loggedIn (loginAlways stays).
func (e *Engine) afterLogin(ctx context.Context, req *LoginRequest, d *Decision, userID string, loggedIn int64, now time.Time) int64 {
	if isQuiet(ctx) {
		return loggedIn
	}
	if d.knock {
		e.enqueueKnock(req)
	}
	if !d.Allow || userID == "" {
		return loggedIn
	}
	if loggedIn > 0 {
		if age := now.Sub(time.Unix(0, loggedIn)); age >= 0 && age < e.cfg.LoginGranularity {
			return loggedIn
		}
	}
	if !e.touchLogin(userID, now) || loggedIn == loginAlways {
		return loggedIn
	}
	return now.UnixNano()
}

func parseLoginResult(rs rego.ResultSet, d *Decision) error {
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return errors.New("login decision undefined")
	}
	m, ok := rs[0].Expressions[0].Value.(map[string]any)
	if !ok {
		return errors.New("login decision is not an object")
	}
	allow, ok := m["allow"].(bool)
	if !ok {
		return errors.New("login decision has no boolean allow")
	}
	d.Allow = allow
	d.knock, _ = m["knock"].(bool)
	d.validUntil = time.Time{}
	if n, ok := m["valid_until_ns"].(json.Number); ok {
		if ns, err := n.Int64(); err == nil && ns > 0 {
			d.validUntil = time.Unix(0, ns)
		}
	}
	d.Rights = []RightScope{}
	if rights, ok := m["rights"].([]any); ok {
		for _, r := range rights {
			rm, _ := r.(map[string]any)
			rsc := RightScope{Right: str(rm["right"])}
			if sc, ok := rm["scope"].(map[string]any); ok {
				rsc.Scope.All, _ = sc["all"].(bool)
				rsc.Scope.CVR = str(sc["cvr"])
				rsc.Scope.PNumbers = strs(sc["p_numbers"])
				rsc.Scope.SENumbers = strs(sc["se_numbers"])
			}
			d.Rights = append(d.Rights, rsc)
		}
	}
	d.Reasons = []Reason{}
	if reasons, ok := m["reasons"].([]any); ok {
		for _, r := range reasons {
			rm, _ := r.(map[string]any)
			rr := Reason{Code: str(rm["code"]), Rule: str(rm["rule"]), Message: str(rm["message"]),
				Right: str(rm["right"]), Grant: str(rm["grant"])}
			rr.Info, _ = rm["info"].(bool)
			d.Reasons = append(d.Reasons, rr)
		}
	}
	sortReasons(d.Reasons)
	d.Knock = nil
	if slices.ContainsFunc(d.Reasons, func(r Reason) bool { return r.Rule == "D2" && !r.Info }) {
		d.Knock = &KnockAnswer{Queued: d.knock}
	}
	return nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func strs(v any) []string {
	arr, _ := v.([]any)
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// --- knock queue (D2, L6) ---

type knockReq struct {
	cvr, subjectID, name, email string
	at                          time.Time
}

// enqueueKnock queues a knock off the decision path. The name and e-mail
// come from an unauthenticated request: they are cleaned before they are
// queued (see knockName, knockEmail), so no CPR number is ever held.
func (e *Engine) enqueueKnock(req *LoginRequest) {
	k := knockReq{cvr: req.Subject.CVR, subjectID: req.Subject.ID, name: knockName(req.Subject.Name),
		email: knockEmail(req.Subject.Email), at: e.now().UTC()}
	select {
	case e.knocks <- k:
	default:
		e.metrics.knocksDropped.Inc()
	}
}

// knockName is a knock's display name: valid UTF-8 without control
// characters, at most store.MaxKnockField bytes, every CPR-shaped part
// masked (DDMMYY-****).
func knockName(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(maskCPRAnywhere(s))
	for len(s) > store.MaxKnockField {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	return s
}

// knockEmail is a knock's e-mail: a plain address of at most 254 bytes
// with no CPR number in it, or "" (an e-mail is not worth keeping masked:
// a user created from the knock could not use it).
func knockEmail(s string) string {
	if s == "" || len(s) > 254 || maskCPRAnywhere(s) != s {
		return ""
	}
	if a, err := mail.ParseAddress(s); err != nil || a.Address != s {
		return ""
	}
	return s
}

// maskCPRAnywhere masks every substring that parses as a CPR number
// (DDMMYYXXXX or DDMMYY-XXXX with a valid date), also inside longer
// words, where MaskCPR's word boundaries would not see it.
func maskCPRAnywhere(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i+10 <= len(s); i++ {
		if !sixDigits(s[i:]) {
			continue
		}
		for _, n := range []int{11, 10} {
			if i+n > len(s) || n == 11 && s[i+6] != '-' {
				continue
			}
			if _, err := store.ParseCPR(s[i : i+n]); err == nil {
				b.WriteString(s[last:i])
				b.WriteString(s[i:i+6] + "-****")
				last = i + n
				i += n - 1
				break
			}
		}
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func sixDigits(s string) bool {
	if len(s) < 6 {
		return false
	}
	for i := 0; i < 6; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// writeKnocks records knocks off the decision path, one transaction per
// batch of whatever has queued up.
func (e *Engine) writeKnocks(ctx context.Context) {
	for {
		var batch []knockReq
		select {
		case <-ctx.Done():
			e.flushKnocks(e.drainKnocks(nil))
			return
		case k := <-e.knocks:
			batch = e.drainKnocks([]knockReq{k})
		}
		e.flushKnocks(batch)
	}
}

func (e *Engine) drainKnocks(batch []knockReq) []knockReq {
	for len(batch) < 500 {
		select {
		case k := <-e.knocks:
			batch = append(batch, k)
		default:
			return batch
		}
	}
	return batch
}

func (e *Engine) flushKnocks(batch []knockReq) {
	if len(batch) == 0 {
		return
	}
	if e.store.Fleet() {
		// A fleet node keeps the attempts and ships them; the job lease
		// holder folds them into the queue (FoldKnocks).
		attempts := make([]any, len(batch))
		for i, k := range batch {
			attempts[i] = store.KnockAttempt{CVR: k.cvr, SubjectID: k.subjectID, Name: k.name, Email: k.email, At: k.at}
		}
		if err := e.store.KeepEvents(store.EventKnock, attempts); err != nil {
			e.metrics.storeErrors.Inc()
			e.log.Error().Err(err).Int("knocks", len(batch)).Msg("keep knocks")
		}
		return
	}
	e.recordKnocks(batch)
}

// FoldKnocks writes the knock attempts every node of a fleet shipped into
// the knock queue, in one write per batch (the quotas, the notification
// hook and the rules as on a store of its own); the node holding the job
// lease calls it. It answers how many attempts it folded.
func (e *Engine) FoldKnocks(ctx context.Context) (int, error) {
	bodies, token, err := e.store.ShippedEvents(ctx, store.EventKnock, 500)
	if err != nil || len(bodies) == 0 {
		return 0, err
	}
	batch := make([]knockReq, 0, len(bodies))
	for _, b := range bodies {
		var a store.KnockAttempt
		if json.Unmarshal(b, &a) == nil {
			batch = append(batch, knockReq{cvr: a.CVR, subjectID: a.SubjectID, name: a.Name, email: a.Email, at: a.At})
		}
	}
	if err := e.recordKnocks(batch); err != nil {
		return 0, err
	}
	return len(batch), e.store.DoneEvents(ctx, token)
}

// recordKnocks writes a batch of knocks to the queue in one write.
func (e *Engine) recordKnocks(batch []knockReq) error {
	dropped := 0
	_, err := e.store.Update(context.Background(), "system", func(tx *store.Tx) error {
		dropped = 0
		q := &knockQuota{perOrgLimit: e.cfg.KnockLimitPerOrg, totalLimit: e.cfg.KnockLimitTotal,
			perOrg: map[string]int{}, total: -1, onNew: e.knockHook.Load()}
		for _, k := range batch {
			ok, err := recordKnock(tx, k, q)
			if err != nil {
				return err
			}
			if !ok {
				dropped++
			}
		}
		return nil
	})
	if err != nil {
		e.metrics.storeErrors.Inc()
		e.log.Error().Err(err).Int("knocks", len(batch)).Msg("record knocks")
		return err
	}
	if dropped > 0 {
		e.metrics.knocksDropped.Add(float64(dropped))
	}
	return nil
}

// knockQuota counts pending knocks during one batch: per organisation and
// in total, each read from the store once (up to its limit) and then kept.
type knockQuota struct {
	perOrgLimit, totalLimit int
	perOrg                  map[string]int
	total                   int        // -1: not counted yet
	onNew                   *KnockHook // called for each newly queued knock (nil: none)
}

// recordKnock records one knock: a known identity (same org and subject
// id) updates its knock; a new one is queued only while the org and the
// whole queue are under their bounds, and only when no user already holds
// the subject's id (in any org: accepting such a knock could only fail).
// ok is false when the knock was dropped.
func recordKnock(tx *store.Tx, k knockReq, q *knockQuota) (ok bool, err error) {
	existing, err := tx.KnockBySubject(k.cvr, k.subjectID)
	switch {
	case err == nil:
		existing.Last = k.at
		existing.Count++
		if k.name != "" {
			existing.Name = k.name
		}
		if k.email != "" {
			existing.Email = k.email
		}
		return putKnock(tx, existing)
	case !store.IsNotFound(err):
		return false, err
	}
	if store.ValidUUID(k.subjectID) == nil {
		_, err = tx.GetUser(k.subjectID)
	} else {
		_, err = tx.UserByLegacyID(k.subjectID)
	}
	switch {
	case err == nil:
		return false, nil // already a user
	case !store.IsNotFound(err):
		return false, err
	}
	if q.total < 0 {
		q.total = tx.CountKnocks("", q.totalLimit)
	}
	n, counted := q.perOrg[k.cvr]
	if !counted {
		n = tx.CountKnocks(k.cvr, q.perOrgLimit)
		q.perOrg[k.cvr] = n
	}
	if q.total >= q.totalLimit || n >= q.perOrgLimit {
		return false, nil
	}
	kn := &store.Knock{ID: uuid.NewString(), Org: k.cvr, SubjectID: k.subjectID, Name: k.name,
		Email: k.email, First: k.at, Last: k.at, Count: 1}
	if store.ValidUUID(k.subjectID) == nil {
		kn.UUID = k.subjectID
	} else {
		kn.LegacyID = k.subjectID
	}
	if ok, err := putKnock(tx, kn); !ok || err != nil {
		return ok, err
	}
	q.perOrg[k.cvr]++
	q.total++
	if q.onNew != nil {
		if err := (*q.onNew)(tx, kn); err != nil {
			return false, err
		}
	}
	return true, nil
}

// putKnock writes a knock; a knock the store refuses is dropped rather
// than failing the whole batch.
func putKnock(tx *store.Tx, k *store.Knock) (bool, error) {
	err := tx.PutKnock(k)
	if c := store.ErrorCode(err); c == store.EInvalid || c == store.EConflict {
		return false, nil
	}
	return err == nil, err
}

// --- last login (L9), batched off the decision path ---

type loginTouch struct {
	userID string
	at     time.Time
}

// touchLogin queues userID's login at now for the next batch, and reports
// whether it was queued.
func (e *Engine) touchLogin(userID string, now time.Time) bool {
	select {
	case e.logins <- loginTouch{userID: userID, at: now.UTC()}:
		return true
	default: // a later login will record it; never block a decision
		return false
	}
}

func (e *Engine) writeLogins(ctx context.Context) {
	t := time.NewTicker(e.cfg.LoginFlushInterval)
	defer t.Stop()
	pending := map[string]time.Time{}
	for {
		select {
		case <-ctx.Done():
			e.drainLogins(pending)
			e.flushLogins(pending)
			return
		case l := <-e.logins:
			pending[l.userID] = l.at
			if len(pending) >= 5000 {
				e.flushLogins(pending)
			}
		case <-t.C:
			e.flushLogins(pending)
		}
	}
}

func (e *Engine) drainLogins(pending map[string]time.Time) {
	for {
		select {
		case l := <-e.logins:
			pending[l.userID] = l.at
		default:
			return
		}
	}
}

func (e *Engine) flushLogins(pending map[string]time.Time) {
	if len(pending) == 0 {
		return
	}
	if err := e.store.TouchLogins(context.Background(), pending); err != nil {
		e.metrics.storeErrors.Inc()
		e.log.Error().Err(err).Msg("record last login times")
		return
	}
	if err := e.activateFirstLogins(context.Background(), pending); err != nil {
		// The login times are recorded; the next login of a user still
		// new tries again (L1 keeps counting from its last login).
		e.metrics.storeErrors.Inc()
		e.log.Error().Err(err).Msg("activate users after their first login")
	}
	clear(pending)
}
