// Command adgang-bench measures Adgang's login decisions side by side with
// a stock OPA server holding the same policy and data, and with a minimal
// net/http server answering a constant decision (the machine's ceiling).
//
//	adgang-bench -sizes 10000 -out docs     # what `make bench` runs
//	adgang-bench baseline -addr 127.0.0.1:0 # the baseline server (used internally)
//
// Every Adgang and OPA answer is checked against the decision the data set
// was built to give; one wrong answer fails the run.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

//go:embed opa/wrapper.rego
var wrapperRego []byte

func main() {
	if len(os.Args) > 1 && os.Args[1] == "baseline" {
		fs := flag.NewFlagSet("baseline", flag.ExitOnError)
		addr := fs.String("addr", "127.0.0.1:0", "listen address")
		_ = fs.Parse(os.Args[2:])
		if err := serveBaseline(*addr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	cfg := config{}
	flag.StringVar(&cfg.sizes, "sizes", "10000", "comma-separated user counts")
	flag.Uint64Var(&cfg.seed, "seed", 1, "data set seed")
	flag.BoolVar(&cfg.reuse, "reuse", false, "keep a data set already written under -work by the same seed and size (a million users takes minutes to write)")
	flag.StringVar(&cfg.adgangEnv, "adgang-env", "", "comma-separated KEY=VALUE added to the environment of the Adgang servers only (e.g. GOMEMLIMIT=400MiB)")
	flag.StringVar(&cfg.work, "work", filepath.Join(os.TempDir(), "adgang-bench"), "work directory for generated data")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "length of the closed-loop phase")
	flag.DurationVar(&cfg.rateDuration, "rate-duration", 5*time.Second, "length of each fixed-rate phase")
	flag.IntVar(&cfg.conns, "conns", 16, "connections of the closed-loop phase")
	flag.StringVar(&cfg.rates, "rates", "1000,5000,10000", "fixed request rates (requests/s)")
	flag.StringVar(&cfg.systems, "systems", "adgang,adgang-nocache,opa,baseline", "systems to measure (comma-separated subset of adgang,adgang-nocache,opa,baseline)")
	flag.StringVar(&cfg.pprof, "pprof", "", "directory for CPU and heap profiles of Adgang taken during the closed loop (off when empty)")
	flag.IntVar(&cfg.firstPass, "first-pass", 100_000, "at most this many distinct requests in Adgang's first pass (cold cache)")
	flag.IntVar(&cfg.rounds, "rounds", 1, "times each system is measured (alternately)")
	flag.StringVar(&cfg.writeRates, "write-rates", "1,10,100", "admin writes per second of Adgang's write-mix phase, one closed loop of -write-duration each, in this order (empty: no write mix; 0 is skipped: each loop measures itself without writes, in alternate windows)")
	flag.DurationVar(&cfg.writeDuration, "write-duration", 24*time.Second, "length of each write-mix loop")
	flag.DurationVar(&cfg.writeWindow, "write-window", 250*time.Millisecond, "the write mix's windows: in each loop the writer writes in half of them (blocks of four, half off, on, on, off and half on, off, off, on, shuffled; a window without writes right after one with them is not counted), and the throughput in windows with writes is compared with that in windows without")
	flag.StringVar(&cfg.nocacheRates, "nocache-rates", "1000", "fixed request rates of adgang-nocache (uncached latency)")
	flag.StringVar(&cfg.adgang, "adgang", "bin/adgang", "adgang binary")
	flag.StringVar(&cfg.opa, "opa", ".tools/bin/opa", "opa binary (same version as go.mod)")
	flag.StringVar(&cfg.policies, "policies", "policies", "policy directory given to OPA")
	flag.StringVar(&cfg.out, "out", "docs", "where benchmarks.md and benchmarks.json are written")
	cpuProfile := flag.String("cpuprofile", "", "write the load driver's own CPU profile (the whole run) to this file: on a machine where the driver shares the server's cores, its cost is part of every figure")
	render := flag.String("render", "", "write benchmarks.md to -out from this raw benchmarks.json instead of measuring (give the run's -duration, -rate-duration, -conns and -rounds)")
	flag.Parse()
	if *render != "" {
		if err := renderFrom(&cfg, *render); err != nil {
			fmt.Fprintln(os.Stderr, "adgang-bench:", err)
			os.Exit(1)
		}
		return
	}
	if cfg.writeRates != "" && (cfg.writeWindow <= 0 || cfg.writeDuration < 4*cfg.writeWindow) {
		fmt.Fprintln(os.Stderr, "adgang-bench: -write-window must be positive and -write-duration at least four windows")
		os.Exit(2)
	}
	stopProfile := func() {}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "adgang-bench:", err)
			os.Exit(2)
		}
		stopProfile = func() { pprof.StopCPUProfile(); _ = f.Close() }
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, &cfg)
	stop()
	stopProfile() // written also when the run failed or was interrupted
	if err != nil {
		fmt.Fprintln(os.Stderr, "adgang-bench:", err)
		os.Exit(1)
	}
}

