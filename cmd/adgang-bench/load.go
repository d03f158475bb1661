package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// target is one system under test: how to ask it and read its answer.
type target struct {
	name  string
	url   string
	check bool                                // compare every answer with the expected decision
	body  func(dst []byte, r *Request) []byte // r's request body, appended to dst
	allow func(b []byte) (bool, error)
}

func adgangBody(dst []byte, r *Request) []byte {
	return fmt.Appendf(dst, `{"subject":{"id":%q,"cvr":%q,"kind":"employee","cpr_linked":true},"service":%q}`,
		r.SubjectID, r.CVR, r.Service)
}

func opaBody(dst []byte, r *Request) []byte {
	return fmt.Appendf(dst, `{"input":{"subject":{"id":%q,"cvr":%q,"kind":"employee","cpr_linked":true},"service":%q}}`,
		r.SubjectID, r.CVR, r.Service)
}

// adgangAllow is the allow of an Adgang answer (its top-level boolean).
func adgangAllow(b []byte) (bool, error) {
	allow, ok := topBool(b, "allow")
	if !ok {
		return false, fmt.Errorf("no allow in %.200s", b)
	}
	return allow, nil
}

// opaAllow is the result.allow of an answer of OPA's Data API.
func opaAllow(b []byte) (bool, error) {
	res, ok := topField(b, "result")
	var allow bool
	if ok {
		allow, ok = topBool(res, "allow")
	}
	if !ok {
		return false, fmt.Errorf("no result.allow in %.200s", b)
	}
	return allow, nil
}

// mix draws requests from a Zipf distribution over all requests, or, when
// sequential, hands out every request once (nil when all are out).
type mix struct {
	reqs       []Request
	seed       uint64
	sequential bool
	next       atomic.Int64
}

func (m *mix) drawer(worker int) func() *Request {
	if m.sequential {
		return func() *Request {
			i := m.next.Add(1) - 1
			if i >= int64(len(m.reqs)) {
				return nil
			}
			return &m.reqs[i]
		}
	}
	r := rand.New(rand.NewPCG(m.seed, uint64(worker)+1))
	z := rand.NewZipf(r, 1.01, 1, uint64(len(m.reqs)-1))
	return func() *Request { return &m.reqs[z.Uint64()] }
}

// phaseResult is what one measured phase found.
type phaseResult struct {
	Name       string        `json:"name"`
	Kind       string        `json:"kind,omitempty"` // first_pass: every distinct request once, cold cache; write_mix: closed loop under admin writes
	Rate       int           `json:"rate,omitempty"` // 0 = closed loop
	Requests   int64         `json:"requests"`
	Errors     int64         `json:"errors"`
	Wrong      int64         `json:"wrong"`
	Allowed    int64         `json:"allowed"`
	Duration   time.Duration `json:"duration_ns"`
	Throughput float64       `json:"throughput_rps"`
	P50        time.Duration `json:"p50_ns"`
	P99        time.Duration `json:"p99_ns"`
	P999       time.Duration `json:"p999_ns"`
	CPUPer1k   time.Duration `json:"cpu_per_1k_ns"`
	// WritesPerSec and Writes: a write_mix phase's admin write rate and
	// the writes it made.
	WritesPerSec int   `json:"writes_per_s,omitempty"`
	Writes       int64 `json:"writes,omitempty"`
	// Reference: a windowed write_mix phase's figures in its own windows
	// without writes (writemix.go); nil for a loop without windows.
	Reference *windowFigures `json:"reference,omitempty"`
	// WithWrites: the same loop's figures in its windows with writes
	// (Throughput, P50 and P99 above repeat them).
	WithWrites *windowFigures `json:"with_writes,omitempty"`
	// CacheHits and CacheMisses: the decision cache's hits and misses
	// during a write_mix phase (Adgang's /metrics), every window.
	CacheHits   int64 `json:"cache_hits,omitempty"`
	CacheMisses int64 `json:"cache_misses,omitempty"`
	// Window: a windowed write_mix phase's window width.
	Window time.Duration `json:"window_ns,omitempty"`
	// Blocks: a windowed write_mix phase's throughput with writes over
	// that without, in each block of four windows.
	Blocks []float64 `json:"blocks,omitempty"`
}

func newClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, MaxConnsPerHost: conns * 2,
		DisableCompression: true, IdleConnTimeout: time.Minute,
	}, Timeout: 10 * time.Second}
}

// ask sends one request and checks the answer; it returns whether it was
// allowed.
func ask(ctx context.Context, c *http.Client, t *target, r *Request) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(t.body(nil, r)))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return false, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return false, err
	}
	return t.decision(resp.StatusCode, b)
}

// decision is whether the answer b (with HTTP status) allowed: an error
// unless the status is 200, the whole answer one valid JSON value (the
// allow is found by a scan of its top level, topField) and the allow there.
func (t *target) decision(status int, b []byte) (bool, error) {
	if status != http.StatusOK {
		return false, fmt.Errorf("status %d: %.200s", status, b)
	}
	if !json.Valid(b) {
		return false, fmt.Errorf("%w: not JSON: %.200s", errBadAnswer, b)
	}
	return t.allow(b)
}

var errWrong = errors.New("wrong decision")

