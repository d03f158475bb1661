package admin

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/adgang/adgang/store"
)

// casbinModel is RBAC with domains: a domain is an organisation (CVR);
// role links `g, <subject>, <role>, <cvr>` come from the store, and a link
// in domain "*" (superadmin tokens) holds in every organisation.
const casbinModel = `
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = (g(r.sub, p.sub, r.dom) || g(r.sub, p.sub, "*")) && (p.dom == "*" || r.dom == p.dom) && (p.obj == "*" || r.obj == p.obj) && (p.act == "*" || r.act == p.act)
`

// Objects and actions of the Casbin policy.
const (
	objOrg     = "org"         // an organisation and its settings
	objUser    = "user"        // users and their status
	objGrant   = "grant"       // grants of users and groups
	objGroup   = "group"       // custom groups
	objMember  = "member"      // group membership
	objKnock   = "knock"       // the knock queue
	objHistory = "history"     // one user's audit history
	objAudit   = "audit"       // an organisation's whole audit log
	objRight   = "right"       // the rights catalogue (global)
	objToken   = "token"       // API tokens (global; own tokens only unless superadmin)
	objPolicy  = "policy"      // the dry-run policy check
	objCert    = "certificate" // certificate records (issue 17)

	actRead   = "read"
	actCreate = "create"
	actUpdate = "update"
	actDelete = "delete"
	actAccept = "accept"
	actCheck  = "check"
)

// casbinPolicy is the A14 role table. Every line holds in every domain;
// a role only applies in the organisations where the subject holds it.
//
//   - superadmin: everything everywhere (operator).
//   - org-admin: everything in its org: settings, users, grants, custom
//     groups and their members, knocks, history and the audit log.
//   - user-admin (LBA): users, grants, group members and knocks; reads the
//     org (settings read-only), its groups and users' history. It cannot
//     create or delete groups, change settings or read the org audit log.
//   - auditor: read-only, history and audit log included.
//
// Every role may read the rights catalogue, run the dry-run check and
// manage its own API tokens (a token carries the roles of its user, so no
// role is gained by making one).
var casbinPolicy = [][]string{
	{string(store.RoleSuperadmin), "*", "*", "*"},

	{string(store.RoleOrgAdmin), "*", objOrg, actRead},
	{string(store.RoleOrgAdmin), "*", objOrg, actUpdate},
	{string(store.RoleOrgAdmin), "*", objUser, "*"},
	{string(store.RoleOrgAdmin), "*", objGrant, "*"},
	{string(store.RoleOrgAdmin), "*", objGroup, "*"},
	{string(store.RoleOrgAdmin), "*", objMember, "*"},
	{string(store.RoleOrgAdmin), "*", objKnock, "*"},
	{string(store.RoleOrgAdmin), "*", objHistory, actRead},
	{string(store.RoleOrgAdmin), "*", objAudit, actRead},
	{string(store.RoleOrgAdmin), "*", objRight, actRead},
	{string(store.RoleOrgAdmin), "*", objToken, "*"},
	{string(store.RoleOrgAdmin), "*", objPolicy, actCheck},

	{string(store.RoleUserAdmin), "*", objOrg, actRead},
	{string(store.RoleUserAdmin), "*", objUser, "*"},
	{string(store.RoleUserAdmin), "*", objGrant, "*"},
	{string(store.RoleUserAdmin), "*", objGroup, actRead},
	{string(store.RoleUserAdmin), "*", objMember, "*"},
	{string(store.RoleUserAdmin), "*", objKnock, "*"},
	{string(store.RoleUserAdmin), "*", objHistory, actRead},
	{string(store.RoleUserAdmin), "*", objRight, actRead},
	{string(store.RoleUserAdmin), "*", objToken, "*"},
	{string(store.RoleUserAdmin), "*", objPolicy, actCheck},

	{string(store.RoleAuditor), "*", objOrg, actRead},
	{string(store.RoleAuditor), "*", objUser, actRead},
	{string(store.RoleAuditor), "*", objGrant, actRead},
	{string(store.RoleAuditor), "*", objGroup, actRead},
	{string(store.RoleAuditor), "*", objKnock, actRead},
	{string(store.RoleAuditor), "*", objHistory, actRead},
	{string(store.RoleAuditor), "*", objAudit, actRead},
	{string(store.RoleAuditor), "*", objRight, actRead},
	{string(store.RoleAuditor), "*", objToken, "*"},
	{string(store.RoleAuditor), "*", objPolicy, actCheck},

	// Certificates (issue 17): the org's administrators manage them, the
	// auditor reads them.
	{string(store.RoleOrgAdmin), "*", objCert, "*"},
	{string(store.RoleUserAdmin), "*", objCert, "*"},
	{string(store.RoleAuditor), "*", objCert, actRead},
	// Issue 16: the stored decision log is read by auditors (superadmin
	// holds everything).
	{string(store.RoleAuditor), "*", objDecision, actRead},
}

