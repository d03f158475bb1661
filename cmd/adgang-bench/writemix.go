package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The write mix measures Adgang's cached closed loop while an administrator
// PATCHes the names of users spread over the whole data set through the
// admin API: a harmless write that changes no decision, as an
// administration's routine edits are. With cache validity keyed on what
// each decision read, the throughput should not fall with the rate.
//
// The effect sought (a few percent) is smaller than the speed swings of a
// shared machine over a few seconds, so a rate is not compared with a
// separate loop without writes. Each rate is one closed loop cut into
// windows of -write-window; the writer writes only in half of them, in
// blocks of four windows, half ordered off, on, on, off and half on, off,
// off, on (shuffled anew each loop); decisions are counted by the window
// they were answered in. The throughput in the windows with writes is
// compared with that in the windows without, of the same loop: a stall or
// a drift of the machine weighs on both alike, and the balanced order
// puts a periodic task (a ticker every second) as often into one kind as
// into the other. A window without writes right after one with them is
// not counted (windows.kind): what a write costs after its window ends
// would otherwise lower the reference.

// windows counts a closed loop's answers by the window each was answered in.
type windows struct {
	width   time.Duration
	n       int    // windows in the loop, a multiple of 4
	flipped []bool // per block of four: on, off, off, on instead of off, on, on, off
	started chan struct{}
	start   time.Time
	counts  []atomic.Int64
	lat     [][2][]time.Duration // per connection: latencies in windows without and with writes
	// server and driver are the CPU time the server and this process had
	// used at each window's edge (n+1 samples, taken by sample).
	server, driver []time.Duration
}

// newWindows cuts a loop of about d into blocks of four windows of width,
// half of the blocks ordered off, on, on, off and half the other way round,
// shuffled by seed: a periodic task of the server or the machine (a ticker
// every second) then falls as often into windows with writes as without.
func newWindows(d, width time.Duration, seed uint64) *windows {
	n := max(4, int(d/(4*width))*4)
	r := rand.New(rand.NewPCG(seed, 0x5752495445))
	flipped := make([]bool, n/4)
	for i := range len(flipped) / 2 {
		flipped[i] = true
	}
	if len(flipped)%2 == 1 {
		flipped[len(flipped)-1] = r.IntN(2) == 1
	}
	r.Shuffle(len(flipped), func(i, j int) { flipped[i], flipped[j] = flipped[j], flipped[i] })
	return &windows{width: width, n: n, flipped: flipped, started: make(chan struct{}), counts: make([]atomic.Int64, n)}
}

// writesIn reports whether window k is one with writes.
func (w *windows) writesIn(k int) bool { return (k%4 == 1 || k%4 == 2) != w.flipped[k/4] }

// Kinds of window (windows.kind).
const (
	windowOff   = 0  // without writes, counted
	windowOn    = 1  // with writes
	windowGuard = -1 // without writes right after one with: not counted
)

// kind is what window k counts as. A window without writes that follows
// one with them is left out: what the writes of the window before cost
// after it ended (answers in flight at the edge, their garbage) would
// otherwise weigh on the reference and flatter the ratio.
func (w *windows) kind(k int) int {
	switch {
	case w.writesIn(k):
		return windowOn
	case k > 0 && w.writesIn(k-1):
		return windowGuard
	}
	return windowOff
}

// due is when, from the loop's start, the n-th write at rate is due: when
// the time spent in windows with writes reaches n/rate. ok is false past
// the loop's last window.
func (w *windows) due(n, rate int) (at time.Duration, ok bool) {
	spent := time.Duration(n) * time.Second / time.Duration(rate)
	j := int(spent / w.width) // the j-th window with writes
	b := j / 2
	if 4*b >= w.n {
		return 0, false
	}
	k := 4*b + 1 + j%2
	if w.flipped[b] {
		k = 4*b + 3*(j%2)
	}
	return time.Duration(k)*w.width + spent%w.width, true
}

// length is the loop's length, every window whole.
func (w *windows) length() time.Duration { return time.Duration(w.n) * w.width }

// begin marks the loop's start (w nil: a loop without windows).
func (w *windows) begin(start time.Time, conns int) {
	if w == nil {
		return
	}
	w.start = start
	w.lat = make([][2][]time.Duration, conns)
	close(w.started)
}

// answered counts an answer of connection conn, received at, that took took.
func (w *windows) answered(conn int, at time.Time, took time.Duration) {
	if w == nil {
		return
	}
	k := int(at.Sub(w.start) / w.width)
	if k < 0 || k >= w.n {
		return // answered after the loop's last window
	}
	w.counts[k].Add(1)
	if kind := w.kind(k); kind != windowGuard {
		w.lat[conn][kind] = append(w.lat[conn][kind], took)
	}
}

