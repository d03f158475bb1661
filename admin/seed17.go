package admin

import (
	"context"

	"github.com/adgang/adgang/store"
)

// checkImport asks adgang.admin whether org may use CSV import at all
// (user.import; A19: not an a-kasse, A18). Each row is checked on its own
// afterwards.
func (s *Service) checkImport(ctx context.Context, c *Caller, cvr, mode string, dryRun bool) error {
	var in map[string]any
	err := s.st.View(ctx, func(tx *store.Tx) error {
		o, err := loadOrg(tx, cvr)
		if err != nil {
			return err
		}
		in = s.baseInput(c, "user.import", o)
		in["change"] = map[string]any{"mode": mode, "dry_run": dryRun}
		return nil
	})
	if err != nil {
		return err
	}
	_, err = s.check(ctx, in)
	return err
}
