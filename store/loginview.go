package store

import (
	"context"
	"strings"
)

// LoginView returns what a login decision needs about subjectID (a UUID or
// a CVR:…-RID:… legacy id) logging in for cvr: the user (nil if unknown),
// the org (nil if unknown), its direct grants and the grants of every group
// it is a member of (custom and the system group of its P-number), and the
// certificate with certSerial if given and known. Point look-ups only.
func (s *Store) LoginView(ctx context.Context, cvr, subjectID, certSerial string) (*LoginView, error) {
	// The revision is read before the snapshot is taken: the view is then
	// at least as new as its label, never older, so a cache keyed by the
	// label can never serve data older than the revision it names.
	v := &LoginView{Revision: s.rev.Load()}
	err := s.viewShared(ctx, v.Revision, func(tx *Tx) error {
		tx.shareIterator()
		u, err := tx.GetUser(subjectID)
		if IsNotFound(err) && strings.HasPrefix(subjectID, "CVR:") {
			u, err = tx.UserByLegacyID(subjectID)
		}
		switch {
		case err == nil:
			v.User = u
		case !IsNotFound(err):
			return err
		}
		if v.Org, err = tx.loginOrg(cvr, v.Revision); err != nil {
			return err
		}
		var groups []string
		if v.User != nil {
			if v.Grants, groups, err = tx.effectiveGrantsAndGroups(v.User, v.Revision); err != nil {
				return err
			}
			if v.GrantOrgs, err = tx.grantOrgs(v.User, v.Grants, v.Revision); err != nil {
				return err
			}
		}
		v.Deps = loginDeps(v, cvr, subjectID, certSerial, groups)
		if certSerial != "" {
			if c, err := tx.GetCertificate(certSerial); err == nil {
				v.Certificate = c
			} else if !IsNotFound(err) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}
