package admin

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// plan is a proposed change, gathered inside a store transaction: the
// adgang.admin inputs that must all be allowed, and the writes that carry
// the change out once they are.
type plan struct {
	checks []map[string]any
	apply  func(tx *store.Tx) error

	// roleUsers are the users whose effective admin roles in roleOrg the
	// change may alter (A11, A10). runPlan reads their roles before and
	// after apply, in the same transaction, and when any changed asks
	// adgang.admin again: the first check's input with role_changes.
	roleUsers []string
	roleOrg   string
}

// watchRoles marks p as a change of the effective admin roles of users in
// org and returns it.
func (p *plan) watchRoles(org string, users ...string) *plan {
	p.roleOrg, p.roleUsers = org, users
	return p
}

// planFunc reads what a change needs in tx (authorising the caller on
// the way) and returns its plan. The same planFunc serves the real
// request and the dry run of POST /v1/policy/check.
type planFunc func(tx *store.Tx) (*plan, error)

// refusalError is a change the adgang.admin rules refused: the first
// deny reason as a *store.Error (for the status and the answer) and the
// whole verdict (for the dry run).
type refusalError struct {
	verdict *pdp.Verdict
	err     *store.Error
}

func (r *refusalError) Error() string { return r.err.Error() }
func (r *refusalError) Unwrap() error { return r.err }

// stateConflicts are the reason codes of refusals that conflict with the
// state of a record rather than with the request itself (SPEC §8: "409
// … state conflicts"), whatever rule gives them.
var stateConflicts = map[string]bool{"certificate_state": true, "import_retired": true,
	"anonymity_request_pending": true, "anonymity_request_state": true}

// refusalCode is the error code of a refusal by the adgang.admin rules:
// internal for fail_closed (a missing or broken policy), conflict for a
// state conflict, forbidden otherwise. Which status a code and rule
// answer is decided once, by pdp/api's error writer (StatusOf: A1 404,
// A11 and A14 403, A10, A12, A17 and conflicts 409, every other rule
// 422).
func refusalCode(code, rule string) string {
	switch {
	case rule == pdp.RuleFailClosed:
		return store.EInternal
	case stateConflicts[code]:
		return store.EConflict
	default:
		return store.EForbidden
	}
}

func refusalOf(v *pdp.Verdict) error {
	r := v.First()
	if r == nil {
		return &refusalError{verdict: v, err: &store.Error{Code: store.EInternal, Rule: pdp.RuleFailClosed,
			Reason: pdp.ReasonPolicyError, Message: "the policy refused without a reason"}}
	}
	return &refusalError{verdict: v, err: &store.Error{Code: refusalCode(r.Code, r.Rule), Rule: r.Rule,
		Reason: r.Code, Message: r.Message}}
}

// check asks adgang.admin about one input; a refusal is a *refusalError.
func (s *Service) check(ctx context.Context, input map[string]any) (*pdp.Verdict, error) {
	// ast.InterfaceToValue (in CheckAdmin) converts the plain maps,
	// slices and scalars the plans build directly and round-trips any
	// other type through JSON, so no JSON round trip is needed here.
	v := s.eng.CheckAdmin(ctx, input)
	if v.Allow {
		return v, nil
	}
	if f := v.First(); f != nil && f.Rule == pdp.RuleFailClosed {
		s.log.Error().Str("action", fmt.Sprint(input["action"])).Str("code", f.Code).
			Str("message", pdp.MaskCPR(f.Message)).Msg("admin policy check failed closed")
	}
	return v, refusalOf(v)
}

