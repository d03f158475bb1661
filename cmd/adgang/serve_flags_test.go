package main

import (
	"io"
	"os"
	"testing"
)

func TestDecisionCacheFlag(t *testing.T) {
	for _, tc := range []struct {
		env     string
		args    []string
		want    int
		pdp     int
		wantErr bool
	}{
		{args: nil, want: 300000, pdp: 300000},
		{args: []string{"--decision-cache", "0"}, want: 0, pdp: -1},
		{args: []string{"--decision-cache", "500"}, want: 500, pdp: 500},
		{env: "0", want: 0, pdp: -1},
		{env: "2000", args: []string{"--decision-cache", "30"}, want: 30, pdp: 30},
		{env: "lots", wantErr: true},
		{env: "-1", wantErr: true},
	} {
		t.Setenv("ADGANG_DECISION_CACHE", tc.env)
		cfg, err := parseServeFlags(tc.args, io.Discard)
		if tc.wantErr {
			if err == nil {
				t.Errorf("env %q args %v: no error", tc.env, tc.args)
			}
			continue
		}
		if err != nil {
			t.Fatalf("env %q args %v: %v", tc.env, tc.args, err)
		}
		if cfg.DecisionCache != tc.want || pdpCacheSize(cfg.DecisionCache) != tc.pdp {
			t.Errorf("env %q args %v: cache %d (pdp %d), want %d (pdp %d)", tc.env, tc.args,
				cfg.DecisionCache, pdpCacheSize(cfg.DecisionCache), tc.want, tc.pdp)
		}
	}
}

// TestDecisionCacheBytesFlag: --decision-cache-bytes / ADGANG_DECISION_CACHE_BYTES
// bound the cache by bytes (SPEC §8, default 128 MiB; 0 disables).
func TestDecisionCacheBytesFlag(t *testing.T) {
	for _, tc := range []struct {
		env     string
		args    []string
		want    int64
		pdp     int64
		wantErr bool
	}{
		{args: nil, want: 128 << 20, pdp: 128 << 20},
		{args: []string{"--decision-cache-bytes", "0"}, want: 0, pdp: -1},
		{args: []string{"--decision-cache-bytes", "1048576"}, want: 1 << 20, pdp: 1 << 20},
		{env: "0", want: 0, pdp: -1},
		{env: "2000000", want: 2000000, pdp: 2000000},
		{env: "2000000", args: []string{"--decision-cache-bytes", "3000"}, want: 3000, pdp: 3000},
		{env: "lots", wantErr: true},
		{env: "-1", wantErr: true},
	} {
		t.Setenv("ADGANG_DECISION_CACHE_BYTES", tc.env)
		cfg, err := parseServeFlags(tc.args, io.Discard)
		if tc.wantErr {
			if err == nil {
				t.Errorf("env %q args %v: no error", tc.env, tc.args)
			}
			continue
		}
		if err != nil {
			t.Fatalf("env %q args %v: %v", tc.env, tc.args, err)
		}
		if cfg.CacheBytes != tc.want || pdpCacheBytes(cfg.CacheBytes) != tc.pdp {
			t.Errorf("env %q args %v: cache bytes %d (pdp %d), want %d (pdp %d)", tc.env, tc.args,
				cfg.CacheBytes, pdpCacheBytes(cfg.CacheBytes), tc.want, tc.pdp)
		}
	}
}

// TestLoginEvaluatorFlag: --login-evaluator / ADGANG_LOGIN_EVALUATOR pick
// the login evaluator: plan by default, wasm or topdown on request,
// nothing else.
func TestLoginEvaluatorFlag(t *testing.T) {
	for _, tc := range []struct {
		env, want string
		args      []string
		wantErr   bool
	}{
		{want: "plan"},
		{env: "topdown", want: "topdown"},
		{env: "wasm", want: "wasm"},
		{env: "wasm", args: []string{"--login-evaluator", "plan"}, want: "plan"},
		{args: []string{"--login-evaluator", "topdown"}, want: "topdown"},
		{env: "topdown", args: []string{"--login-evaluator", "wasm"}, want: "wasm"},
		{env: "fast", wantErr: true},
		{args: []string{"--login-evaluator", ""}, wantErr: true},
	} {
		t.Setenv("ADGANG_LOGIN_EVALUATOR", tc.env)
		cfg, err := parseServeFlags(tc.args, io.Discard)
		if tc.wantErr != (err != nil) {
			t.Errorf("env %q args %v: error %v, want error %v", tc.env, tc.args, err, tc.wantErr)
			continue
		}
		if err == nil && cfg.LoginEvaluator != tc.want {
			t.Errorf("env %q args %v: %q, want %q", tc.env, tc.args, cfg.LoginEvaluator, tc.want)
		}
	}
}

// TestConsoleFlag: the admin console is on by default; --console=false or
// ADGANG_CONSOLE=false turns it off, and the flag wins over the variable.
func TestConsoleFlag(t *testing.T) {
	for _, tc := range []struct {
		env     string
		args    []string
		want    bool
		wantErr bool
	}{
		{want: true},
		{args: []string{"--console=false"}, want: false},
		{env: "false", want: false},
		{env: "false", args: []string{"--console=true"}, want: true},
		{env: "1", want: true},
		{env: "maybe", wantErr: true},
	} {
		t.Setenv("ADGANG_CONSOLE", tc.env)
		if tc.env == "" {
			os.Unsetenv("ADGANG_CONSOLE")
		}
		cfg, err := parseServeFlags(tc.args, io.Discard)
		if tc.wantErr != (err != nil) {
			t.Fatalf("env %q args %v: error %v", tc.env, tc.args, err)
		}
		if err == nil && cfg.Console != tc.want {
			t.Errorf("env %q args %v: console %v, want %v", tc.env, tc.args, cfg.Console, tc.want)
		}
	}
}
