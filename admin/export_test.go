package admin

import "context"

// SetActivationVerifier replaces the activation hash check for a test and
// returns a function that restores it.
func SetActivationVerifier(f func(hash, secret string) bool) (restore func()) {
	old := verifyActivation
	verifyActivation = f
	return func() { verifyActivation = old }
}

// RebuildRoles brings the role index up to date with the store now, for
// tests that write users and grants straight into the store (the index
// otherwise catches up in the background).
func (s *Service) RebuildRoles(ctx context.Context) { s.rebuildRoles(ctx) }
