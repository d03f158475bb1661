package pdp

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/adgang/adgang/store"
)

// compiledCheckInputs is how many generated inputs a compiled login
// evaluator must answer exactly as topdown before it serves.
const compiledCheckInputs = 200

// compiledLogin is a policy set's login decision compiled for an evaluator
// other than topdown: OPA's query plan run by planvm (queryPlan) or the
// Wasm module run by wazero (loginWasm). Both are the same Rego, planned by
// OPA; topdown stays the reference they are checked against.
type compiledLogin interface {
	// name is the evaluator: EvaluatorPlan or EvaluatorWasm.
	name() string
	// eval evaluates the login decision over input, as evalLogin does.
	eval(ctx context.Context, input ast.Value, now time.Time) (ast.Value, error)
	// decide evaluates into d, as evalLogin and parseLoginValue do; perr
	// is the answer's shape.
	decide(ctx context.Context, input ast.Value, now time.Time, d *Decision) (err, perr error)
}

// attachedLogin is the compiled login a policy set serves with.
type attachedLogin struct{ compiledLogin }

// verdicts keeps a checked compilation of recent policy sets by key (the
// set's digest and what was compiled), or why there is none: a reload of
// an unchanged set, and every engine of a test binary, reuse it.
type verdicts[T any] struct {
	mu sync.Mutex
	m  map[string]verdict[T]
}

type verdict[T any] struct {
	v   T
	err error
}

// get returns the kept verdict for key, or builds it (one build at a
// time). A build cut short by ctx is not kept.
func (c *verdicts[T]) get(ctx context.Context, key string, build func() (T, error)) (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.m[key]; ok {
		return v.v, v.err
	}
	v, err := build()
	if ctx.Err() != nil {
		var zero T
		return zero, ctx.Err() // cut short: no verdict
	}
	if err != nil {
		var zero T
		v = zero
	}
	if c.m == nil || len(c.m) >= 8 {
		c.m = map[string]verdict[T]{} // the dropped ones go with their sets
	}
	c.m[key] = verdict[T]{v, err}
	return v, err
}

// compiledBuilt keeps the checked compiled login of recent policy sets.
var compiledBuilt verdicts[compiledLogin]

// checkedLogin is the set's login compiled for evaluator (EvaluatorPlan or
// EvaluatorWasm) and checked against topdown (checkLoginCompiled), once
// per set.
func checkedLogin(ctx context.Context, ps *PolicySet, evaluator string) (compiledLogin, error) {
	return compiledBuilt.get(ctx, ps.ID+"\x00"+evaluator, func() (compiledLogin, error) {
		var c compiledLogin
		var err error
		switch evaluator {
		case EvaluatorPlan:
			c, err = buildLoginPlan(ctx, ps)
		case EvaluatorWasm:
			c, err = buildLoginWasm(ctx, ps)
		default:
			err = fmt.Errorf("no compiled login evaluator %q", evaluator)
		}
		if err == nil {
			err = checkLoginCompiled(ctx, ps, c, 1, compiledCheckInputs)
		}
		return c, err
	})
}

// attachEvaluators compiles and checks, in one background goroutine, the
// set's login for the engine's evaluator (plan or wasm) and then, with
// plan, its admin decision (attachAdmin): topdown answers meanwhile, so a
// start or a reload is not held up (about a second at 1M users). A set
// that cannot be compiled, or whose compiled answers differ from
// topdown's, stays with topdown (logged). One after the other: both read
// the set's modules, whose lazily sorted parts OPA does not guard.
func (e *Engine) attachEvaluators(ps *PolicySet) {
	if e.cfg.LoginEvaluator == EvaluatorTopdown {
		close(ps.attached)
		return
	}
	e.goBackground(func() {
		defer close(ps.attached)
		e.attachCompiled(ps)
		e.attachAdmin(ps)
	})
}

// WaitSettled waits until the background compilation and checks of the
// serving policy set (attachEvaluators) are over, whatever they decided,
// or ctx ends. Benchmarks and tests that measure the engine wait for it,
// so that they do not measure those checks too.
func (e *Engine) WaitSettled(ctx context.Context) error {
	select {
	case <-e.Policy().attached:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("policy set %s: its evaluators are still being checked: %w", e.Policy().ID, ctx.Err())
	}
}

