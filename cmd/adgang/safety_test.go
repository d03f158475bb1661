package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/store"
)

// TestMinFreeDiskFlag: --min-free-disk / ADGANG_MIN_FREE_DISK take bytes
// or a size with a unit; the default is 512 MiB.
func TestMinFreeDiskFlag(t *testing.T) {
	for _, tc := range []struct {
		env, arg string
		want     uint64
		wantErr  bool
	}{
		{want: 512 << 20},
		{arg: "0", want: 0},
		{arg: "1048576", want: 1 << 20},
		{arg: "1GiB", want: 1 << 30},
		{arg: "64mib", want: 64 << 20},
		{arg: "100B", want: 100},
		{arg: "8KiB", want: 8 << 10},
		{env: "2GiB", want: 2 << 30},
		{env: "2GiB", arg: "1MiB", want: 1 << 20},
		{arg: "lots", wantErr: true},
		{arg: "-1", wantErr: true},
		{arg: "1.5GiB", wantErr: true},
		{arg: "99999999999TiB", wantErr: true},
		{env: "1 GB", wantErr: true},
	} {
		t.Setenv("ADGANG_MIN_FREE_DISK", tc.env)
		var args []string
		if tc.arg != "" {
			args = []string{"--min-free-disk", tc.arg}
		}
		cfg, err := parseServeFlags(args, io.Discard)
		if tc.wantErr {
			if err == nil {
				t.Errorf("env %q arg %q: no error", tc.env, tc.arg)
			}
			continue
		}
		if err != nil || cfg.MinFreeDisk != tc.want {
			t.Errorf("env %q arg %q: %v %v, want %d", tc.env, tc.arg, cfg, err, tc.want)
		}
	}
}

// runMain starts Main with its log in a buffer; it returns Run's error.
func runMain(t *testing.T, cfg Config) (*Main, *bytes.Buffer, error) {
	t.Helper()
	cfg.DecisionAddr, cfg.AdminAddr, cfg.DecisionLog = "127.0.0.1:0", "127.0.0.1:0", "off"
	var log bytes.Buffer
	m := &Main{Config: cfg, Logger: zerolog.New(&log)}
	err := m.Run(context.Background(), io.Discard)
	t.Cleanup(func() { _ = m.Close() })
	return m, &log, err
}

