package pdp

import (
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/adgang/adgang/pdp/planvm"
	"github.com/adgang/adgang/store"
)

// The policy input is built as an ast.Value directly: no JSON encoding and
// decoding on the decision path. Its shape is documented in
// policies/README.md.

// Terms are never changed once built (OPA does not change its input), so
// the constant ones, the object keys and the terms of unchanged grants and
// organisations are built once and shared by every evaluation: most of the
// input's allocations were these.
var (
	trueT  = ast.BooleanTerm(true)
	falseT = ast.BooleanTerm(false)
	nullT  = ast.NullTerm()
)

// keyTerms are the input's object keys.
var keyTerms = func() map[string]*ast.Term {
	m := map[string]*ast.Term{}
	for _, k := range []string{"id", "title", "service", "forbidden", "deprecated", "no_group", "no_se",
		"require_cpr", "employees_only", "admin_role", "cvr", "kind", "cpr_linked", "p_number",
		"auth_method", "certificate_serial", "org", "status", "se_number", "deactivated_until_ns",
		"password", "temporary", "changed_at_ns", "blocked", "allow_knock", "deletion",
		"password_max_age_days", "type", "p_units", "se_numbers", "settings", "right", "scope",
		"value", "source", "expires_at_ns", "subject", "now_ns", "user", "grants", "rights",
		"certificate", "serial"} {
		m[k] = planvm.Intern(k) // the plans' constant keys are the same terms
	}
	return m
}()

func strT(s string) *ast.Term { return ast.StringTerm(s) }

// valueTerms are the values of the input's closed vocabularies (user kinds
// and statuses) and the empty string (an absent P- or SE-number), built
// once.
var valueTerms = func() map[string]*ast.Term {
	m := map[string]*ast.Term{}
	for _, v := range []string{"", string(store.KindEmployee), string(store.KindFunction), string(store.KindPrivate),
		string(store.StatusNew), string(store.StatusActive), string(store.StatusInactive),
		string(store.StatusDeactivated), string(store.StatusDeleted)} {
		m[v] = ast.StringTerm(v)
	}
	return m
}()

// valueT is strT for a value that is often one of valueTerms.
func valueT(s string) *ast.Term {
	if t, ok := valueTerms[s]; ok {
		return t
	}
	return strT(s)
}

// sameT is the term t when it holds s (the subject's id is the user's, its
// CVR the user's organisation), else a new one.
func sameT(t *ast.Term, s string) *ast.Term {
	if t != nil {
		if v, ok := t.Value.(ast.String); ok && string(v) == s {
			return t
		}
	}
	return valueT(s)
}
func boolT(b bool) *ast.Term {
	if b {
		return trueT
	}
	return falseT
}
func nsT(t time.Time) *ast.Term {
	return ast.NumberTerm(json.Number(strconv.FormatInt(t.UnixNano(), 10)))
}

func item(k string, v *ast.Term) [2]*ast.Term {
	if t, ok := keyTerms[k]; ok {
		return ast.Item(t, v)
	}
	return ast.Item(strT(k), v)
}

func obj(items ...[2]*ast.Term) *ast.Term { return ast.NewTerm(ast.NewObject(items...)) }

// set builds {"k": true, …} for keyed look-ups.
func setObj(keys []string) *ast.Term {
	o := ast.NewObject()
	for _, k := range keys {
		o.Insert(strT(k), boolT(true))
	}
	return ast.NewTerm(o)
}

func rightTerm(r *store.Right) *ast.Term {
	return obj(
		item("id", strT(r.ID)),
		item("title", strT(r.Title)),
		item("service", strT(r.Service)),
		item("forbidden", boolT(r.Forbidden)),
		item("deprecated", boolT(r.Deprecated)),
		item("no_group", boolT(r.NoGroup)),
		item("no_se", boolT(r.NoSE)),
		item("require_cpr", boolT(r.RequireCPR)),
		item("employees_only", boolT(r.EmployeesOnly)),
		item("admin_role", strT(string(r.AdminRole))),
	)
}

