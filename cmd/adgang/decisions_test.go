package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestDecisionsCommand: `adgang serve --decision-log-store on` keeps the
// login decisions it answers, and `adgang decisions` lists them through
// the admin API (filtered by organisation and allow) and shows one by id.
func TestDecisionsCommand(t *testing.T) {
	const boot = "decisions-test-bootstrap-token-0123456789"
	m := startMain(t, Config{Demo: true, BootstrapToken: boot, DecisionLogStore: true,
		DecisionLogMode: "lossless", DecisionLogRetention: 720 * 60 * 60 * 1e9})
	var allowID string
	for _, id := range []string{demoAlice, demoAlice} {
		_, out := postJSON(t, m.DecisionURL+"/v1/decisions/login", `{"subject":{"id":"`+id+`","cvr":"`+demoSchoolCVR+
			`","kind":"employee","cpr_linked":true},"service":"eksamensdatabasen"}`)
		if out["allow"] != true {
			t.Fatalf("login: %v", out)
		}
		allowID, _ = out["decision_id"].(string)
	}
	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"decisions", "--admin-addr", m.AdminURL, "--token", boot}, args...), &out, &out)
		return out.String(), err
	}
	out, err := cli("--cvr", demoSchoolCVR, "--allow", "true")
	if err != nil {
		t.Fatalf("decisions: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], allowID) || !strings.Contains(lines[0], "\tallow\tadgang/login\t"+demoSchoolCVR+"\t"+demoAlice) {
		t.Errorf("listing, newest first:\n%s", out)
	}
	if out, err := cli("--allow", "false"); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("allow=false: %v %q", err, out)
	}
	if out, err := cli("--limit", "1", "--all"); err != nil || strings.Count(out, "\n") != 2 {
		t.Errorf("--limit 1 --all: %v %q", err, out)
	}
	if out, err := cli(allowID); err != nil || !strings.Contains(out, `"decision_id":"`+allowID+`"`) {
		t.Errorf("one decision: %v %q", err, out)
	}
	if _, err := cli("00000000-0000-4000-8000-000000000000"); err == nil || !strings.Contains(err.Error(), "not_found") {
		t.Errorf("unknown id: %v", err)
	}
	if _, err := cli("--from", "yesterday"); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("bad --from: %v", err)
	}
}
