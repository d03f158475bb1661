// Package policies holds Adgang's default policy set: the Rego rules
// (login D1–D15, admin A2–A13, password L8 and their helpers) and their
// tests, embedded in the binary. See README.md for the input and output
// contract of each entrypoint.
package policies

import (
	"embed"
	"fmt"
	"io/fs"
)

// FS is the embedded default policy set: every *.rego file of this
// directory, tests (*_test.rego) included. The loader decides what to
// compile; nothing else is embedded.
//
//go:embed *.rego
var FS embed.FS

// Modules returns the source of every embedded .rego file, keyed by file
// name (e.g. "login.rego", "login_test.rego").
func Modules() (map[string]string, error) {
	entries, err := fs.ReadDir(FS, ".")
	if err != nil {
		return nil, fmt.Errorf("read embedded policies: %w", err)
	}
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := fs.ReadFile(FS, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read embedded policy %s: %w", e.Name(), err)
		}
		out[e.Name()] = string(b)
	}
	return out, nil
}