// runPhase drives t for d. rate 0 is a closed loop with conns workers
// (maximum throughput); rate > 0 sends at that fixed rate and measures
// each latency from the request's intended send time, so a slow answer
// cannot hide the requests queued behind it (no coordinated omission).
func runPhase(ctx context.Context, t *target, m *mix, conns, rate int, d time.Duration, cpu func() time.Duration) (*phaseResult, error) {
	return runLoop(ctx, t, m, conns, rate, d, cpu, nil)
}

// runLoop is runPhase, also counting each answer into win's windows when
// win is not nil (a closed loop of the write mix).
func runLoop(ctx context.Context, t *target, m *mix, conns, rate int, d time.Duration, cpu func() time.Duration, win *windows) (*phaseResult, error) {
	wires, err := dialWires(ctx, t.url, conns)
	defer closeWires(wires)
	if err != nil {
		return nil, err
	}
	res := &phaseResult{Name: t.name, Rate: rate}
	var cnt loopCounts
	lat := make([][]time.Duration, conns)
	start := time.Now()
	deadline := start.Add(d)
	if d <= 0 { // until the mix runs out
		deadline = start.Add(24 * time.Hour)
	}
	var interval time.Duration
	if rate > 0 {
		interval = time.Second / time.Duration(rate)
	}
	// Fixed rate: one pacer hands out intended send times. Go's timers
	// wake up to a millisecond late on this kind of VM, which would show up
	// as latency (it is measured from the intended time), so the pacer
	// sleeps with nanosleep(2) on its own thread with a 1 µs timer slack
	// (tens of µs late).
	var slots chan time.Time
	if rate > 0 {
		slots = make(chan time.Time, 1<<16)
		go pace(ctx, slots, start, deadline, interval)
	}
	cpu0 := cpu()
	win.begin(start, conns)
	var wg sync.WaitGroup
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wc := wires[w]
			draw := m.drawer(w)
			for ctx.Err() == nil {
				sent := time.Now()
				if rate > 0 {
					var ok bool
					if sent, ok = <-slots; !ok {
						return
					}
				} else if sent.After(deadline) {
					return
				}
				r := draw()
				if r == nil {
					return
				}
				got, err := wc.ask(ctx, t, r)
				took := time.Since(sent)
				lat[w] = append(lat[w], took)
				win.answered(w, sent.Add(took), took)
				cnt.record(t, r, got, err)
			}
		}()
	}
	wg.Wait()
	res.Duration = time.Since(start)
	used := cpu() - cpu0
	res.Requests, res.Errors, res.Wrong, res.Allowed = cnt.n.Load(), cnt.errs.Load(), cnt.wrong.Load(), cnt.allowed.Load()
	res.Throughput = float64(res.Requests) / res.Duration.Seconds()
	setPercentiles(res, lat)
	if res.Requests > 0 {
		res.CPUPer1k = used * 1000 / time.Duration(res.Requests)
	}
	if e, ok := cnt.firstErr.Load().(error); ok {
		return res, e
	}
	return res, nil
}

// dialWires opens n connections to url, one for each worker of a loop,
// before the loop starts: a dial timed as a request's latency would stand
// in the fixed-rate phases' percentiles.
func dialWires(ctx context.Context, url string, n int) ([]*wire, error) {
	first, err := newWire(url)
	if err != nil {
		return nil, err
	}
	wires := make([]*wire, 0, n)
	for range n {
		w := &wire{host: first.host, path: first.path}
		if err := w.dial(ctx); err != nil {
			return wires, err
		}
		wires = append(wires, w)
	}
	return wires, nil
}

func closeWires(wires []*wire) {
	for _, w := range wires {
		w.close()
	}
}

// loopCounts are a loop's answers so far, counted by its workers.
type loopCounts struct {
	n, errs, wrong, allowed atomic.Int64
	firstErr                atomic.Value
}

// record counts one answer to r: got, or the error err.
func (c *loopCounts) record(t *target, r *Request, got bool, err error) {
	c.n.Add(1)
	switch {
	case err != nil:
		c.errs.Add(1)
		c.firstErr.CompareAndSwap(nil, err)
	case t.check && got != r.Allow:
		c.wrong.Add(1)
		c.firstErr.CompareAndSwap(nil, fmt.Errorf("%w: %s %s got allow=%v, want %v (%s)", errWrong, r.SubjectID, r.Service, got, r.Allow, r.Why))
	case got:
		c.allowed.Add(1)
	}
}

// setPercentiles merges the latencies each connection recorded and sets
// the phase's p50, p99 and p99.9 from them.
func setPercentiles(res *phaseResult, lat [][]time.Duration) {
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	res.P50, res.P99, res.P999 = percentile(all, 0.50), percentile(all, 0.99), percentile(all, 0.999)
}

// pace sends the intended send time of every request of a fixed-rate phase
// into slots at that time, and closes slots at the deadline.
func pace(ctx context.Context, slots chan<- time.Time, start, deadline time.Time, interval time.Duration) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(slots)
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerSlack, 1000, 0) // 1 µs
	for i := 0; ctx.Err() == nil; i++ {
		at := start.Add(time.Duration(i) * interval)
		if at.After(deadline) {
			return
		}
		if wait := time.Until(at); wait > 0 {
			ts := syscall.NsecToTimespec(int64(wait))
			_ = syscall.Nanosleep(&ts, nil)
		}
		slots <- at
	}
}

const prSetTimerSlack = 29 // PR_SET_TIMERSLACK, linux/prctl.h

// percentile of sorted-or-not durations (sorts xs).
func percentile(xs []time.Duration, p float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return xs[min(len(xs)-1, int(float64(len(xs))*p))]
}
