package admin

import (
	"context"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// Me answers the caller's own profile ("Min profil",
// Eksamensdatabasen): GET /v1/me → {user, rights:[{right, scope:{all,
// cvr, p_numbers}}], revision}. The rights are those the user's own login
// decisions allow, in the login answer's shape: a scope with all=true is
// the whole organisation (the "empty unit"), otherwise the P-numbers it
// applies to. Any token made for a user and any JWT may ask, a user
// without an administrator role included; no Casbin role is needed, since
// the answer is only ever about the caller itself. The CPR number is
// masked (DDMMYY-****) as in every answer.
func (s *Service) Me(ctx context.Context, c *Caller) (*store.User, *pdp.Profile, error) {
	me, err := ownUser(c, "profile")
	if err != nil {
		return nil, nil, err
	}
	var u *store.User
	err = s.st.View(ctx, func(tx *store.Tx) error {
		var err error
		if u, err = loadUser(tx, me); err != nil {
			return err
		}
		s.withPasswordStatus(ctx, tx, u)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	p, err := s.eng.Profile(ctx, u)
	if err != nil {
		return nil, nil, err
	}
	return u, p, nil
}