// sample reads the CPU time of the server (cpu) and of this process at
// every window's edge, from the loop's start to its end.
func (w *windows) sample(ctx context.Context, cpu func() time.Duration) {
	timer := w.waitStart(ctx)
	if timer == nil {
		return
	}
	defer timer.Stop()
	for k := 0; k <= w.n; k++ {
		if k > 0 && !w.sleepUntil(ctx, timer, time.Duration(k)*w.width) {
			return
		}
		w.server = append(w.server, cpu())
		w.driver = append(w.driver, selfCPU())
	}
}

// waitStart waits for the loop to start and returns a timer for
// sleepUntil (stop it when done), or nil when ctx ends first.
func (w *windows) waitStart(ctx context.Context) *time.Timer {
	select {
	case <-w.started:
	case <-ctx.Done():
		return nil
	}
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

// sleepUntil waits on timer until offset after the loop's start; false
// when ctx ends first.
func (w *windows) sleepUntil(ctx context.Context, timer *time.Timer, offset time.Duration) bool {
	timer.Reset(time.Until(w.start.Add(offset)))
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// selfCPU is the CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// figures are the throughput and latencies in the windows with writes
// (on) or in the counted windows without.
func (w *windows) figures(on bool) windowFigures {
	want := windowOff
	if on {
		want = windowOn
	}
	var n int64
	counted := 0
	for k := range w.n {
		if w.kind(k) == want {
			n += w.counts[k].Load()
			counted++
		}
	}
	var all []time.Duration
	for _, l := range w.lat {
		all = append(all, l[want]...)
	}
	slices.Sort(all)
	f := windowFigures{Requests: n, P50: percentile(all, 0.50), P99: percentile(all, 0.99)}
	if counted > 0 {
		f.Throughput = float64(n) / (time.Duration(counted) * w.width).Seconds()
	}
	if len(w.server) == w.n+1 {
		for k := range w.n {
			if w.kind(k) == want {
				f.ServerCPU += w.server[k+1] - w.server[k]
				f.DriverCPU += w.driver[k+1] - w.driver[k]
			}
		}
	}
	return f
}

// blocks is, for each block of four windows with a counted window
// without writes, the throughput in its windows with writes over that in
// its counted windows without.
func (w *windows) blocks() []float64 {
	var out []float64
	for b := 0; b+4 <= w.n; b += 4 {
		var sum [2]int64
		var num [2]int
		for k := b; k < b+4; k++ {
			if kind := w.kind(k); kind != windowGuard {
				sum[kind] += w.counts[k].Load()
				num[kind]++
			}
		}
		if num[windowOff] > 0 && sum[windowOff] > 0 {
			out = append(out, float64(sum[windowOn])/float64(num[windowOn])/(float64(sum[windowOff])/float64(num[windowOff])))
		}
	}
	return out
}

// windowFigures are a loop's figures in one kind of window.
type windowFigures struct {
	Requests   int64         `json:"requests"`
	Throughput float64       `json:"throughput_rps"`
	P50        time.Duration `json:"p50_ns"`
	P99        time.Duration `json:"p99_ns"`
	// ServerCPU and DriverCPU: the CPU time the server and the load driver
	// (this process, the writer included) used in these windows.
	ServerCPU time.Duration `json:"server_cpu_ns"`
	DriverCPU time.Duration `json:"driver_cpu_ns"`
}

// writeMix runs one windowed closed loop of length d per admin write rate
// (writes per second while writing; a 0 is skipped: every loop measures
// its own windows without writes).
func writeMix(ctx context.Context, t *target, adminBase string, m *mix, conns int, d, width time.Duration, wps []int, cpu func() time.Duration) ([]*phaseResult, error) {
	c := newClient(writeWorkers)
	defer c.CloseIdleConnections()
	if err := waitAdmin(ctx, c, adminBase); err != nil {
		return nil, err
	}
	// Users that exist: the subjects of allowed requests, in data-set order
	// (spread over organisations), UUIDs only (the admin API's user ids).
	var users []string
	seen := map[string]bool{}
	for i := range m.reqs {
		r := &m.reqs[i]
		if r.Allow && len(r.SubjectID) == 36 && !seen[r.SubjectID] {
			seen[r.SubjectID] = true
			users = append(users, r.SubjectID)
		}
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("write mix: no user to write")
	}
	var out []*phaseResult
	for _, rate := range wps {
		if rate <= 0 {
			continue
		}
		win := newWindows(d, width, uint64(time.Now().UnixNano())^uint64(rate))
		w := &writer{ctx: ctx, c: c, adminBase: adminBase, users: users}
		before, err := cacheCounts(ctx, c, t.url)
		if err != nil {
			return nil, err
		}
		var wg sync.WaitGroup
		wg.Go(func() { w.run(rate, win) })
		wg.Go(func() { win.sample(ctx, cpu) })
		p, err := runLoop(ctx, t, m, conns, 0, win.length(), cpu, win)
		wg.Wait()
		if err != nil {
			return nil, err
		}
		if e := w.firstErr.Load(); e != nil {
			return nil, fmt.Errorf("write mix at %d writes/s: %d writes failed, first: %v", rate, w.failed.Load(), e)
		}
		after, err := cacheCounts(ctx, c, t.url)
		if err != nil {
			return nil, err
		}
		on, off := win.figures(true), win.figures(false)
		p.Kind, p.WritesPerSec, p.Writes = "write_mix", rate, w.writes.Load()
		p.Requests, p.Throughput, p.P50, p.P99 = on.Requests, on.Throughput, on.P50, on.P99
		p.WithWrites, p.Reference, p.Blocks, p.Window = &on, &off, win.blocks(), win.width
		p.CacheHits, p.CacheMisses = after[0]-before[0], after[1]-before[1]
		out = append(out, p)
		server, driver := p.writeCPU()
		fmt.Printf("  %-8s write mix %3d writes/s (%d written): %.0f rps (p50 %v p99 %v), without writes %.0f rps: %.1f%% (blocks %s); CPU per write: server %v, driver %v; cache misses %d of %d\n",
			t.name, rate, p.Writes, on.Throughput, on.P50, on.P99, off.Throughput, 100*on.Throughput/off.Throughput, blockSpread(p.Blocks),
			server, driver, p.CacheMisses, p.CacheHits+p.CacheMisses)
	}
	return out, nil
}

// cacheCounts reads Adgang's decision cache hits and misses so far from
// the /metrics of the server whose login decisions are at loginURL.
func cacheCounts(ctx context.Context, c *http.Client, loginURL string) ([2]int64, error) {
	var out [2]int64
	base, _, _ := strings.Cut(loginURL, "/v1/")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return out, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return out, fmt.Errorf("metrics: %w", err)
	}
	for i, name := range []string{"adgang_decision_cache_hits_total", "adgang_decision_cache_misses_total"} {
		f := families[name]
		if len(f.GetMetric()) == 0 {
			return out, fmt.Errorf("metrics: no %s", name)
		}
		out[i] = int64(f.GetMetric()[0].GetCounter().GetValue())
	}
	return out, nil
}

// writer PATCHes user names through the admin API at a rate.
type writer struct {
	ctx            context.Context
	c              *http.Client
	adminBase      string
	users          []string
	writes, failed atomic.Int64
	firstErr       atomic.Value
}

// run writes rate times a second in the windows with writes of win, from
// its start to its end: the n-th write is due when the time spent in such
// windows reaches n/rate, so every rate, however low, writes evenly
// through them. Each write goes to a pool of writers, so a write that
// waits on the server (CPU, fsync) does not hold the next one back: the
// rate asked is the rate sent. A write due with every writer still busy is
// not made (the table's "writes made" says how many were).
func (w *writer) run(rate int, win *windows) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range writeWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range jobs {
				w.write(n)
			}
		}()
	}
	defer wg.Wait()
	defer close(jobs)
	timer := win.waitStart(w.ctx)
	if timer == nil {
		return
	}
	defer timer.Stop()
	for n := 0; ; n++ {
		at, ok := win.due(n, rate)
		if !ok || !win.sleepUntil(w.ctx, timer, at) {
			return
		}
		select {
		case jobs <- n:
		default: // every writer busy: this write is not made
		}
	}
}

