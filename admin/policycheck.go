package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"strings"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// checkActions are the changes POST /v1/policy/check can dry-run, with
// the fields that name their object (the path parameters of the real
// request); every other field of the body is the real request's body.
var checkActions = map[string][]string{
	"org.update":          {"cvr"},
	"user.create":         {"cvr"},
	"user.update":         {"user_id"},
	"user.delete":         {"user_id"},
	"user.inactivate":     {"user_id"},
	"user.activate":       {"user_id"},
	"user.deactivate":     {"user_id"},
	"grant.create":        {"user_id|group_id"},
	"grant.delete":        {"grant_id"},
	"group.create":        {"cvr"},
	"group.delete":        {"group_id"},
	"group.member.add":    {"group_id"},
	"group.member.remove": {"group_id", "user_id"},
	"knock.accept":        {"knock_id"},
}

func checkActionNames() string {
	names := make([]string, 0, len(checkActions))
	for a := range checkActions {
		names = append(names, a)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// checkBody splits a dry-run body into its action, object ids and the
// real request's body.
type checkBody struct {
	raw map[string]json.RawMessage
}

func (b *checkBody) take(key string) (string, error) {
	v, ok := b.raw[key]
	if !ok {
		return "", nil
	}
	delete(b.raw, key)
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", invalid("%s must be a string", key)
	}
	return s, nil
}

// decode decodes the remaining fields strictly into v, like the real
// request's body.
func (b *checkBody) decode(v any) error {
	raw, err := json.Marshal(b.raw)
	if err != nil {
		return invalid("malformed change")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("malformed change: %s", pdp.MaskCPR(err.Error()))
	}
	return nil
}

// planOfCheck returns the planFunc the real request of a dry run would
// run.
func (s *Service) planOfCheck(c *Caller, b *checkBody) (string, planFunc, error) {
	action, err := b.take("action")
	if err != nil {
		return "", nil, err
	}
	keys, ok := checkActions[action]
	if !ok {
		return "", nil, invalid("action must be one of %s", checkActionNames())
	}
	ids := map[string]string{}
	for _, k := range keys {
		for _, alt := range strings.Split(k, "|") {
			v, err := b.take(alt)
			if err != nil {
				return "", nil, err
			}
			if v != "" {
				ids[alt] = v
			}
		}
	}
	for _, k := range keys {
		n := 0
		for _, alt := range strings.Split(k, "|") {
			if ids[alt] != "" {
				n++
			}
		}
		if n != 1 {
			return "", nil, invalid("%s needs exactly one of: %s", action, strings.ReplaceAll(k, "|", ", "))
		}
	}
	var pf planFunc
	switch action {
	case "org.update":
		var req OrgPatchRequest
		var o *store.Org
		err, pf = b.decode(&req), s.planOrgUpdate(c, ids["cvr"], &req, &o)
	case "user.create":
		var req UserCreateRequest
		err, pf = b.decode(&req), s.planUserCreate(c, ids["cvr"], &req, "manual", &UserAnswer{}, nil)
	case "user.update":
		var req UserPatchRequest
		err, pf = b.decode(&req), s.planUserUpdate(c, ids["user_id"], &req, &UserAnswer{})
	case "user.delete":
		err, pf = b.decode(&struct{}{}), s.planUserDelete(c, ids["user_id"])
	case "user.inactivate", "user.activate", "user.deactivate":
		var req StatusRequest
		err, pf = b.decode(&req), s.planUserStatus(c, ids["user_id"], action, &req, &UserAnswer{})
	case "grant.create":
		var req GrantRequest
		var g *store.Grant
		holder, id := store.HolderUser, ids["user_id"]
		if id == "" {
			holder, id = store.HolderGroup, ids["group_id"]
		}
		err, pf = b.decode(&req), s.planGrantCreate(c, holder, id, &req, &g)
	case "grant.delete":
		err, pf = b.decode(&struct{}{}), s.planGrantDelete(c, ids["grant_id"])
	case "group.create":
		var req GroupCreateRequest
		var g *store.Group
		err, pf = b.decode(&req), s.planGroupCreate(c, ids["cvr"], &req, &g)
	case "group.delete":
		err, pf = b.decode(&struct{}{}), s.planGroupDelete(c, ids["group_id"])
	case "group.member.add":
		var req MemberRequest
		if err = b.decode(&req); err == nil {
			pf = s.planMember(c, ids["group_id"], req.UserID, true)
		}
	case "group.member.remove":
		err, pf = b.decode(&struct{}{}), s.planMember(c, ids["group_id"], ids["user_id"], false)
	case "knock.accept":
		var req UserCreateRequest
		err, pf = b.decode(&req), s.planKnockAccept(c, ids["knock_id"], &req, &UserAnswer{})
	}
	return action, pf, err
}

// CheckResult is the verdict of a dry run: the action checked, what
// adgang.admin (and the store) said, and the revision it was checked at.
type CheckResult struct {
	Action   string
	Verdict  *pdp.Verdict
	Revision uint64
}

// PolicyCheck is the dry run of a proposed change: body
// {action, <object ids>, <the real request's body fields>}. It runs the
// real request's code (role check, facts, adgang.admin, the store's own
// refusals) in a transaction that is rolled back, and answers the
// verdict {allow, reasons:[{code, rule, message}]} with 200. Malformed
// input answers 400 and objects outside the caller's organisations 404,
// exactly like the real request.
func (s *Service) PolicyCheck(ctx context.Context, c *Caller, raw map[string]json.RawMessage) (*CheckResult, error) {
	b := &checkBody{raw: raw}
	if b.raw == nil {
		return nil, invalid("the body must be a JSON object")
	}
	if err := s.authorizeGlobal(c, objPolicy, actCheck); err != nil {
		return nil, err
	}
	action, pf, err := s.planOfCheck(c, b)
	if err != nil {
		return nil, err
	}
	v, err := s.dryRun(ctx, c, pf)
	if err != nil {
		return nil, err
	}
	return &CheckResult{Action: action, Verdict: v, Revision: s.st.Revision()}, nil
}
