package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/admin/jobs/lifecycle"
	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

// crashChildEnv carries the `adgang` arguments (JSON list) of the server
// process TestLifecycleCrash starts: the test binary itself, re-executed,
// runs the same run() that main() runs.
const crashChildEnv = "ADGANG_TEST_CRASH_CHILD_ARGS"

// TestLifecycleCrashChild is the `adgang serve` process of
// TestLifecycleCrash; on its own it skips.
func TestLifecycleCrashChild(t *testing.T) {
	raw := os.Getenv(crashChildEnv)
	if raw == "" {
		t.Skip("the server process of TestLifecycleCrash")
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		t.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "adgang:", err)
		os.Exit(1)
	}
}

const crashCVR = "12345674"

func crashUserID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// TestLifecycleCrash kills `adgang serve` with SIGKILL while its lifecycle
// job is inactivating thousands of idle users (L1), then checks that every
// user is either untouched or fully inactivated with exactly one audit
// event, and that the next run finishes the job without doing anything
// twice. ADGANG_TEST_CRASH_USERS sets the number of users (default 20000).
func TestLifecycleCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 20k users and runs the server as a subprocess")
	}
	if os.Getenv(crashChildEnv) != "" {
		t.Skip("child")
	}
	n := 20000
	if v := os.Getenv("ADGANG_TEST_CRASH_USERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 2 {
			t.Fatalf("ADGANG_TEST_CRASH_USERS=%q", v)
		}
	}
	ctx := context.Background()
	dir := t.TempDir()
	// The server reads its CPR key from DIR/cpr.key; the test opens the
	// store directly with the same key.
	if err := os.WriteFile(filepath.Join(dir, "cpr.key"), []byte(hex.EncodeToString(storetest.Key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	openStore := func() *store.Store {
		t.Helper()
		st, err := store.Open(store.Config{Dir: filepath.Join(dir, "badger"), CPRKey: storetest.Key, NoSync: true,
			Logger: zerolog.Nop(), GCInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}

	// Seed: n active users whose last login is 200 days old (L1: 90).
	start := time.Now()
	st := openStore()
	idle := time.Now().AddDate(0, 0, -200).UTC()
	if _, err := st.Update(ctx, "test", func(tx *store.Tx) error {
		return tx.CreateOrg(&store.Org{CVR: crashCVR, Name: "Skolen", Type: store.OrgInstitution})
	}); err != nil {
		t.Fatal(err)
	}
	const batch = 1000
	for lo := 0; lo < n; lo += batch {
		if _, err := st.Update(ctx, "test", func(tx *store.Tx) error {
			for i := lo; i < min(lo+batch, n); i++ {
				if err := tx.CreateUser(&store.User{ID: crashUserID(i), Org: crashCVR, Name: "U " + strconv.Itoa(i),
					Kind: store.KindEmployee, Status: store.StatusActive, CreatedAt: idle, StatusChangedAt: idle, LastLogin: &idle}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %d users in %v", n, time.Since(start).Round(time.Millisecond))

	// Start the server with the lifecycle scheduler on; its first run
	// starts at once.
	const token = "crash-test-bootstrap-token-0123456789"
	child := startServerChild(t, token, "serve", "--data", dir, "--lifecycle-interval", "1s",
		"--decision-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--decision-log", "off")
	log := child.log

	// Poll until the job has inactivated someone, then kill at once.
	serverUp := time.Now()
	deadline := serverUp.Add(5 * time.Minute)
	for !child.anyUser(t, token, crashCVR, "inactive") {
		if time.Now().After(deadline) {
			t.Fatalf("no user inactivated after 5 minutes:\n%s", log())
		}
		time.Sleep(5 * time.Millisecond)
	}
	child.kill()
	t.Logf("first inactivation seen %v after the server started; killed", time.Since(serverUp).Round(time.Millisecond))

	// After the crash: no user is half-done.
	st = openStore()
	defer func() { st.Close() }()
	inactive := checkLifecycleConsistent(t, st, n)
	t.Logf("after SIGKILL: %d of %d users inactive", inactive, n)
	if inactive == 0 || inactive == n {
		t.Fatalf("%d of %d inactive: the kill did not land mid-run (raise ADGANG_TEST_CRASH_USERS)", inactive, n)
	}

	// The next run finishes the job, touching only the users left.
	eng, err := pdp.New(ctx, st, pdp.Config{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	runner := &lifecycle.Runner{Store: st, Policy: eng, Logger: zerolog.Nop()}
	start = time.Now()
	applied, err := runner.RunOnce(ctx, time.Now())
	if err != nil {
		t.Fatalf("resumed run: %v", err)
	}
	t.Logf("resumed run applied %d actions in %v", applied, time.Since(start).Round(time.Millisecond))
	if applied != n-inactive {
		t.Errorf("resumed run applied %d actions, want %d", applied, n-inactive)
	}
	if got := checkLifecycleConsistent(t, st, n); got != n {
		t.Errorf("after the resumed run %d of %d users inactive", got, n)
	}
	if again, err := runner.RunOnce(ctx, time.Now()); err != nil || again != 0 {
		t.Errorf("third run applied %d, %v; want nothing", again, err)
	}
}

// checkLifecycleConsistent checks that each of the n users is either
// active with no lifecycle.inactivate event or inactive with exactly one,
// and returns how many are inactive.
func checkLifecycleConsistent(t *testing.T, st *store.Store, n int) int {
	t.Helper()
	inactive, bad := 0, 0
	err := st.View(context.Background(), func(tx *store.Tx) error {
		for i := 0; i < n; i++ {
			u, err := tx.GetUser(crashUserID(i))
			if err != nil {
				return fmt.Errorf("user %d: %w", i, err)
			}
			evs, err := tx.History(u.ID, time.Time{}, time.Time{}, "lifecycle.inactivate", 0)
			if err != nil {
				return err
			}
			ok := false
			switch u.Status {
			case store.StatusActive:
				ok = len(evs) == 0
			case store.StatusInactive:
				inactive++
				ok = len(evs) == 1 && evs[0].Actor == lifecycle.Actor
			}
			if !ok {
				if bad++; bad <= 10 {
					t.Errorf("user %s is %s with %d lifecycle.inactivate events", u.ID, u.Status, len(evs))
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if bad > 0 {
		t.Fatalf("%d users half-done", bad)
	}
	return inactive
}

// serverChild is an `adgang serve` process started by startServerChild.
type serverChild struct {
	cmd  *exec.Cmd
	base string // the admin listener's URL
	mu   sync.Mutex
	out  strings.Builder
	done bool
}

// startServerChild runs `adgang ARGS…` in a re-executed test binary (see
// TestLifecycleCrashChild) with ADGANG_BOOTSTRAP_TOKEN=token and waits
// until its admin listener is up. The process is killed when the test
// ends, if it is still running.
func startServerChild(t *testing.T, token string, args ...string) *serverChild {
	t.Helper()
	raw, _ := json.Marshal(args)
	c := &serverChild{cmd: exec.Command(os.Args[0], "-test.run=^TestLifecycleCrashChild$", "-test.count=1")}
	c.cmd.Env = append(os.Environ(), crashChildEnv+"="+string(raw), "ADGANG_BOOTSTRAP_TOKEN="+token)
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.cmd.Stdout = io.Discard
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.kill)
	adminURL := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			c.mu.Lock()
			c.out.WriteString(line + "\n")
			c.mu.Unlock()
			var rec struct{ Listener, URL string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Listener == "admin" && rec.URL != "" {
				adminURL <- rec.URL
			}
		}
	}()
	select {
	case c.base = <-adminURL:
	case <-time.After(60 * time.Second):
		t.Fatalf("server did not start:\n%s", c.log())
	}
	return c
}

// log is what the server has written to stderr so far.
func (c *serverChild) log() string { c.mu.Lock(); defer c.mu.Unlock(); return c.out.String() }

// kill sends SIGKILL (no shutdown of any kind) and waits for the exit.
func (c *serverChild) kill() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.done {
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		_ = c.cmd.Wait()
		c.done = true
	}
}

// anyUser reports whether org has a user (with status, when given),
// asked through the admin API with token.
func (c *serverChild) anyUser(t *testing.T, token, org, status string) bool {
	t.Helper()
	req, _ := http.NewRequest("GET", c.base+"/v1/orgs/"+org+"/users?limit=1&status="+status, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("list users: %v", err)
	}
	defer res.Body.Close()
	var out struct {
		Users []json.RawMessage `json:"users"`
	}
	if res.StatusCode != http.StatusOK || json.NewDecoder(res.Body).Decode(&out) != nil {
		t.Fatalf("list users: HTTP %d", res.StatusCode)
	}
	return len(out.Users) > 0
}