// subjectTerm is the subject's input with the terms of its id and CVR
// (which userTerm may share).
func subjectTerm(s *Subject, id, cvr *ast.Term) *ast.Term {
	items := [][2]*ast.Term{
		item("id", id),
		item("cvr", cvr),
		item("kind", valueT(s.Kind)),
		item("cpr_linked", boolT(s.CPRLinked)),
	}
	if s.PNumber != "" {
		items = append(items, item("p_number", strT(s.PNumber)))
	}
	if s.AuthMethod != "" {
		items = append(items, item("auth_method", strT(s.AuthMethod)))
	}
	if s.CertificateSerial != "" {
		items = append(items, item("certificate_serial", strT(s.CertificateSerial)))
	}
	return obj(items...)
}

// userTerm is the user's input; the subject's id and CVR terms are used
// for its id and organisation when they hold the same values.
func userTerm(u *store.User, subjectID, subjectCVR *ast.Term) *ast.Term {
	if u == nil {
		return nullT
	}
	items := [][2]*ast.Term{
		item("id", sameT(subjectID, u.ID)),
		item("org", sameT(subjectCVR, u.Org)),
		item("kind", valueT(string(u.Kind))),
		item("status", valueT(string(u.Status))),
		item("cpr_linked", boolT(u.CPRLinked)),
		item("p_number", valueT(u.PNumber)),
		item("se_number", valueT(u.SENumber)),
	}
	if u.DeactivatedUntil != nil {
		items = append(items, item("deactivated_until_ns", nsT(*u.DeactivatedUntil)))
	}
	items = append(items, item("password", passwordTerm(u.Password)))
	return obj(items...)
}

// passwordTerm is a stored local password as every policy reads it
// (adgang.login's user.password, adgang.password's status input).
func passwordTerm(p *store.Password) *ast.Term {
	if p == nil {
		return nullT
	}
	return obj(
		item("temporary", boolT(p.Temporary)),
		item("changed_at_ns", nsT(p.ChangedAt)),
		item("blocked", boolT(p.Blocked)),
	)
}

func orgTerm(o *store.Org) *ast.Term {
	if o == nil {
		return nullT
	}
	ps := make([]string, len(o.PUnits))
	for i, p := range o.PUnits {
		ps[i] = p.PNumber
	}
	settings := []([2]*ast.Term){
		item("allow_knock", boolT(o.Settings.AllowKnock)),
		item("deletion", strT(o.Settings.Deletion)),
	}
	if d := o.Settings.PasswordMaxAgeDays; d > 0 {
		// M20: D15 counts the org's own maximum age, as the admin API's
		// password_status does.
		settings = append(settings, item("password_max_age_days", ast.IntNumberTerm(d)))
	}
	return obj(
		item("cvr", strT(o.CVR)),
		item("type", strT(string(o.Type))),
		item("p_units", setObj(ps)),
		item("se_numbers", setObj(o.SENumbers)),
		item("settings", obj(settings...)),
	)
}

func grantTerm(g *store.EffectiveGrant) *ast.Term {
	items := [][2]*ast.Term{
		item("id", strT(g.ID)),
		item("right", strT(g.Right)),
		item("org", strT(g.Org)),
		item("scope", obj(item("type", strT(g.Scope.Type)), item("value", strT(g.Scope.Value)))),
		item("source", strT(g.Source)),
	}
	if g.ExpiresAt != nil {
		items = append(items, item("expires_at_ns", nsT(*g.ExpiresAt)))
	}
	return obj(items...)
}

// loginInput builds the adgang.login input from a request and the store's
// login read (see policies/README.md). Only the considered rights (the
// asked one, or else the service's) and their grants are passed: the
// policy looks at nothing else (its _considered and _own), so the answer is
// the same and the evaluation walks a fraction of the grants.
func (e *Engine) loginInput(req *LoginRequest, v *store.LoginView) ast.Value {
	return e.loginInputWith(e.rights.Load(), req, v)
}

// loginInputOf is loginInput for a view put together by its caller (in a
// write transaction, say) rather than read by Store.LoginView: its
// grants and organisation are not the store's shared records, so their
// terms are built for this input only and not kept.
func (e *Engine) loginInputOf(req *LoginRequest, v *store.LoginView) ast.Value {
	return e.loginInputFrom(e.rights.Load(), req, v, false)
}