// runPlan plans, checks and applies a change in tx and returns the last
// verdict (nil when the change has no policy check).
func (s *Service) runPlan(ctx context.Context, tx *store.Tx, pf planFunc) (*pdp.Verdict, error) {
	p, err := pf(tx)
	if err != nil {
		return nil, err
	}
	var before map[string][]string
	if len(p.roleUsers) > 0 {
		if before, err = s.rolesOf(tx, p.roleOrg, p.roleUsers); err != nil {
			return nil, err
		}
	}
	var last *pdp.Verdict
	for _, in := range p.checks {
		if last, err = s.check(ctx, in); err != nil {
			return last, err
		}
	}
	// A17: whether the org's must-have rights are held, before the change.
	mh, err := s.mustHaveBefore(ctx, tx, p)
	if err != nil {
		return last, err
	}
	if err := p.apply(tx); err != nil || (len(p.roleUsers) == 0 && mh == nil) {
		return last, err
	}
	// The effective roles the change produces: tx reads its own writes.
	changes := []any{}
	if len(p.roleUsers) > 0 {
		after, err := s.rolesOf(tx, p.roleOrg, p.roleUsers)
		if err != nil {
			return last, err
		}
		changes = roleChanges(p.roleUsers, before, after)
	}
	var mustHave []any
	if mh != nil {
		facts, unheld, err := s.mustHaveAfter(ctx, tx, mh)
		if err != nil {
			return last, err
		}
		if unheld {
			mustHave = facts
		}
	}
	if len(changes) == 0 && mustHave == nil {
		return last, nil
	}
	if len(p.checks) == 0 {
		return last, fmt.Errorf("plan changes admin roles without a policy input")
	}
	in := maps.Clone(p.checks[0])
	in["role_changes"] = changes
	if mustHave != nil {
		in["must_have"] = mustHave
	}
	if last, err = s.check(ctx, in); err != nil {
		// The transaction holds the change: an import must discard its
		// batch, like a row whose writes failed (applyError).
		return last, &applyError{err}
	}
	return last, nil
}