type config struct {
	sizes, work, rates, adgang, opa, policies, out, systems, pprof string
	writeRates, nocacheRates                                       string
	seed                                                           uint64
	reuse                                                          bool
	adgangEnv                                                      string
	duration, rateDuration, writeDuration, writeWindow             time.Duration
	conns, rounds, firstPass                                       int
}

// serveBaseline answers every request with one constant decision.
func serveBaseline(addr string) error {
	body := []byte(`{"decision_id":"00000000-0000-4000-8000-000000000000","allow":true,"rights":[],"reasons":[],"revision":1}` + "\n")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
}

// systemResult is one measured run of one system.
type systemResult struct {
	System    string        `json:"system"`
	Size      int           `json:"size"`
	Round     int           `json:"round"`
	ColdStart time.Duration `json:"cold_start_ns"`
	// EvaluatorReady is process start to the compiled login evaluator
	// answering (/health policy.login_evaluator no longer topdown).
	EvaluatorReady time.Duration `json:"evaluator_ready_ns,omitempty"`
	PeakRSS        int64         `json:"peak_rss_bytes"`
	// PeakAnonRSS is the peak of RssAnon sampled every 100 ms: the
	// process's own memory without the page cache of mapped files.
	PeakAnonRSS int64          `json:"peak_anon_rss_bytes"`
	Phases      []*phaseResult `json:"phases"`

	ReadYourWrites *rywResult `json:"read_your_writes,omitempty"`
	// Error is why the system could not be measured at this size.
	Error string `json:"error,omitempty"`
}

type system struct {
	name   string
	cmd    func(addr string) *exec.Cmd
	target func(base string) *target
	// firstPass: send every distinct request once before the closed loop
	// (measured: the throughput of a cold decision cache). Otherwise a
	// one-second warm-up.
	firstPass bool
	rates     bool // run the fixed-rate phases
	ryw       bool // run the read-your-writes check through the admin API
	// onlyRates replaces the fixed rates (adgang-nocache: -nocache-rates).
	onlyRates []int
	writeMix  bool // run the write-mix phase (-write-rates)
}

// adminAddr is the admin listener the benchmark gives Adgang: the
// decision port + 1 would collide, so it is derived from the decision
// address's port in a separate range.
func adminAddr(decisionAddr string) string {
	adminAddrs.Lock()
	defer adminAddrs.Unlock()
	if a, ok := adminAddrs.m[decisionAddr]; ok {
		return a
	}
	a, _ := freeAddr()
	adminAddrs.m[decisionAddr] = a
	return a
}