// objectOf is the object of items; when two share a key, the last holds.
func objectOf(items [][2]*ast.Term) ast.Object {
	for i := 1; i < len(items); i++ {
		for j := range i {
			if items[i][0].Equal(items[j][0]) {
				o := ast.NewObjectWithCapacity(len(items))
				for _, it := range items {
					o.Insert(it[0], it[1])
				}
				return o
			}
		}
	}
	return ast.NewObject(items...)
}

// emptyObjectT is the input's rights of a service or right the catalogue
// does not have, and its grant_orgs of a user with no external group grants
// (most users): one shared term, as no evaluator changes its input.
var emptyObjectT = ast.NewTerm(ast.NewObject())

// loginInputWith is loginInput with the rights catalogue to use.
func (e *Engine) loginInputWith(idx *rightsIndex, req *LoginRequest, v *store.LoginView) ast.Value {
	return e.loginInputFrom(idx, req, v, true)
}

// loginInputFrom builds the input; shared: v's grants and organisation are
// the store's shared records (Store.LoginView), whose terms are kept.
func (e *Engine) loginInputFrom(idx *rightsIndex, req *LoginRequest, v *store.LoginView, shared bool) ast.Value {
	var rights *ast.Term
	if req.Right != "" {
		rights = idx.oneRight[req.Right]
	} else {
		rights = idx.serviceRights[req.Service]
	}
	if rights == nil {
		rights = emptyObjectT
	}
	// The grants' object is made at once from its items (one block of
	// elements, not one per insert). ast.NewObject does not merge equal
	// keys: a grant id listed twice (the store lists each once) is
	// inserted instead, the last one holding.
	var buf [16][2]*ast.Term
	gitems := buf[:0]
	for i := range v.Grants {
		g := &v.Grants[i]
		if considered(idx, req, g.Right) {
			k, t := grantTerms(g, shared)
			gitems = append(gitems, [2]*ast.Term{k, t})
		}
	}
	grants := objectOf(gitems)
	sid, scvr := strT(req.Subject.ID), strT(req.Subject.CVR)
	items := make([][2]*ast.Term, 0, 11)
	items = append(items,
		item("subject", subjectTerm(&req.Subject, sid, scvr)),
		item("service", strT(req.Service)),
		item("now_ns", nsT(e.now())),
		item("user", userTerm(v.User, sid, scvr)),
		item("org", orgTermOf(v.Org, shared)),
		item("grants", ast.NewTerm(grants)),
		item("rights", rights),
	)
	if req.Right != "" {
		items = append(items, item("right", strT(req.Right)))
	}
	if req.PNumber != "" {
		items = append(items, item("p_number", strT(req.PNumber)))
	}
	// M16: the orgs whose groups give the user grants (external group
	// membership), with their units.
	grantOrgs := emptyObjectT
	if len(v.GrantOrgs) > 0 {
		o := ast.NewObject()
		for cvr, org := range v.GrantOrgs {
			o.Insert(strT(cvr), orgTerm(org))
		}
		grantOrgs = ast.NewTerm(o)
	}
	items = append(items, item("grant_orgs", grantOrgs))
	if c := v.Certificate; c != nil {
		// D14 reads the registry's record: its stored status and, for
		// the expiry, the end of its validity.
		cert := [][2]*ast.Term{item("serial", strT(c.Serial)), item("status", strT(c.Status))}
		if c.ExpiresAt != nil {
			cert = append(cert, item("expires_at_ns", nsT(*c.ExpiresAt)))
		}
		items = append(items, item("certificate", obj(cert...)))
	} else {
		items = append(items, item("certificate", nullT))
	}
	return ast.NewObject(items...)
}

// considered reports whether right is one the input passes (loginInput).
func considered(idx *rightsIndex, req *LoginRequest, right string) bool {
	if req.Right != "" {
		return right == req.Right && idx.byID[right] != nil
	}
	for _, id := range idx.byService[req.Service] {
		if id == right {
			return true
		}
	}
	return false
}

