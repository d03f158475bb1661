package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// benchToken is the superadmin token the benchmark gives Adgang through
// ADGANG_BOOTSTRAP_TOKEN, for the read-your-writes check.
const benchToken = "adg_bench_read_your_writes_0123456789abcdef"

// rywResult is the read-your-writes check: grants written through the
// admin API and removed again, each followed at once by a decision.
type rywResult struct {
	Checks   int           `json:"checks"`
	Stale    int           `json:"stale"`        // decisions that did not reflect the write just acknowledged
	WriteP50 time.Duration `json:"write_p50_ns"` // admin API write latency
}

// readYourWrites takes up to n users refused only because their grant is
// on an SE-number (D8): it asks twice (so the refusal is cached), grants
// eksamensdatabasen.view on the user's P-unit through the admin API and
// asks again (must allow), then deletes the grant and asks again (must
// refuse). Any stale answer is an error.
func readYourWrites(ctx context.Context, t *target, adminBase string, reqs []Request, n int) (*rywResult, error) {
	c := newClient(1)
	defer c.CloseIdleConnections()
	res := &rywResult{}
	// The admin listener opens once its role links are built, which takes
	// a while on a large store: wait for it.
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		err := adminCall(ctx, c, http.MethodGet, adminBase+"/v1/rights", "", nil)
		if err == nil {
			break
		}
		if time.Since(start) > 5*time.Minute {
			return res, fmt.Errorf("admin API not ready: %w", err)
		}
	}
	var writes []time.Duration
	expect := func(r *Request, want bool, when string) error {
		got, err := ask(ctx, c, t, r)
		if err != nil {
			return err
		}
		if got != want {
			res.Stale++
			return fmt.Errorf("read-your-writes: %s %s: allow=%v %s, want %v", r.SubjectID, r.Service, got, when, want)
		}
		return nil
	}
	for i := range reqs {
		r := &reqs[i]
		if res.Checks >= n {
			break
		}
		if r.Why != catOnSE || r.HomeP == "" {
			continue
		}
		for range 2 {
			if err := expect(r, false, "before the grant"); err != nil {
				return res, err
			}
		}
		t0 := time.Now()
		var created struct {
			Grant struct {
				ID string `json:"id"`
			} `json:"grant"`
		}
		body := fmt.Sprintf(`{"right":"eksamensdatabasen.view","scope":{"type":"p","value":%q},"justification":"benchmark read-your-writes"}`, r.HomeP)
		if err := adminCall(ctx, c, http.MethodPost, adminBase+"/v1/users/"+r.SubjectID+"/grants", body, &created); err != nil {
			return res, err
		}
		writes = append(writes, time.Since(t0))
		if err := expect(r, true, "right after the grant was acknowledged"); err != nil {
			return res, err
		}
		if err := adminCall(ctx, c, http.MethodDelete, adminBase+"/v1/grants/"+created.Grant.ID, "", nil); err != nil {
			return res, err
		}
		if err := expect(r, false, "right after the grant was deleted"); err != nil {
			return res, err
		}
		res.Checks++
	}
	if res.Checks == 0 {
		return res, fmt.Errorf("read-your-writes: no user to check")
	}
	res.WriteP50 = percentile(writes, 0.5)
	return res, nil
}

func adminCall(ctx context.Context, c *http.Client, method, url, body string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader([]byte(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+benchToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("admin %s %s: status %d: %.300s", method, url, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}
