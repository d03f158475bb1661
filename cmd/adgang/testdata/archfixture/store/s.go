package store

// S is fine.
func S() {}
