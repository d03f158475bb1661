package main

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/policies"
)

// untestedPolicyDir is a copy of the embedded policy set with D12's tests
// and METADATA removed.
func untestedPolicyDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	err := fs.WalkDir(policies.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(policies.FS, path)
		if err != nil {
			return err
		}
		s := string(b)
		switch path {
		case "login_test.rego":
			s = regexp.MustCompile(`(?ms)^test_d12_\w* if \{\n.*?^\}\n`).ReplaceAllString(s, "")
		case "login.rego":
			s = regexp.MustCompile(`(?m)^# METADATA\n# title: D12 [^\n]*\n(?:#[^\n]*\n)*`).ReplaceAllString(s, "")
		}
		return os.WriteFile(filepath.Join(dir, path), []byte(s), 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestServeRefusesUntestedPolicies: `adgang serve --policies DIR` does
// not start on a set that lacks the tests of a serving rule (D12), even
// with its METADATA gone, and `adgang policy test DIR` fails on it too.
func TestServeRefusesUntestedPolicies(t *testing.T) {
	dir := untestedPolicyDir(t)
	m := &Main{Config: Config{DataDir: t.TempDir(), PoliciesDir: dir, DecisionAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		DecisionLog: "off"}, Logger: zerolog.Nop()}
	err := m.Run(context.Background(), io.Discard)
	_ = m.Close()
	if err == nil || !strings.Contains(err.Error(), "D12") {
		t.Fatalf("Run = %v, want a refusal naming D12", err)
	}
	if err := run(context.Background(), []string{"policy", "test", dir}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "D12") {
		t.Fatalf("policy test = %v, want a refusal naming D12", err)
	}
}
