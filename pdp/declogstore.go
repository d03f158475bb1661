package pdp

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/adgang/adgang/store"
)

// Decision log modes (--decision-log-mode).
const (
	// DecisionLogBestEffort answers a decision without waiting for its log
	// entry; a full queue or a failed write loses the entry (counted in
	// adgang_decision_log_dropped_total).
	DecisionLogBestEffort = "best-effort"
	// DecisionLogLossless answers a decision only once its log entry is
	// durable in the store; if it cannot be made durable the request
	// fails closed with 503 decision_log_unavailable (B7).
	DecisionLogLossless = "lossless"
)

// ReasonDecisionLogUnavailable is the error code of a decision refused in
// lossless mode because its log entry could not be made durable.
const ReasonDecisionLogUnavailable = "decision_log_unavailable"

// DefaultDecisionLogRetention is how long stored decisions are kept when
// Config.DecisionLogRetention is zero (720h, 30 days).
const DefaultDecisionLogRetention = 720 * time.Hour

// DecisionLogStore is where the queryable decision log is kept (S11):
// writes that take no store revision, so decision caches stay valid.
type DecisionLogStore interface {
	AppendDecisions(ctx context.Context, recs []*store.DecisionRecord, sync bool) error
	DeleteDecisionsBefore(ctx context.Context, t time.Time, max int) (int, error)
}

// logEntry is one decision on its way to the store; done (lossless only)
// receives the outcome of its write.
type logEntry struct {
	rec  *store.DecisionRecord
	done chan error
}

// declogWriter batches decision records into group commits: while one
// batch is being written and synced, the next one gathers.
type declogWriter struct {
	st        DecisionLogStore
	lossless  bool
	retention time.Duration
	ch        chan logEntry
	dropped   prometheus.Counter
	batches   prometheus.Histogram
	now       func() time.Time
}

// maxLogBatch bounds the records of one group commit.
const maxLogBatch = 1024

func newDeclogWriter(st DecisionLogStore, mode string, retention time.Duration, now func() time.Time, reg *prometheus.Registry) *declogWriter {
	if retention <= 0 {
		retention = DefaultDecisionLogRetention
	}
	w := &declogWriter{
		st: st, lossless: mode == DecisionLogLossless, retention: retention, now: now,
		ch: make(chan logEntry, 8192),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "adgang_decision_log_dropped_total",
			Help: "Decisions not kept in the stored decision log (best-effort mode: queue full or write failed).",
		}),
		batches: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "adgang_decision_log_batch_size",
			Help:    "Decisions written per group commit of the stored decision log.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024},
		}),
	}
	_ = reg.Register(w.dropped)
	_ = reg.Register(w.batches)
	return w
}

// run writes batches until ctx ends, then drains what is queued; every
// hour (and once at start) it deletes records older than the retention.
func (w *declogWriter) run(ctx context.Context) {
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	w.prune(ctx)
	batch := make([]logEntry, 0, maxLogBatch)
	for {
		select {
		case <-ctx.Done():
			for {
				select {
				case le := <-w.ch:
					batch = append(batch, le)
					if len(batch) == maxLogBatch {
						w.flush(batch)
						batch = batch[:0]
					}
				default:
					w.flush(batch)
					return
				}
			}
		case <-prune.C:
			w.prune(ctx)
		case le := <-w.ch:
			batch = append(batch[:0], le)
		gather:
			for len(batch) < maxLogBatch {
				select {
				case le := <-w.ch:
					batch = append(batch, le)
				default:
					break gather
				}
			}
			w.flush(batch)
		}
	}
}

