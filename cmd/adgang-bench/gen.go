package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/store"
)

// Request is one login request of the load mix with the answer it must
// get. Expectations come from how the data was built (each user is made
// to be allowed or refused for a known reason), not from re-deciding the
// rules in Go.
type Request struct {
	SubjectID string `json:"subject_id"`       // the user who logs in
	CVR       string `json:"cvr"`              // the organisation logged in to
	Service   string `json:"service"`          // the service asked for
	Allow     bool   `json:"allow"`            // the answer the request must get
	Why       string `json:"why"`              // the category the user was built for (cat* constants)
	HomeP     string `json:"home_p,omitempty"` // the user's P-unit (read-your-writes check)
}

// Dataset is a generated benchmark data set.
type Dataset struct {
	Seed     uint64         // the seed it was generated from
	Orgs     []*store.Org   // organisations, each with five P-units
	Users    []*store.User  // users, spread over the organisations
	Groups   []*store.Group // one custom group per organisation
	Members  [][2]string    // group id, user id
	Grants   []*store.Grant // grants to users and groups
	Requests []Request      // the load mix, shuffled
}

func cvrFor(n int) string {
	w := []int{2, 7, 6, 5, 4, 3, 2, 1}
	for n = 10000000 + n*97; ; n++ {
		s := fmt.Sprintf("%08d", n)
		sum := 0
		for i, c := range s {
			sum += int(c-'0') * w[i]
		}
		if sum%11 == 0 {
			return s
		}
	}
}

