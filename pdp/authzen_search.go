package pdp

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/adgang/adgang/store"
)

// OpenID AuthZEN 1.0 Search APIs (§8): subject, resource and action
// search, with opaque paging. Over the store (the default, "login"
// mapping) every result is confirmed by the real login decision, so a
// search never answers more than /v1/decisions/login allows:
//
//	subject  {type:"user", id:<UUID>}
//	resource {type:"org", id:<CVR>} or {type:"p_unit", id:<P-number>}
//	action   {name:<right id>}
//
// With Config.AuthZENEntrypoint PKG/RULE the searches evaluate
// data.PKG.subject_search, resource_search and action_search with the
// search request as input; Adgang orders and pages what they answer.

// AuthZEN entity types of the login mapping.
const (
	AZTypeUser  = "user"
	AZTypeOrg   = "org"
	AZTypePUnit = "p_unit"
)

// Search kinds: the searched entity.
const (
	SearchSubject  = "subject"
	SearchResource = "resource"
	SearchAction   = "action"
)

// Search page sizes: the default, and the most one page may hold.
const (
	DefaultSearchLimit = 100
	MaxSearchLimit     = 1000
)

// AZPage is the page object of a search request (AuthZEN 1.0 §8.3.1).
type AZPage struct {
	Token string `json:"token,omitempty"`
	Limit int    `json:"limit,omitempty"`
}

// AZSearchRequest is a subject, resource or action search request.
type AZSearchRequest struct {
	AZRequest
	Page *AZPage `json:"page,omitempty"`
}

// AZPageResponse is the page object of a search answer: next_token is
// empty on the last page.
type AZPageResponse struct {
	NextToken string `json:"next_token"`
	Count     int    `json:"count"`
}

// AZSearchResponse is a search answer; results hold entities ({type,id})
// or actions ({name}).
type AZSearchResponse struct {
	Page    AZPageResponse `json:"page"`
	Context map[string]any `json:"context,omitempty"`
	Results []any          `json:"results"`
}

// quietKey marks a context whose login evaluations are lookups, not
// logins: no last-login time is recorded and no knock is queued.
type quietKey struct{}

func withQuiet(ctx context.Context) context.Context { return context.WithValue(ctx, quietKey{}, true) }

func isQuiet(ctx context.Context) bool { q, _ := ctx.Value(quietKey{}).(bool); return q }

// checkRequired refuses a request that lacks an attribute the information
// model requires (AuthZEN 1.0 §11.1.1: 400). kind is "" for an access
// evaluation, or the searched entity, whose id (or, for actions, the
// whole action) may be omitted.
func (r *AZRequest) checkRequired(prefix, kind string) error {
	miss := func(f string) error { return store.Errorf(store.EInvalid, "%s%s is required", prefix, f) }
	switch {
	case r.Subject == nil:
		return miss("subject")
	case r.Subject.Type == "":
		return miss("subject.type")
	case r.Subject.ID == "" && kind != SearchSubject:
		return miss("subject.id")
	case r.Resource == nil:
		return miss("resource")
	case r.Resource.Type == "":
		return miss("resource.type")
	case r.Resource.ID == "" && kind != SearchResource:
		return miss("resource.id")
	case kind == SearchAction:
		return nil
	case r.Action == nil:
		return miss("action")
	case r.Action.Name == "":
		return miss("action.name")
	}
	return nil
}

// loginMapped reports whether an evaluation uses the store mapping
// (resource org or p_unit) rather than the service mapping.
func loginMapped(req *AZRequest) bool {
	return req.Resource != nil && (req.Resource.Type == AZTypeOrg || req.Resource.Type == AZTypePUnit)
}