func (w *declogWriter) flush(batch []logEntry) {
	if len(batch) == 0 {
		return
	}
	recs := make([]*store.DecisionRecord, len(batch))
	for i, le := range batch {
		recs[i] = le.rec
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := w.st.AppendDecisions(ctx, recs, w.lossless)
	cancel()
	w.batches.Observe(float64(len(batch)))
	for _, le := range batch {
		if le.done != nil {
			le.done <- err
		} else if err != nil {
			w.dropped.Inc()
		}
	}
}

func (w *declogWriter) prune(ctx context.Context) {
	cut := w.now().Add(-w.retention)
	for ctx.Err() == nil {
		n, err := w.st.DeleteDecisionsBefore(ctx, cut, 10000)
		if err != nil || n < 10000 {
			return
		}
	}
}

// enqueue queues rec. In lossless mode it returns the channel its write
// outcome arrives on, waiting for queue room as long as ctx allows; in
// best-effort mode it never waits and returns nil.
func (w *declogWriter) enqueue(ctx context.Context, rec *store.DecisionRecord) <-chan error {
	if !w.lossless {
		select {
		case w.ch <- logEntry{rec: rec}:
		default:
			w.dropped.Inc()
		}
		return nil
	}
	done := make(chan error, 1)
	select {
	case w.ch <- logEntry{rec: rec, done: done}:
	case <-ctx.Done():
		done <- ctx.Err()
	}
	return done
}

// pendingLog collects the log writes of one request in lossless mode; the
// answer is released only when every one of them is durable.
type pendingLog struct {
	ctx  context.Context
	mu   sync.Mutex
	done []<-chan error
}

type pendingLogKey struct{}

func pendingFrom(ctx context.Context) *pendingLog {
	p, _ := ctx.Value(pendingLogKey{}).(*pendingLog)
	return p
}

func (p *pendingLog) wait() error {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	for _, ch := range done {
		select {
		case err := <-ch:
			if err != nil {
				return err
			}
		case <-p.ctx.Done():
			return p.ctx.Err()
		}
	}
	return nil
}

// losslessTimeout bounds how long an answer waits for its log entry.
const losslessTimeout = 5 * time.Second

// LosslessLog reports whether answers must wait for their decision-log
// entries (--decision-log-mode lossless with a stored decision log).
func (e *Engine) LosslessLog() bool { return e.dlog != nil && e.dlog.lossless }

// WithPendingLog returns a context whose decisions collect their stored
// log writes, and wait, which returns once every one of them is durable
// (an error when one is not, within losslessTimeout). cancel releases the
// context. Only meaningful when LosslessLog.
func (e *Engine) WithPendingLog(ctx context.Context) (_ context.Context, wait func() error, cancel func()) {
	tctx, cancel := context.WithTimeout(ctx, losslessTimeout)
	p := &pendingLog{ctx: tctx}
	wait = func() error {
		err := p.wait()
		if err != nil {
			e.log.Error().Err(err).Msg("decision log entry not durable: answer refused (lossless mode)")
		}
		return err
	}
	return context.WithValue(ctx, pendingLogKey{}, p), wait, cancel
}

// MetaOf is the decision-log facts of a request with id requestID whose
// context ctx may carry a pending log (WithPendingLog).
func MetaOf(ctx context.Context, requestID string) RequestMeta {
	return RequestMeta{RequestID: requestID, pending: pendingFrom(ctx)}
}

// storeDecision queues rec for the stored decision log (when it is on)
// and, in lossless mode, ties the request's answer to its durability.
func (e *Engine) storeDecision(meta RequestMeta, rec *store.DecisionRecord) {
	if e.dlog == nil {
		return
	}
	ctx := context.Background()
	if meta.pending != nil {
		ctx = meta.pending.ctx
	}
	done := e.dlog.enqueue(ctx, rec)
	if done == nil {
		return
	}
	if meta.pending == nil {
		// Not on the decision listener (an in-process call): the writer
		// still syncs it; nothing waits.
		return
	}
	meta.pending.mu.Lock()
	meta.pending.done = append(meta.pending.done, done)
	meta.pending.mu.Unlock()
}

// loginRecord is the stored log record of a login decision.
func (e *Engine) loginRecord(path string, req *LoginRequest, d *Decision, now time.Time) *store.DecisionRecord {
	input := boundedInput(maskValue(loginInputForLog(req), false))
	rec := &store.DecisionRecord{
		DecisionID: d.DecisionID, Time: now.UTC(), Path: path, UserID: d.userID, CVR: req.Subject.CVR,
		Allow: d.Allow, Input: input, Revision: d.Revision, Policy: d.Policy,
	}
	var body decisionBody
	if d.body != nil && json.Unmarshal(append([]byte{'{'}, d.body...), &body) == nil {
		rec.Rights, _ = json.Marshal(body.Rights)
		rec.Reasons, _ = json.Marshal(body.Reasons)
	} else {
		rec.Rights, _ = json.Marshal(d.Rights)
		rec.Reasons, _ = json.Marshal(d.Reasons)
	}
	if store.ValidCVR(rec.CVR) != nil {
		rec.CVR = ""
	}
	return rec
}

// loginInputForLog is the login request as a plain JSON value, for
// masking by field.
func loginInputForLog(req *LoginRequest) any {
	b, err := json.Marshal(req)
	if err != nil {
		return nil
	}
	var v any
	_ = json.Unmarshal(b, &v)
	return v
}

// genericRecord is the stored log record of a Data API or AuthZEN
// decision: allow is the result when it is a boolean or an object's
// "allow"/"decision" boolean; the organisation is input.subject.cvr when
// that is a valid CVR number.
func (e *Engine) genericRecord(path, decisionID string, input, result any, revision uint64, now time.Time) *store.DecisionRecord {
	rec := &store.DecisionRecord{DecisionID: decisionID, Time: now.UTC(), Path: MaskCPR(path), Revision: revision}
	if ps := e.policy.Load(); ps != nil {
		rec.Policy = ps.ID
	}
	rec.Input = boundedInput(maskValue(input, false))
	rec.Result, _ = json.Marshal(maskValue(result, true))
	switch r := result.(type) {
	case bool:
		rec.Allow = r
	case map[string]any:
		for _, k := range []string{"allow", "decision"} {
			if b, ok := r[k].(bool); ok {
				rec.Allow = b
				break
			}
		}
	}
	if m, ok := input.(map[string]any); ok {
		if s, ok := m["subject"].(map[string]any); ok {
			if cvr, ok := s["cvr"].(string); ok && store.ValidCVR(cvr) == nil {
				rec.CVR = cvr
			}
		}
	}
	return rec
}