func benchUUID(kind, n int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", kind, n) }

// user categories: most users are allowed; the rest are refused for one
// of the seeds' reasons.
const (
	catAllowedP     = "allowed: P-scoped grant"
	catAllowedCVR   = "allowed: CVR grant over P grants (D11)"
	catAllowedGroup = "allowed: group grant of an ordinary right"
	catInactive     = "refused: inactive user (D3)"
	catViaGroup     = "refused: only a group grant of a no_group right (D7)"
	catOnSE         = "refused: only an SE grant of a no_se right (D8)"
	catForbidden    = "refused: only a forbidden right (D9)"
	catUnknown      = "refused: unknown user (D2)"
)

// Generate builds n users (about 5 grants each) in n/100 organisations,
// deterministically from seed. About 80% of the requests are allowed.
func Generate(seed uint64, n int) *Dataset {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &generator{ds: &Dataset{Seed: seed}, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	nOrgs := max(1, n/100)
	g.addOrgs(nOrgs)
	for i := range n {
		g.addUser(rng, i, g.ds.Orgs[i%nOrgs], g.ds.Groups[i%nOrgs])
	}
	// Groups carry a no_group right (D7) and an ordinary one.
	for o, grp := range g.ds.Groups {
		org := g.ds.Orgs[o]
		g.grant("eksamensdatabasen.view", store.HolderGroup, grp.ID, org, store.ScopeCVR, org.CVR)
		g.grant("imi.case_worker", store.HolderGroup, grp.ID, org, store.ScopeP, org.PUnits[0].PNumber)
	}
	// A share of refused requests are unknown users (D2).
	for i := range n / 20 {
		org := g.ds.Orgs[i%nOrgs]
		g.ds.Requests = append(g.ds.Requests, Request{SubjectID: benchUUID(9, i), CVR: org.CVR,
			Service: "eksamensdatabasen", Allow: false, Why: catUnknown})
	}
	rng.Shuffle(len(g.ds.Requests), func(i, j int) { g.ds.Requests[i], g.ds.Requests[j] = g.ds.Requests[j], g.ds.Requests[i] })
	return g.ds
}

// generator holds a data set while Generate builds it, and numbers its grants.
type generator struct {
	ds     *Dataset
	now    time.Time
	grantN int
}

// addOrgs adds nOrgs organisations, each with five P-units and one custom
// group.
func (g *generator) addOrgs(nOrgs int) {
	for o := range nOrgs {
		org := &store.Org{CVR: cvrFor(o), Name: fmt.Sprintf("Org %d", o), Type: store.OrgInstitution,
			SENumbers: []string{cvrFor(nOrgs + o)}, Settings: store.OrgSettings{AllowKnock: false}}
		for j := range 5 {
			org.PUnits = append(org.PUnits, store.PUnit{PNumber: fmt.Sprintf("%05d%05d", o%100000, j)})
		}
		g.ds.Orgs = append(g.ds.Orgs, org)
		grp := &store.Group{ID: benchUUID(3, o), Org: org.CVR, Name: "Eksamen", Kind: store.GroupCustom, CreatedAt: g.now}
		g.ds.Groups = append(g.ds.Groups, grp)
	}
}

// grant adds the next numbered grant of right to holder in org.
func (g *generator) grant(right, holderType, holder string, org *store.Org, scopeType, value string) {
	g.grantN++
	g.ds.Grants = append(g.ds.Grants, &store.Grant{ID: benchUUID(2, g.grantN), Right: right, HolderType: holderType,
		HolderID: holder, Org: org.CVR, Scope: store.Scope{Type: scopeType, Value: value}, GrantedBy: "bench", GrantedAt: g.now})
}

// addUser adds user i of org with grants drawn from rng to fit one request
// category, and the request that checks it.
func (g *generator) addUser(rng *rand.Rand, i int, org *store.Org, grp *store.Group) {
	u := &store.User{ID: benchUUID(1, i), Org: org.CVR, Name: fmt.Sprintf("User %d", i),
		Email: fmt.Sprintf("user%d@bench.example", i), Kind: store.KindEmployee, CPRLinked: true,
		Status: store.StatusActive, PNumber: org.PUnits[i%5].PNumber, CreatedAt: g.now, StatusChangedAt: g.now}
	if i%50 == 7 {
		u.Kind = store.KindFunction
	}
	p := func(k int) string { return org.PUnits[(i+k)%5].PNumber }
	req := Request{SubjectID: u.ID, CVR: org.CVR, Service: "eksamensdatabasen", Allow: true, HomeP: u.PNumber}
	// Every user also holds ordinary grants of other services (about 5
	// grants per user in all); amp ones only where amp is not asked.
	background := func(amp bool) {
		if amp {
			g.grant("amp.sagsbehandler", store.HolderUser, u.ID, org, store.ScopeP, p(1))
		}
		// One user in 50 administers users (IMI); the rest work cases.
		if i%50 == 0 {
			g.grant("imi.user_admin", store.HolderUser, u.ID, org, store.ScopeP, p(2))
		} else {
			g.grant("imi.case_worker", store.HolderUser, u.ID, org, store.ScopeP, p(2))
		}
	}
	switch r := rng.IntN(100); {
	case r < 50:
		req.Why = catAllowedP
		background(true)
		g.grant("eksamensdatabasen.view", store.HolderUser, u.ID, org, store.ScopeP, p(0))
		g.grant("eksamensdatabasen.view", store.HolderUser, u.ID, org, store.ScopeP, p(3))
		g.grant("amp.lss", store.HolderUser, u.ID, org, store.ScopeCVR, org.CVR)
	case r < 65:
		req.Why = catAllowedCVR
		background(true)
		g.grant("eksamensdatabasen.view", store.HolderUser, u.ID, org, store.ScopeCVR, org.CVR)
		g.grant("eksamensdatabasen.view", store.HolderUser, u.ID, org, store.ScopeP, p(0))
		g.grant("amp.jobnet_jobordrer", store.HolderUser, u.ID, org, store.ScopeCVR, org.CVR)
	case r < 80:
		req.Why, req.Service = catAllowedGroup, "imi"
		background(true)
		g.ds.Members = append(g.ds.Members, [2]string{grp.ID, u.ID})
		g.grant("imi.case_worker", store.HolderUser, u.ID, org, store.ScopeSE, org.SENumbers[0])
		g.grant("amp.webservice", store.HolderUser, u.ID, org, store.ScopeCVR, org.CVR)
	case r < 85:
		req.Why, req.Allow = catInactive, false
		u.Status = store.StatusInactive
		background(true)
		g.grant("eksamensdatabasen.view", store.HolderUser, u.ID, org, store.ScopeCVR, org.CVR)
		g.grant("imi.case_worker", store.HolderUser, u.ID, org, store.ScopeP, p(0))
	case r < 90:
		req.Why, req.Allow = catViaGroup, false
		background(true)
		g.ds.Members = append(g.ds.Members, [2]string{grp.ID, u.ID})
		g.grant("amp.lss", store.HolderUser, u.ID, org, store.ScopeCVR, org.CVR)
		g.grant("imi.case_worker", store.HolderUser, u.ID, org, store.ScopeP, p(0))
	case r < 95:
		req.Why, req.Allow = catOnSE, false
		background(true)
		g.grant("eksamensdatabasen.view", store.HolderUser, u.ID, org, store.ScopeSE, org.SENumbers[0])
		g.grant("imi.case_worker", store.HolderUser, u.ID, org, store.ScopeP, p(0))
	default:
		req.Why, req.Allow, req.Service = catForbidden, false, "amp"
		background(false)
		g.grant("amp.lss", store.HolderUser, u.ID, org, store.ScopeCVR, org.CVR)
		g.grant("amp.webservice", store.HolderUser, u.ID, org, store.ScopeCVR, org.CVR)
		g.grant("imi.case_worker", store.HolderUser, u.ID, org, store.ScopeP, p(0))
		g.grant("eksamensdatabasen.view", store.HolderUser, u.ID, org, store.ScopeP, p(0))
	}
	g.ds.Users = append(g.ds.Users, u)
	g.ds.Requests = append(g.ds.Requests, req)
}

// LoadStore writes the data set into a new Adgang data directory (Badger
// in dir/badger, CPR key in dir/cpr.key) in large transactions.
func LoadStore(ctx context.Context, dir string, ds *Dataset) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key := []byte("bench-cpr-key-bench-cpr-key-0001")
	if err := os.WriteFile(filepath.Join(dir, "cpr.key"), []byte(fmt.Sprintf("%x\n", key)), 0o600); err != nil {
		return err
	}
	st, err := store.Open(store.Config{Dir: filepath.Join(dir, "badger"), NoSync: true, CPRKey: key, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		return err
	}
	defer st.Close()
	// Orgs and groups first (a user refers to its org, a grant to its
	// group), each kind in transactions of 1000.
	if err := inBatches(ctx, st, ds.Orgs, (*store.Tx).CreateOrg); err != nil {
		return err
	}
	if err := inBatches(ctx, st, ds.Groups, (*store.Tx).CreateGroup); err != nil {
		return err
	}
	if err := inBatches(ctx, st, ds.Users, (*store.Tx).CreateUser); err != nil {
		return err
	}
	if err := inBatches(ctx, st, ds.Members, func(tx *store.Tx, m [2]string) error { return tx.AddMember(m[0], m[1]) }); err != nil {
		return err
	}
	return inBatches(ctx, st, ds.Grants, (*store.Tx).CreateGrant)
}

// inBatches writes items with fn in transactions of 1000 (one for all
// of them exceeds Badger's transaction size at 1M users).
func inBatches[T any](ctx context.Context, st *store.Store, items []T, fn func(*store.Tx, T) error) error {
	const batch = 1000
	for i := 0; i < len(items); i += batch {
		chunk := items[i:min(i+batch, len(items))]
		if _, err := st.Update(ctx, "bench", func(tx *store.Tx) error {
			for _, it := range chunk {
				if err := fn(tx, it); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// WriteOPAData writes the same data as an OPA data document for the
// wrapper policy (opa/wrapper.rego): users, orgs and rights shaped exactly
// like Adgang's policy input, grants by user and by group.
func WriteOPAData(path string, ds *Dataset) error {
	users := map[string]any{}
	for _, u := range ds.Users {
		users[u.ID] = map[string]any{"id": u.ID, "org": u.Org, "kind": u.Kind, "status": u.Status,
			"cpr_linked": u.CPRLinked, "p_number": u.PNumber, "se_number": u.SENumber, "password": nil}
	}
	orgs := map[string]any{}
	for _, o := range ds.Orgs {
		ps := map[string]bool{}
		for _, p := range o.PUnits {
			ps[p.PNumber] = true
		}
		se := map[string]bool{}
		for _, s := range o.SENumbers {
			se[s] = true
		}
		orgs[o.CVR] = map[string]any{"cvr": o.CVR, "type": o.Type, "p_units": ps, "se_numbers": se,
			"settings": map[string]any{"allow_knock": o.Settings.AllowKnock, "deletion": o.Settings.Deletion}}
	}
	byUser := map[string]map[string]any{}
	byGroup := map[string]map[string]any{}
	for _, g := range ds.Grants {
		obj := map[string]any{"id": g.ID, "right": g.Right, "org": g.Org,
			"scope": map[string]any{"type": g.Scope.Type, "value": g.Scope.Value}}
		target := byUser
		if g.HolderType == store.HolderGroup {
			target = byGroup
		}
		if target[g.HolderID] == nil {
			target[g.HolderID] = map[string]any{}
		}
		target[g.HolderID][g.ID] = obj
	}
	memberOf := map[string][]string{}
	for _, m := range ds.Members {
		memberOf[m[1]] = append(memberOf[m[1]], m[0])
	}
	rights := map[string]any{}
	for _, r := range store.DefaultRights() {
		rights[r.ID] = map[string]any{"id": r.ID, "title": r.Title, "service": r.Service, "forbidden": r.Forbidden,
			"deprecated": r.Deprecated, "no_group": r.NoGroup, "no_se": r.NoSE, "require_cpr": r.RequireCPR,
			"employees_only": r.EmployeesOnly, "admin_role": string(r.AdminRole)}
	}
	doc := map[string]any{"bench": map[string]any{"users": users, "orgs": orgs, "user_grants": byUser,
		"group_grants": byGroup, "member_of": memberOf, "rights": rights}}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	if err := enc.Encode(doc); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