// attachCompiled compiles and checks the set's login (attachEvaluators).
func (e *Engine) attachCompiled(ps *PolicySet) {
	if !ps.hasLogin {
		return
	}
	evaluator := e.cfg.LoginEvaluator
	c, err := checkedLogin(e.bg, ps, evaluator)
	if err != nil {
		if e.bg.Err() == nil {
			e.log.Warn().Err(err).Str("policy", ps.ID).Str("evaluator", evaluator).Msg("login decisions use topdown: the compiled evaluator is not used for this policy set")
		}
		return
	}
	ps.compiled.Store(&attachedLogin{c})
	e.log.Info().Str("policy", ps.ID).Str("evaluator", evaluator).Msg("login decisions use the compiled evaluator")
}

// LoginEvaluator is what evaluates the set's login decisions now: "plan"
// or "wasm" once that compiled login is attached, else "topdown".
func (ps *PolicySet) LoginEvaluator() string {
	if a := ps.compiled.Load(); a != nil {
		return a.name()
	}
	return EvaluatorTopdown
}

// WaitLoginEvaluator waits until the serving policy set evaluates login
// decisions with want ("plan", "wasm" or "topdown"), or ctx ends: a
// compiled login is attached in the background after a start or reload.
// Benchmarks and tests that measure one evaluator wait for it.
func (e *Engine) WaitLoginEvaluator(ctx context.Context, want string) error {
	return waitEvaluator(ctx, "login", want, func() string { return e.Policy().LoginEvaluator() })
}

// WaitAdminEvaluator waits until the serving policy set evaluates admin
// decisions with want ("plan" or "topdown"), or ctx ends.
func (e *Engine) WaitAdminEvaluator(ctx context.Context, want string) error {
	return waitEvaluator(ctx, "admin", want, func() string { return e.Policy().AdminEvaluator() })
}

