package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeBlock is one ```sh block of README.md: its text and the README
// line of its first command line.
type readmeBlock struct {
	n     int // 1-based, in README order
	line  int // README line of the block's first line
	lines []string
}

// shBlocks extracts every ```sh block of a Markdown file, in order.
func shBlocks(md []byte) []readmeBlock {
	var out []readmeBlock
	var cur *readmeBlock
	sc := bufio.NewScanner(bytes.NewReader(md))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for ln := 1; sc.Scan(); ln++ {
		text := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(text) == "```sh":
			cur = &readmeBlock{n: len(out) + 1, line: ln + 1}
		case cur != nil && strings.TrimSpace(text) == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.lines = append(cur.lines, text)
		}
	}
	return out
}

// readmeScript joins the blocks into one bash script that stops at the
// first failing command and says where it was. lineOf maps a script line
// to its block and README line.
func readmeScript(blocks []readmeBlock) (script string, lineOf map[int][2]int) {
	lineOf = map[int][2]int{}
	var b strings.Builder
	ln := 0
	add := func(s string, block, readmeLine int) {
		b.WriteString(s)
		b.WriteByte('\n')
		ln++
		if block > 0 {
			lineOf[ln] = [2]int{block, readmeLine}
		}
	}
	add("set -eE -o pipefail", 0, 0)
	add(`trap 'echo "README_FAILED script_line=$LINENO rc=$? command=$BASH_COMMAND" >&2; exit 1' ERR`, 0, 0)
	add(`PS4='+README_TRACE ${LINENO}: '; exec 3>>"$README_TRACE_FILE"; BASH_XTRACEFD=3; set -x`, 0, 0)
	for _, bl := range blocks {
		for i, l := range bl.lines {
			add(l, bl.n, bl.line+i)
		}
	}
	return b.String(), lineOf
}

// TestREADME runs every ```sh block of README.md, in order, in one bash
// session on a fresh copy of the repository (its tracked and untracked,
// not ignored files), as a newcomer would paste them: `make run` builds
// the binary, the README's own variables pick the data directory and
// listen addresses, which this test points at a temp dir and free ports.
// curl is wrapped with --fail-with-body, so an answer ≥ 400 fails the
// walk-through too. A failure names the block, README line and command.
func TestREADME(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "make", "python3", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README walk-through needs %s on PATH: %v", tool, err)
		}
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := shBlocks(md)
	if len(blocks) < 3 {
		t.Fatalf("README.md has %d sh blocks; expected the walk-through", len(blocks))
	}
	work := t.TempDir()
	repo := filepath.Join(work, "repo")
	copyRepo(t, root, repo)

	// curl that fails on HTTP errors, ahead of the real one on PATH.
	realCurl, _ := exec.LookPath("curl")
	wrap := filepath.Join(work, "wrap")
	if err := os.MkdirAll(wrap, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(wrap, "curl"), []byte("#!/bin/sh\nexec "+realCurl+" --fail-with-body \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	script, lineOf := readmeScript(blocks)
	scriptPath := filepath.Join(work, "readme.sh")
	if err := os.WriteFile(scriptPath, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	traceFile := filepath.Join(work, "trace")
	outFile, err := os.Create(filepath.Join(work, "output"))
	if err != nil {
		t.Fatal(err)
	}
	defer outFile.Close()

	env := []string{}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "ADGANG_") || k == "MAKEFLAGS" || k == "MFLAGS" || k == "MAKELEVEL" || k == "PATH" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"PATH="+wrap+string(os.PathListSeparator)+os.Getenv("PATH"),
		"ADGANG_DATA="+filepath.Join(work, "data"),
		"ADGANG_DECISION_ADDR="+freeAddr(t),
		"ADGANG_ADMIN_ADDR="+freeAddr(t),
		"ADGANG_LIFECYCLE_INTERVAL=0", // no background jobs racing the walk-through
		"README_TRACE_FILE="+traceFile,
	)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", scriptPath)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = repo, env, outFile, outFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Whatever happens, the server the README started is stopped before
	// the temp dir goes.
	defer stopGroup(cmd.Process.Pid)
	runErr := cmd.Wait()
	t.Logf("README walk-through (%d blocks) took %v", len(blocks), time.Since(start).Round(time.Millisecond))
	if runErr == nil {
		return
	}
	out, _ := os.ReadFile(outFile.Name())
	where := "unknown place"
	if m := regexp.MustCompile(`README_FAILED script_line=(\d+) rc=(\d+) command=(.*)`).FindSubmatch(out); m != nil {
		n, _ := strconv.Atoi(string(m[1]))
		where = describeLine(lineOf, n, blocks) + fmt.Sprintf(": command %q", m[3])
	} else if last := lastTraceLine(traceFile); last > 0 {
		where = describeLine(lineOf, last, blocks) + " (the last command started)"
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		where = "timed out at " + where
	}
	t.Fatalf("README walk-through failed at %s: %v\n--- output (last 6000 bytes) ---\n%s", where, runErr, tail(out, 6000))
}

// describeLine names the README block and line of a script line.
func describeLine(lineOf map[int][2]int, scriptLine int, blocks []readmeBlock) string {
	bl, ok := lineOf[scriptLine]
	if !ok {
		return fmt.Sprintf("script line %d", scriptLine)
	}
	b := blocks[bl[0]-1]
	return fmt.Sprintf("README.md block %d (starting at line %d), line %d: %s", bl[0], b.line, bl[1],
		strings.TrimSpace(b.lines[bl[1]-b.line]))
}

func lastTraceLine(path string) int {
	b, _ := os.ReadFile(path)
	last := 0
	for _, m := range regexp.MustCompile(`(?m)^\++README_TRACE (\d+): `).FindAllSubmatch(b, -1) {
		last, _ = strconv.Atoi(string(m[1]))
	}
	return last
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// stopGroup ends what is left of a process group (a server the README
// started and did not stop), waiting so its store is closed.
func stopGroup(pgid int) {
	if syscall.Kill(-pgid, syscall.SIGTERM) != nil {
		return // nothing left
	}
	for i := 0; i < 300; i++ {
		if syscall.Kill(-pgid, 0) != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// copyRepo copies what a fresh clone holds (git's tracked files plus the
// untracked ones it does not ignore, so uncommitted work is tested too);
// without git, everything but .git, bin, data and .tools.
func copyRepo(t *testing.T, root, dst string) {
	t.Helper()
	var files []string
	if out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output(); err == nil {
		for _, f := range strings.Split(string(out), "\x00") {
			if f != "" {
				files = append(files, f)
			}
		}
	} else {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			if d.IsDir() {
				switch rel {
				case ".git", "bin", "data", ".tools":
					return filepath.SkipDir
				}
				return nil
			}
			files = append(files, rel)
			return nil
		})
	}
	for _, f := range files {
		src := filepath.Join(root, f)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the work tree, or not a plain file
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dst, f)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(target, b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}
