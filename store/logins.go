package store

import (
	"context"
	"encoding/json"
	"time"
)

// Last-login times in a fleet (SPEC §8, issue 14): a login time is
// bookkeeping for the lifecycle jobs, written after a decision, never on
// its path. On a fleet node it must not take a revision, yet the node that
// runs the jobs must see every node's logins. So login times travel as side
// events (events.go, kind EventLogin), and the job lease holder folds them
// into the user records (FoldLogins): one ordinary write per batch, which
// every replica then applies.

// loginEvent is one user's login time.
type loginEvent struct {
	UserID string    `json:"user_id"`
	At     time.Time `json:"at"`
}

// keepLogins keeps login times as side events (fleet TouchLogins).
func (s *Store) keepLogins(logins map[string]time.Time) error {
	events := make([]any, 0, len(logins))
	for id, t := range logins {
		events = append(events, loginEvent{UserID: id, At: t})
	}
	return s.KeepEvents(EventLogin, events)
}

// foldBatch is how many side events one fold write takes.
const foldBatch = 5000

// FoldLogins writes the login times every node of the fleet shipped into
// the user records (a later time only), a batch per write; the node
// holding the job lease calls it before the lifecycle jobs read them. It
// answers how many users it updated. Without a log it does nothing.
func (s *Store) FoldLogins(ctx context.Context) (int, error) {
	updated := 0
	for {
		bodies, token, err := s.ShippedEvents(ctx, EventLogin, foldBatch)
		if err != nil || len(bodies) == 0 {
			return updated, err
		}
		newer := map[string]time.Time{}
		for _, b := range bodies {
			var ev loginEvent
			if json.Unmarshal(b, &ev) == nil && ev.At.After(newer[ev.UserID]) {
				newer[ev.UserID] = ev.At
			}
		}
		n := 0
		_, err = s.Update(ctx, "system", func(tx *Tx) error {
			n = 0
			for id, t := range newer {
				u, err := tx.GetUser(id)
				if IsNotFound(err) || err == nil && u.LastLogin != nil && !t.After(*u.LastLogin) {
					continue
				} else if err != nil {
					return err
				}
				if err := tx.TouchLogin(id, t); err != nil {
					return err
				}
				n++
			}
			if n == 0 {
				return errNothingToFold // no empty revision
			}
			return nil
		})
		if err != nil && err != errNothingToFold {
			return updated, err
		}
		updated += n
		if err := s.DoneEvents(ctx, token); err != nil || len(bodies) < foldBatch {
			return updated, err
		}
	}
}

// shipEvery is how often a fleet node ships what it kept and reads the
// other nodes' stored decisions.
const shipEvery = time.Second

// shipAndPull ships the side events and stored decisions this node kept
// to the log every second, and reads the other nodes' stored decisions
// (decisionship.go), until ctx ends.
func (s *Store) shipAndPull(ctx context.Context) {
	defer close(s.replica.shipped)
	t := time.NewTicker(shipEvery)
	defer t.Stop()
	var overlapAt time.Time // the last pull that re-read the overlap
	for {
		select {
		case <-ctx.Done():
			// What the last second kept, if the log answers quickly; else
			// it stays here and is shipped after the next start.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			s.shipAll(fctx)
			cancel()
			return
		case <-t.C:
			s.shipAll(ctx)
			overlap := time.Since(overlapAt) >= time.Minute
			if err := s.pullDecisions(ctx, overlap); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Warn().Err(err).Msg("read the fleet's stored decisions")
			} else if overlap {
				overlapAt = time.Now()
			}
		}
	}
}

// shipAll ships every kind of side event and the stored decisions; what
// fails stays kept for the next try.
func (s *Store) shipAll(ctx context.Context) {
	for _, kind := range []string{EventLogin, EventKnock, EventPassword} {
		if err := s.shipEvents(ctx, kind); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn().Err(err).Str("kind", kind).Msg("ship side events to the system of record; kept for the next try")
		}
	}
	if err := s.shipDecisions(ctx); err != nil && ctx.Err() == nil {
		s.cfg.Logger.Warn().Err(err).Msg("ship stored decisions to the system of record; kept for the next try")
	}
}