var adminAddrs = struct {
	sync.Mutex
	m map[string]string
}{m: map[string]string{}}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// intList parses a comma-separated list of integers.
func intList(flagName, list string) ([]int, error) {
	var out []int
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			r, err := strconv.Atoi(s)
			if err != nil {
				return nil, fmt.Errorf("-%s: %w", flagName, err)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func run(ctx context.Context, cfg *config) error {
	rates, err := intList("rates", cfg.rates)
	if err != nil {
		return err
	}
	nocacheRates, err := intList("nocache-rates", cfg.nocacheRates)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var results []*systemResult
	for _, s := range strings.Split(cfg.sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("-sizes: %w", err)
		}
		dir := filepath.Join(cfg.work, strconv.Itoa(n))
		ds, err := prepareSize(ctx, cfg, dir, n)
		if err != nil {
			return err
		}
		systems := benchSystems(cfg, dir, self, nocacheRates)
		m := &mix{reqs: ds.Requests, seed: cfg.seed}
		for round := range cfg.rounds {
			for i := range systems {
				sys := systems[(i+round)%len(systems)] // alternate the order per round
				r, err := measure(ctx, cfg, sys, m, rates, n, round)
				if err != nil {
					if ctx.Err() != nil {
						return err
					}
					// A system that cannot serve this size (e.g. OPA at 1M
					// users, stalled past the client timeout) is a result:
					// reported as failed, and the run goes on.
					fmt.Printf("  %-8s FAILED: %v\n", sys.name, err)
					r = &systemResult{System: sys.name, Size: n, Round: round, Error: err.Error()}
				}
				results = append(results, r)
			}
		}
		// Written after every size, so a later size that fails (e.g. out
		// of memory at 1M) leaves the figures of the earlier ones.
		if err := writeReport(cfg, results); err != nil {
			return err
		}
	}
	return nil
}

// dataFormat changes whenever Generate or the files written from it do,
// so that -reuse never keeps a data set of another shape.
const dataFormat = 1

// prepareSize generates the data set of n users and writes it under dir:
// Adgang's store, and OPA's data.json beside the wrapper policy.
func prepareSize(ctx context.Context, cfg *config, dir string, n int) (*Dataset, error) {
	ds := Generate(cfg.seed, n)
	fmt.Printf("size %d: %d users, %d grants, %d requests\n", n, len(ds.Users), len(ds.Grants), len(ds.Requests))
	// The stamp is written last: a data set whose writing was cut off has
	// none and is written again.
	stamp, want := filepath.Join(dir, "written"), fmt.Sprintf("seed %d, %d users, data format %d\n", cfg.seed, n, dataFormat)
	if b, err := os.ReadFile(stamp); cfg.reuse && err == nil && string(b) == want {
		fmt.Printf("  data set kept from an earlier run (-reuse)\n")
		return ds, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := LoadStore(ctx, filepath.Join(dir, "adgang"), ds); err != nil {
		return nil, fmt.Errorf("load store: %w", err)
	}
	dataJSON := filepath.Join(dir, "opa", "data.json")
	_ = os.MkdirAll(filepath.Dir(dataJSON), 0o700)
	if err := WriteOPAData(dataJSON, ds); err != nil {
		return nil, err
	}
	wrapper := filepath.Join(dir, "opa", "wrapper.rego")
	if err := os.WriteFile(wrapper, wrapperRego, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(stamp, []byte(want), 0o600); err != nil {
		return nil, err
	}
	fmt.Printf("  data written in %v\n", time.Since(t0).Round(time.Millisecond))
	return ds, nil
}

// benchSystems lists the systems the run measures at the data set under dir,
// each with the command that starts it and the target the driver asks, keeping
// only those -systems names.
func benchSystems(cfg *config, dir, self string, nocacheRates []int) []system {
	dataJSON := filepath.Join(dir, "opa", "data.json")
	wrapper := filepath.Join(dir, "opa", "wrapper.rego")
	// adgangCmd starts `adgang serve` with its default decision cache,
	// or with --decision-cache N when cache is 0 or more.
	adgangCmd := func(addr string, cache int) *exec.Cmd {
		// The lifecycle jobs are off: the data set is dated, and L1
		// would inactivate its users under the benchmark's feet.
		args := []string{"serve", "--data", filepath.Join(dir, "adgang"), "--decision-addr", addr,
			"--admin-addr", adminAddr(addr), "--decision-log", "off", "--log-level", "warn", "--lifecycle-interval", "0"}
		if cache >= 0 {
			args = append(args, "--decision-cache", strconv.Itoa(cache))
		}
		cmd := exec.Command(cfg.adgang, args...)
		cmd.Env = append(os.Environ(), "ADGANG_BOOTSTRAP_TOKEN="+benchToken)
		if cfg.adgangEnv != "" {
			cmd.Env = append(cmd.Env, strings.Split(cfg.adgangEnv, ",")...)
		}
		if cfg.pprof != "" {
			cmd.Env = append(cmd.Env, "ADGANG_PPROF_ADDR="+pprofAddr)
		}
		return cmd
	}
	adgangTarget := func(name string) func(base string) *target {
		return func(base string) *target {
			return &target{name: name, url: base + "/v1/decisions/login", check: true, body: adgangBody, allow: adgangAllow}
		}
	}
	systems := []system{
		{name: "adgang", firstPass: true, rates: true, ryw: true, writeMix: cfg.writeRates != "",
			cmd: func(addr string) *exec.Cmd { return adgangCmd(addr, -1) }, target: adgangTarget("adgang")},
		{name: "adgang-nocache", ryw: true, rates: len(nocacheRates) > 0, onlyRates: nocacheRates,
			cmd: func(addr string) *exec.Cmd { return adgangCmd(addr, 0) }, target: adgangTarget("adgang-nocache")},
		{name: "opa", rates: true, cmd: func(addr string) *exec.Cmd {
			return exec.Command(cfg.opa, "run", "--server", "--addr", addr, "--log-level", "error",
				"--skip-version-check", dataJSON, wrapper, cfg.policies)
		}, target: func(base string) *target {
			return &target{name: "opa", url: base + "/v1/data/adgang_bench/decision", check: true, body: opaBody, allow: opaAllow}
		}},
		{name: "baseline", rates: true, cmd: func(addr string) *exec.Cmd {
			return exec.Command(self, "baseline", "-addr", addr)
		}, target: func(base string) *target {
			return &target{name: "baseline", url: base + "/v1/decisions/login", body: adgangBody, allow: adgangAllow}
		}},
	}
	systems = slices.DeleteFunc(systems, func(s system) bool {
		return !slices.Contains(strings.Split(cfg.systems, ","), s.name)
	})
	return systems
}

func measure(ctx context.Context, cfg *config, sys system, m *mix, rates []int, size, round int) (*systemResult, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := sys.cmd(addr)
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	anon := sampleAnonRSS(cmd.Process.Pid)
	defer stopProcess(cmd)
	t := sys.target("http://" + addr)
	res := &systemResult{System: sys.name, Size: size, Round: round}
	// Cold start: process start to the first correct decision.
	if err := awaitFirstAnswer(ctx, t, &m.reqs[0], start); err != nil {
		return nil, err
	}
	res.ColdStart = time.Since(start)
	cpu := func() time.Duration { return procCPU(cmd.Process.Pid) }
	fmt.Printf("  %-8s cold start %v\n", sys.name, res.ColdStart.Round(time.Millisecond))
	if strings.HasPrefix(sys.name, "adgang") {
		// Adgang answers with topdown from the first request and attaches
		// its compiled evaluator in the background; measure that one.
		ev, err := awaitEvaluator(ctx, "http://"+addr, start)
		if err != nil {
			return nil, err
		}
		res.EvaluatorReady = time.Since(start)
		fmt.Printf("  %-8s login evaluator %s after %v\n", sys.name, ev, res.EvaluatorReady.Round(time.Millisecond))
	}
	first, err := warmUp(ctx, cfg, sys, t, m, cpu)
	if err != nil {
		return nil, err
	}
	if first != nil {
		res.Phases = append(res.Phases, first)
	}
	p, err := closedLoop(ctx, cfg, sys, t, m, size, cpu)
	if err != nil {
		return nil, err
	}
	res.Phases = append(res.Phases, p)
	if sys.writeMix {
		wps, err := intList("write-rates", cfg.writeRates)
		if err != nil {
			return nil, err
		}
		ps, err := writeMix(ctx, t, "http://"+adminAddr(addr), m, cfg.conns, cfg.writeDuration, cfg.writeWindow, wps, cpu)
		if err != nil {
			return nil, err
		}
		res.Phases = append(res.Phases, ps...)
	}
	if sys.onlyRates != nil {
		rates = sys.onlyRates
	}
	if sys.rates {
		ps, err := runRates(ctx, cfg, sys.name, t, m, rates, cpu)
		if err != nil {
			return nil, err
		}
		res.Phases = append(res.Phases, ps...)
	}
	if sys.ryw {
		ryw, err := readYourWrites(ctx, t, "http://"+adminAddr(addr), m.reqs, 20)
		if err != nil {
			return nil, err
		}
		res.ReadYourWrites = ryw
		fmt.Printf("  %-8s read-your-writes: %d grants written and deleted, %d stale decisions (admin write p50 %v)\n", sys.name, ryw.Checks, ryw.Stale, ryw.WriteP50)
	}
	res.PeakRSS = procPeakRSS(cmd.Process.Pid)
	res.PeakAnonRSS = anon()
	return res, nil
}

// warmUp runs before the closed loop: the first pass over every distinct
// request (returned as a phase) for a system that has one, else one second
// of the closed loop whose figures are dropped.
func warmUp(ctx context.Context, cfg *config, sys system, t *target, m *mix, cpu func() time.Duration) (*phaseResult, error) {
	if !sys.firstPass {
		_, err := runPhase(ctx, t, m, cfg.conns, 0, time.Second, cpu)
		return nil, err
	}
	p, err := runPhase(ctx, t, &mix{reqs: m.reqs[:min(len(m.reqs), cfg.firstPass)], seed: m.seed, sequential: true}, cfg.conns, 0, 0, cpu)
	if err != nil {
		return nil, err
	}
	p.Kind = "first_pass"
	fmt.Printf("  %-8s first pass (%d distinct requests, cold cache) %.0f rps, CPU %v per 1k\n", sys.name, p.Requests, p.Throughput, p.CPUPer1k)
	return p, nil
}

// stopProcess stops a system under test: SIGTERM, then SIGKILL if it has
// not exited within 10 seconds.
func stopProcess(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// awaitFirstAnswer asks probe until the system started at start answers
// it: an error if the first answer is wrong or none comes within 3 minutes.
func awaitFirstAnswer(ctx context.Context, t *target, probe *Request, start time.Time) error {
	c := newClient(1)
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		got, err := ask(ctx, c, t, probe)
		if err == nil && (!t.check || got == probe.Allow) {
			return nil
		}
		if err == nil {
			return fmt.Errorf("first answer wrong: %s got %v want %v (%s)", probe.SubjectID, got, probe.Allow, probe.Why)
		}
		if time.Since(start) > 3*time.Minute {
			return fmt.Errorf("no answer after 3 minutes: %w", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// closedLoop runs the closed-loop phase, with Adgang's profiles taken
// meanwhile when -pprof asks for them.
func closedLoop(ctx context.Context, cfg *config, sys system, t *target, m *mix, size int, cpu func() time.Duration) (*phaseResult, error) {
	var profiled chan error
	if cfg.pprof != "" && strings.HasPrefix(sys.name, "adgang") {
		profiled = make(chan error, 1)
		go func() {
			profiled <- fetchProfiles(ctx, cfg.pprof, fmt.Sprintf("%s-%d", sys.name, size), cfg.duration-time.Second)
		}()
	}
	p, err := runPhase(ctx, t, m, cfg.conns, 0, cfg.duration, cpu)
	if err != nil {
		return nil, err
	}
	if profiled != nil {
		if err := <-profiled; err != nil {
			fmt.Fprintln(os.Stderr, "  pprof:", err)
		}
	}
	fmt.Printf("  %-8s closed loop %.0f rps (p50 %v p99 %v), CPU %v per 1k\n", sys.name, p.Throughput, p.P50, p.P99, p.CPUPer1k)
	return p, nil
}

// awaitEvaluator waits until /health names a login evaluator other than
// topdown (the compiled one attached), and with plan the admin evaluator
// too, and returns the login evaluator; after a minute it
// gives up and returns topdown (a server configured for topdown, or a
// policy set the compiled evaluators refuse).
func awaitEvaluator(ctx context.Context, base string, start time.Time) (string, error) {
	for {
		var h struct {
			Policy struct {
				LoginEvaluator string `json:"login_evaluator"`
				AdminEvaluator string `json:"admin_evaluator"`
			} `json:"policy"`
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/health", nil)
		if err != nil {
			return "", err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			err = json.NewDecoder(resp.Body).Decode(&h)
			resp.Body.Close()
			login, admin := h.Policy.LoginEvaluator, h.Policy.AdminEvaluator
			// With plan, the admin rules' plan is checked after the login's
			// (running the policy tests): wait for it too, so the check's
			// CPU falls in no measurement.
			if err == nil && login != "" && login != "topdown" && (login != "plan" || admin != "topdown") {
				return login, nil
			}
		}
		if time.Since(start) > time.Minute {
			if login := h.Policy.LoginEvaluator; login != "" {
				return login, nil // the admin plan was refused: login's is what is measured
			}
			return "topdown", nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// runRates runs one fixed-rate phase per rate against the system called
// name and returns the phases run.
func runRates(ctx context.Context, cfg *config, name string, t *target, m *mix, rates []int, cpu func() time.Duration) ([]*phaseResult, error) {
	var ps []*phaseResult
	for _, rate := range rates {
		p, err := runPhase(ctx, t, m, max(64, cfg.conns), rate, cfg.rateDuration, cpu)
		if err != nil {
			return ps, err
		}
		ps = append(ps, p)
		fmt.Printf("  %-8s %6d rps: p50 %v p99 %v p99.9 %v (achieved %.0f rps)\n", name, rate, p.P50, p.P99, p.P999, p.Throughput)
	}
	return ps, nil
}

// sampleAnonRSS samples a process's anonymous resident memory (RssAnon:
// heap and stacks, not the page cache of memory-mapped store files) every
// 100 ms; the returned func stops sampling and gives the peak seen.
func sampleAnonRSS(pid int) func() int64 {
	var peak atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if v := procStatusKB(pid, "RssAnon:"); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(stop)
		<-done
		return peak.Load()
	}
}

// procStatusKB reads one "kB" field of /proc/<pid>/status, in bytes.
func procStatusKB(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// procCPU is the user+system CPU time a process has used (Linux /proc).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name; utime and stime are the
	// 14th and 15th fields of the whole line.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / clkTck
}

// procPeakRSS is a process's peak resident set size (VmHWM), file-backed
// pages of memory-mapped files included.
func procPeakRSS(pid int) int64 { return procStatusKB(pid, "VmHWM:") }

var errNoResults = errors.New("no results")

func writeReport(cfg *config, results []*systemResult) error {
	if len(results) == 0 {
		return errNoResults
	}
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(map[string]any{"generated": time.Now().UTC(), "results": results}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(cfg.out, "benchmarks.json"), raw, 0o644); err != nil {
		return err
	}
	return writeMarkdown(cfg.out, renderMarkdown(cfg, results))
}

// keptMarker starts the hand-written part of benchmarks.md: a run replaces
// what comes before it and keeps it and everything after it.
const keptMarker = "<!-- adgang-bench keeps everything below this line -->"

// writeMarkdown writes benchmarks.md in dir: the generated tables, then
// the hand-written part of the file already there (from keptMarker on).
func writeMarkdown(dir, generated string) error {
	path := filepath.Join(dir, "benchmarks.md")
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	out := strings.TrimRight(generated, "\n") + "\n\n" + keptMarker + "\n"
	if _, kept, ok := strings.Cut(string(old), keptMarker); ok {
		out += strings.TrimLeft(kept, "\n")
	}
	return os.WriteFile(path, []byte(out), 0o644)
}

// renderFrom writes benchmarks.md from the raw figures of an earlier run.
func renderFrom(cfg *config, path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc struct {
		Results []*systemResult `json:"results"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Results) == 0 {
		return errNoResults
	}
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return err
	}
	return writeMarkdown(cfg.out, renderMarkdown(cfg, doc.Results))
}

// pprofAddr is where Adgang serves pprof when the -pprof flag is given.
const pprofAddr = "127.0.0.1:18199"

// fetchProfiles saves a CPU profile of d and then a heap profile.
func fetchProfiles(ctx context.Context, dir, name string, d time.Duration) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, p := range []struct{ path, file string }{
		{fmt.Sprintf("/debug/pprof/profile?seconds=%d", max(1, int(d.Seconds()))), name + ".cpu.pprof"},
		{"/debug/pprof/heap", name + ".heap.pprof"},
	} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+pprofAddr+p.path, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, p.file), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
