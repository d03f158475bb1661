package admin

import (
	"context"
	"fmt"
	"net/url"

	"github.com/adgang/adgang/store"
)

// ListKnocks pages through the organisation's knock queue, oldest first.
func (s *Service) ListKnocks(ctx context.Context, c *Caller, cvr string, q url.Values) (*Page[*store.Knock], error) {
	return orgList(ctx, s, c, cvr, q, objKnock, func(tx *store.Tx, cvr string, pg page) ([]*store.Knock, string, error) {
		knocks, err := tx.ListKnocks(cvr)
		// Queue order: the first attempt, oldest first, then id (a knock's
		// first attempt never changes, so its place is stable across pages).
		knocks, next := pageOf(pg, knocks, func(k *store.Knock) string {
			return fmt.Sprintf("%020d-%s", k.First.UnixNano(), k.ID)
		})
		return knocks, next, err
	})
}

// planKnockAccept creates the user a knock asked for (L6), prefilled from
// the knock (id from its UUID, legacy id, name, e-mail; source "knock")
// with the body's fields winning, and deletes the knock, in one
// transaction. The user creation is checked like POST /v1/orgs/{cvr}/users
// (user.create, and A15 when it is the organisation's first user).
func (s *Service) planKnockAccept(c *Caller, id string, req *UserCreateRequest, out *UserAnswer) planFunc {
	return func(tx *store.Tx) (*plan, error) {
		if err := validObjectID("knock", id); err != nil {
			return nil, err
		}
		k, err := loadKnock(tx, id)
		if err != nil {
			return nil, err
		}
		if err := s.authorize(c, k.Org, "knock", objKnock, actAccept); err != nil {
			return nil, err
		}
		if err := knockIdentityFree(tx, k); err != nil {
			return nil, err
		}
		u := *req
		if u.ID == "" {
			u.ID = k.UUID
		}
		if u.LegacyID == "" {
			u.LegacyID = k.LegacyID
		}
		if u.Name == "" {
			u.Name = k.Name
		}
		if u.Email == "" {
			u.Email = k.Email
		}
		return s.planUserCreate(c, k.Org, &u, "knock", out, func(tx *store.Tx) error { return tx.DeleteKnock(id) })(tx)
	}
}

// AcceptKnock creates the user the knock id asked for (planKnockAccept).
func (s *Service) AcceptKnock(ctx context.Context, c *Caller, id string, req *UserCreateRequest) (uint64, *UserAnswer, error) {
	var out UserAnswer
	rev, err := s.write(ctx, c, s.planKnockAccept(c, id, req, &out))
	return rev, &out, err
}

// DeleteKnock deletes the knock id. Deleting knocks is no adgang.admin
// action: only the role check applies.
func (s *Service) DeleteKnock(ctx context.Context, c *Caller, id string) (uint64, error) {
	return s.write(ctx, c, func(tx *store.Tx) (*plan, error) {
		if err := validObjectID("knock", id); err != nil {
			return nil, err
		}
		k, err := loadKnock(tx, id)
		if err != nil {
			return nil, err
		}
		if err := s.authorize(c, k.Org, "knock", objKnock, actDelete); err != nil {
			return nil, err
		}
		return &plan{apply: func(tx *store.Tx) error { return tx.DeleteKnock(id) }}, nil
	})
}

// maxBulk bounds the ids of one bulk request.
const maxBulk = 1000

// KnocksDeleteRequest is the body of POST /v1/orgs/{cvr}/knocks:delete.
type KnocksDeleteRequest struct {
	IDs []string `json:"ids"`
}

// DeleteKnocks deletes many knocks of one organisation at once (L6);
// every id must be a knock of that organisation, or nothing is deleted.
func (s *Service) DeleteKnocks(ctx context.Context, c *Caller, cvr string, req *KnocksDeleteRequest) (rev uint64, deleted []string, err error) {
	rev, err = s.write(ctx, c, func(tx *store.Tx) (*plan, error) {
		if err := validCVR(cvr); err != nil {
			return nil, err
		}
		if len(req.IDs) == 0 || len(req.IDs) > maxBulk {
			return nil, invalid("ids must list 1-%d knock ids", maxBulk)
		}
		if err := s.authorize(c, cvr, "organisation", objKnock, actDelete); err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, id := range req.IDs {
			if err := validObjectID("knock", id); err != nil {
				return nil, err
			}
			if seen[id] {
				continue
			}
			seen[id] = true
			k, err := loadKnock(tx, id)
			if err != nil {
				return nil, err
			}
			if k.Org != cvr {
				return nil, notFound("knock")
			}
			deleted = append(deleted, id)
		}
		return &plan{apply: func(tx *store.Tx) error {
			for _, id := range deleted {
				if err := tx.DeleteKnock(id); err != nil {
					return err
				}
			}
			return nil
		}}, nil
	})
	return rev, deleted, err
}

// knockIdentityFree refuses, with a message that says what to do, a knock
// whose identity (UUID or legacy id) has since become a user — of another
// organisation, typically: the login decision no longer queues such a
// knock (D2), but one queued before the user was made would otherwise
// fail with the store's bare "user id already in use". The conflict is
// the store's id uniqueness (A12), so the answer carries its code.
func knockIdentityFree(tx *store.Tx, k *store.Knock) error {
	var err error
	switch {
	case k.UUID != "":
		_, err = tx.GetUser(k.UUID)
	case k.LegacyID != "":
		_, err = tx.UserByLegacyID(k.LegacyID)
	default:
		return nil
	}
	if store.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	return store.RuleError(store.EConflict, "A12", "duplicate",
		"knock %s: its identity is already a user (of another organisation); it cannot be accepted — delete the knock", k.ID)
}