func writeKeyFile(t *testing.T, path string, key []byte) {
	t.Helper()
	if err := os.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestServeCPRKeySources: the CPR key comes from --cpr-key-file (or
// ADGANG_CPR_KEY) without a warning; a key in the data directory (made on
// first start, or a key file there) is used with a warning; a start with a
// different key than the store's is refused.
func TestServeCPRKeySources(t *testing.T) {
	const warning = "the CPR key is inside the data directory"
	keys := t.TempDir()
	keyA, keyB := filepath.Join(keys, "a.key"), filepath.Join(keys, "b.key")
	writeKeyFile(t, keyA, bytes.Repeat([]byte{0xa}, 32))
	writeKeyFile(t, keyB, bytes.Repeat([]byte{0xb}, 32))

	t.Run("key file outside the data directory", func(t *testing.T) {
		dir := t.TempDir()
		m, log, err := runMain(t, Config{DataDir: dir, CPRKeyFile: keyA})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(log.String(), warning) {
			t.Errorf("warned about a key outside the data directory:\n%s", log)
		}
		if _, err := os.Stat(filepath.Join(dir, "cpr.key")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a key was written into the data directory: %v", err)
		}
		_ = m.Close()
		if _, _, err := runMain(t, Config{DataDir: dir, CPRKeyFile: keyB}); !errors.Is(err, store.ErrCPRKeyMismatch) {
			t.Fatalf("start with another key file = %v, want ErrCPRKeyMismatch", err)
		}
		if _, _, err := runMain(t, Config{DataDir: dir, CPRKeyFile: filepath.Join(keys, "missing.key")}); err == nil {
			t.Fatal("a missing key file was accepted")
		}
		m, _, err = runMain(t, Config{DataDir: dir, CPRKeyFile: keyA})
		if err != nil {
			t.Fatalf("restart with the right key: %v", err)
		}
		_ = m.Close()
	})
	t.Run("generated in the data directory", func(t *testing.T) {
		dir := t.TempDir()
		m, log, err := runMain(t, Config{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(log.String(), warning) {
			t.Errorf("no warning about the key in the data directory:\n%s", log)
		}
		if _, err := os.Stat(filepath.Join(dir, "cpr.key")); err != nil {
			t.Errorf("no key made in the data directory: %v", err)
		}
		_ = m.Close()
		// Without its key file the existing store does not get a new one.
		if err := os.Rename(filepath.Join(dir, "cpr.key"), filepath.Join(keys, "moved.key")); err != nil {
			t.Fatal(err)
		}
		if _, _, err := runMain(t, Config{DataDir: dir}); err == nil || !strings.Contains(err.Error(), "no CPR key for the existing store") {
			t.Fatalf("start of an existing store without its key = %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "cpr.key")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a new key was made for an existing store: %v", err)
		}
		// The env key is another one: refused.
		env := bytes.Repeat([]byte{0xc}, 32)
		if _, _, err := runMain(t, Config{DataDir: dir, CPRKey: env}); !errors.Is(err, store.ErrCPRKeyMismatch) {
			t.Fatalf("start with another ADGANG_CPR_KEY = %v, want ErrCPRKeyMismatch", err)
		}
	})
	t.Run("key file inside the data directory", func(t *testing.T) {
		dir := t.TempDir()
		inside := filepath.Join(dir, "keys", "my.key")
		_ = os.MkdirAll(filepath.Dir(inside), 0o700)
		writeKeyFile(t, inside, bytes.Repeat([]byte{0xd}, 32))
		_, log, err := runMain(t, Config{DataDir: dir, CPRKeyFile: inside})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(log.String(), warning) {
			t.Errorf("no warning about a key file in the data directory:\n%s", log)
		}
	})
	t.Run("flags and environment", func(t *testing.T) {
		t.Setenv("ADGANG_CPR_KEY", strings.Repeat("ab", 32))
		if _, err := parseServeFlags([]string{"--cpr-key-file", keyA}, io.Discard); err == nil {
			t.Error("ADGANG_CPR_KEY together with --cpr-key-file was accepted")
		}
		t.Setenv("ADGANG_CPR_KEY", "")
		t.Setenv("ADGANG_CPR_KEY_FILE", keyA)
		cfg, err := parseServeFlags(nil, io.Discard)
		if err != nil || cfg.CPRKeyFile != keyA {
			t.Errorf("ADGANG_CPR_KEY_FILE: %v %v", cfg, err)
		}
	})
}

// serverArgs are the arguments of an `adgang serve` child on dir.
func serverArgs(dir string, extra ...string) []string {
	return append([]string{"serve", "--data", dir, "--decision-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
		"--decision-log", "off", "--lifecycle-interval", "0"}, extra...)
}

// TestServeWrongCPRKeyExits: `adgang serve` with another CPR key than the
// store's (here from ADGANG_CPR_KEY) exits 1 with a message that says so.
func TestServeWrongCPRKeyExits(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		t.Skip("child")
	}
	dir := t.TempDir()
	m := startMain(t, Config{DataDir: dir})
	_ = m.Close()
	raw, _ := json.Marshal(serverArgs(dir))
	cmd := exec.Command(os.Args[0], "-test.run=^TestLifecycleCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+string(raw), "ADGANG_CPR_KEY="+strings.Repeat("e", 64))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A start that is not refused is ended, so the test fails, not hangs.
	timer := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Signal(syscall.SIGTERM) })
	err := cmd.Wait()
	timer.Stop()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(out.String(), "the CPR key does not match") {
		t.Fatalf("serve with another CPR key: %v\n%s", err, out.String())
	}
}

// TestTokenCreateMissingDataDir: `adgang token create` on a directory that
// holds no store says so, and creates nothing.
func TestTokenCreateMissingDataDir(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	err := run(context.Background(), []string{"token", "create", "--superadmin", "--data", missing}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no store in data directory") || strings.Contains(err.Error(), ".tmp") {
		t.Fatalf("token create on a missing directory = %v", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("token create made %s: %v", missing, err)
	}
	// A data directory without a store is refused too; with a server's
	// store but the wrong key file, the key check refuses.
	dir := t.TempDir()
	m := startMain(t, Config{DataDir: dir})
	_ = m.Close()
	other := filepath.Join(t.TempDir(), "other.key")
	writeKeyFile(t, other, bytes.Repeat([]byte{0xf}, 32))
	err = run(context.Background(), []string{"token", "create", "--superadmin", "--data", dir, "--cpr-key-file", other}, io.Discard, io.Discard)
	if !errors.Is(err, store.ErrCPRKeyMismatch) {
		t.Fatalf("token create with another key = %v, want ErrCPRKeyMismatch", err)
	}
}

// mountTmpfs mounts a tmpfs of size (e.g. "64m") on a fresh directory and
// unmounts it when the test ends. It needs root, as CI has: elsewhere the
// test is skipped, and says why.
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root (CI runs the tests as root)")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v: %s)", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
}

// decisionURL is the child's decision listener, read from its log.
func (c *serverChild) decisionURL(t *testing.T) string {
	t.Helper()
	for _, line := range strings.Split(c.log(), "\n") {
		var rec struct{ Listener, URL string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Listener == "decision" {
			return rec.URL
		}
	}
	t.Fatalf("no decision listener in the log:\n%s", c.log())
	return ""
}

// stop sends SIGTERM and waits up to limit for the exit; it fails the
// test if the process is still running then (a hang, not a slow exit:
// limit is generous).
func (c *serverChild) stop(t *testing.T, limit time.Duration) error {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		c.mu.Lock()
		c.done = true
		c.mu.Unlock()
		return err
	case <-time.After(limit):
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		<-done
		c.mu.Lock()
		c.done = true
		c.mu.Unlock()
		t.Fatalf("the server did not exit within %s of SIGTERM:\n%s", limit, c.log())
		return nil
	}
}

// TestServeFullDisk fills the data directory's disk (a 64 MiB tmpfs) under
// a running `adgang serve`: writes are refused with 507
// insufficient_storage and change nothing, decisions go on (their knock
// and last-login writes are dropped with a log line), nothing crashes,
// and writes work again once space is freed.
func TestServeFullDisk(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		t.Skip("child")
	}
	const boot = "bootstrap-token-for-tests-0123456789"
	mnt := t.TempDir()
	mountTmpfs(t, mnt, "64m")
	c := startServerChild(t, boot, serverArgs(filepath.Join(mnt, "data"), "--min-free-disk", "8MiB")...)
	dec := c.decisionURL(t)
	if s, out := call(t, "POST", c.base+"/v1/orgs", boot,
		`{"cvr":"29190011","name":"Skolen","type":"institution","settings":{"allow_knock":true},"p_units":[{"p_number":"4000000001"}]}`); s != http.StatusCreated {
		t.Fatalf("create org: %d %v", s, out)
	}
	s, out := call(t, "POST", c.base+"/v1/orgs/29190011/users", boot,
		`{"name":"Ulla Underviser","email":"ulla@skolen.example","p_number":"4000000001","kind":"employee"}`)
	if s != http.StatusCreated {
		t.Fatalf("create user: %d %v", s, out)
	}
	user, _ := out["user"].(map[string]any)
	id, _ := user["id"].(string)
	if s, out := call(t, "POST", c.base+"/v1/users/"+id+"/grants", boot,
		`{"right":"eksamensdatabasen.view","scope":{"type":"p","value":"4000000001"}}`); s != http.StatusCreated {
		t.Fatalf("grant: %d %v", s, out)
	}

	// Fill the disk to the last byte.
	filler := filepath.Join(mnt, "filler")
	fh, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for {
		if _, err := fh.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filler: %v", err)
			}
			break
		}
	}
	for n := 4096; n > 0; n /= 2 { // the last partial pages
		for {
			if _, err := fh.Write(chunk[:n]); err != nil {
				break
			}
		}
	}
	_ = fh.Close()

	s, out = call(t, "POST", c.base+"/v1/orgs", boot, `{"cvr":"29190038","name":"Fuld","type":"institution"}`)
	if e, _ := out["error"].(map[string]any); s != http.StatusInsufficientStorage || e["code"] != "insufficient_storage" {
		t.Fatalf("write on a full disk: %d %v, want 507 insufficient_storage", s, out)
	}
	if s, _ := call(t, "GET", c.base+"/v1/orgs/29190038", boot, ""); s != http.StatusNotFound {
		t.Fatalf("the refused org is there: %d", s)
	}
	login := func(uid string) map[string]any {
		s, d := postJSON(t, dec+"/v1/decisions/login", `{"subject":{"id":"`+uid+
			`","cvr":"29190011","kind":"employee","cpr_linked":true},"service":"eksamensdatabasen"}`)
		if s != http.StatusOK {
			t.Fatalf("decision on a full disk: %d %v", s, d)
		}
		return d
	}
	if d := login(id); d["allow"] != true {
		t.Fatalf("decision for the granted user on a full disk: %v", d)
	}
	// An unknown user knocks (D2): the knock is not recorded, the answer stands.
	if d := login("00000000-0000-4000-8000-000000000099"); d["allow"] != false {
		t.Fatalf("decision for an unknown user: %v", d)
	}
	// The last-login and knock writes are refused off the decision path
	// and logged; the server lives on.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(c.log(), "record last login times") ||
		!strings.Contains(c.log(), "record knocks"); {
		if time.Now().After(deadline) {
			t.Fatalf("no log line for the dropped last-login and knock writes:\n%s", c.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d := login(id); d["allow"] != true {
		t.Fatalf("decision after the refused side writes: %v", d)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if s, out := call(t, "POST", c.base+"/v1/orgs", boot, `{"cvr":"29190038","name":"Fuld","type":"institution"}`); s != http.StatusCreated {
		t.Fatalf("write after space was freed: %d %v", s, out)
	}
	if err := c.stop(t, 60*time.Second); err != nil {
		t.Fatalf("exit after the full disk: %v\n%s", err, c.log())
	}
}

// TestShutdownBounded: SIGTERM ends `adgang serve` even when its data
// directory vanished. When the directory is simply gone the store notices;
// when another, unwritable directory appears in its place (a volume
// detached under the server, with a read-only mount below it), Badger
// retries its last flush forever, and only the shutdown deadline ends the
// process: it exits 1 and says why.
func TestShutdownBounded(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		t.Skip("child")
	}
	const boot = "bootstrap-token-for-tests-0123456789"
	createOrg := func(c *serverChild) {
		if s, out := call(t, "POST", c.base+"/v1/orgs", boot, `{"cvr":"29190011","name":"Skolen","type":"institution"}`); s != http.StatusCreated {
			t.Fatalf("create org: %d %v", s, out)
		}
	}
	t.Run("removed", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "data")
		c := startServerChild(t, boot, serverArgs(data)...)
		createOrg(c)
		if err := os.RemoveAll(data); err != nil {
			t.Fatal(err)
		}
		_ = c.stop(t, 60*time.Second) // exiting at all is the point
	})
	t.Run("detached", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "data")
		badgerDir := filepath.Join(data, "badger")
		if err := os.MkdirAll(badgerDir, 0o700); err != nil {
			t.Fatal(err)
		}
		// Below: a read-only directory with a MANIFEST, what the path shows
		// once the server's volume is detached.
		mountTmpfs(t, badgerDir, "16m")
		if err := os.WriteFile(filepath.Join(badgerDir, "MANIFEST"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("mount", "-o", "remount,ro", badgerDir).CombinedOutput(); err != nil {
			t.Skipf("cannot remount read-only (%v: %s)", err, bytes.TrimSpace(out))
		}
		mountTmpfs(t, badgerDir, "64m") // the server's volume
		writeKeyFile(t, filepath.Join(data, "cpr.key"), bytes.Repeat([]byte{0xa}, 32))
		c := startServerChild(t, boot, serverArgs(data, "--min-free-disk", "1MiB")...)
		createOrg(c)
		if out, err := exec.Command("umount", "-l", badgerDir).CombinedOutput(); err != nil {
			t.Fatalf("detach the volume: %v %s", err, out)
		}
		err := c.stop(t, 60*time.Second)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(c.log(), "shutdown did not finish") {
			t.Fatalf("exit after a hung close: %v, want exit 1 with a log line:\n%s", err, c.log())
		}
	})
}