// unitDecision asks the login decision whether the stored user userID
// holds right on the unit (org CVR or P-unit), as the user itself would
// be answered by /v1/decisions/login: subject id, cvr, kind and
// cpr_linked from the store, the right asked, and for a P-unit the
// target p_number (D12). On an org the right must cover the whole CVR.
// A user that is not stored, or a unit of the wrong shape, is simply not
// allowed; d is nil then.
func (e *Engine) unitDecision(ctx context.Context, u *store.User, unitType, unit, right string, logged bool, m RequestMeta) (bool, *Decision, error) {
	if u == nil || right == "" {
		return false, nil, nil
	}
	lr := &LoginRequest{
		Subject: Subject{ID: u.ID, CVR: u.Org, Kind: string(u.Kind), CPRLinked: u.CPRLinked},
		Right:   right,
	}
	switch unitType {
	case AZTypeOrg:
		if unit != u.Org {
			return false, nil, nil
		}
	case AZTypePUnit:
		if store.ValidPNumber(unit) != nil {
			return false, nil, nil
		}
		lr.PNumber = unit
	default:
		return false, nil, nil
	}
	if lr.Validate() != nil {
		return false, nil, nil
	}
	ctx = withQuiet(ctx)
	var d *Decision
	if logged {
		var err error
		if d, err = e.Login(ctx, lr, m); err != nil {
			return false, nil, err
		}
	} else {
		d = e.login(ctx, lr, LoginQuery)
		if err := d.expand(); err != nil {
			return false, nil, nil
		}
	}
	if !d.Allow {
		return false, d, nil
	}
	if unitType == AZTypeOrg {
		for _, rs := range d.Rights {
			if rs.Right == right && rs.Scope.All && rs.Scope.CVR == unit {
				return true, d, nil
			}
		}
		return false, d, nil
	}
	return true, d, nil
}

