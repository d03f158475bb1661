package store

import (
	"encoding/json"
	"errors"
	"reflect"
	"time"
	_ "time/tzdata" // Europe/Copenhagen without the OS zoneinfo
)

// copenhagen is the zone of a plain date (SPEC §8: 00:00 Europe/Copenhagen).
var copenhagen = mustZone("Europe/Copenhagen")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic("store: time zone " + name + ": " + err.Error()) // tzdata is embedded
	}
	return loc
}

// TimeForms names the accepted forms of a date-time field or query
// parameter, for error messages.
const TimeForms = "an RFC 3339 time (2027-01-15T08:00:00Z) or a date YYYY-MM-DD (00:00 Europe/Copenhagen)"

// ParseTime is the one parser of every date-time field and query
// parameter (SPEC §8): an RFC 3339 time, or a plain date YYYY-MM-DD that
// means 00:00 Europe/Copenhagen of that day — or, when endOfDay (a
// range's `to`), the last instant of that day, so the whole day is
// included. The result is in UTC. An empty string is the zero time.
func ParseTime(field, v string, endOfDay bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	d, err := time.ParseInLocation(time.DateOnly, v, copenhagen)
	if err != nil {
		return time.Time{}, Errorf(EInvalid, "%s must be %s", field, TimeForms)
	}
	if endOfDay {
		// The next midnight minus 1 ns: a DST day has 23 or 25 hours.
		d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, copenhagen).Add(-time.Nanosecond)
	}
	return d.UTC(), nil
}

// Time is a date-time of a JSON request body, read by ParseTime (RFC 3339
// or a plain date, 00:00 Europe/Copenhagen) and written as RFC 3339 UTC.
// A value that is neither answers a *json.UnmarshalTypeError of type Time,
// which the JSON decoder completes with the field's name (see
// IsTimeFieldError).
type Time struct{ time.Time }

// UnmarshalJSON reads a JSON string with ParseTime.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil || s == "" {
		return &json.UnmarshalTypeError{Value: "non-time", Type: reflect.TypeFor[Time]()}
	}
	v, err := ParseTime("", s, false)
	if err != nil {
		return &json.UnmarshalTypeError{Value: "string", Type: reflect.TypeFor[Time]()}
	}
	t.Time = v
	return nil
}

// MarshalJSON writes RFC 3339 UTC.
func (t Time) MarshalJSON() ([]byte, error) { return json.Marshal(t.UTC()) }

// Std is the time as a *time.Time (nil for a nil t).
func (t *Time) Std() *time.Time {
	if t == nil {
		return nil
	}
	v := t.Time
	return &v
}

// TimeFieldError turns a JSON decoding error about a Time field into the
// message the API answers (the field's name and both accepted forms); ok
// is false for any other error.
func TimeFieldError(err error) (msg error, ok bool) {
	var ute *json.UnmarshalTypeError
	if !errors.As(err, &ute) || ute.Type != reflect.TypeFor[Time]() {
		return nil, false
	}
	field := ute.Field
	if field == "" {
		field = "time"
	}
	return Errorf(EInvalid, "%s must be %s", field, TimeForms), true
}
