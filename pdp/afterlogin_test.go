package pdp

import (
	"context"
	"testing"
	"time"
)

// TestAfterLoginQueues: an allowed login is queued when the recorded one
// is LoginGranularity old or older, absent, later than now (a clock set
// back), or the user is still new (loginAlways: its first login
// activates it, and a failed activation is tried again at its next
// login); never for a deny or without a user.
func TestAfterLoginQueues(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) int64 { return now.Add(-d).UnixNano() }
	for _, tc := range []struct {
		name     string
		allow    bool
		user     string
		loggedIn int64
		want     bool
	}{
		{"never recorded", true, "u", 0, true},
		{"recorded 30 s ago", true, "u", ago(30 * time.Second), false},
		{"recorded 59 s ago", true, "u", ago(59 * time.Second), false},
		{"recorded a minute ago", true, "u", ago(time.Minute), true},
		{"recorded in the future", true, "u", ago(-time.Hour), true},
		{"a new user, just queued", true, "u", loginAlways, true},
		{"denied", false, "u", 0, false},
		{"no user", true, "", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &Engine{cfg: Config{LoginGranularity: time.Minute}, logins: make(chan loginTouch, 1)}
			next := e.afterLogin(context.Background(), &LoginRequest{}, &Decision{Allow: tc.allow}, tc.user, tc.loggedIn, now)
			got := len(e.logins) == 1
			if got != tc.want {
				t.Errorf("queued %v, want %v", got, tc.want)
			}
			// The time to go on from: now once queued (a new user's stays).
			want := tc.loggedIn
			if tc.want && tc.loggedIn != loginAlways {
				want = now.UnixNano()
			}
			if next != want {
				t.Errorf("recorded time to go on from %d, want %d", next, want)
			}
		})
	}
	// A full queue: not queued, and reported so (a later login tries again).
	e := &Engine{cfg: Config{LoginGranularity: time.Minute}, logins: make(chan loginTouch)}
	if next := e.afterLogin(context.Background(), &LoginRequest{}, &Decision{Allow: true}, "u", 0, now); next != 0 {
		t.Error("a login the queue refused reported as queued")
	}
}
