package admin

import (
	"net/http"

	"github.com/adgang/adgang/store"
)

// tokenRequest is the body of POST /v1/tokens.
type tokenRequest struct {
	UserID     string      `json:"user_id,omitempty"`
	Superadmin bool        `json:"superadmin,omitempty"`
	ExpiresAt  *store.Time `json:"expires_at,omitempty"`
}

// handleCreateToken makes an API token, shown once in the answer. A
// superadmin may make any token; any other administrator only a token
// for itself (which acts with its own roles, so no role is gained). A
// token for another user answers 404 when that user is outside the
// caller's organisations (A1) and 403 otherwise (A14).
func (s *Service) handleCreateToken(w http.ResponseWriter, r *http.Request, c *Caller) {
	var req tokenRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	// A token never outlives the credentials that made it: a JWT caller's
	// token expires at the JWT's exp at the latest (an expiring API token's
	// likewise at its expires_at). A later or missing expires_at is capped,
	// and the answer says so with expires_at_capped.
	capped := false
	if c.expires != nil && (req.ExpiresAt == nil || req.ExpiresAt.After(*c.expires)) {
		exp := c.expires.UTC()
		req.ExpiresAt, capped = &store.Time{Time: exp}, true
	}
	var tok *store.Token
	var plain string
	rev, err := s.write(r.Context(), c, func(tx *store.Tx) (*plan, error) {
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
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	ans := map[string]any{"revision": rev, "id": tok.ID, "token": plain,
		"user_id": tok.UserID, "superadmin": tok.Superadmin, "expires_at": tok.ExpiresAt}
	if capped {
		ans["expires_at_capped"] = true
	}
	writeJSON(w, http.StatusCreated, ans)
}

// handleListTokens lists tokens (never their secrets or hashes): every
// token for a superadmin, the caller's own otherwise.
func (s *Service) handleListTokens(w http.ResponseWriter, r *http.Request, c *Caller) {
	serveCheckedList(s, w, r, "tokens", s.authorizeGlobal(c, objToken, actRead), func(tx *store.Tx, pg page) ([]*store.Token, string, error) {
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

// handleDeleteToken revokes a token at once: a superadmin any token, any
// other administrator its own (others' tokens are not found).
func (s *Service) handleDeleteToken(w http.ResponseWriter, r *http.Request, c *Caller) {
	id := pathVar(r, "id")
	rev, err := s.write(r.Context(), c, func(tx *store.Tx) (*plan, error) {
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
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"revision": rev, "deleted": id})
}
