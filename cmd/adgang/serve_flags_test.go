package main

import (
	"io"
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
