// Package pgtest starts a throwaway PostgreSQL cluster for tests: Debian's
// server binaries (package postgresql, /usr/lib/postgresql/<version>/bin,
// or $ADGANG_PG_BIN), a cluster in a temporary directory on a free port,
// run as an unprivileged user when the tests run as root (initdb refuses
// root), stopped by Main when the tests end. Tests fail, never skip, when
// PostgreSQL is missing: `make postgres` installs it.
package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a running throwaway PostgreSQL.
type Cluster struct {
	Dir  string // data directory
	Port int
	root string
	bin  string
	cmd  *exec.Cmd
	uid  int // the user the server runs as (-1: this process's)
}

var (
	mu      sync.Mutex
	running *Cluster
	dbSeq   atomic.Int64
)

// Main runs the tests and stops the cluster, if one was started:
// func TestMain(m *testing.M) { pgtest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	mu.Lock()
	if running != nil {
		running.Stop()
		_ = os.RemoveAll(running.root)
	}
	mu.Unlock()
	os.Exit(code)
}

// BinDir finds the PostgreSQL server binaries.
func BinDir() (string, error) {
	if d := os.Getenv("ADGANG_PG_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin): run `make postgres` (Debian package postgresql) or set ADGANG_PG_BIN")
}

func version(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

// Shared returns the process's cluster, starting it on first use.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if running != nil {
		return running
	}
	c, err := Start()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	running = c
	return c
}

// NewDatabase creates an empty database in the shared cluster and returns
// its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	c := Shared(t)
	name := fmt.Sprintf("adgang_%d_%d", os.Getpid(), dbSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	return c.URL(name)
}

// URL is the connection URL of database db.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://adgang@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}

// Start initialises and starts a new cluster.
func Start() (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	root, err := os.MkdirTemp("", "adgang-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: filepath.Join(root, "data"), root: root, bin: bin, uid: -1}
	if err := os.Chmod(root, 0o755); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		c.uid = 65534 // nobody: initdb and postgres refuse to run as root
		if err := os.Chown(root, c.uid, c.uid); err != nil {
			return nil, err
		}
	}
	if out, err := c.command("initdb", "-D", c.Dir, "-U", "adgang", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	return c, c.Start()
}

// Start starts (or restarts) the server on its port (a free one at first).
func (c *Cluster) Start() error {
	if c.Port == 0 {
		p, err := freePort()
		if err != nil {
			return err
		}
		c.Port = p
	}
	c.cmd = c.command("postgres", "-D", c.Dir, "-p", strconv.Itoa(c.Port), "-k", filepath.Dir(c.Dir),
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=200")
	logf, err := os.Create(filepath.Join(filepath.Dir(c.Dir), "postgres.log"))
	if err == nil {
		c.cmd.Stdout, c.cmd.Stderr = logf, logf
	}
	if err := c.cmd.Start(); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.Stop()
	return fmt.Errorf("postgres did not start in 30s (log in %s)", filepath.Dir(c.Dir))
}

// Stop stops the server (fast shutdown) and waits for it.
func (c *Cluster) Stop() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
	c.cmd = nil
}

func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if c.uid >= 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(c.uid), Gid: uint32(c.uid)}}
		cmd.Dir = "/"
	}
	return cmd
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
