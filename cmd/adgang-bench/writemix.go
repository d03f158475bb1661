package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// writeMix runs Adgang's closed loop once per admin write rate (writes per
// second; 0 is the same loop without writes, measured alongside), while a
// writer PATCHes the name of users spread over the whole data set through
// the admin API: a harmless write that changes no decision, as an
// administration's routine edits are. With cache validity keyed on what
// each decision read, the throughput should not fall with the rate.
func writeMix(ctx context.Context, t *target, adminBase string, m *mix, conns int, d time.Duration, wps []int, cpu func() time.Duration) ([]*phaseResult, error) {
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
		w := &writer{ctx: ctx, c: c, adminBase: adminBase, users: users}
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			w.run(rate, stop)
		}()
		p, err := runPhase(ctx, t, m, conns, 0, d, cpu)
		close(stop)
		<-done
		if err != nil {
			return nil, err
		}
		if e := w.firstErr.Load(); e != nil {
			return nil, fmt.Errorf("write mix at %d writes/s: %d writes failed, first: %v", rate, w.failed.Load(), e)
		}
		p.Kind, p.WritesPerSec, p.Writes = "write_mix", rate, w.writes.Load()
		out = append(out, p)
		fmt.Printf("  %-8s write mix %3d writes/s (%d written): %.0f rps (p50 %v p99 %v)\n", t.name, rate, p.Writes, p.Throughput, p.P50, p.P99)
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

// run writes rate times a second until stop is closed. The ticker hands
// each write to a pool of writers, so a write that waits on the server
// (CPU, fsync) does not hold the next one back: the rate asked is the rate
// sent. A tick with every writer still busy is a write not made (the
// table's "writes made" says how many were).
func (w *writer) run(rate int, stop <-chan struct{}) {
	if rate <= 0 {
		return
	}
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
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		case <-w.ctx.Done():
			return
		case <-tick.C:
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