// rolesOf returns the admin roles each user holds in org, read in tx
// (a user that does not exist holds none).
func (s *Service) rolesOf(tx *store.Tx, org string, users []string) (map[string][]string, error) {
	out := make(map[string][]string, len(users))
	for _, id := range users {
		u, err := tx.GetUser(id)
		if store.IsNotFound(err) {
			out[id] = []string{}
			continue
		} else if err != nil {
			return nil, err
		}
		if out[id], err = s.remainingRoles(tx, u, org, ""); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// roleChanges are the role_changes facts of adgang.admin: for each user
// whose admin roles differ, {user_id, before, after}.
func roleChanges(users []string, before, after map[string][]string) []any {
	out := []any{}
	for _, id := range users {
		if slices.Equal(before[id], after[id]) {
			continue
		}
		out = append(out, map[string]any{"user_id": id, "before": before[id], "after": after[id]})
	}
	return out
}

// write carries out a change in one store transaction as the caller: a
// refusal (of Casbin, Rego or the store) stores nothing. The role links
// are brought up to date before it returns.
func (s *Service) write(ctx context.Context, c *Caller, pf planFunc) (uint64, error) {
	rev, err := s.st.Update(ctx, c.actor, func(tx *store.Tx) error {
		if err := s.rolesUpTo(ctx, tx.Revision()-1); err != nil {
			return err
		}
		tx.GuardCPR(s.cprGuardOf(c))
		_, err := s.runPlan(ctx, tx, pf)
		return err
	})
	if err != nil {
		return 0, err
	}
	s.syncRoles(ctx, rev)
	return rev, nil
}

var errDryRun = errors.New("dry run: roll back")

// dryRun runs a change exactly like write, store writes included, and
// then rolls the transaction back. Refusals by a rule (Rego, A14, the
// store's A12/A13) come back as a verdict; malformed input and objects
// that are not found (A1) come back as errors, like the real request.
func (s *Service) dryRun(ctx context.Context, c *Caller, pf planFunc) (*pdp.Verdict, error) {
	var verdict *pdp.Verdict
	_, err := s.st.Update(ctx, c.actor, func(tx *store.Tx) error {
		if err := s.rolesUpTo(ctx, tx.Revision()-1); err != nil {
			return err
		}
		tx.GuardCPR(s.cprGuardOf(c))
		v, err := s.runPlan(ctx, tx, pf)
		if err != nil {
			return err
		}
		verdict = v
		return errDryRun
	})
	var ref *refusalError
	var se *store.Error
	switch {
	case errors.Is(err, errDryRun):
		if verdict == nil {
			verdict = &pdp.Verdict{Allow: true}
		}
		verdict.Reasons = nonNil(verdict.Reasons)
		return verdict, nil
	case errors.As(err, &ref):
		if ref.err.Code == store.EInternal {
			return nil, err
		}
		return ref.verdict, nil
	case errors.As(err, &se) && se.Rule != "" && se.Code != store.ENotFound && se.Code != store.EInternal:
		return &pdp.Verdict{Reasons: []pdp.Reason{{Code: se.ReasonCode(), Rule: se.Rule, Message: se.Message}}}, nil
	default:
		return nil, err
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// --- facts for the adgang.admin input (policies/README.md) ---

// baseInput is an adgang.admin input for action in org o, with every
// field present and empty.
func (s *Service) baseInput(c *Caller, action string, o *store.Org) map[string]any {
	return map[string]any{
		"action":          action,
		"actor":           s.actorInput(c, o.CVR),
		"org":             orgInput(o),
		"target":          nil,
		"change":          nil,
		"grant":           nil,
		"right":           nil,
		"admin_holders":   map[string]any{},
		"remaining_roles": []string{},
		"role_changes":    []any{},
		"conflicts":       map[string]any{"email": false, "username": false},
	}
}

func orgInput(o *store.Org) map[string]any {
	ps := map[string]any{}
	for _, p := range o.PUnits {
		ps[p.PNumber] = true
	}
	se := map[string]any{}
	for _, n := range o.SENumbers {
		se[n] = true
	}
	deletion := o.Settings.Deletion
	if deletion == "" {
		deletion = store.DeletionAllowed
	}
	settings := map[string]any{"deletion": deletion, "allow_knock": o.Settings.AllowKnock,
		"password_login": o.Settings.PasswordLogin, "admins_cpr_identified": o.Settings.AdminsCPRIdentified}
	// Lists are given only when set: an absent list limits nothing (A16, C1).
	for name, l := range map[string][]string{"identification_means": o.Settings.IdentificationMeans,
		"certificate_types": o.Settings.CertificateTypes, "must_have_roles": o.Settings.MustHaveRoles} {
		if len(l) > 0 {
			settings[name] = l
		}
	}
	return map[string]any{"cvr": o.CVR, "type": string(o.Type), "p_units": ps, "se_numbers": se, "settings": settings}
}

func userTarget(u *store.User) map[string]any {
	return map[string]any{"id": u.ID, "kind": string(u.Kind), "anonymous": u.Anonymous,
		"status": string(u.Status), "org": u.Org, "cpr_linked": u.CPRLinked, "birth_date": u.BirthDate,
		"source": u.Source, "association": association(u)}
}

// association is "manual" for a Unilogin-style manual association (L4):
// source manual with a user type; "import" for a user an import batch
// brought in (L5: confirming it keeps it when the batch is retired).
func association(u *store.User) string {
	if u.Source == "manual" && u.UserType != "" {
		return "manual"
	}
	if strings.HasPrefix(u.Source, "import:") {
		return "import"
	}
	return ""
}

func groupTarget(g *store.Group) map[string]any {
	return map[string]any{"id": g.ID, "kind": g.Kind, "org": g.Org}
}

func grantInput(g *store.Grant) map[string]any {
	return map[string]any{"id": g.ID, "right": g.Right, "org": g.Org, "holder_type": g.HolderType,
		"holder_id": g.HolderID, "scope": map[string]any{"type": g.Scope.Type, "value": g.Scope.Value}}
}

func rightInput(r *store.Right) map[string]any {
	return map[string]any{"id": r.ID, "title": r.Title, "service": r.Service, "forbidden": r.Forbidden,
		"deprecated": r.Deprecated, "no_group": r.NoGroup, "no_se": r.NoSE, "require_cpr": r.RequireCPR,
		"employees_only": r.EmployeesOnly, "admin_role": string(r.AdminRole), "anonymity_allowed": r.AnonymityAllowed}
}

// adminHolders returns, for each admin role, the active users holding it
// in org, read in tx. Candidates come from the role index; each is
// re-read in tx, so a holder the index still lists but the store no
// longer has is left out.
//
// Inside an import batch (see txMemo) the answer is computed once per
// org and batch.
func (s *Service) adminHolders(tx *store.Tx, org string) (map[string]any, error) {
	m := s.memoOf(tx)
	if m != nil {
		if h, ok := m.holders[org]; ok {
			return h, nil
		}
	}
	if rev := tx.Revision(); m == nil && rev > 0 && !tx.Wrote() && s.rolesAt.Load()+1 >= rev {
		// A write whose role links are up to the revision it reads
		// (rolesUpTo) and that has written nothing yet: the links hold
		// exactly what readAdminHolders would read again, user by user.
		// (A read transaction reads the store: the links may lag it.)
		return s.roles.holdersIn(org, s.now()), nil
	}
	h, err := s.readAdminHolders(tx, org)
	if err == nil && m != nil {
		m.holders[org] = h
	}
	return h, err
}

// txMemo holds what an import batch reads again and again and its rows
// do not change: an org's admin holders (the role index a holder must be
// in is only updated after the commit) and that an org has users. The
// importer registers one per batch transaction and drops it after each
// row that could change a holder (an update or a delete).
type txMemo struct {
	holders  map[string]map[string]any
	hasUsers map[string]bool
	orgs     map[string]*store.Org
	authz    map[[4]string]error // authorize's answer (the roles change only after a commit)
	// groupGrants are the grants of each group read in the batch (no row
	// changes a group's grants).
	groupGrants map[string][]*store.Grant
}

func (s *Service) memoStart(tx *store.Tx) {
	s.memo.Store(tx, &txMemo{holders: map[string]map[string]any{}, hasUsers: map[string]bool{},
		orgs: map[string]*store.Org{}, authz: map[[4]string]error{}, groupGrants: map[string][]*store.Grant{}})
}

// loadOrgIn is loadOrg, remembered within an import batch (a row never
// changes its organisation).
func (s *Service) loadOrgIn(tx *store.Tx, cvr string) (*store.Org, error) {
	m := s.memoOf(tx)
	if m != nil {
		if o, ok := m.orgs[cvr]; ok {
			return o, nil
		}
	}
	o, err := loadOrg(tx, cvr)
	if err == nil && m != nil {
		m.orgs[cvr] = o
	}
	return o, err
}

// authorizeIn is authorize, remembered within an import batch: one
// caller, and role links that only change after the batch commits.
func (s *Service) authorizeIn(tx *store.Tx, c *Caller, org, what, obj, act string) error {
	m := s.memoOf(tx)
	key := [4]string{org, what, obj, act}
	if m != nil {
		if err, ok := m.authz[key]; ok {
			return err
		}
	}
	err := s.authorize(c, org, what, obj, act)
	if m != nil {
		m.authz[key] = err
	}
	return err
}

func (s *Service) memoEnd(tx *store.Tx) { s.memo.Delete(tx) }

// memoOf is tx's memo, or nil outside an import batch.
func (s *Service) memoOf(tx *store.Tx) *txMemo {
	if m, ok := s.memo.Load(tx); ok {
		return m.(*txMemo)
	}
	return nil
}

// orgHasUsers reports whether org has a user (for A15), remembered once
// true within an import batch.
func (s *Service) orgHasUsers(tx *store.Tx, org string) (bool, error) {
	m := s.memoOf(tx)
	if m != nil && m.hasUsers[org] {
		return true, nil
	}
	existing, _, err := tx.ListUsers(org, "", 1)
	if err != nil {
		return false, err
	}
	if len(existing) > 0 && m != nil {
		m.hasUsers[org] = true
	}
	return len(existing) > 0, nil
}

func (s *Service) readAdminHolders(tx *store.Tx, org string) (map[string]any, error) {
	h := newHolderSet()
	rights, now := s.roles.rights(), s.now()
	for _, sub := range s.roles.subjectsIn(org) {
		u, err := tx.GetUser(sub)
		if store.IsNotFound(err) {
			continue
		} else if err != nil {
			return nil, err
		}
		ls, err := userLinks(tx, u, rights, now)
		if err != nil {
			return nil, err
		}
		h.add(u.ID, ls, org, now)
	}
	return h.input(), nil
}

// remainingRoles returns the admin roles user u holds in org through
// grants other than grantID (through every grant when grantID is empty),
// directly or through its groups, the system group of its P-unit
// included.
func (s *Service) remainingRoles(tx *store.Tx, u *store.User, org, grantID string) ([]string, error) {
	if !u.Status.Usable() {
		return []string{}, nil
	}
	grants, err := s.effectiveGrants(tx, u)
	if err != nil {
		return nil, err
	}
	rights, now := s.roles.rights(), s.now()
	out := []string{}
	for _, g := range grants {
		role := rights[g.Right]
		if g.ID == grantID || role == "" || g.Org != org || (g.ExpiresAt != nil && !g.ExpiresAt.After(now)) {
			continue
		}
		if !slices.Contains(out, string(role)) {
			out = append(out, string(role))
		}
	}
	sort.Strings(out)
	return out, nil
}

// effectiveGrants is tx.EffectiveGrants of u. Inside an import batch a
// group's grants are read once per batch: no CSV row changes a group's
// grants, and every row's user shares its P-unit's system group, so the
// same grants were otherwise read again for each row (with a Badger
// iterator over the batch's pending writes each time).
func (s *Service) effectiveGrants(tx *store.Tx, u *store.User) ([]store.EffectiveGrant, error) {
	m := s.memoOf(tx)
	if m == nil {
		return tx.EffectiveGrants(u.ID)
	}
	direct, err := tx.GrantsOfUser(u.ID)
	if err != nil {
		return nil, err
	}
	out := make([]store.EffectiveGrant, 0, len(direct)+4)
	for _, g := range direct {
		out = append(out, store.EffectiveGrant{Grant: g, Source: "direct"})
	}
	groups, err := tx.GroupsOf(u)
	if err != nil {
		return nil, err
	}
	for _, gid := range groups {
		gs, ok := m.groupGrants[gid]
		if !ok {
			if gs, err = tx.GrantsOfGroup(gid); err != nil {
				return nil, err
			}
			m.groupGrants[gid] = gs
		}
		for _, g := range gs {
			out = append(out, store.EffectiveGrant{Grant: g, Source: gid})
		}
	}
	return out, nil
}

// conflicts are the A12 facts: whether email or username is held by a
// user other than selfID.
func conflicts(tx *store.Tx, email, username, selfID string) (map[string]any, error) {
	out := map[string]any{"email": false, "username": false}
	if email != "" {
		u, err := tx.UserByEmail(email)
		if err == nil && u.ID != selfID {
			out["email"] = true
		} else if err != nil && !store.IsNotFound(err) {
			return nil, err
		}
	}
	if username != "" {
		u, err := tx.UserByUsername(username)
		if err == nil && u.ID != selfID {
			out["username"] = true
		} else if err != nil && !store.IsNotFound(err) {
			return nil, err
		}
	}
	return out, nil
}

// --- loading objects: every not-found is notFound(kind) ---

func loadOrg(tx *store.Tx, cvr string) (*store.Org, error) {
	o, err := tx.GetOrg(cvr)
	if store.IsNotFound(err) {
		return nil, notFound("organisation")
	}
	return o, err
}

// authorizedUser loads a user and authorises act on obj in the user's
// organisation: an unknown user and one in an org where the caller has no
// role both answer not_found (A1).
func (s *Service) authorizedUser(tx *store.Tx, c *Caller, id, obj, act string) (*store.User, error) {
	u, err := loadUser(tx, id)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(c, u.Org, "user", obj, act); err != nil {
		return nil, err
	}
	return u, nil
}

func loadUser(tx *store.Tx, id string) (*store.User, error) {
	u, err := tx.GetUser(id)
	if store.IsNotFound(err) {
		return nil, notFound("user")
	}
	return u, err
}

func loadGroup(tx *store.Tx, id string) (*store.Group, error) {
	g, err := tx.GetGroup(id)
	if store.IsNotFound(err) {
		return nil, notFound("group")
	}
	return g, err
}

func loadGrant(tx *store.Tx, id string) (*store.Grant, error) {
	g, err := tx.GetGrant(id)
	if store.IsNotFound(err) {
		return nil, notFound("grant")
	}
	return g, err
}

func loadKnock(tx *store.Tx, id string) (*store.Knock, error) {
	k, err := tx.GetKnock(id)
	if store.IsNotFound(err) {
		return nil, notFound("knock")
	}
	return k, err
}

func loadToken(tx *store.Tx, id string) (*store.Token, error) {
	t, err := tx.GetToken(id)
	if store.IsNotFound(err) {
		return nil, notFound("token")
	}
	return t, err
}

// userInput loads user id for act by the caller (Casbin, per the user's
// organisation) and starts the policy input of action on it: the actor,
// the organisation and the target user.
func (s *Service) userInput(tx *store.Tx, c *Caller, id, act, action string) (*store.User, map[string]any, error) {
	if err := validUserID(id); err != nil {
		return nil, nil, err
	}
	u, err := s.authorizedUser(tx, c, id, objUser, act)
	if err != nil {
		return nil, nil, err
	}
	org, err := loadOrg(tx, u.Org)
	if err != nil {
		return nil, nil, err
	}
	in := s.baseInput(c, action, org)
	in["target"] = userTarget(u)
	return u, in, nil
}

// authorizeOrg checks that cvr is a valid CVR number, that the caller may
// act on users there (Casbin) and that the organisation exists.
func (s *Service) authorizeOrg(ctx context.Context, c *Caller, cvr, act string) error {
	if err := validCVR(cvr); err != nil {
		return err
	}
	if err := s.authorize(c, cvr, "organisation", objUser, act); err != nil {
		return err
	}
	return s.st.View(ctx, func(tx *store.Tx) error { _, err := loadOrg(tx, cvr); return err })
}