func waitEvaluator(ctx context.Context, what, want string, get func() string) error {
	for {
		got := get()
		if got == want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s evaluator is %s, want %s: %w", what, got, want, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// decideLogin evaluates the login decision into d: with the set's compiled
// login where it has one, with topdown otherwise and for whatever the
// compiled one hands back. perr is the answer's shape.
func (e *Engine) decideLogin(ctx context.Context, ps *PolicySet, input ast.Value, now time.Time, d *Decision) (err, perr error) {
	if a := ps.compiled.Load(); a != nil {
		err, perr := a.decide(ctx, input, now, d)
		if err == nil {
			return nil, perr
		}
		why := "error"
		if errors.Is(err, errNotWasm) {
			why = "input"
		} else {
			e.log.Error().Err(err).Str("evaluator", a.name()).Msg("compiled login evaluation failed; topdown evaluates this decision")
		}
		e.metrics.loginFallbacks.WithLabelValues(a.name(), why).Inc()
	}
	v, err := ps.evalLogin(ctx, input)
	if err != nil {
		return err, nil
	}
	return nil, parseLoginValue(v, d)
}

// checkLoginCompiled evaluates n generated login inputs (seeded: the same
// sample every time) with topdown and with c, and fails on the first
// answer that differs.
func checkLoginCompiled(ctx context.Context, ps *PolicySet, c compiledLogin, seed uint64, n int) error {
	r := rand.New(rand.NewPCG(seed, 0x61646761))
	now := time.Unix(1_800_000_000, 0)
	for i := range n {
		in := sampleLoginInput(r, now)
		want, err := ps.evalLogin(ctx, in)
		if err != nil {
			return fmt.Errorf("%s check input %d: topdown: %w", c.name(), i, err)
		}
		got, err := c.eval(ctx, in, now)
		if err != nil {
			return fmt.Errorf("%s check input %d: %w", c.name(), i, err)
		}
		if (want == nil) != (got == nil) || (want != nil && want.Compare(got) != 0) {
			return fmt.Errorf("%s check input %d: answered %v, topdown %v, for input %v", c.name(), i, got, want, in)
		}
		// The answer read the short way is the one parseLoginValue reads.
		var dt, dc Decision
		perrT := parseLoginValue(want, &dt)
		if err, perrC := c.decide(ctx, in, now, &dc); err != nil || (perrT == nil) != (perrC == nil) || !reflect.DeepEqual(dt, dc) {
			return fmt.Errorf("%s check input %d: decision %+v (%v, %v), topdown %+v (%v)", c.name(), i, dc, err, perrC, dt, perrT)
		}
	}
	return nil
}

// sampleLoginInput generates a login input of the shape loginInputWith
// builds, drawn from small pools so that identities, organisations, units,
// rights and grants meet: users of every status and kind, grants direct
// and through groups, on CVR, P- and SE-numbers, expiring or not, rights
// with every flag, certificates, passwords, asked rights and P-numbers.
func sampleLoginInput(r *rand.Rand, now time.Time) ast.Value {
	// Half the sample is of users who would log in but for one thing or
	// two: the rules decide on them, not the first check that fails.
	g := &sampler{r: r, now: now, ok: r.IntN(2) == 0}
	subject := g.subject()
	items := [][2]*ast.Term{
		item("subject", subjectTerm(&subject, strT(subject.ID), strT(subject.CVR))),
		item("now_ns", nsT(now)),
		item("user", userTerm(g.user(&subject), nil, nil)),
	}
	if g.odd(10) {
		items = append(items, item("org", nullT))
	} else {
		items = append(items, item("org", orgTerm(g.org(subject.CVR))))
	}
	service := g.pick("svc", "other")
	items = append(items, item("service", strT(service)))
	rights, rightIDs := g.rights(service)
	if g.r.IntN(3) == 0 {
		items = append(items, item("right", strT(g.pick(append(rightIDs, service+".unknown")...))))
	}
	grants, grantOrgs := g.grants(subject.CVR, rightIDs)
	items = append(items, item("rights", rights), item("grants", grants), item("grant_orgs", grantOrgs))
	if subject.PNumber != "" {
		items = append(items, item("p_number", strT(subject.PNumber)))
	}
	items = append(items, item("certificate", g.certificate()))
	return ast.NewObject(items...)
}

// sampler draws the parts of a sample login input.
type sampler struct {
	r   *rand.Rand
	now time.Time
	ok  bool // a user who would log in but for one thing or two
}

var (
	sampleCVRs  = []string{"10000001", "10000002", "10000003"}
	samplePNums = []string{"1000000001", "1000000002", "1000000003", "1000000004"}
	sampleSEs   = []string{"20000001", "20000002"}
)

func (g *sampler) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

// odd is true one time in n, one in 4n for a user who would log in.
func (g *sampler) odd(n int) bool {
	if g.ok {
		return g.r.IntN(4*n) == 0
	}
	return g.r.IntN(n) == 0
}

// at is a time within about four days of now.
func (g *sampler) at() time.Time { return g.now.Add(time.Duration(g.r.IntN(200)-100) * time.Hour) }

func (g *sampler) org(cvr string) *store.Org {
	o := &store.Org{CVR: cvr, Type: store.OrgType(g.pick("company", "authority", "a-kasse", "institution"))}
	for _, p := range samplePNums {
		if g.r.IntN(2) == 0 {
			o.PUnits = append(o.PUnits, store.PUnit{PNumber: p})
		}
	}
	for _, s := range sampleSEs {
		if g.r.IntN(2) == 0 {
			o.SENumbers = append(o.SENumbers, s)
		}
	}
	o.Settings.AllowKnock = g.r.IntN(2) == 0
	o.Settings.Deletion = g.pick("", store.DeletionAllowed, store.DeletionInactivateOnly)
	if g.r.IntN(3) == 0 {
		o.Settings.PasswordMaxAgeDays = 1 + g.r.IntN(90)
	}
	return o
}

func (g *sampler) subject() Subject {
	s := Subject{ID: g.pick("u1", "u2", "cert:1"), CVR: g.pick(sampleCVRs...), Kind: g.pick("employee", "function", "private", ""),
		CPRLinked: g.r.IntN(2) == 0, PNumber: g.pick("", "", samplePNums[0], samplePNums[1], "9999999999"),
		AuthMethod: g.pick("", "nemlogin", "password", "certificate")}
	if g.ok {
		s.Kind, s.CPRLinked = g.pick("employee", "employee", "function"), !g.odd(4)
	}
	if g.odd(4) {
		s.CertificateSerial = g.pick("s1", "s2")
	}
	return s
}

// user is the stored user of the subject, or nil.
func (g *sampler) user(s *Subject) *store.User {
	if g.odd(8) {
		return nil
	}
	u := &store.User{ID: s.ID, Org: g.pick(s.CVR, s.CVR, sampleCVRs[0]), Kind: store.UserKind(g.pick("employee", "function", "private")),
		Status:    store.UserStatus(g.pick("active", "active", "active", "new", "inactive", "deactivated", "deleted")),
		CPRLinked: g.r.IntN(2) == 0, PNumber: g.pick("", samplePNums[0], samplePNums[2]), SENumber: g.pick("", sampleSEs[0])}
	if g.ok {
		u.Org, u.Kind, u.Status = s.CVR, store.UserKind(s.Kind), store.UserStatus(g.pick("active", "active", "new"))
		if s.Kind == "" {
			u.Kind = store.KindEmployee
		}
	}
	if g.odd(4) {
		t := g.at()
		u.DeactivatedUntil = &t
	}
	if g.r.IntN(3) == 0 {
		u.Password = &store.Password{Temporary: g.r.IntN(3) == 0, ChangedAt: g.now.Add(-time.Duration(g.r.IntN(120*24)) * time.Hour), Blocked: g.r.IntN(5) == 0}
	}
	return u
}

// rights is the catalogue of the service: two to four rights.
func (g *sampler) rights(service string) (*ast.Term, []string) {
	rights := ast.NewObject()
	var ids []string
	for i := range 2 + g.r.IntN(3) {
		rt := &store.Right{ID: service + ".r" + strconv.Itoa(i), Title: "R", Service: service,
			Forbidden: g.odd(8), Deprecated: g.odd(8), NoGroup: g.r.IntN(3) == 0, NoSE: g.r.IntN(3) == 0,
			RequireCPR: g.odd(4), EmployeesOnly: g.odd(4), AdminRole: store.AdminRole(g.pick("", "", "user-admin", "org-admin"))}
		rights.Insert(strT(rt.ID), rightTerm(rt))
		ids = append(ids, rt.ID)
	}
	return ast.NewTerm(rights), ids
}

// grants are the user's effective grants and the other orgs they are in.
func (g *sampler) grants(cvr string, rightIDs []string) (*ast.Term, *ast.Term) {
	grants, grantOrgs := ast.NewObject(), ast.NewObject()
	for i := range g.r.IntN(7) + btoi(g.ok) {
		eg := &store.EffectiveGrant{Grant: &store.Grant{ID: "g" + strconv.Itoa(i), Right: g.pick(append(rightIDs, "x.y")...), Org: g.pick(cvr, cvr, sampleCVRs[2])},
			Source: g.pick("direct", "direct", "grp1", "grp2")}
		switch g.r.IntN(4) {
		case 0:
			eg.Scope = store.Scope{Type: store.ScopeCVR, Value: eg.Org}
		case 1:
			eg.Scope = store.Scope{Type: store.ScopeSE, Value: g.pick(sampleSEs...)}
		default:
			eg.Scope = store.Scope{Type: store.ScopeP, Value: g.pick(samplePNums...)}
		}
		if g.odd(4) {
			t := g.at()
			eg.ExpiresAt = &t
		}
		grants.Insert(strT(eg.ID), grantTerm(eg))
		if eg.Org != cvr && grantOrgs.Get(strT(eg.Org)) == nil && g.r.IntN(3) != 0 {
			grantOrgs.Insert(strT(eg.Org), orgTerm(g.org(eg.Org)))
		}
	}
	return ast.NewTerm(grants), ast.NewTerm(grantOrgs)
}

func (g *sampler) certificate() *ast.Term {
	if !g.odd(4) {
		return nullT
	}
	cert := [][2]*ast.Term{item("serial", strT(g.pick("s1", "s2"))), item("status", strT(g.pick("active", "revoked")))}
	if g.r.IntN(2) == 0 {
		cert = append(cert, item("expires_at_ns", nsT(g.at())))
	}
	return obj(cert...)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