// grantTermCacheSize and orgTermCacheSize bound the shared grant and
// organisation terms. The grant terms' bound is small on purpose: every
// garbage collection marks what the cache holds, and with both cores
// serving decisions that marking is paid by them. At 32k grant terms (17 MB
// of terms at 10k users) the uncached server spent ~8% more CPU a decision
// than at 4k. The cache starts again empty when full, so a term is kept
// only until the next 4,096 misses: the grants asked most often are built
// again soon after, the rest are as before (an organisation's term is larger
// and costlier to build, and there are few of them: their bound is as it
// was).
const (
	grantTermCacheSize = 1 << 12
	orgTermCacheSize   = 1 << 12
)

// termCache holds input terms shared by every decision that reads the
// same store record, keyed by the record's shared decoded value (the
// store hands out one per stored version, never changed: a changed record
// is a new value). Look-ups take no lock (sync.Map): a decision reads a
// handful, from every core at once. When full it starts again empty.
type termCache[K comparable, V any] struct {
	m sync.Map // K -> V
	n atomic.Int64
}

func (c *termCache[K, V]) get(k K, limit int64, build func() V) V {
	if v, ok := c.m.Load(k); ok {
		return v.(V)
	}
	v := build()
	if c.n.Add(1) > limit {
		c.m.Clear()
		c.n.Store(1)
	}
	c.m.Store(k, v)
	return v
}

// grantRef is a grant's shared record and where the user has it from.
type grantRef struct {
	g      *store.Grant
	source string
}

type grantTermPair struct{ key, val *ast.Term }

var (
	grantTermCache termCache[grantRef, grantTermPair]
	orgTermCache   termCache[*store.Org, *ast.Term]
)

// grantTerms returns the grant's id term and its input term, shared by
// every decision that reads the same grant record (shared), or built for
// this input only.
func grantTerms(g *store.EffectiveGrant, shared bool) (*ast.Term, *ast.Term) {
	if !shared {
		return strT(g.ID), grantTerm(g)
	}
	p := grantTermCache.get(grantRef{g.Grant, g.Source}, grantTermCacheSize, func() grantTermPair {
		return grantTermPair{strT(g.ID), planvm.Presorted(grantTerm(g))}
	})
	return p.key, p.val
}

// orgTermOf is orgTerm, built once per shared organisation record.
func orgTermOf(o *store.Org, shared bool) *ast.Term {
	if o == nil || !shared {
		return orgTerm(o)
	}
	return orgTermCache.get(o, orgTermCacheSize, func() *ast.Term { return planvm.Presorted(orgTerm(o)) })
}

// PasswordCheck is what adgang.password decides a new password on (see
// policies/README.md, "adgang.password input").
type PasswordCheck struct {
	Password string // the proposed password
	ReusedAt int    // its position among the kept passwords (1: the current one), 0: none
	Blocked  bool   // the user's current password is blocked (L8)
}

// passwordCheckInput is the data.adgang.password.decision input of c.
func passwordCheckInput(c PasswordCheck) ast.Value {
	return ast.NewObject(item("password", strT(c.Password)), item("reused_at", ast.InternedTerm(c.ReusedAt)), item("blocked", boolT(c.Blocked)))
}

// passwordBlockInput is the data.adgang.password.block_after_failures
// input: the count of wrong passwords in a row.
func passwordBlockInput(failures int) ast.Value {
	return ast.NewObject(item("failures", ast.IntNumberTerm(failures)))
}

// passwordStatusInput is the data.adgang.password.status input: the
// stored password, its organisation (settings.password_max_age_days) and
// the time to judge it at.
func passwordStatusInput(p *store.Password, org *store.Org, now time.Time) ast.Value {
	items := [][2]*ast.Term{item("password", passwordTerm(p)), item("now_ns", nsT(now))}
	if org != nil {
		items = append(items, item("org", orgTerm(org)))
	}
	return ast.NewObject(items...)
}

// adminInput is the data.adgang.admin.decision input. The change service
// gathers its facts and builds it as plain maps (policies/README.md,
// "adgang.admin input"); it is converted here, the one place the admin
// input becomes a policy value.
// TODO(R3): when admin's input building moves with its call site, build
// the terms here from typed facts instead of converting maps.
func adminInput(in map[string]any) (ast.Value, error) {
	return ast.InterfaceToValue(in)
}