// anyDomain is the Casbin domain of links that hold in every organisation.
const anyDomain = "*"

// tokenSubject is the Casbin subject of an API token that is not bound to
// a user (superadmin tokens).
func tokenSubject(id string) string { return "token:" + id }

// link is one role an administrator holds in one organisation, and where
// it comes from.
type link struct {
	role    store.AdminRole
	org     string     // CVR, or anyDomain
	source  string     // "direct", a group id, or "token"
	expires *time.Time // the grant's expiry, nil = none
}

// roleIndex is the Casbin enforcer with the role links derived from the
// store: every active user's effective grants whose right has an
// admin_role, and every superadmin token. It is rebuilt from the change
// feed and, synchronously, after the server's own writes.
type roleIndex struct {
	st  *store.Store
	now func() time.Time

	// update serialises recompute-and-apply, so a slower recompute that
	// read an older snapshot can never overwrite a newer one.
	update sync.Mutex

	rw          sync.RWMutex
	enf         *casbin.Enforcer
	links       map[string][]link          // subject → links
	viaGroup    map[string]map[string]bool // group id → subjects linked through it
	byOrg       map[string]map[string]bool // org → subjects with a link there
	adminRights map[string]store.AdminRole // right id → admin role
	next        time.Time                  // earliest grant expiry among links

	// verdicts remembers the enforcer's answers (enforceKey → bool):
	// Casbin evaluates its matcher over every policy line, ~30 µs a
	// call. Filled under rw's read lock and cleared under its write lock
	// whenever the enforcer changes, so a verdict is always the current
	// enforcer's. nVerdicts bounds it.
	verdicts  sync.Map
	nVerdicts atomic.Int64

	wake chan struct{} // signals the feed loop that next changed
}

// enforceKey is one Casbin request.
type enforceKey struct{ sub, dom, obj, act string }

// maxVerdicts bounds roleIndex.verdicts (admins × their organisations ×
// objects × actions); past it the memo starts over.
const maxVerdicts = 1 << 16

// forgetVerdictsLocked drops every remembered verdict: the enforcer
// changed. rw must be held for writing.
func (ri *roleIndex) forgetVerdictsLocked() {
	ri.verdicts.Clear()
	ri.nVerdicts.Store(0)
}

func newEnforcer(links map[string][]link) (*casbin.Enforcer, error) {
	m, err := model.NewModelFromString(casbinModel)
	if err != nil {
		return nil, fmt.Errorf("casbin model: %w", err)
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("casbin enforcer: %w", err)
	}
	e.EnableAutoSave(false)
	if _, err := e.AddPolicies(casbinPolicy); err != nil {
		return nil, fmt.Errorf("casbin policy: %w", err)
	}
	var rows [][]string
	for sub, ls := range links {
		rows = append(rows, groupingRows(sub, ls)...)
	}
	if len(rows) > 0 {
		if _, err := e.AddGroupingPolicies(rows); err != nil {
			return nil, fmt.Errorf("casbin role links: %w", err)
		}
	}
	return e, nil
}

// groupingRows are the distinct `g` rows of one subject's links.
func groupingRows(sub string, ls []link) [][]string {
	seen := map[[2]string]bool{}
	var rows [][]string
	for _, l := range ls {
		k := [2]string{string(l.role), l.org}
		if seen[k] {
			continue
		}
		seen[k] = true
		rows = append(rows, []string{sub, string(l.role), l.org})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i][1]+rows[i][2] < rows[j][1]+rows[j][2] })
	return rows
}

