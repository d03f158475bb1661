package pdp

import (
	"context"
	"fmt"
	"time"

	"github.com/adgang/adgang/store"
)

// WaitRevision returns once the store has applied revision rev (0: at
// once), or a revision_not_reached error (503) after Config.MinRevisionWait:
// a decision is never answered from a revision older than its caller's
// min_revision (SPEC §8, the consistency token).
func (e *Engine) WaitRevision(ctx context.Context, rev uint64) error {
	if rev == 0 {
		return nil
	}
	wait := e.cfg.MinRevisionWait
	if wait <= 0 {
		wait = DefaultMinRevisionWait
	}
	return e.store.WaitRevision(ctx, rev, wait)
}

// Fresh refuses decisions (503 store_unavailable) while a fleet replica
// has not been up to date with the system of record for longer than
// Config.MaxStaleness; nil when that is off or the replica is fresh.
func (e *Engine) Fresh() error {
	if e.cfg.MaxStaleness <= 0 {
		return nil
	}
	if lag := e.store.ReplicaStatus().Lag; lag > e.cfg.MaxStaleness {
		return &store.Error{Code: store.EInternal, Reason: ReasonStoreUnavailable,
			Message: fmt.Sprintf("this node's replica was last up to date %s ago, longer than --max-staleness %s", lag.Round(time.Millisecond), e.cfg.MaxStaleness)}
	}
	return nil
}

// replicaLagWarn is the lag from which /health reports a lagging replica.
const replicaLagWarn = 5 * time.Second

// storeHealth fills the store part of a Health report from the replica.
func (e *Engine) storeHealth(body *Health) {
	rs := e.store.ReplicaStatus()
	body.Store.Kind = rs.Kind
	if rs.Kind == StoreKind {
		return
	}
	lag := rs.Lag.Milliseconds()
	body.Store.ReplicaLagMS = &lag
	if rs.Err != nil {
		body.Store.Error = "the system of record cannot be reached: " + MaskCPR(rs.Err.Error())
		body.Reasons = append(body.Reasons, fmt.Sprintf("store_unreachable: %s cannot be reached; decisions are answered from the local replica (last up to date %d ms ago) and admin writes fail", rs.Kind, lag))
	} else if rs.Lag > replicaLagWarn {
		body.Reasons = append(body.Reasons, fmt.Sprintf("replica_lagging: the local replica was last up to date %d ms ago", lag))
	} else {
		return
	}
	if body.Status == HealthOK {
		body.Status = HealthDegraded
	}
}
