package store_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/adgang/adgang/store"
)

// TestParseTime: RFC 3339 as given (in UTC), a plain date as 00:00
// Europe/Copenhagen, a range's end as the last instant of that day —
// including the DST days, which have 23 and 25 hours.
func TestParseTime(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		endOfDay bool
		want     string // RFC 3339 UTC; "" for an error
	}{
		{"empty is zero", "", false, "0001-01-01T00:00:00Z"},
		{"winter date", "2027-01-15", false, "2027-01-14T23:00:00Z"},
		{"summer date", "2027-07-01", false, "2027-06-30T22:00:00Z"},
		{"winter end of day", "2027-01-15", true, "2027-01-15T22:59:59.999999999Z"},
		{"spring-forward day starts at +01", "2027-03-28", false, "2027-03-27T23:00:00Z"},
		{"spring-forward day (23 h) ends at +02", "2027-03-28", true, "2027-03-28T21:59:59.999999999Z"},
		{"fall-back day starts at +02", "2027-10-31", false, "2027-10-30T22:00:00Z"},
		{"fall-back day (25 h) ends at +01", "2027-10-31", true, "2027-10-31T22:59:59.999999999Z"},
		{"RFC 3339 UTC", "2027-01-15T08:00:00Z", false, "2027-01-15T08:00:00Z"},
		{"RFC 3339 offset to UTC", "2027-01-15T08:00:00+01:00", false, "2027-01-15T07:00:00Z"},
		{"RFC 3339 never end-of-day", "2027-01-15T08:00:00Z", true, "2027-01-15T08:00:00Z"},
		{"fractional seconds", "2027-01-15T08:00:00.5Z", false, "2027-01-15T08:00:00.5Z"},
		{"Danish order refused", "15-01-2027", false, ""},
		{"no day refused", "2027-01", false, ""},
		{"not a date", "tomorrow", false, ""},
		{"no zone refused", "2027-01-15T08:00:00", false, ""},
		{"day 30 of February", "2027-02-30", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := store.ParseTime("until", tc.in, tc.endOfDay)
			if tc.want == "" {
				if err == nil || !strings.Contains(err.Error(), "until must be an RFC 3339 time") || !strings.Contains(err.Error(), "YYYY-MM-DD") {
					t.Fatalf("ParseTime(%q) = %v, %v; want an error naming the field and both forms", tc.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTime(%q): %v", tc.in, err)
			}
			if got.Location() != time.UTC || got.Format(time.RFC3339Nano) != tc.want {
				t.Fatalf("ParseTime(%q, %v) = %s (%s), want %s", tc.in, tc.endOfDay, got.Format(time.RFC3339Nano), got.Location(), tc.want)
			}
		})
	}
}

// TestTimeJSON: a Time field reads both forms, writes RFC 3339 UTC, and a
// bad value names its field and both forms.
func TestTimeJSON(t *testing.T) {
	var v struct {
		Until *store.Time `json:"until"`
	}
	if err := json.Unmarshal([]byte(`{"until":"2027-01-15"}`), &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	if string(out) != `{"until":"2027-01-14T23:00:00Z"}` {
		t.Fatalf("round trip = %s", out)
	}
	for _, bad := range []string{`{"until":"15.01.2027"}`, `{"until":""}`, `{"until":12}`} {
		err := json.Unmarshal([]byte(bad), &v)
		msg, ok := store.TimeFieldError(err)
		if !ok || !strings.Contains(msg.Error(), "until must be an RFC 3339 time") {
			t.Fatalf("%s: error %v → %v, %v", bad, err, msg, ok)
		}
	}
}