// userLinks are the admin roles user u holds, read in tx: nothing when the
// user is not active; otherwise one link per unexpired effective grant of
// a right with an admin role, in the grant's organisation.
func userLinks(tx *store.Tx, u *store.User, adminRights map[string]store.AdminRole, now time.Time) ([]link, error) {
	if !u.Status.Usable() {
		return nil, nil
	}
	grants, err := tx.EffectiveGrants(u.ID)
	if err != nil {
		return nil, fmt.Errorf("grants of user %s: %w", u.ID, err)
	}
	var out []link
	for _, g := range grants {
		role, ok := adminRights[g.Right]
		if !ok || role == "" {
			continue
		}
		if g.ExpiresAt != nil && !g.ExpiresAt.After(now) {
			continue
		}
		out = append(out, link{role: role, org: g.Org, source: g.Source, expires: g.ExpiresAt})
	}
	return out, nil
}

// adminRightHolders lists (sorted, once each) the users that hold a grant
// of an admin-role right, directly or through a group: found through the
// store's grants-by-right index, not by scanning every user.
func adminRightHolders(tx *store.Tx, adminRights map[string]store.AdminRole) ([]string, error) {
	seen := map[string]bool{}
	for right := range adminRights {
		grants, err := tx.GrantsOfRight(right)
		if err != nil {
			return nil, err
		}
		for _, g := range grants {
			if g.HolderType == store.HolderUser {
				seen[g.HolderID] = true
				continue
			}
			members, err := tx.Members(g.HolderID)
			if err != nil && !store.IsNotFound(err) {
				return nil, err
			}
			for _, m := range members {
				seen[m] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	sort.Strings(out)
	return out, nil
}

func tokenLinks(t *store.Token) []link {
	if t == nil || !t.Superadmin {
		return nil
	}
	return []link{{role: store.RoleSuperadmin, org: anyDomain, source: "token"}}
}

func readAdminRights(tx *store.Tx) (map[string]store.AdminRole, error) {
	rights, err := tx.ListRights()
	if err != nil {
		return nil, err
	}
	m := make(map[string]store.AdminRole)
	for _, r := range rights {
		if r.AdminRole != "" {
			m[r.ID] = r.AdminRole
		}
	}
	return m, nil
}

// rebuild reads every link from the store and replaces the enforcer.
func (ri *roleIndex) rebuild(ctx context.Context) error {
	ri.update.Lock()
	defer ri.update.Unlock()
	links := map[string][]link{}
	var rights map[string]store.AdminRole
	now := ri.now()
	err := ri.st.View(ctx, func(tx *store.Tx) error {
		var err error
		if rights, err = readAdminRights(tx); err != nil {
			return err
		}
		holders, err := adminRightHolders(tx, rights)
		if err != nil {
			return err
		}
		for _, id := range holders {
			u, err := tx.GetUser(id)
			if store.IsNotFound(err) {
				continue
			}
			if err != nil {
				return err
			}
			ls, err := userLinks(tx, u, rights, now)
			if err != nil {
				return err
			}
			if len(ls) > 0 {
				links[u.ID] = ls
			}
		}
		tokens, err := tx.ListTokens()
		if err != nil {
			return err
		}
		for _, t := range tokens {
			if ls := tokenLinks(t); len(ls) > 0 {
				links[tokenSubject(t.ID)] = ls
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read role links: %w", err)
	}
	enf, err := newEnforcer(links)
	if err != nil {
		return err
	}
	ri.rw.Lock()
	ri.forgetVerdictsLocked()
	ri.enf, ri.links, ri.adminRights = enf, links, rights
	ri.viaGroup, ri.byOrg = map[string]map[string]bool{}, map[string]map[string]bool{}
	for sub, ls := range links {
		ri.indexLocked(sub, ls)
	}
	ri.recomputeNextLocked()
	ri.rw.Unlock()
	ri.signal()
	return nil
}

func addTo(m map[string]map[string]bool, k, v string) {
	if m[k] == nil {
		m[k] = map[string]bool{}
	}
	m[k][v] = true
}

func removeFrom(m map[string]map[string]bool, k, v string) {
	if s := m[k]; s != nil {
		delete(s, v)
		if len(s) == 0 {
			delete(m, k)
		}
	}
}

func (ri *roleIndex) indexLocked(sub string, ls []link) {
	for _, l := range ls {
		if l.source != "direct" && l.source != "token" {
			addTo(ri.viaGroup, l.source, sub)
		}
		addTo(ri.byOrg, l.org, sub)
	}
}

func (ri *roleIndex) unindexLocked(sub string, ls []link) {
	for _, l := range ls {
		removeFrom(ri.viaGroup, l.source, sub)
		removeFrom(ri.byOrg, l.org, sub)
	}
}

func (ri *roleIndex) recomputeNextLocked() {
	var next time.Time
	for _, ls := range ri.links {
		for _, l := range ls {
			if l.expires != nil && (next.IsZero() || l.expires.Before(next)) {
				next = *l.expires
			}
		}
	}
	ri.next = next
}

func (ri *roleIndex) signal() {
	select {
	case ri.wake <- struct{}{}:
	default:
	}
}

// affected lists what a batch of store changes may have changed.
type affected struct {
	full     bool            // a right changed: rebuild everything
	subjects map[string]bool // users (ids) and token subjects to recompute
	groups   map[string]bool // groups whose members (past and present) to recompute
	tokens   map[string]bool // token ids to reload
	// created are users whose only change is their creation: they hold
	// nothing but what their P-unit's system group holds (an implicit
	// membership no change names), so they are read only when that group
	// holds an admin right.
	created map[string]bool
}

// affectedBy reads the store's typed changes: a right change rebuilds
// everything; a token, a group deletion and a group's grants name what to
// reload; every other change that names a user recomputes that user,
// except an update of fields no role reads (store.Change.NeutralUserUpdate).
func affectedBy(changes []store.Change) affected {
	a := affected{subjects: map[string]bool{}, groups: map[string]bool{}, tokens: map[string]bool{}, created: map[string]bool{}}
	for _, c := range changes {
		switch {
		case c.Kind == store.ChangeRight:
			a.full = true
		case c.Kind == store.ChangeToken:
			a.tokens[c.Object] = true
		case c.Kind == store.ChangeGroup && c.Op == store.OpDelete, c.Kind == store.ChangeGrant && c.GroupID != "":
			a.groups[c.GroupID] = true
		}
		switch {
		case c.UserID == "", c.NeutralUserUpdate(): // a name or a login time: no role changes
		case c.Kind == store.ChangeUser && c.Op == store.OpCreate:
			a.created[c.UserID] = true
		default:
			a.subjects[c.UserID] = true
		}
	}
	for id := range a.subjects {
		delete(a.created, id)
	}
	return a
}

// apply brings the links of everything the changes touched up to date.
func (ri *roleIndex) apply(ctx context.Context, changes []store.Change) error {
	a := affectedBy(changes)
	if a.full {
		return ri.rebuild(ctx)
	}
	if len(a.subjects) == 0 && len(a.groups) == 0 && len(a.tokens) == 0 && len(a.created) == 0 {
		return nil
	}
	return ri.recompute(ctx, a)
}

// recompute re-reads the links of the affected subjects and replaces them.
func (ri *roleIndex) recompute(ctx context.Context, a affected) error {
	ri.update.Lock()
	defer ri.update.Unlock()
	ri.rw.RLock()
	rights := ri.adminRights
	for g := range a.groups {
		for sub := range ri.viaGroup[g] {
			a.subjects[sub] = true
		}
	}
	ri.rw.RUnlock()
	fresh, err := ri.readLinks(ctx, a, rights)
	if err != nil {
		return fmt.Errorf("read role links: %w", err)
	}
	ri.rw.Lock()
	defer ri.rw.Unlock()
	for sub, ls := range fresh {
		if err := ri.replaceLocked(sub, ls); err != nil {
			return err
		}
	}
	ri.recomputeNextLocked()
	ri.signal()
	return nil
}

// readLinks reads the current links of every affected subject (the
// members of affected groups and the created users that hold an admin
// right through their system group included); nil for a subject gone.
func (ri *roleIndex) readLinks(ctx context.Context, a affected, rights map[string]store.AdminRole) (map[string][]link, error) {
	now := ri.now()
	fresh := map[string][]link{}
	err := ri.st.View(ctx, func(tx *store.Tx) error {
		for g := range a.groups {
			members, err := tx.Members(g)
			if store.IsNotFound(err) {
				continue
			} else if err != nil {
				return err
			}
			for _, m := range members {
				a.subjects[m] = true
			}
		}
		if err := createdHolders(tx, a, rights); err != nil {
			return err
		}
		for sub := range a.subjects {
			u, err := tx.GetUser(sub)
			if store.IsNotFound(err) {
				fresh[sub] = nil
				continue
			} else if err != nil {
				return err
			}
			if fresh[sub], err = userLinks(tx, u, rights, now); err != nil {
				return err
			}
		}
		for id := range a.tokens {
			t, err := tx.GetToken(id)
			if err != nil && !store.IsNotFound(err) {
				return err
			}
			fresh[tokenSubject(id)] = tokenLinks(t)
		}
		return nil
	})
	return fresh, err
}

// createdHolders adds to a.subjects the created users whose P-unit's
// system group holds an admin right (the only way a new user holds one).
func createdHolders(tx *store.Tx, a affected, rights map[string]store.AdminRole) error {
	viaSystemGroup := map[string]bool{} // P-number → its system group holds an admin right
	for id := range a.created {
		u, err := tx.GetUser(id)
		if store.IsNotFound(err) || (err == nil && u.PNumber == "") {
			continue
		} else if err != nil {
			return err
		}
		held, seen := viaSystemGroup[u.PNumber]
		if !seen {
			if held, err = systemGroupHoldsAdminRight(tx, u.PNumber, rights); err != nil {
				return err
			}
			viaSystemGroup[u.PNumber] = held
		}
		if held {
			a.subjects[id] = true
		}
	}
	return nil
}

// replaceLocked replaces the links of sub with ls in the Casbin model and
// the index. ri.rw must be held for writing.
func (ri *roleIndex) replaceLocked(sub string, ls []link) error {
	old := ri.links[sub]
	oldRows, newRows := groupingRows(sub, old), groupingRows(sub, ls)
	var add, del [][]string
	for _, r := range newRows {
		if !containsRow(oldRows, r) {
			add = append(add, r)
		}
	}
	for _, r := range oldRows {
		if !containsRow(newRows, r) {
			del = append(del, r)
		}
	}
	if len(del) > 0 || len(add) > 0 {
		ri.forgetVerdictsLocked()
	}
	if len(del) > 0 {
		if _, err := ri.enf.RemoveGroupingPolicies(del); err != nil {
			return fmt.Errorf("casbin remove links: %w", err)
		}
	}
	if len(add) > 0 {
		if _, err := ri.enf.AddGroupingPolicies(add); err != nil {
			return fmt.Errorf("casbin add links: %w", err)
		}
	}
	ri.unindexLocked(sub, old)
	if len(ls) == 0 {
		delete(ri.links, sub)
	} else {
		ri.links[sub] = ls
		ri.indexLocked(sub, ls)
	}
	return nil
}

func containsRow(rows [][]string, r []string) bool {
	return slices.ContainsFunc(rows, func(x []string) bool { return slices.Equal(x, r) })
}

// expire recomputes every subject holding a link that has expired.
func (ri *roleIndex) expire(ctx context.Context) error {
	now := ri.now()
	a := affected{subjects: map[string]bool{}, groups: map[string]bool{}, tokens: map[string]bool{}, created: map[string]bool{}}
	ri.rw.RLock()
	for sub, ls := range ri.links {
		for _, l := range ls {
			if l.expires != nil && !l.expires.After(now) {
				a.subjects[sub] = true
			}
		}
	}
	ri.rw.RUnlock()
	if len(a.subjects) == 0 {
		return nil
	}
	return ri.recompute(ctx, a)
}

// nextExpiry is the earliest expiry of a grant behind a link (zero: none).
func (ri *roleIndex) nextExpiry() time.Time {
	ri.rw.RLock()
	defer ri.rw.RUnlock()
	return ri.next
}

// rolesIn returns the distinct admin roles subject holds in org, sorted.
func (ri *roleIndex) rolesIn(subject, org string) []string {
	now := ri.now()
	ri.rw.RLock()
	defer ri.rw.RUnlock()
	var out []string
	for _, l := range ri.links[subject] {
		if l.org != org || (l.expires != nil && !l.expires.After(now)) {
			continue
		}
		if !slices.Contains(out, string(l.role)) {
			out = append(out, string(l.role))
		}
	}
	sort.Strings(out)
	return out
}

// domainsOf returns the organisations where subject holds a role.
func (ri *roleIndex) domainsOf(subject string) []string {
	ri.rw.RLock()
	defer ri.rw.RUnlock()
	var out []string
	for _, l := range ri.links[subject] {
		if !slices.Contains(out, l.org) {
			out = append(out, l.org)
		}
	}
	sort.Strings(out)
	return out
}

// subjectsIn returns the subjects with a link in org (candidates only:
// callers re-read them in their transaction).
func (ri *roleIndex) subjectsIn(org string) []string {
	ri.rw.RLock()
	defer ri.rw.RUnlock()
	out := make([]string, 0, len(ri.byOrg[org]))
	for sub := range ri.byOrg[org] {
		out = append(out, sub)
	}
	sort.Strings(out)
	return out
}

// holdersIn returns the users holding each admin role in org at now, the
// adgang.admin input admin_holders (as readAdminHolders reads it again
// from the store): user subjects only, a token is not a holder.
func (ri *roleIndex) holdersIn(org string, now time.Time) map[string]any {
	h := newHolderSet()
	ri.rw.RLock()
	for sub := range ri.byOrg[org] {
		if !strings.HasPrefix(sub, tokenSubject("")) {
			h.add(sub, ri.links[sub], org, now)
		}
	}
	ri.rw.RUnlock()
	return h.input()
}

// holderSet gathers the admin_holders input: for each admin role, the
// users holding it in one organisation.
type holderSet map[string][]string

func newHolderSet() holderSet {
	return holderSet{string(store.RoleOrgAdmin): {}, string(store.RoleUserAdmin): {}, string(store.RoleAuditor): {}}
}

// add records user as a holder of every role its links give in org at now
// (a user added twice is listed once: input).
func (h holderSet) add(user string, ls []link, org string, now time.Time) {
	for _, l := range ls {
		r := string(l.role)
		if l.org != org || (l.expires != nil && !l.expires.After(now)) {
			continue
		}
		h[r] = append(h[r], user)
	}
}

// input is the set as the policy reads it: each role's user ids, sorted,
// once each. (Deduplicated here, not by a search on every add: that was
// quadratic in an organisation's administrators, on every admin write.)
func (h holderSet) input() map[string]any {
	out := make(map[string]any, len(h))
	for r, ids := range h {
		slices.Sort(ids)
		out[r] = slices.Compact(ids)
	}
	return out
}

// adminRole returns the admin role a right gives ("" for none).
func (ri *roleIndex) adminRole(right string) store.AdminRole {
	ri.rw.RLock()
	defer ri.rw.RUnlock()
	return ri.adminRights[right]
}

func (ri *roleIndex) rights() map[string]store.AdminRole {
	ri.rw.RLock()
	defer ri.rw.RUnlock()
	return ri.adminRights
}

// enforce asks Casbin whether subject may do act on obj in domain dom.
func (ri *roleIndex) enforce(subject, dom, obj, act string) (bool, error) {
	ri.rw.RLock()
	defer ri.rw.RUnlock()
	k := enforceKey{subject, dom, obj, act}
	if v, ok := ri.verdicts.Load(k); ok {
		return v.(bool), nil
	}
	ok, err := ri.enf.Enforce(subject, dom, obj, act)
	if err != nil {
		return false, err
	}
	if ri.nVerdicts.Add(1) > maxVerdicts {
		// Cleared under the read lock: another reader may store a
		// verdict meanwhile, of this same enforcer, so still exact.
		ri.verdicts.Clear()
		ri.nVerdicts.Store(1)
	}
	ri.verdicts.Store(k, ok)
	return ok, nil
}

// systemGroupHoldsAdminRight reports whether the system group of P-unit
// pNumber holds a grant of an admin-role right.
func systemGroupHoldsAdminRight(tx *store.Tx, pNumber string, adminRights map[string]store.AdminRole) (bool, error) {
	g, err := tx.SystemGroup(pNumber)
	if store.IsNotFound(err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	grants, err := tx.GrantsOfGroup(g.ID)
	if err != nil && !store.IsNotFound(err) {
		return false, err
	}
	for _, gr := range grants {
		if role, ok := adminRights[gr.Right]; ok && role != "" {
			return true, nil
		}
	}
	return false, nil
}
