package pdp

import (
	"context"
	"sort"

	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/adgang/adgang/store"
)

// Profile is a user's own view of its rights ("Min profil",
// Eksamensdatabasen): every right its login decision allows, with the
// unit each applies to, in the login answer's shape.
type Profile struct {
	Rights   []RightScope `json:"rights"`
	Revision uint64       `json:"revision"`
}

// Profile evaluates the login decision of the stored user u, as the
// identity it is (its own org, kind and CPR link), for every service in
// which it holds a grant, and returns the rights those decisions allow.
// It is a read: no knock, no last-login time, no decision-log entry. A
// policy or store failure is an error (the caller answers 5xx), never a
// partial profile.
func (e *Engine) Profile(ctx context.Context, u *store.User) (*Profile, error) {
	ps := e.policy.Load()
	if ps == nil || !ps.hasLogin {
		return nil, store.Errorf(store.EInternal, "no valid login policy is loaded")
	}
	view, err := e.store.LoginView(ctx, u.Org, u.ID, "")
	if err != nil {
		return nil, err
	}
	out := &Profile{Rights: []RightScope{}, Revision: view.Revision}
	if view.User == nil {
		return out, nil
	}
	idx := e.rights.Load()
	serviceOf := map[string]string{}
	for svc, ids := range idx.byService {
		for _, id := range ids {
			serviceOf[id] = svc
		}
	}
	services := map[string]bool{}
	for _, g := range view.Grants {
		if svc, ok := serviceOf[g.Right]; ok {
			services[svc] = true
		}
	}
	names := make([]string, 0, len(services))
	for svc := range services {
		names = append(names, svc)
	}
	sort.Strings(names)
	for _, svc := range names {
		req := &LoginRequest{Service: svc, Subject: Subject{ID: u.ID, CVR: u.Org, Kind: string(u.Kind),
			CPRLinked: u.CPRLinked}}
		if req.Subject.Kind == "" {
			req.Subject.Kind = string(store.KindEmployee)
		}
		rs, err := ps.login.Eval(ctx, rego.EvalParsedInput(e.loginInput(req, view)))
		if err != nil {
			return nil, store.Errorf(store.EInternal, "the login policy could not be evaluated")
		}
		d := &Decision{}
		if err := parseLoginResult(rs, d); err != nil {
			return nil, store.Errorf(store.EInternal, "the login policy answered in an unexpected shape")
		}
		if d.Allow {
			out.Rights = append(out.Rights, d.Rights...)
		}
	}
	sort.SliceStable(out.Rights, func(i, j int) bool { return out.Rights[i].Right < out.Rights[j].Right })
	return out, nil
}
