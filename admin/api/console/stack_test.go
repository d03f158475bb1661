package console_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// stack is a real `adgang serve --demo` process: the console is tested
// the way a newcomer meets it after `make run DEMO=1`.
type stack struct {
	admin, decision, token, dir string
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// adgangBinary builds cmd/adgang once per test run.
func adgangBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			buildErr = err
			return
		}
		root := filepath.Dir(strings.TrimSpace(string(out)))
		dir, err := os.MkdirTemp("", "adgang-console-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "adgang")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/adgang")
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			buildErr = err
			t.Logf("go build: %s", b)
		}
	})
	if buildErr != nil {
		t.Fatalf("building adgang: %v", buildErr)
	}
	return binPath
}

// startStack runs the server on free ports with the demo data and waits
// for its start line.
func startStack(t *testing.T, extra ...string) *stack {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{"serve", "--data", dir, "--demo", "--decision-addr", "127.0.0.1:0",
		"--admin-addr", "127.0.0.1:0", "--decision-log", "off", "--lifecycle-interval", "0"}, extra...)
	cmd := exec.Command(adgangBinary(t), args...)
	cmd.Env = append(os.Environ(), "ADGANG_CPR_KEY="+strings.Repeat("ab", 32))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	started := make(chan map[string]any, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil && line["message"] == "adgang started" {
				started <- line
			}
		}
	}()
	select {
	case line := <-started:
		if line["console_url"] != line["admin_url"].(string)+"/console/" {
			t.Errorf("the start line names the console at %v", line["console_url"])
		}
		tok, err := os.ReadFile(filepath.Join(dir, "demo-admin-token"))
		if err != nil {
			t.Fatal(err)
		}
		return &stack{admin: line["admin_url"].(string), decision: line["decision_url"].(string),
			token: strings.TrimSpace(string(tok)), dir: dir}
	case <-time.After(60 * time.Second):
		t.Fatal("adgang did not start within 60s")
	}
	return nil
}

// api calls the admin API with token and decodes the JSON answer.
func (s *stack) api(t *testing.T, token, method, path string, body any) (int, map[string]any) {
	t.Helper()
	return call(t, token, method, s.admin+path, body)
}

func call(t *testing.T, token, method, url string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}
