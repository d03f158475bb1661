package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRenderTargets: the targets table says met or missed from the
// figures, and names what the run did not measure.
func TestRenderTargets(t *testing.T) {
	closed := func(rps float64) *phaseResult { return &phaseResult{Kind: "closed", Throughput: rps} }
	at5k := func(p99 time.Duration) *phaseResult {
		return &phaseResult{Kind: "rate", Rate: 5000, Throughput: 5000, P99: p99}
	}
	results := []*systemResult{
		{System: "adgang", Size: 100_000, Phases: []*phaseResult{closed(24000), at5k(8 * time.Millisecond)},
			ReadYourWrites: &rywResult{Checks: 20}},
		{System: "opa", Size: 100_000, Phases: []*phaseResult{closed(2500)}},
		{System: "baseline", Size: 100_000, Phases: []*phaseResult{closed(50000), at5k(6 * time.Millisecond)}},
		{System: "adgang-nocache", Size: 100_000, Phases: []*phaseResult{closed(12487.5)}},
		{System: "adgang-nocache", Size: 10_000, Phases: []*phaseResult{{Kind: "closed", Throughput: 12000, CPUPer1k: 120 * time.Millisecond}}},
		{System: "opa", Size: 10_000, Phases: []*phaseResult{{Kind: "closed", Throughput: 2500, CPUPer1k: 600 * time.Millisecond}}},
	}
	var b strings.Builder
	renderTargets(&b, results)
	got := b.String()
	for _, want := range []string{
		"| throughput at 100k users ≥ 3× OPA | 24000 / 2500 rps = 9.60× | met |",
		"| throughput at 100k users ≥ 60% of the baseline | 24000 / 50000 rps = 48% | **missed** |",
		"| p99 ≤ 1 ms at 5k rps, 100k users | 8.000 ms (the baseline's p99 at the same rate, the driver's floor: 6.000 ms) | **missed** |",
		"| peak RSS ≤ 400 MB and cold start ≤ 2 s at 1M users | not measured in this run | – |",
		"| read-your-writes at any cache setting | 0 stale of 20 decisions after an admin write | met |",
		"| goal 1: in-process uncached decision p50 ≤ 50 µs and ≤ 300 allocations at 100k users, 1M ≤ 1.25× that | measured in process by `make bench-go`",
		"| goal 2: uncached throughput ≥ 5× OPA, 10k users (stated at 100k and 1M; shown for reference) | 12000 / 2500 rps = 4.80× (CPU per decision: 5.00× fewer) | **missed** |",
		"| goal 4: 1M users, anonymous RSS ≤ 400 MB, VmHWM ≤ 1 GB, cold start ≤ 2 s | not measured in this run | – |",
		// 4.995× misses 5× and must not read 5.00×.
		"| goal 2: uncached throughput ≥ 5× OPA, 100k users | 12488 / 2500 rps = 4.99× (CPU per decision: – fewer) | **missed** |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}

	results = append(results, &systemResult{System: "adgang", Size: 1_000_000, PeakRSS: 900e6, PeakAnonRSS: 350e6,
		ColdStart: 1500 * time.Millisecond, ReadYourWrites: &rywResult{Checks: 20, Stale: 1}})
	b.Reset()
	renderTargets(&b, results)
	got = b.String()
	for _, want := range []string{
		"| peak RSS at 1M users ≤ 400 MB | 900 MB (VmHWM, mapped files included); 350 MB anonymous | **missed** (VmHWM), met (anonymous) |",
		"| cold start at 1M users ≤ 2 s | 1500.000 ms | met |",
		"| read-your-writes at any cache setting | 1 stale of 40 decisions after an admin write | **missed** |",
		"| goal 4: 1M users, anonymous RSS ≤ 400 MB, VmHWM ≤ 1 GB, cold start ≤ 2 s | 350 MB anonymous, 900 MB VmHWM, 1500.000 ms | met, met, met |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}

// TestRenderFailedSystem: a system that could not be measured at a size
// is a row of the report, and the others are still summarised.
func TestRenderFailedSystem(t *testing.T) {
	results := []*systemResult{
		{System: "adgang", Size: 1_000_000, Phases: []*phaseResult{{Throughput: 9000}}},
		{System: "opa", Size: 1_000_000, Error: "Post …: context deadline exceeded | timeout"},
	}
	got := renderMarkdown(&config{conns: 16, duration: time.Second, rateDuration: time.Second, rounds: 1}, results)
	for _, want := range []string{
		"| adgang | 9000 rps |",
		"| opa | failed: Post …: context deadline exceeded / timeout | – | – | – | – |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}

// TestWriteMarkdownKeepsHandWritten: a run replaces the generated tables
// of benchmarks.md and keeps the hand-written sections after the marker.
func TestWriteMarkdownKeepsHandWritten(t *testing.T) {
	dir := t.TempDir()
	if err := writeMarkdown(dir, "# Benchmarks\n\nfirst run\n"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "benchmarks.md")
	raw, _ := os.ReadFile(path)
	if err := os.WriteFile(path, append(raw, "\n## Notes\n\nkept by hand\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeMarkdown(dir, "# Benchmarks\n\nsecond run\n"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	for _, want := range []string{"second run", keptMarker, "## Notes\n\nkept by hand"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("benchmarks.md lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(string(got), "first run") || strings.Count(string(got), keptMarker) != 1 {
		t.Errorf("the old tables or a second marker stayed:\n%s", got)
	}
}

// TestGoalFigures: a figure held against a bound reads as meeting it
// exactly when it does, however close to the bound it falls.
func TestGoalFigures(t *testing.T) {
	below5, above400 := math.Nextafter(5, 0), math.Nextafter(400, 1000)
	for _, c := range []struct {
		name      string
		got, want string
	}{
		{"4.995 against ≥ 5", atLeast(4.995, 5, 2), "4.99"},
		{"just under 5", atLeast(below5, 5, 2), "4.99"},
		{"exactly 5", atLeast(5, 5, 2), "5.00"},
		{"90% as a float product", atLeast(100*(16200.0/18000), 90, 1), "90.0"},
		{"89.96% against ≥ 90%", atLeast(89.96, 90, 1), "89.9"},
		{"400.4 MB against ≤ 400", atMost(400.4, 400, 0), "401"},
		{"just over 400", atMost(above400, 400, 0), "401"},
		{"exactly 400", atMost(400, 400, 0), "400"},
		{"399.2 against ≤ 400", atMost(399.2, 400, 0), "400"},
		{"1.0004 ms against ≤ 1 ms", atMost(1.0004, 1, 3), "1.001"},
	} {
		if c.got != c.want {
			t.Errorf("%s: %s, want %s", c.name, c.got, c.want)
		}
	}
}