// storedUser reads a user by UUID; nil when it is not stored.
func (e *Engine) storedUser(ctx context.Context, id string) (*store.User, error) {
	if store.ValidUUID(id) != nil {
		return nil, nil
	}
	var u *store.User
	err := e.store.View(ctx, func(tx *store.Tx) error {
		got, err := tx.GetUser(id)
		if err == nil {
			u = got
		} else if !store.IsNotFound(err) {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, store.Errorf(store.EInternal, "store read failed: %v", err)
	}
	return u, nil
}

// evaluateUnit answers an access evaluation in the store mapping.
func (e *Engine) evaluateUnit(ctx context.Context, req *AZRequest, m RequestMeta) (*AZResponse, error) {
	if req.Subject.Type != AZTypeUser {
		return &AZResponse{Decision: false, Context: map[string]any{
			"reason": "unsupported_subject", "message": `the login mapping answers subjects of type "user"`}}, nil
	}
	u, err := e.storedUser(ctx, req.Subject.ID)
	if err != nil {
		// Fail closed: a store that cannot be read denies.
		return &AZResponse{Decision: false, Context: map[string]any{"reason": ReasonStoreUnavailable}}, nil
	}
	if u == nil {
		return &AZResponse{Decision: false, Context: map[string]any{
			"reason": "unknown_user", "rule": "D2", "message": "the subject is not a stored user"}}, nil
	}
	ok, d, err := e.unitDecision(ctx, u, req.Resource.Type, req.Resource.ID, req.Action.Name, true, m)
	if err != nil {
		return nil, err
	}
	res := &AZResponse{Decision: ok, Context: map[string]any{}}
	if d == nil {
		res.Context["reason"] = "outside_scope"
		res.Context["message"] = "the unit is not one of the user's organisation"
		return res, nil
	}
	res.Context["decision_id"] = d.DecisionID
	res.Context["reasons"] = d.Reasons
	res.Context["revision"] = d.Revision
	if d.Allow && !ok {
		res.Context["reason"] = "outside_scope"
		res.Context["message"] = "the right does not cover the whole organisation"
	}
	return res, nil
}

// Search answers one AuthZEN search (kind "subject", "resource" or
// "action"); raw is the request as sent, the input of a custom search rule.
func (e *Engine) Search(ctx context.Context, kind string, req *AZSearchRequest, raw []byte, m RequestMeta) (*AZSearchResponse, error) {
	start := time.Now()
	if err := req.checkRequired("", kind); err != nil {
		return nil, err
	}
	if err := req.CheckSizes(""); err != nil {
		return nil, err
	}
	limit := DefaultSearchLimit
	var token string
	if req.Page != nil {
		switch {
		case req.Page.Limit < 0 || req.Page.Limit > MaxSearchLimit:
			return nil, store.Errorf(store.EInvalid, "page.limit must be between 0 and %d", MaxSearchLimit)
		case req.Page.Limit > 0:
			limit = req.Page.Limit
		}
		token = req.Page.Token
	}
	fp := searchFingerprint(kind, req, limit)
	after := ""
	if token != "" {
		var err error
		if after, err = parseSearchToken(token, fp); err != nil {
			return nil, err
		}
	}
	var (
		results []searchItem
		more    bool
		err     error
	)
	if ep := strings.Trim(e.cfg.AuthZENEntrypoint, "/"); ep != "" {
		results, more, err = e.customSearch(ctx, ep, kind, raw, after, limit)
	} else {
		results, more, err = e.storeSearch(ctx, kind, req, after, limit)
	}
	if err != nil {
		return nil, err
	}
	out := &AZSearchResponse{Results: make([]any, 0, len(results))}
	for _, it := range results {
		out.Results = append(out.Results, it.value)
	}
	out.Page.Count = len(results)
	if more && len(results) > 0 {
		out.Page.NextToken = searchToken(results[len(results)-1].key, fp)
	}
	id := uuid.NewString()
	out.Context = map[string]any{"decision_id": id, "revision": e.store.Revision()}
	e.LogGeneric("authzen:search/"+kind, id, JSONValue(raw), map[string]any{"count": len(results)}, m, start, e.store.Revision())
	return out, nil
}

// searchItem is one result with the key it is ordered and paged by.
type searchItem struct {
	key   string
	value any
}

// searchFingerprint identifies a search apart from its page token, so a
// token is refused when the request around it changed (AuthZEN 1.0 §8.3).
func searchFingerprint(kind string, req *AZSearchRequest, limit int) string {
	b, _ := json.Marshal([]any{kind, req.Subject, req.Resource, req.Action, req.Context, limit})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

type searchCursor struct {
	After string `json:"a"`
	FP    string `json:"f"`
}

func searchToken(after, fp string) string {
	b, _ := json.Marshal(searchCursor{After: after, FP: fp})
	return base64.RawURLEncoding.EncodeToString(b)
}

func parseSearchToken(token, fp string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	var c searchCursor
	if err != nil || json.Unmarshal(b, &c) != nil || c.After == "" {
		return "", store.Errorf(store.EInvalid, "page.token is not a token this PDP issued")
	}
	if c.FP != fp {
		return "", store.Errorf(store.EInvalid, "page.token belongs to a different search request or page.limit")
	}
	return c.After, nil
}

// confirmPage walks the sorted candidate keys after `after`, keeps those
// ok confirms, and stops once limit are kept and one more is known to
// exist (more).
func confirmPage(keys []string, after string, limit int, ok func(string) (bool, error)) (kept []string, more bool, err error) {
	i := sort.SearchStrings(keys, after)
	if after != "" && i < len(keys) && keys[i] == after {
		i++
	}
	for ; i < len(keys); i++ {
		allowed, err := ok(keys[i])
		if err != nil {
			return nil, false, err
		}
		if !allowed {
			continue
		}
		if len(kept) == limit {
			return kept, true, nil
		}
		kept = append(kept, keys[i])
	}
	return kept, false, nil
}

// storeSearch answers a search in the login mapping: candidates from the
// store (grants by right, group members, the P-units' system groups),
// each confirmed by the login decision.
func (e *Engine) storeSearch(ctx context.Context, kind string, req *AZSearchRequest, after string, limit int) ([]searchItem, bool, error) {
	var (
		keys    []string
		confirm func(string) (bool, error)
		item    func(string) any
	)
	switch kind {
	case SearchSubject:
		if req.Subject.Type != AZTypeUser {
			return nil, false, nil
		}
		unitType, unit, right := req.Resource.Type, req.Resource.ID, req.Action.Name
		users, err := e.holderCandidates(ctx, unitType, unit, right)
		if err != nil {
			return nil, false, err
		}
		for id := range users {
			keys = append(keys, id)
		}
		confirm = func(id string) (bool, error) {
			ok, _, err := e.unitDecision(ctx, users[id], unitType, unit, right, false, RequestMeta{})
			return ok, err
		}
		item = func(id string) any { return AZEntity{Type: AZTypeUser, ID: id} }
	case SearchResource:
		u, err := e.searchSubjectUser(ctx, req)
		if err != nil || u == nil {
			return nil, false, err
		}
		unitType, right := req.Resource.Type, req.Action.Name
		switch unitType {
		case AZTypeOrg:
			keys = []string{u.Org}
		case AZTypePUnit:
			if keys, err = e.orgPUnits(ctx, u.Org); err != nil {
				return nil, false, err
			}
		default:
			return nil, false, nil
		}
		confirm = func(unit string) (bool, error) {
			ok, _, err := e.unitDecision(ctx, u, unitType, unit, right, false, RequestMeta{})
			return ok, err
		}
		item = func(unit string) any { return AZEntity{Type: unitType, ID: unit} }
	case SearchAction:
		u, err := e.searchSubjectUser(ctx, req)
		if err != nil || u == nil {
			return nil, false, err
		}
		if keys, err = e.heldRights(ctx, u); err != nil {
			return nil, false, err
		}
		unitType, unit := req.Resource.Type, req.Resource.ID
		confirm = func(right string) (bool, error) {
			ok, _, err := e.unitDecision(ctx, u, unitType, unit, right, false, RequestMeta{})
			return ok, err
		}
		item = func(right string) any { return AZAction{Name: right} }
	}
	sort.Strings(keys)
	kept, more, err := confirmPage(keys, after, limit, confirm)
	if err != nil {
		return nil, false, err
	}
	out := make([]searchItem, len(kept))
	for i, k := range kept {
		out[i] = searchItem{key: k, value: item(k)}
	}
	return out, more, nil
}

// searchSubjectUser is the stored user a resource or action search is
// about; nil (no results) for another subject type or an unknown user.
func (e *Engine) searchSubjectUser(ctx context.Context, req *AZSearchRequest) (*store.User, error) {
	if req.Subject.Type != AZTypeUser {
		return nil, nil
	}
	return e.storedUser(ctx, req.Subject.ID)
}

// holderCandidates returns the users of the unit's organisation that hold
// a grant of right in that organisation, directly or through a group
// (custom groups' members, system groups' P-unit users): a superset of
// those the login decision allows.
func (e *Engine) holderCandidates(ctx context.Context, unitType, unit, right string) (map[string]*store.User, error) {
	out := map[string]*store.User{}
	err := e.store.View(ctx, func(tx *store.Tx) error {
		org := ""
		switch unitType {
		case AZTypeOrg:
			org = unit
		case AZTypePUnit:
			g, err := tx.SystemGroup(unit)
			if store.IsNotFound(err) {
				return nil
			} else if err != nil {
				return err
			}
			org = g.Org
		default:
			return nil
		}
		grants, err := tx.GrantsOfRight(right)
		if err != nil {
			return err
		}
		add := func(id string) error {
			if _, seen := out[id]; seen {
				return nil
			}
			u, err := tx.GetUser(id)
			if store.IsNotFound(err) {
				return nil
			} else if err != nil {
				return err
			}
			if u.Org == org {
				out[id] = u
			}
			return nil
		}
		for _, g := range grants {
			if g.Org != org {
				continue
			}
			if g.HolderType == store.HolderUser {
				if err := add(g.HolderID); err != nil {
					return err
				}
				continue
			}
			members, err := tx.Members(g.HolderID)
			if store.IsNotFound(err) {
				continue
			} else if err != nil {
				return err
			}
			for _, id := range members {
				if err := add(id); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, store.Errorf(store.EInternal, "store read failed: %v", err)
	}
	return out, nil
}

// orgPUnits lists the P-numbers of an organisation.
func (e *Engine) orgPUnits(ctx context.Context, cvr string) ([]string, error) {
	var ps []string
	err := e.store.View(ctx, func(tx *store.Tx) error {
		o, err := tx.GetOrg(cvr)
		if store.IsNotFound(err) {
			return nil
		} else if err != nil {
			return err
		}
		for _, p := range o.PUnits {
			ps = append(ps, p.PNumber)
		}
		return nil
	})
	if err != nil {
		return nil, store.Errorf(store.EInternal, "store read failed: %v", err)
	}
	return ps, nil
}

// heldRights lists the rights of a user's effective grants in its own
// organisation (the only ones its login decision counts).
func (e *Engine) heldRights(ctx context.Context, u *store.User) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	err := e.store.View(ctx, func(tx *store.Tx) error {
		gs, err := tx.EffectiveGrants(u.ID)
		if err != nil {
			return err
		}
		for _, g := range gs {
			if g.Org == u.Org && !seen[g.Right] {
				seen[g.Right] = true
				out = append(out, g.Right)
			}
		}
		return nil
	})
	if err != nil && !store.IsNotFound(err) {
		return nil, store.Errorf(store.EInternal, "store read failed: %v", err)
	}
	return out, nil
}

// searchRule is the data reference of a custom search rule: the
// entrypoint's package plus "<kind>_search".
func searchRule(ep, kind string) (string, error) {
	segs := strings.Split(strings.ReplaceAll(ep, ".", "/"), "/")
	if len(segs) < 2 {
		return "", store.Errorf(store.EInternal, "the AuthZEN entrypoint names no package")
	}
	query := "data"
	for _, seg := range segs[:len(segs)-1] {
		if seg == "" || !validSegment(seg) {
			return "", store.Errorf(store.EInternal, "invalid AuthZEN entrypoint")
		}
		query += "." + seg
	}
	return query + "." + kind + "_search", nil
}

// hasSearch reports whether the search of kind is served: always in the
// login mapping; with an entrypoint only when its rule is defined.
func (e *Engine) hasSearch(kind string) bool {
	ep := strings.Trim(e.cfg.AuthZENEntrypoint, "/")
	if ep == "" {
		return true
	}
	q, err := searchRule(ep, kind)
	ps := e.policy.Load()
	return err == nil && ps != nil && ps.HasRule(q)
}

// customSearch evaluates data.PKG.<kind>_search with the request as input.
// The answer must be a set or an array of entities ({type,id}, or {name}
// for actions); anything else is a policy error and answers nothing.
func (e *Engine) customSearch(ctx context.Context, ep, kind string, raw []byte, after string, limit int) ([]searchItem, bool, error) {
	if !e.hasSearch(kind) {
		return nil, false, store.Errorf(store.ENotFound, "the policy defines no %s_search rule", kind)
	}
	q, _ := searchRule(ep, kind)
	result, _, err := e.Evaluate(ctx, q, raw)
	if err != nil {
		return nil, false, err
	}
	list, ok := result.([]any)
	if !ok && result != nil {
		return nil, false, store.Errorf(store.EInternal, "%s answered neither a set nor an array", q)
	}
	byKey := map[string]any{}
	for _, v := range list {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false, store.Errorf(store.EInternal, "%s answered an entity that is not an object", q)
		}
		props, _ := obj["properties"].(map[string]any)
		if kind == SearchAction {
			name, ok := obj["name"].(string)
			if !ok || name == "" {
				return nil, false, store.Errorf(store.EInternal, "%s answered an action without a name", q)
			}
			byKey[name] = AZAction{Name: name, Properties: props}
			continue
		}
		typ, ok1 := obj["type"].(string)
		id, ok2 := obj["id"].(string)
		if !ok1 || !ok2 || typ == "" || id == "" {
			return nil, false, store.Errorf(store.EInternal, "%s answered an entity without type and id", q)
		}
		// The spec's member order (type, id, properties): clients that
		// compare serialised entities see what they sent.
		byKey[typ+"\x00"+id] = AZEntity{Type: typ, ID: id, Properties: props}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	kept, more, _ := confirmPage(keys, after, limit, func(string) (bool, error) { return true, nil })
	out := make([]searchItem, len(kept))
	for i, k := range kept {
		out[i] = searchItem{key: k, value: byKey[k]}
	}
	return out, more, nil
}

// SearchEndpoints adds the served search endpoints to the discovery
// document.
func (e *Engine) SearchEndpoints(doc map[string]any, base string) {
	for _, kind := range []string{SearchSubject, SearchResource, SearchAction} {
		if e.hasSearch(kind) {
			doc[fmt.Sprintf("search_%s_endpoint", kind)] = base + "/access/v1/search/" + kind
		}
	}
}
