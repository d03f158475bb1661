package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/pg"
)

// defineFleetFlags defines the system of record and the consistency flags.
func defineFleetFlags(fs *flag.FlagSet, cfg *Config, _ *serveFlagText) error {
	wait, err := envDuration("ADGANG_MIN_REVISION_WAIT", pdp.DefaultMinRevisionWait.String())
	if err != nil {
		return err
	}
	stale, err := envDuration("ADGANG_MAX_STALENESS", "0s")
	if err != nil {
		return err
	}
	fs.StringVar(&cfg.StoreURL, "store", envOr("ADGANG_STORE", ""), "the system of record: empty or badger (the embedded store in --data), or postgres://… (a fleet: PostgreSQL, with a local replica in --data that decisions read); put a password in the environment, not the flag, which ps shows (env ADGANG_STORE)")
	fs.DurationVar(&cfg.MinRevisionWait, "min-revision-wait", wait, "how long a decision asked with a min_revision (Adgang-Min-Revision) waits for this node to apply it before answering 503 revision_not_reached (env ADGANG_MIN_REVISION_WAIT)")
	fs.DurationVar(&cfg.MaxStaleness, "max-staleness", stale, "refuse decisions (503) while this node's replica has not been up to date with the system of record for longer; 0 keeps answering (env ADGANG_MAX_STALENESS)")
	return nil
}

// checkFleet checks the fleet flags.
func (cfg *Config) checkFleet() error {
	switch {
	case cfg.StoreURL == "" || cfg.StoreURL == "badger":
	case strings.HasPrefix(cfg.StoreURL, "postgres://") || strings.HasPrefix(cfg.StoreURL, "postgresql://"):
	default:
		return errors.New("--store must be badger or a postgres:// URL")
	}
	if cfg.MinRevisionWait <= 0 {
		return errors.New("--min-revision-wait must be positive")
	}
	if cfg.MaxStaleness < 0 {
		return errors.New("--max-staleness must not be negative")
	}
	return nil
}

// fleet reports whether the store follows a system of record.
func (cfg *Config) fleet() bool { return cfg.StoreURL != "" && cfg.StoreURL != "badger" }

// openLog connects to the fleet's system of record (nil without one); the
// store takes it over.
func (m *Main) openLog(ctx context.Context) (store.Log, error) {
	if !m.Config.fleet() {
		return nil, nil
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	l, err := pg.Open(cctx, m.Config.StoreURL)
	if err != nil {
		return nil, fmt.Errorf("--store: %w", err)
	}
	m.fleetLog = l
	return l, nil
}

// The job lease: lifecycle jobs and outbox delivery run on one node of a
// fleet at a time. The holder renews its lease every leaseRenew; a node
// that dies stops renewing, and another takes the lease once it expired.
const (
	jobLease   = "jobs"
	leaseTTL   = 15 * time.Second
	leaseRenew = 5 * time.Second
	leaseStep  = 2 * time.Second // the longest a renewal or a fold may take
	// The lease holder prunes the log every pruneEvery below what every
	// node seen within pruneLive has applied, keeping pruneMargin entries
	// more; a node away longer starts again from a snapshot.
	pruneEvery  = time.Minute
	pruneLive   = time.Hour
	pruneMargin = 10000
)

// leaseJobs runs start while this node holds the job lease, and stops the
// jobs when it loses it (or Close stops the loop, giving the lease up).
// The holder also folds the fleet's login times into the user records
// every leaseRenew.
func (m *Main) leaseJobs(start func()) {
	holder := uuid.NewString()
	ctx, cancel := context.WithCancel(context.Background())
	m.stopLease, m.leaseDone = cancel, make(chan struct{})
	log := m.Logger.With().Str("component", "lease").Str("holder", holder).Logger()
	go func() {
		defer close(m.leaseDone)
		held := false
		var renewed time.Time // the last successful Acquire
		var pruned time.Time  // the last pruning of the log
		t := time.NewTicker(leaseRenew)
		defer t.Stop()
		for {
			actx, acancel := context.WithTimeout(ctx, leaseStep)
			ok, err := m.fleetLog.Acquire(actx, jobLease, holder, leaseTTL)
			acancel()
			if err != nil && ctx.Err() == nil {
				log.Warn().Err(err).Msg("renew the job lease")
			}
			if ok {
				renewed = time.Now()
			}
			switch {
			case ok && !held:
				log.Info().Msg("this node holds the job lease: lifecycle jobs and outbox delivery run here")
				start()
			case !ok && held:
				log.Info().Msg("the job lease is lost: jobs stop here")
				m.stopJobs()
			}
			held = ok
			if held {
				m.foldSideEffects(ctx, log)
			}
			if held && time.Since(pruned) >= pruneEvery && m.pruneLog(ctx, log) {
				pruned = time.Now()
			}
			if held && time.Since(renewed) > leaseTTL-leaseRenew {
				// Whatever held this loop up, the lease may be gone: stop
				// before another node starts the same jobs.
				log.Warn().Msg("the job lease was not renewed in time: jobs stop here")
				m.stopJobs()
				held = false
			}
			select {
			case <-ctx.Done():
				if held {
					m.stopJobs()
					rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Second)
					_ = m.fleetLog.Release(rctx, jobLease, holder)
					rcancel()
				}
				return
			case <-t.C:
			}
		}
	}()
}

// foldSideEffects brings the fleet's side effects of decisions into the
// store, as the job lease holder does every leaseRenew: login times (the
// lifecycle jobs read them), password failures (L8) and knock attempts
// (D2), each an ordinary write of its batch.
func (m *Main) foldSideEffects(ctx context.Context, log zerolog.Logger) {
	folds := []struct {
		what string
		fold func(context.Context) (int, error)
	}{
		{"login times", m.Store.FoldLogins},
		{"password failures", m.passwords.FoldPasswordEvents},
		{"knock attempts", m.Engine.FoldKnocks},
	}
	for _, f := range folds {
		fctx, cancel := context.WithTimeout(ctx, leaseStep)
		if n, err := f.fold(fctx); err != nil && ctx.Err() == nil {
			log.Warn().Err(err).Str("what", f.what).Msg("fold the fleet's side effects into the store")
		} else if n > 0 {
			log.Debug().Int("count", n).Str("what", f.what).Msg("side effects folded into the store")
		}
		cancel()
	}
}

// pruneLog deletes the log's stored decisions older than the retention
// and the entries every live node has applied; it reports success.
func (m *Main) pruneLog(ctx context.Context, log zerolog.Logger) bool {
	pctx, cancel := context.WithTimeout(ctx, leaseStep)
	defer cancel()
	if _, err := m.fleetLog.PruneDecisions(pctx, time.Now().Add(-m.Config.DecisionLogRetention)); err != nil {
		if ctx.Err() == nil {
			log.Warn().Err(err).Msg("delete the log's decisions older than --decision-log-retention")
		}
		return false
	}
	n, err := m.fleetLog.Prune(pctx, pruneLive, pruneMargin)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn().Err(err).Msg("prune the log")
		}
		return false
	}
	if n > 0 {
		log.Info().Int64("entries", n).Msg("log entries every live node has applied were pruned")
	}
	return true
}
