package pdp

import _ "example.com/fix/admin"

// P imports a package above it.
func P() {}
