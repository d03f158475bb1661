package admin

import (
	"context"
	"net/url"

	"github.com/adgang/adgang/store"
)

// TokenRequest is the body of POST /v1/tokens.
type TokenRequest struct {
	UserID     string      `json:"user_id,omitempty"`
	Superadmin bool        `json:"superadmin,omitempty"`
	ExpiresAt  *store.Time `json:"expires_at,omitempty"`
}

// CreateToken makes an API token; plain is its secret, shown once. A
// superadmin may make any token; any other administrator only a token
// for itself (which acts with its own roles, so no role is gained). A
// token for another user is not found when that user is outside the
// caller's organisations (A1) and forbidden otherwise (A14). capped says
// that expires_at was capped at the caller's own credentials' expiry.
func (s *Service) CreateToken(ctx context.Context, c *Caller, req *TokenRequest) (rev uint64, tok *store.Token, plain string, capped bool, err error) {
	// A token never outlives the credentials that made it: a JWT caller's
	// token expires at the JWT's exp at the latest (an expiring API token's
	// likewise at its expires_at). A later or missing expires_at is capped,
	// and the answer says so with expires_at_capped.
	if c.expires != nil && (req.ExpiresAt == nil || req.ExpiresAt.After(*c.expires)) {
		exp := c.expires.UTC()
		req.ExpiresAt, capped = &store.Time{Time: exp}, true
	}
	rev, err = s.write(ctx, c, func(tx *store.Tx) (*plan, error) {
		if !c.superadmin {
			if req.Superadmin {
				return nil, forbidden("only a superadmin may create superadmin tokens")
			}
			if req.UserID == "" {
				req.UserID = c.userID
			}
			if req.UserID != c.userID {
				if err := validUserID(req.UserID); err != nil {
					return nil, err
				}
				u, err := loadUser(tx, req.UserID)
				if err != nil {
					return nil, err
				}
				if len(s.roles.rolesIn(c.subject, u.Org)) == 0 {
					return nil, notFound("user")
				}
				return nil, forbidden("an administrator may only create tokens for itself")
			}
			if err := s.authorizeGlobal(c, objToken, actCreate); err != nil {
				return nil, err
			}
		} else if err := s.authorizeGlobal(c, objToken, actCreate); err != nil {
			return nil, err
		}
		return &plan{apply: func(tx *store.Tx) error {
			var err error
			tok, plain, err = createTokenTx(tx, c.actor, req.UserID, req.Superadmin, req.ExpiresAt.Std())
			return err
		}}, nil
	})
	return rev, tok, plain, capped, err
}

// ListTokens lists tokens (never their secrets or hashes): every token
// for a superadmin, the caller's own otherwise.
func (s *Service) ListTokens(ctx context.Context, c *Caller, q url.Values) (*Page[*store.Token], error) {
	return checkedList(ctx, s, q, s.authorizeGlobal(c, objToken, actRead), func(tx *store.Tx, pg page) ([]*store.Token, string, error) {
		ts, err := tx.ListTokens()
		if err != nil {
			return nil, "", err
		}
		out := []*store.Token{}
		for _, t := range ts {
			if c.superadmin || (c.userID != "" && t.UserID == c.userID && !t.Superadmin) {
				out = append(out, t)
			}
		}
		out, next := pageOf(pg, out, func(t *store.Token) string { return t.ID })
		return out, next, nil
	})
}

// DeleteToken revokes a token at once: a superadmin any token, any other
// administrator its own (others' tokens are not found).
func (s *Service) DeleteToken(ctx context.Context, c *Caller, id string) (uint64, error) {
	return s.write(ctx, c, func(tx *store.Tx) (*plan, error) {
		if err := validObjectID("token", id); err != nil {
			return nil, err
		}
		t, err := loadToken(tx, id)
		if err != nil {
			return nil, err
		}
		if !c.superadmin && (c.userID == "" || t.UserID != c.userID || t.Superadmin) {
			return nil, notFound("token")
		}
		if err := s.authorizeGlobal(c, objToken, actDelete); err != nil {
			return nil, err
		}
		return &plan{apply: func(tx *store.Tx) error { return tx.DeleteToken(id) }}, nil
	})
}