// write makes the n-th write: a stride through the users, so consecutive
// writes land in different organisations.
func (w *writer) write(n int) {
	id := w.users[(n*7919)%len(w.users)]
	body := fmt.Sprintf(`{"name":"Bench write %d"}`, n)
	if err := adminCall(w.ctx, w.c, http.MethodPatch, w.adminBase+"/v1/users/"+id, body, nil); err != nil {
		w.failed.Add(1)
		w.firstErr.CompareAndSwap(nil, err)
		return
	}
	w.writes.Add(1)
}

// writeWorkers is how many admin writes the write mix keeps in flight at most.
const writeWorkers = 8

// waitAdmin waits for the admin listener, which opens once its role links
// are built (a while on a large store).
func waitAdmin(ctx context.Context, c *http.Client, adminBase string) error {
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		err := adminCall(ctx, c, http.MethodGet, adminBase+"/v1/rights", "", nil)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Since(start) > 5*time.Minute {
			return fmt.Errorf("admin API not ready: %w", err)
		}
	}
}

// writeCPU is the CPU time a write cost the server and the load driver
// (its writer) in a windowed write-mix loop: the CPU used in the windows
// with writes beyond what their decisions took at the rate of the windows
// without.
func (p *phaseResult) writeCPU() (server, driver time.Duration) {
	on, off := p.WithWrites, p.Reference
	if on == nil || off == nil || off.Requests == 0 || p.Writes == 0 {
		return 0, 0
	}
	scale := float64(on.Requests) / float64(off.Requests)
	beyond := func(with, without time.Duration) time.Duration {
		return time.Duration((float64(with) - float64(without)*scale) / float64(p.Writes)).Round(time.Microsecond)
	}
	return beyond(on.ServerCPU, off.ServerCPU), beyond(on.DriverCPU, off.DriverCPU)
}
