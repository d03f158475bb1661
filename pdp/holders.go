package pdp

import (
	"context"
	"errors"

	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/adgang/adgang/store"
)

// AllowsRight reports whether the login decision allows right for the
// user of view logging in to its own organisation (A17: "a holder is a
// user whose login decision for that right allows"). The caller reads
// view itself, e.g. inside an admin transaction that has not committed,
// so nothing is cached, logged or queued, and the login time is not
// touched. A policy that cannot answer is an error (the caller fails
// closed).
func (e *Engine) AllowsRight(ctx context.Context, view *store.LoginView, service, right string) (bool, error) {
	ps := e.policy.Load()
	if ps == nil || !ps.hasLogin {
		return false, errors.New("no valid login policy is loaded")
	}
	if view == nil || view.User == nil {
		return false, nil
	}
	u := view.User
	req := &LoginRequest{Subject: Subject{ID: u.ID, CVR: u.Org, Kind: string(u.Kind), CPRLinked: u.CPRLinked},
		Service: service, Right: right}
	// The view is the caller's (grants read in its write transaction):
	// its records are not the store's shared ones.
	rs, err := ps.login.Eval(ctx, rego.EvalParsedInput(e.loginInputOf(req, view)))
	if err != nil {
		return false, err
	}
	d := &Decision{}
	if err := parseLoginResult(rs, d); err != nil {
		return false, err
	}
	return d.Allow, nil
}
