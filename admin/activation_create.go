package admin

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/adgang/adgang/store"
)

// ActivationAtCreationQuery says how a user created by an administrator is
// activated at once (L7): "mail", "code" or undefined (none).
const ActivationAtCreationQuery = "data.adgang.admin.activation_at_creation"

// withActivation wraps a user.create plan (POST /v1/orgs/{cvr}/users) so
// that, when the L7 rules say so, the new user's activation is issued in
// the same transaction: a CPR user's activation mail is queued in the
// outbox, a birth-date user's one-time code lands in out (shown once in
// the create answer, stored hashed). The activation is checked by the
// adgang.admin rules as a user.activation of the new user, beside the
// create. A refused or failed activation refuses the whole create.
func (s *Service) withActivation(ctx context.Context, c *Caller, pf planFunc, created *UserAnswer, out *Activation) planFunc {
	return func(tx *store.Tx) (*plan, error) {
		p, err := pf(tx)
		if err != nil || len(p.checks) == 0 {
			return p, err
		}
		create := p.checks[0]
		raw, err := json.Marshal(create)
		if err != nil {
			return nil, err
		}
		res, _, err := s.eng.Evaluate(ctx, ActivationAtCreationQuery, raw)
		if err != nil {
			return nil, fmt.Errorf("activation policy: %w", err)
		}
		method, _ := res.(string)
		if method != "mail" && method != "code" {
			return p, nil // no activation at creation
		}
		change, _ := create["change"].(map[string]any)
		target := map[string]any{}
		for k, v := range change {
			target[k] = v
		}
		target["status"] = string(store.StatusNew)
		act := map[string]any{}
		for k, v := range create {
			act[k] = v
		}
		act["action"], act["target"], act["change"] = "user.activation", target, map[string]any{"bulk": false}
		p.checks = append(p.checks, act)
		apply := p.apply
		p.apply = func(tx *store.Tx) error {
			if err := apply(tx); err != nil {
				return err
			}
			if created.User == nil {
				return nil
			}
			u, err := tx.GetUser(created.User.ID)
			if err != nil {
				return err
			}
			return issueActivation(tx, u, false, out)
		}
		return p, nil
	}
}
