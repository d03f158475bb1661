package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/adgang/adgang/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	fleetCVR   = "12345674"
	fleetToken = "fleet-test-bootstrap-token-0123456789"
	fleetCPR   = "00112233445566778899aabbccddeeff"
)

// fleetNode is one `adgang serve --store postgres://…` process.
type fleetNode struct {
	name               string
	dir                string
	cmd                *exec.Cmd
	decision, adminURL string
	mu                 sync.Mutex
	out                strings.Builder
	done               bool
}

// startFleetNode runs a node with its replica in dir (a re-executed test
// binary, as startServerChild) and waits for both listeners.
func startFleetNode(t *testing.T, name, dsn, dir string, extra ...string) *fleetNode {
	t.Helper()
	args := []string{"serve", "--store", dsn, "--data", dir, "--decision-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
		"--decision-log", "off", "--console=false", "--lifecycle-interval", "1h", "--min-free-disk", "0"}
	args = append(args, extra...)
	raw, _ := json.Marshal(args)
	n := &fleetNode{name: name, dir: dir, cmd: exec.Command(os.Args[0], "-test.run=^TestLifecycleCrashChild$", "-test.count=1")}
	n.cmd.Env = append(os.Environ(), crashChildEnv+"="+string(raw), "ADGANG_BOOTSTRAP_TOKEN="+fleetToken, "ADGANG_CPR_KEY="+fleetCPR)
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	n.cmd.Stdout = io.Discard
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.kill)
	urls := make(chan [2]string, 2)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			n.mu.Lock()
			n.out.WriteString(line + "\n")
			n.mu.Unlock()
			var rec struct{ Listener, URL string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.URL != "" && (rec.Listener == "admin" || rec.Listener == "decision") {
				urls <- [2]string{rec.Listener, rec.URL}
			}
		}
	}()
	deadline := time.After(60 * time.Second)
	for n.decision == "" || n.adminURL == "" {
		select {
		case u := <-urls:
			if u[0] == "admin" {
				n.adminURL = u[1]
			} else {
				n.decision = u[1]
			}
		case <-deadline:
			t.Fatalf("%s did not start:\n%s", name, n.log())
		}
	}
	return n
}

func (n *fleetNode) log() string { n.mu.Lock(); defer n.mu.Unlock(); return n.out.String() }

func (n *fleetNode) kill() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.done {
		_ = n.cmd.Process.Signal(syscall.SIGKILL)
		_ = n.cmd.Wait()
		n.done = true
	}
}

// call sends a JSON request and decodes the answer; it returns the status.
func fleetCall(t *testing.T, method, url string, header map[string]string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+fleetToken)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 20 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil && len(raw) > 0 {
		_ = json.Unmarshal(raw, out)
	}
	return res.StatusCode
}

type written struct {
	Revision uint64 `json:"revision"`
	User     struct {
		ID string `json:"id"`
	} `json:"user"`
	Grant struct {
		ID string `json:"id"`
	} `json:"grant"`
}

// createFleetUser creates a user with a grant of eksamensdatabasen.view on
// the whole CVR through node n's admin API and returns the user's id and
// the grant's revision.
func createFleetUser(t *testing.T, n *fleetNode, i int) (string, uint64) {
	t.Helper()
	var u written
	if st := fleetCall(t, "POST", n.adminURL+"/v1/orgs/"+fleetCVR+"/users", nil,
		map[string]any{"name": fmt.Sprintf("User %d", i), "email": fmt.Sprintf("u%d@fleet.example.dk", i)}, &u); st != http.StatusCreated {
		t.Fatalf("create user %d on %s: HTTP %d", i, n.name, st)
	}
	var g written
	if st := fleetCall(t, "POST", n.adminURL+"/v1/users/"+u.User.ID+"/grants", nil,
		map[string]any{"right": "eksamensdatabasen.view", "scope": map[string]any{"type": "cvr", "value": fleetCVR}}, &g); st != http.StatusCreated {
		t.Fatalf("grant user %d on %s: HTTP %d", i, n.name, st)
	}
	return u.User.ID, g.Revision
}

