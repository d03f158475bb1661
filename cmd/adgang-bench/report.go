package main

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// summary averages one system's rounds at one size.
type summary struct {
	throughput float64
	firstPass  float64 // first pass over every distinct request (cold cache), rps
	ryw        *rywResult
	rates      map[int][3]time.Duration // p50, p99, p99.9
	achieved   map[int]float64
	rss        int64
	anonRSS    int64
	cold       time.Duration
	cpu1k      time.Duration
	// writeMix: closed loop under admin writes, by writes per second
	// (Throughput, P50, P99 averaged over every loop at that rate, of
	// every round; Writes summed).
	writeMix map[int]phaseResult
	// writeMixLoops are the throughputs of each rate's loops, in the order
	// they ran.
	writeMixLoops map[int][]float64
	// writeMix0 are the throughputs of the loops without writes, in the
	// order they ran (the reference of the write mix; more than one when
	// -write-rates brackets the others). With windowed loops: each loop's
	// windows without writes.
	writeMix0 []float64
	// mixRef is, by rate, the mean throughput of its windowed loops'
	// windows without writes (absent: loops without windows, compared
	// with the loops without writes); mixCPU the mean CPU per write of the
	// server and the driver; mixWindow the windows' width.
	mixRef    map[int]float64
	mixCPU    map[int][2]time.Duration
	mixWindow time.Duration
	// mixCache is, by rate, the decision cache's misses and lookups during
	// its loops.
	mixCache map[int][2]int64
	// mixBlocks is, by rate, its loops' block ratios (windows.blocks).
	mixBlocks map[int][]float64
}

func summarise(rs []*systemResult) *summary {
	s := &summary{rates: map[int][3]time.Duration{}, achieved: map[int]float64{}, writeMix: map[int]phaseResult{}, writeMixLoops: map[int][]float64{},
		mixRef: map[int]float64{}, mixCPU: map[int][2]time.Duration{}, mixCache: map[int][2]int64{}, mixBlocks: map[int][]float64{}}
	mixLoops := map[int]int{} // write-mix loops per rate
	for _, r := range rs {
		s.rss = max(s.rss, r.PeakRSS)
		s.anonRSS = max(s.anonRSS, r.PeakAnonRSS)
		s.cold += r.ColdStart / time.Duration(len(rs))
		if r.ReadYourWrites != nil {
			if s.ryw == nil {
				s.ryw = &rywResult{}
			}
			s.ryw.Checks += r.ReadYourWrites.Checks
			s.ryw.Stale += r.ReadYourWrites.Stale
			s.ryw.WriteP50 = max(s.ryw.WriteP50, r.ReadYourWrites.WriteP50)
		}
		for _, p := range r.Phases {
			if p.Kind == "first_pass" {
				s.firstPass += p.Throughput / float64(len(rs))
				continue
			}
			if p.Kind == "write_mix" && p.Reference != nil {
				s.addWindowed(p, mixLoops)
				continue
			}
			if p.Kind == "write_mix" {
				w := s.writeMix[p.WritesPerSec]
				w.Throughput += p.Throughput
				w.P50 += p.P50
				w.P99 += p.P99
				w.Writes += p.Writes
				s.writeMix[p.WritesPerSec] = w
				mixLoops[p.WritesPerSec]++
				s.writeMixLoops[p.WritesPerSec] = append(s.writeMixLoops[p.WritesPerSec], p.Throughput)
				if p.WritesPerSec == 0 {
					s.writeMix0 = append(s.writeMix0, p.Throughput)
				}
				continue
			}
			if p.Rate == 0 {
				s.throughput += p.Throughput / float64(len(rs))
				s.cpu1k += p.CPUPer1k / time.Duration(len(rs))
				continue
			}
			q := s.rates[p.Rate]
			q[0] += p.P50 / time.Duration(len(rs))
			q[1] += p.P99 / time.Duration(len(rs))
			q[2] += p.P999 / time.Duration(len(rs))
			s.rates[p.Rate] = q
			s.achieved[p.Rate] += p.Throughput / float64(len(rs))
		}
	}
	for k, w := range s.writeMix {
		n := mixLoops[k]
		w.Throughput /= float64(n)
		w.P50 /= time.Duration(n)
		w.P99 /= time.Duration(n)
		s.writeMix[k] = w
		if _, ok := s.mixRef[k]; ok {
			s.mixRef[k] /= float64(n)
			c := s.mixCPU[k]
			s.mixCPU[k] = [2]time.Duration{c[0] / time.Duration(n), c[1] / time.Duration(n)}
		}
	}
	return s
}

