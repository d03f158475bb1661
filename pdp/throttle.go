package pdp

import (
	"sync"
	"time"

	"github.com/adgang/adgang/store"
)

// ErrRateLimited answers a request refused by a Throttle: 429
// rate_limited (SPEC §8).
var ErrRateLimited = &store.Error{Code: store.ERateLimited, Message: "too many attempts; try again later"}

// maxThrottleKeys bounds the keys one Throttle remembers, so that
// attempts with ever new user names or sources cannot grow memory without
// bound. When full, expired windows are dropped first, then arbitrary
// keys (which only forgets some counts).
const maxThrottleKeys = 100_000

// Throttle counts events per key (a user, a source address) in a fixed
// window and reports a key over its budget. Safe for concurrent use.
type Throttle struct {
	limit  int
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	keys map[string]*throttleWindow
}

type throttleWindow struct {
	start time.Time
	n     int
}

// NewThrottle allows limit events per key within window; now is the clock
// (nil: time.Now). A limit ≤ 0 never throttles.
func NewThrottle(limit int, window time.Duration, now func() time.Time) *Throttle {
	if now == nil {
		now = time.Now
	}
	return &Throttle{limit: limit, window: window, now: now, keys: map[string]*throttleWindow{}}
}

// current returns key's window if it has not run out; callers hold mu.
func (t *Throttle) current(key string, at time.Time) *throttleWindow {
	w := t.keys[key]
	if w != nil && at.Sub(w.start) >= t.window {
		delete(t.keys, key)
		return nil
	}
	return w
}

// Limited reports whether key has used its budget in the current window.
// It counts nothing.
func (t *Throttle) Limited(key string) bool {
	if t == nil || t.limit <= 0 {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.current(key, t.now())
	return w != nil && w.n >= t.limit
}

// Add counts one event for key.
func (t *Throttle) Add(key string) {
	if t == nil || t.limit <= 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	at := t.now()
	w := t.current(key, at)
	if w == nil {
		if len(t.keys) >= maxThrottleKeys {
			t.evict(at)
		}
		w = &throttleWindow{start: at}
		t.keys[key] = w
	}
	w.n++
}

// Take counts one event for key and reports whether it was within the
// budget (false: the key was already over it; the event is not counted).
func (t *Throttle) Take(key string) bool {
	if t == nil || t.limit <= 0 {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	at := t.now()
	w := t.current(key, at)
	if w != nil && w.n >= t.limit {
		return false
	}
	if w == nil {
		if len(t.keys) >= maxThrottleKeys {
			t.evict(at)
		}
		w = &throttleWindow{start: at}
		t.keys[key] = w
	}
	w.n++
	return true
}

// Reset forgets key's count (e.g. after a successful attempt).
func (t *Throttle) Reset(key string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	delete(t.keys, key)
	t.mu.Unlock()
}

// evict makes room: expired windows first, then a tenth of the keys.
func (t *Throttle) evict(at time.Time) {
	for k, w := range t.keys {
		if at.Sub(w.start) >= t.window {
			delete(t.keys, k)
		}
	}
	drop := len(t.keys) - maxThrottleKeys*9/10
	for k := range t.keys {
		if drop <= 0 {
			break
		}
		delete(t.keys, k)
		drop--
	}
}