// fleetLogin asks node n's login decision for user id at min_revision rev.
func fleetLogin(t *testing.T, n *fleetNode, id string, rev uint64) (int, bool, uint64) {
	t.Helper()
	var d struct {
		Allow    bool   `json:"allow"`
		Revision uint64 `json:"revision"`
	}
	st := fleetCall(t, "POST", n.decision+"/v1/decisions/login", nil, map[string]any{
		"subject": map[string]any{"id": id, "cvr": fleetCVR, "kind": "employee", "cpr_linked": true},
		"service": "eksamensdatabasen", "min_revision": rev}, &d)
	return st, d.Allow, d.Revision
}

type fleetHealth struct {
	Status   string   `json:"status"`
	Reasons  []string `json:"reasons"`
	Revision uint64   `json:"revision"`
	Store    struct {
		Kind         string `json:"kind"`
		ReplicaLagMS *int64 `json:"replica_lag_ms"`
	} `json:"store"`
}

func (n *fleetNode) health(t *testing.T) fleetHealth {
	t.Helper()
	var h fleetHealth
	fleetCall(t, "GET", n.decision+"/health", nil, nil, &h)
	return h
}

// TestFleet: PostgreSQL and three `adgang serve` nodes (issue 14). Writes
// through node 1 are decided on nodes 2 and 3 at once with min_revision; a
// follower killed with SIGKILL mid-stream catches up and misses nothing;
// with PostgreSQL stopped decisions go on (health degraded), writes fail
// with 503 and resume when it is back; the job lease moves when its holder
// is killed.
func TestFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and three server processes; runs in the long-test step")
	}
	dsn := pgtest.NewDatabase(t)
	nodes := []*fleetNode{startFleetNode(t, "node1", dsn, t.TempDir())}
	nodes = append(nodes, startFleetNode(t, "node2", dsn, t.TempDir()), startFleetNode(t, "node3", dsn, t.TempDir()))
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	if st := fleetCall(t, "POST", n1.adminURL+"/v1/orgs", nil, map[string]any{"cvr": fleetCVR, "name": "Gymnasium F", "type": "institution",
		"p_units": []map[string]any{{"p_number": "1000000001", "name": "Afd. 1"}}, "settings": map[string]any{"allow_knock": true}}, nil); st != http.StatusCreated {
		t.Fatalf("create org: HTTP %d", st)
	}

	t.Run("read your writes on other nodes", func(t *testing.T) {
		for i := range 5 {
			id, rev := createFleetUser(t, n1, i)
			for _, n := range []*fleetNode{n2, n3} {
				st, allow, at := fleetLogin(t, n, id, rev)
				if st != http.StatusOK || !allow || at < rev {
					t.Fatalf("%s: user %d at min_revision %d: HTTP %d allow %v revision %d", n.name, i, rev, st, allow, at)
				}
			}
		}
		if st, _, _ := fleetLogin(t, n2, "00000000-0000-4000-8000-000000000001", n1.health(t).Revision+1000); st != http.StatusServiceUnavailable {
			t.Fatalf("a revision no node has: HTTP %d, want 503", st)
		}
	})

	t.Run("a cached decision follows a revocation made on another node", func(t *testing.T) {
		id, rev := createFleetUser(t, n1, 7)
		for range 3 { // the second and third are answered from node 2's cache
			if st, allow, _ := fleetLogin(t, n2, id, rev); st != http.StatusOK || !allow {
				t.Fatalf("before the revocation: HTTP %d allow %v", st, allow)
			}
		}
		var grants struct {
			Grants []struct {
				ID string `json:"id"`
			} `json:"grants"`
		}
		fleetCall(t, "GET", n1.adminURL+"/v1/users/"+id+"/grants", nil, nil, &grants)
		if len(grants.Grants) != 1 {
			t.Fatalf("grants: %+v", grants)
		}
		var del written
		if st := fleetCall(t, "DELETE", n1.adminURL+"/v1/grants/"+grants.Grants[0].ID, nil, nil, &del); st != http.StatusOK {
			t.Fatalf("revoke: HTTP %d", st)
		}
		if st, allow, at := fleetLogin(t, n2, id, del.Revision); st != http.StatusOK || allow || at < del.Revision {
			t.Fatalf("after the revocation on node 1, node 2 answers HTTP %d allow %v at revision %d (revoked at %d)", st, allow, at, del.Revision)
		}
	})

	t.Run("a knock on one node reaches the queue on every node", func(t *testing.T) {
		stranger := "00000000-0000-4000-8000-00000000ab01"
		var d struct {
			Allow bool `json:"allow"`
			Knock *struct {
				Queued bool `json:"queued"`
			} `json:"knock"`
		}
		fleetCall(t, "POST", n2.decision+"/v1/decisions/login", nil, map[string]any{
			"subject": map[string]any{"id": stranger, "cvr": fleetCVR, "kind": "employee", "name": "Knud Knock"},
			"service": "eksamensdatabasen"}, &d)
		if d.Allow || d.Knock == nil || !d.Knock.Queued {
			t.Fatalf("an unknown employee's login: allow %v knock %+v, want a queued knock", d.Allow, d.Knock)
		}
		waitFor(t, 20*time.Second, "the knock in node 3's queue", func() bool {
			var out struct {
				Knocks []struct {
					SubjectID string `json:"subject_id"`
				} `json:"knocks"`
			}
			fleetCall(t, "GET", n3.adminURL+"/v1/orgs/"+fleetCVR+"/knocks", nil, nil, &out)
			return len(out.Knocks) == 1 && out.Knocks[0].SubjectID == stranger
		})
	})

	t.Run("password failures on two nodes block the account everywhere", func(t *testing.T) {
		if st := fleetCall(t, "PATCH", n1.adminURL+"/v1/orgs/"+fleetCVR, nil, map[string]any{"settings": map[string]any{"password_login": true}}, nil); st != http.StatusOK {
			t.Fatalf("allow password logins: HTTP %d", st)
		}
		var u written
		if st := fleetCall(t, "POST", n1.adminURL+"/v1/orgs/"+fleetCVR+"/users", nil,
			map[string]any{"name": "Pia Password", "email": "pia@fleet.example.dk", "username": "pia"}, &u); st != http.StatusCreated {
			t.Fatalf("create user: HTTP %d", st)
		}
		var reset struct {
			Revision          uint64 `json:"revision"`
			TemporaryPassword string `json:"temporary_password"`
		}
		if st := fleetCall(t, "POST", n1.adminURL+"/v1/users/"+u.User.ID+"/password:reset", nil, nil, &reset); st != http.StatusOK || reset.TemporaryPassword == "" {
			t.Fatalf("password reset: HTTP %d", st)
		}
		login := func(n *fleetNode, password string) string {
			var d struct {
				Reasons []struct {
					Code string `json:"code"`
				} `json:"reasons"`
			}
			fleetCall(t, "POST", n.decision+"/v1/authn/password", map[string]string{"Adgang-Min-Revision": fmt.Sprint(reset.Revision)},
				map[string]any{"username": "pia", "password": password}, &d)
			codes := ""
			for _, r := range d.Reasons {
				codes += r.Code + " "
			}
			return codes
		}
		// Three wrong passwords on each of two nodes: six in a row, more
		// than either node saw itself (the default blocks after five).
		for _, n := range []*fleetNode{n2, n3, n2, n3, n2, n3} {
			if code := login(n, "wrong-password"); code != "invalid_credentials " && code != "password_blocked " {
				t.Fatalf("a wrong password on %s: %q", n.name, code)
			}
		}
		waitFor(t, 20*time.Second, "the block on node 1", func() bool {
			return strings.Contains(login(n1, reset.TemporaryPassword), "password_blocked")
		})
	})

	t.Run("racing writes on two nodes", func(t *testing.T) {
		// A12: the same e-mail created on two nodes at once: one wins.
		for round := range 5 {
			codes := race(t, func(n *fleetNode) int {
				return fleetCall(t, "POST", n.adminURL+"/v1/orgs/"+fleetCVR+"/users", nil,
					map[string]any{"name": "Racer", "email": fmt.Sprintf("race%d@fleet.example.dk", round)}, nil)
			}, n1, n2)
			if !oneWins(codes, http.StatusCreated, http.StatusConflict) {
				t.Fatalf("A12 round %d: %v, want one 201 and one 409", round, codes)
			}
		}
		// A10: an organisation with exactly two administrators (its first
		// user, A15, and one granted both admin roles); each is inactivated
		// on another node at once: one must stay.
		for _, r := range []map[string]any{{"id": "fleet.org_admin", "admin_role": "org-admin"}, {"id": "fleet.user_admin", "admin_role": "user-admin"}} {
			if st := fleetCall(t, "PUT", n1.adminURL+"/v1/rights/"+r["id"].(string), nil, map[string]any{"service": "fleet",
				"title": r["id"], "admin_role": r["admin_role"]}, nil); st != http.StatusOK && st != http.StatusCreated {
				t.Fatalf("put right %s: HTTP %d", r["id"], st)
			}
		}
		for round, cvr := range []string{"55133018", "25313763", "30808460"} {
			if st := fleetCall(t, "POST", n1.adminURL+"/v1/orgs", nil, map[string]any{"cvr": cvr, "name": "Race " + cvr, "type": "institution"}, nil); st != http.StatusCreated {
				t.Fatalf("create org %s: HTTP %d", cvr, st)
			}
			var ids [2]string
			for i := range ids {
				var u written
				if st := fleetCall(t, "POST", n1.adminURL+"/v1/orgs/"+cvr+"/users", nil,
					map[string]any{"name": "Admin", "email": fmt.Sprintf("admin%d-%d@fleet.example.dk", round, i)}, &u); st != http.StatusCreated {
					t.Fatalf("create admin: HTTP %d", st)
				}
				ids[i] = u.User.ID
			}
			for _, right := range []string{"fleet.org_admin", "fleet.user_admin"} {
				if st := fleetCall(t, "POST", n1.adminURL+"/v1/users/"+ids[1]+"/grants", nil, map[string]any{"right": right,
					"scope": map[string]any{"type": "cvr", "value": cvr}}, nil); st != http.StatusCreated {
					t.Fatalf("grant %s: HTTP %d", right, st)
				}
			}
			k := 0
			var mu sync.Mutex
			codes := race(t, func(n *fleetNode) int {
				mu.Lock()
				id := ids[k]
				k++
				mu.Unlock()
				return fleetCall(t, "POST", n.adminURL+"/v1/users/"+id+"/inactivate", nil, map[string]any{}, nil)
			}, n2, n3)
			if !oneWins(codes, http.StatusOK, http.StatusConflict) {
				t.Fatalf("A10 round %d: %v, want one 200 and one 409", round, codes)
			}
		}
	})

	t.Run("a killed follower catches up", func(t *testing.T) {
		var ids []string
		var last uint64
		for i := 10; i < 30; i++ {
			if i == 15 {
				n2.kill()
			}
			id, rev := createFleetUser(t, n1, i)
			ids, last = append(ids, id), rev
		}
		n2 = startFleetNode(t, "node2 again", dsn, n2.dir)
		for _, id := range ids {
			if st, allow, _ := fleetLogin(t, n2, id, last); st != http.StatusOK || !allow {
				t.Fatalf("after restart, user %s: HTTP %d allow %v", id, st, allow)
			}
		}
		if h1, h2 := n1.health(t), n2.health(t); h2.Revision < last || h1.Store.Kind != "postgres" || h2.Store.ReplicaLagMS == nil {
			t.Fatalf("health after catch-up: %+v / %+v", h1, h2)
		}
	})

	t.Run("PostgreSQL down", func(t *testing.T) {
		id, rev := createFleetUser(t, n1, 40)
		if st, allow, _ := fleetLogin(t, n3, id, rev); st != http.StatusOK || !allow {
			t.Fatalf("decision before PostgreSQL stops: HTTP %d allow %v", st, allow)
		}
		strict := startFleetNode(t, "node4 --max-staleness 2s", dsn, t.TempDir(), "--max-staleness", "2s")
		if st, allow, _ := fleetLogin(t, strict, id, rev); st != http.StatusOK || !allow {
			t.Fatalf("fresh node with --max-staleness: HTTP %d allow %v", st, allow)
		}
		cl := pgtest.Shared(t)
		cl.Stop()
		defer func() { _ = cl.Start() }()
		if st, allow, _ := fleetLogin(t, n3, id, rev); st != http.StatusOK || !allow {
			t.Fatalf("decision with PostgreSQL down: HTTP %d allow %v", st, allow)
		}
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		if st := fleetCall(t, "POST", n1.adminURL+"/v1/orgs/"+fleetCVR+"/users", nil, map[string]any{"name": "Down"}, &e); st != http.StatusServiceUnavailable || e.Error.Code != "store_unavailable" {
			t.Fatalf("write with PostgreSQL down: HTTP %d %q, want 503 store_unavailable", st, e.Error.Code)
		}
		waitFor(t, 10*time.Second, "--max-staleness refuses", func() bool {
			st, _, _ := fleetLogin(t, strict, id, 0)
			return st == http.StatusServiceUnavailable
		})
		if st, allow, _ := fleetLogin(t, n3, id, 0); st != http.StatusOK || !allow {
			t.Fatalf("a node without --max-staleness stops answering: HTTP %d", st)
		}
		waitFor(t, 10*time.Second, "health degraded", func() bool {
			h := n3.health(t)
			return h.Status == "degraded" && h.Store.Kind == "postgres"
		})
		if err := cl.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, "writes resume", func() bool {
			return fleetCall(t, "POST", n1.adminURL+"/v1/orgs/"+fleetCVR+"/users", nil, map[string]any{"name": "Back"}, nil) == http.StatusCreated
		})
		waitFor(t, 10*time.Second, "health ok", func() bool { return n3.health(t).Status == "ok" })
		waitFor(t, 10*time.Second, "--max-staleness answers again", func() bool {
			st, allow, _ := fleetLogin(t, strict, id, 0)
			return st == http.StatusOK && allow
		})
	})

	t.Run("the job lease moves", func(t *testing.T) {
		var holder *fleetNode
		waitFor(t, 30*time.Second, "a lease holder", func() bool {
			for _, n := range []*fleetNode{n1, n2, n3} {
				if strings.Contains(n.log(), "holds the job lease") {
					holder = n
					return true
				}
			}
			return false
		})
		holder.kill()
		waitFor(t, 40*time.Second, "another lease holder", func() bool {
			for _, n := range []*fleetNode{n1, n2, n3} {
				if n != holder && strings.Contains(n.log(), "holds the job lease") {
					return true
				}
			}
			return false
		})
	})
}

// race runs do on each node at the same moment and returns the statuses.
func race(t *testing.T, do func(n *fleetNode) int, nodes ...*fleetNode) []int {
	t.Helper()
	codes := make([]int, len(nodes))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			codes[i] = do(n)
		}()
	}
	close(start)
	wg.Wait()
	return codes
}

// oneWins reports whether exactly one status is win and the others lose.
func oneWins(codes []int, win, lose int) bool {
	wins := 0
	for _, c := range codes {
		switch c {
		case win:
			wins++
		case lose:
		default:
			return false
		}
	}
	return wins == 1
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