// addWindowed adds a windowed write-mix loop: its windows with writes to
// its rate, its windows without to the rate's reference and to the 0
// writes/s row (loops counts the loops added to each row).
func (s *summary) addWindowed(p *phaseResult, loops map[int]int) {
	add := func(rate int, rps float64, p50, p99 time.Duration, writes int64) {
		w := s.writeMix[rate]
		w.Throughput += rps
		w.P50 += p50
		w.P99 += p99
		w.Writes += writes
		s.writeMix[rate] = w
		loops[rate]++
		s.writeMixLoops[rate] = append(s.writeMixLoops[rate], rps)
	}
	ref := p.Reference
	add(p.WritesPerSec, p.Throughput, p.P50, p.P99, p.Writes)
	add(0, ref.Throughput, ref.P50, ref.P99, 0)
	s.writeMix0 = append(s.writeMix0, ref.Throughput)
	s.mixRef[p.WritesPerSec] += ref.Throughput
	server, driver := p.writeCPU()
	c := s.mixCPU[p.WritesPerSec]
	s.mixCPU[p.WritesPerSec] = [2]time.Duration{c[0] + server, c[1] + driver}
	s.mixWindow = p.Window
	m := s.mixCache[p.WritesPerSec]
	s.mixCache[p.WritesPerSec] = [2]int64{m[0] + p.CacheMisses, m[1] + p.CacheHits + p.CacheMisses}
	s.mixBlocks[p.WritesPerSec] = append(s.mixBlocks[p.WritesPerSec], p.Blocks...)
}

// blockSpread is the mean of block ratios and its standard error, as a
// table cell: how far this machine's noise moves a loop's ratio.
func blockSpread(blocks []float64) string {
	n := len(blocks)
	if n < 2 {
		return "–"
	}
	var sum, sq float64
	for _, r := range blocks {
		sum += r
	}
	mean := sum / float64(n)
	for _, r := range blocks {
		sq += (r - mean) * (r - mean)
	}
	se := math.Sqrt(sq/float64(n-1)) / math.Sqrt(float64(n))
	return fmt.Sprintf("%.0f%% ± %.1f (%d)", 100*mean, 100*se, n)
}

// mixRatio is the write mix's throughput at rate against its reference:
// the same loops' windows without writes, or (loops without windows) the
// loops without writes.
func (s *summary) mixRatio(rate int) (ratio, ref float64, ok bool) {
	w, found := s.writeMix[rate]
	ref, windowed := s.mixRef[rate]
	if !windowed {
		ref = s.writeMix[0].Throughput
	}
	if !found || ref <= 0 {
		return 0, 0, false
	}
	return w.Throughput / ref, ref, true
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/1e6) }

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return floorTo(a/b, 2) + "×" // rounded down, as the figures held against a goal (atLeast)
}

// renderMarkdown renders the report docs/benchmarks.md holds: the intro,
// the targets and one section per data-set size.
func renderMarkdown(cfg *config, results []*systemResult) string {
	var b strings.Builder
	renderIntro(&b, cfg)
	renderTargets(&b, results)
	for _, size := range sizesOf(results) {
		renderSize(&b, results, size)
	}
	return b.String()
}

