package admin

// SetActivationVerifier replaces the activation hash check for a test and
// returns a function that restores it.
func SetActivationVerifier(f func(hash, secret string) bool) (restore func()) {
	old := verifyActivation
	verifyActivation = f
	return func() { verifyActivation = old }
}
