package admin

import (
	"errors"
	"strings"
	"time"

	"github.com/adgang/adgang/store"
)

// fieldErr prefixes a validation error with the field it is about; the
// store's identifier errors never repeat a CPR number.
func fieldErr(field string, err error) error {
	var se *store.Error
	if errors.As(err, &se) {
		return invalid("%s: %s", field, se.Message)
	}
	return invalid("%s is invalid", field)
}

// containsCPR reports whether s holds anything store.ParseCPR accepts
// (DDMMYYXXXX or DDMMYY-XXXX, fictitious and KOT numbers included). Free
// text that does is refused, so a CPR number typed into a name or a
// justification is never stored, logged or answered.
func containsCPR(s string) bool {
	for i := 0; i+10 <= len(s); i++ {
		if !sixDigits(s[i:]) { // cheap test first: most text has no digit run
			continue
		}
		for _, n := range []int{10, 11} {
			if i+n <= len(s) {
				if _, err := store.ParseCPR(s[i : i+n]); err == nil {
					return true
				}
			}
		}
	}
	return false
}

func sixDigits(s string) bool {
	for i := range 6 {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func validUserID(id string) error {
	if err := store.ValidUUID(id); err != nil {
		return fieldErr("user id", err)
	}
	return nil
}

func validCVR(cvr string) error {
	if err := store.ValidCVR(cvr); err != nil {
		return fieldErr("cvr", err)
	}
	return nil
}

// validGroupID accepts a custom group's UUID or a system group's
// "sys-<P-number>".
func validGroupID(id string) error {
	if p, ok := strings.CutPrefix(id, "sys-"); ok {
		if store.ValidPNumber(p) == nil {
			return nil
		}
	} else if store.ValidUUID(id) == nil {
		return nil
	}
	return invalid("group id must be a UUID or sys-<P-number>")
}

// validObjectID checks the shape of a grant, knock, token or right id:
// 1–128 characters of letters, digits and . _ : -.
func validObjectID(what, id string) error {
	if id == "" || len(id) > 128 {
		return invalid("%s id must be 1-128 characters", what)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return invalid("%s id may only hold letters, digits and . _ : -", what)
		}
	}
	return nil
}

// parseTimeParam parses a date-time query parameter with store.ParseTime
// (SPEC §8): RFC 3339, or a date YYYY-MM-DD meaning 00:00
// Europe/Copenhagen of that day (its last instant when endOfDay, a
// range's `to`). Empty is zero; the result is UTC.
func parseTimeParam(name, v string, endOfDay bool) (time.Time, error) {
	return store.ParseTime(name, v, endOfDay)
}

// validMeans checks a user's identification means (A16 decides whether
// the org allows them): short texts, each once.
func validMeans(means []string) error {
	seen := map[string]bool{}
	for _, m := range means {
		if err := validText("identification_means", m, 100); err != nil {
			return err
		}
		if strings.TrimSpace(m) == "" || seen[m] {
			return invalid("identification_means must list non-empty means, each once")
		}
		seen[m] = true
	}
	return nil
}