// renderIntro writes the report's title and the paragraph that says how
// the figures were measured.
func renderIntro(b *strings.Builder, cfg *config) {
	fmt.Fprintf(b, "# Benchmarks\n\nGenerated by `adgang-bench` on %s (%s/%s, %d CPUs, %s). Every Adgang and OPA answer was\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(b, "checked against the decision the data set was built to give. The load driver runs on the same\n")
	fmt.Fprintf(b, "machine as the server under test, so all three systems share the cores with it; figures are\n")
	fmt.Fprintf(b, "comparable within one run only. Closed loop: %d keep-alive connections for %v; fixed rates: %v\n", cfg.conns, cfg.duration, cfg.rateDuration)
	fmt.Fprintf(b, "each, latency measured from each request's intended send time (a pacer on its own thread\n")
	fmt.Fprintf(b, "sleeping with nanosleep; the baseline's figures are the floor of this driver on this machine).\n")
	fmt.Fprintf(b, "`adgang` runs with its default decision cache: before its closed loop it answers every distinct\n")
	fmt.Fprintf(b, "request once (\"first pass\", a cold cache: each answer computed); `adgang-nocache` runs with\n")
	fmt.Fprintf(b, "`--decision-cache 0` (every answer read from the store and evaluated). Rounds: %d, systems alternated.\n", cfg.rounds)
	fmt.Fprintf(b, "Peak RSS is the kernel's high-water mark (VmHWM), which counts the pages of memory-mapped files\n"+
		"(Badger's tables) the process touched — page cache the kernel can reclaim; peak anon RSS is the\n"+
		"largest RssAnon sampled every 100 ms: the process's own heap and stacks.\n")
	fmt.Fprintf(b, "Raw figures: `benchmarks.json`.\n\n")
}

// renderSize writes the section for one data-set size: the summary table,
// the ratios between systems and the latency table at fixed rates.
func renderSize(b *strings.Builder, results []*systemResult, size int) {
	sum := summariesAt(results, size)
	fmt.Fprintf(b, "## %d users\n\n", size)
	fmt.Fprintf(b, "| system | max throughput | CPU per 1k decisions | peak RSS | peak anon RSS | cold start |\n|---|---|---|---|---|---|\n")
	for _, name := range systemNames {
		if msg := failure(results, size, name); msg != "" {
			fmt.Fprintf(b, "| %s | failed: %s | – | – | – | – |\n", name, msg)
		}
		s := sum[name]
		if s == nil {
			continue
		}
		fmt.Fprintf(b, "| %s | %.0f rps | %s | %.1f MB | %.1f MB | %s |\n", name, s.throughput, ms(s.cpu1k), float64(s.rss)/1e6, float64(s.anonRSS)/1e6, ms(s.cold))
	}
	renderRatios(b, sum)
	b.WriteString("\n")
	renderRates(b, sum)
}

// renderRatios writes the throughput ratios, the first-pass figure, the
// write-mix table and the read-your-writes counts of one size's summaries.
func renderRatios(b *strings.Builder, sum map[string]*summary) {
	a, nc, o, base := sum["adgang"], sum["adgang-nocache"], sum["opa"], sum["baseline"]
	if a != nil && o != nil && base != nil {
		fmt.Fprintf(b, "\nThroughput ratios: **Adgang/OPA %s**, **Adgang/baseline %s**. CPU per decision: Adgang/OPA %s.\n",
			ratio(a.throughput, o.throughput), ratio(a.throughput, base.throughput), ratio(float64(a.cpu1k), float64(o.cpu1k)))
	}
	if a != nil && a.firstPass > 0 {
		fmt.Fprintf(b, "Adgang's first pass (cold cache, every distinct request once): %.0f rps", a.firstPass)
		if o != nil {
			fmt.Fprintf(b, " (%s OPA)", ratio(a.firstPass, o.throughput))
		}
		b.WriteString(".\n")
	}
	if nc != nil && o != nil && base != nil {
		fmt.Fprintf(b, "Without the cache: **Adgang/OPA %s**, Adgang/baseline %s.\n",
			ratio(nc.throughput, o.throughput), ratio(nc.throughput, base.throughput))
	}
	if a != nil && len(a.writeMix) > 0 {
		renderWriteMix(b, a)
	}
	for _, name := range []string{"adgang", "adgang-nocache"} {
		if s := sum[name]; s != nil && s.ryw != nil {
			fmt.Fprintf(b, "Read-your-writes (%s): %d grants written and deleted through the admin API, each followed at once by a decision: %d stale (admin write p50 %s).\n",
				name, s.ryw.Checks, s.ryw.Stale, ms(s.ryw.WriteP50))
		}
	}
}

// renderRates writes the latency table at each fixed rate any system ran,
// or nothing when no system ran one.
func renderRates(b *strings.Builder, sum map[string]*summary) {
	rates := []int{}
	for _, s := range sum {
		for r := range s.rates {
			if !slices.Contains(rates, r) {
				rates = append(rates, r)
			}
		}
	}
	slices.Sort(rates)
	if len(rates) > 0 {
		fmt.Fprintf(b, "| system | rate | achieved | p50 | p99 | p99.9 |\n|---|---|---|---|---|---|\n")
		for _, name := range systemNames {
			s := sum[name]
			if s == nil {
				continue
			}
			for _, r := range rates {
				q, ok := s.rates[r]
				if !ok {
					continue
				}
				fmt.Fprintf(b, "| %s | %d rps | %.0f rps | %s | %s | %s |\n", name, r, s.achieved[r], ms(q[0]), ms(q[1]), ms(q[2]))
			}
		}
		b.WriteString("\n")
	}
}

var systemNames = []string{"adgang", "adgang-nocache", "opa", "baseline"}

// sizesOf lists the data-set sizes of results, in the order they ran.
func sizesOf(results []*systemResult) []int {
	sizes := []int{}
	for _, r := range results {
		if !slices.Contains(sizes, r.Size) {
			sizes = append(sizes, r.Size)
		}
	}
	return sizes
}

// verdict is a target's last column.
func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// renderTargets compares the run with the targets of the load benchmark
// (issue 6), met or missed; a size the run did not measure is said so.
func renderTargets(b *strings.Builder, results []*systemResult) {
	at := func(size int) map[string]*summary { return summariesAt(results, size) }
	const notRun = "not measured in this run | –"
	b.WriteString("## Targets\n\n| target | measured | |\n|---|---|---|\n")
	s100 := at(100_000)
	a, o, base := s100["adgang"], s100["opa"], s100["baseline"]
	if a != nil && o != nil && base != nil {
		r := a.throughput / o.throughput
		fmt.Fprintf(b, "| throughput at 100k users ≥ 3× OPA | %.0f / %.0f rps = %s× | %s |\n", a.throughput, o.throughput, atLeast(r, 3, 2), verdict(r >= 3))
		r = a.throughput / base.throughput
		fmt.Fprintf(b, "| throughput at 100k users ≥ 60%% of the baseline | %.0f / %.0f rps = %s%% | %s |\n", a.throughput, base.throughput, atLeast(100*r, 60, 0), verdict(100*r >= 60))
	} else {
		fmt.Fprintf(b, "| throughput at 100k users ≥ 3× OPA and ≥ 60%% of the baseline | %s |\n", notRun)
	}
	if q, ok := a.rateQuantiles(5000); ok {
		floor := "–"
		if bq, ok := base.rateQuantiles(5000); ok {
			floor = ms(bq[1])
		}
		fmt.Fprintf(b, "| p99 ≤ 1 ms at 5k rps, 100k users | %s ms (the baseline's p99 at the same rate, the driver's floor: %s) | %s |\n",
			atMost(float64(q[1])/1e6, 1, 3), floor, verdict(q[1] <= time.Millisecond))
	} else {
		fmt.Fprintf(b, "| p99 ≤ 1 ms at 5k rps, 100k users | %s |\n", notRun)
	}
	if a1m := at(1_000_000)["adgang"]; a1m != nil {
		fmt.Fprintf(b, "| peak RSS at 1M users ≤ 400 MB | %s MB (VmHWM, mapped files included); %s MB anonymous | %s (VmHWM), %s (anonymous) |\n",
			atMost(float64(a1m.rss)/1e6, 400, 0), atMost(float64(a1m.anonRSS)/1e6, 400, 0), verdict(a1m.rss <= 400e6), verdict(a1m.anonRSS <= 400e6))
		fmt.Fprintf(b, "| cold start at 1M users ≤ 2 s | %s ms | %s |\n", atMost(float64(a1m.cold)/1e6, 2000, 3), verdict(a1m.cold <= 2*time.Second))
	} else {
		fmt.Fprintf(b, "| peak RSS ≤ 400 MB and cold start ≤ 2 s at 1M users | %s |\n", notRun)
	}
	checks, stale := 0, 0
	for _, r := range results {
		if r.ReadYourWrites != nil {
			checks += r.ReadYourWrites.Checks
			stale += r.ReadYourWrites.Stale
		}
	}
	if checks > 0 {
		fmt.Fprintf(b, "| read-your-writes at any cache setting | %d stale of %d decisions after an admin write | %s |\n", stale, checks, verdict(stale == 0))
	}
	renderDecisionGoals(b, results)
	b.WriteString("\n")
}

// floorTo writes x with n decimals, rounded down.
func floorTo(x float64, n int) string {
	p := math.Pow(10, float64(n))
	return strconv.FormatFloat(math.Floor(x*p)/p, 'f', n, 64)
}

// atLeast writes x, held against a lower bound, with n decimals such that
// the figure reads as meeting the bound exactly when x does: rounded down
// (4.995 against 5 is 4.99, not 5.00), and never below the bound when x
// is at or above it (the float error of x*10^n). bound has at most n
// decimals.
func atLeast(x, bound float64, n int) string {
	p := math.Pow(10, float64(n))
	v := math.Floor(x*p) / p
	switch {
	case x >= bound && v < bound:
		v = bound
	case x < bound && v >= bound:
		v = bound - 1/p
	}
	return strconv.FormatFloat(v, 'f', n, 64)
}

// atMost is atLeast for an upper bound: rounded up (400.4 MB against 400
// is 401), never above the bound when x is at or below it.
func atMost(x, bound float64, n int) string {
	p := math.Pow(10, float64(n))
	v := math.Ceil(x*p) / p
	switch {
	case x <= bound && v > bound:
		v = bound
	case x > bound && v <= bound:
		v = bound + 1/p
	}
	return strconv.FormatFloat(v, 'f', n, 64)
}

// goalSizes are the data-set sizes issue 15 states its goals 2 and 4 at.
var goalSizes = []int{100_000, 1_000_000}

// renderDecisionGoals adds the decision path's goals (issue 15) to the
// targets table, each as a ratio measured in this run: goal 1 is
// measured in process by `make bench-go`, goals 2 and 3 at every size the
// run measured (a size the goal is not stated at is named so), goal 4 at
// 1M users.
func renderDecisionGoals(b *strings.Builder, results []*systemResult) {
	b.WriteString("| goal 1: in-process uncached decision p50 ≤ 50 µs and ≤ 300 allocations at 100k users, 1M ≤ 1.25× that | measured in process by `make bench-go` (BenchmarkDecisionUncached, BenchmarkDecisionUncachedRatio), not by this program | – |\n")
	sizes := sizesOf(results)
	slices.Sort(sizes)
	for _, size := range sizes {
		s := summariesAt(results, size)
		where := sizeName(size) + " users"
		if !slices.Contains(goalSizes, size) {
			where += " (stated at 100k and 1M; shown for reference)"
		}
		if nc, o := s["adgang-nocache"], s["opa"]; nc != nil && o != nil && o.throughput > 0 {
			r := nc.throughput / o.throughput
			fmt.Fprintf(b, "| goal 2: uncached throughput ≥ 5× OPA, %s | %.0f / %.0f rps = %s× (CPU per decision: %s fewer) | %s |\n",
				where, nc.throughput, o.throughput, atLeast(r, 5, 2), ratio(float64(o.cpu1k), float64(nc.cpu1k)), verdict(r >= 5))
		}
		a := s["adgang"]
		if a == nil {
			continue
		}
		for _, wps := range []int{10, 100} {
			if r, ref, ok := a.mixRatio(wps); ok {
				fmt.Fprintf(b, "| goal 3: cached throughput at %d admin writes/s ≥ 90%% of 0 writes/s, %s users | %.0f / %.0f rps = %s%% (blocks %s) | %s |\n",
					wps, sizeName(size), a.writeMix[wps].Throughput, ref, atLeast(100*r, 90, 1), blockSpread(a.mixBlocks[wps]), verdict(100*r >= 90))
			}
		}
	}
	a1m := summariesAt(results, 1_000_000)["adgang"]
	if a1m == nil {
		b.WriteString("| goal 4: 1M users, anonymous RSS ≤ 400 MB, VmHWM ≤ 1 GB, cold start ≤ 2 s | not measured in this run | – |\n")
		return
	}
	fmt.Fprintf(b, "| goal 4: 1M users, anonymous RSS ≤ 400 MB, VmHWM ≤ 1 GB, cold start ≤ 2 s | %s MB anonymous, %s MB VmHWM, %s ms | %s, %s, %s |\n",
		atMost(float64(a1m.anonRSS)/1e6, 400, 0), atMost(float64(a1m.rss)/1e6, 1000, 0), atMost(float64(a1m.cold)/1e6, 2000, 3),
		verdict(a1m.anonRSS <= 400e6), verdict(a1m.rss <= 1e9), verdict(a1m.cold <= 2*time.Second))
}

// rateQuantiles is p50, p99 and p99.9 at a fixed rate, if measured.
func (s *summary) rateQuantiles(rate int) ([3]time.Duration, bool) {
	if s == nil {
		return [3]time.Duration{}, false
	}
	q, ok := s.rates[rate]
	return q, ok
}

// summariesAt summarises each system's measured rounds at one size; a
// system none of whose rounds could be measured has no summary.
func summariesAt(results []*systemResult, size int) map[string]*summary {
	by := map[string][]*systemResult{}
	for _, r := range results {
		if r.Size == size && r.Error == "" {
			by[r.System] = append(by[r.System], r)
		}
	}
	out := map[string]*summary{}
	for name, rs := range by {
		out[name] = summarise(rs)
	}
	return out
}

// failure is the error of a round of system at size that failed, if any.
func failure(results []*systemResult, size int, system string) string {
	for _, r := range results {
		if r.Size == size && r.System == system && r.Error != "" {
			return strings.ReplaceAll(r.Error, "|", "/")
		}
	}
	return ""
}

func sizeName(n int) string {
	switch {
	case n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

// minWritesForCPU is the fewest writes a write-mix rate must have made for
// the report to give the CPU one cost.
const minWritesForCPU = 400

// renderWriteMix writes the write-mix table: Adgang's closed loop while an
// administrator PATCHes user names at each rate, side by side.
func renderWriteMix(b *strings.Builder, a *summary) {
	windowed := len(a.mixRef) > 0
	b.WriteString("\nWrite mix (adgang, closed loop while user names are PATCHed through the admin API at each rate):\n\n")
	if windowed {
		b.WriteString("| admin writes/s | writes made | decisions | vs 0 writes/s | p50 | p99 | each loop | CPU per write: server, driver | cache misses | blocks: mean ± s.e. (n) |\n|---|---|---|---|---|---|---|---|---|---|\n")
	} else {
		b.WriteString("| admin writes/s | writes made | decisions | vs 0 writes/s | p50 | p99 | each loop |\n|---|---|---|---|---|---|---|\n")
	}
	keys := make([]int, 0, len(a.writeMix))
	for k := range a.writeMix {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		w := a.writeMix[k]
		vs := "–"
		if r, _, ok := a.mixRatio(k); ok {
			vs = atLeast(100*r, 90, 0) + "%" // goal 3's bound
		}
		loops := make([]string, len(a.writeMixLoops[k]))
		for i, t := range a.writeMixLoops[k] {
			loops[i] = fmt.Sprintf("%.0f", t)
		}
		fmt.Fprintf(b, "| %d | %d | %.0f rps | %s | %s | %s | %s |", k, w.Writes, w.Throughput, vs, ms(w.P50), ms(w.P99), strings.Join(loops, ", "))
		if windowed {
			cpu, misses := "–", "–"
			if c, ok := a.mixCPU[k]; ok && w.Writes >= minWritesForCPU {
				cpu = fmt.Sprintf("%s, %s", ms(c[0]), ms(c[1]))
			}
			if m, ok := a.mixCache[k]; ok {
				misses = fmt.Sprintf("%d of %d", m[0], m[1])
			}
			fmt.Fprintf(b, " %s | %s | %s |", cpu, misses, blockSpread(a.mixBlocks[k]))
		}
		b.WriteString("\n")
	}
	switch {
	case windowed:
		fmt.Fprintf(b, "\nEach rate is one closed loop (or one per round) cut into windows of %v; the writer writes only in half of them, in blocks of four windows, half of the blocks ordered off, on, on, off and half on, off, off, on (shuffled, so periodic work falls as often into either kind), and each answer counts in the window it came in; a window without writes right after one with them is not counted (what the writes cost after their window would lower the reference). A rate's figure is its windows with writes; its ratio is against the same loops' counted windows without writes, so a stall or a drift of this shared machine's speed weighs on both alike. The 0 writes/s row pools the windows without writes of every loop. CPU per write: the CPU the server and the load driver (its writer) used in the windows with writes beyond what their decisions took at the rate of the windows without, per write made (given from %d writes up: below, the machine's noise is larger than the writes' cost); on this 2-core machine both share the cores the decisions use. Cache misses: the decision cache's misses of all its lookups during the rate's loops (Adgang's /metrics): a write that changes no decision must add none; requests the cache has not answered yet miss at any rate (when the data set has more distinct requests than the first pass asks), so compare with 1 write/s. Blocks: each block of four windows' throughput with writes over that without, their mean and its standard error over the blocks (n): the noise of this shared machine in one loop's ratio (a ratio two standard errors from 90%% is not told apart from it by that loop).\n", a.mixWindow, minWritesForCPU)
	case len(a.writeMix0) > 1:
		zeros := make([]string, len(a.writeMix0))
		for i, t := range a.writeMix0 {
			zeros[i] = fmt.Sprintf("%.0f", t)
		}
		fmt.Fprintf(b, "\nEach figure is the mean of its rate's loops (the last column, in the order they ran); the 0 writes/s figure, which the ratios are against, is the mean of %d loops without writes (%s rps). In a mirrored order (such as 0,1,10,100,0,100,10,1,0, the default before the loops were windowed) every rate's loops sit symmetrically around the phase's middle, so a steady drift of the machine's speed weighs on every rate alike.\n",
			len(a.writeMix0), strings.Join(zeros, ", "))
	}
	b.WriteString("\n")
}
