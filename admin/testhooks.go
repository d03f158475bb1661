package admin

import "context"

// SetActivationVerifier replaces the activation hash check, for tests
// that observe (and hold) a hash in progress, and returns a function that
// restores it. Not for production use.
func SetActivationVerifier(f func(hash, secret string) bool) (restore func()) {
	old := verifyActivation
	verifyActivation = f
	return func() { verifyActivation = old }
}

// RebuildRoles brings the role index up to date with the store now, for
// writes made straight into the store (the index otherwise catches up
// from the change feed in the background).
func (s *Service) RebuildRoles(ctx context.Context) { s.rebuildRoles(ctx) }
