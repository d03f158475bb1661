package store

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// decodeUserFast reads a user record as putUser writes it (encoding/json
// of userRecord) without reflection: every login decision reads one, and
// encoding/json was a third of the login read. It takes only what it
// knows exactly — the record's own keys, spelt as written, strings without
// escapes, the JSON literals — and answers false on anything else (an
// escaped string, an unknown or differently cased key, a number, odd
// syntax), for decodeUser to read the record with encoding/json instead.
//
// It reads b in place (b may be Badger's memory, valid for the call only)
// and gives each field a string of its own, as encoding/json does: a
// field that shared one copy of the record would keep all of it — the
// password and activation hashes included — alive wherever it is kept,
// such as a decision cache entry counted by its id's length.
func decodeUserFast(b []byte) (*User, bool) {
	d := recordDecoder{s: unsafe.String(unsafe.SliceData(b), len(b))}
	u := &User{}
	if !d.whole(func(key string) bool { return d.field(u, key) }) {
		return nil, false
	}
	return u, true
}

// recordDecoder reads the JSON of a stored record without reflection, only
// in the forms Adgang writes (decodeUserFast, decodeGrantFast): each
// reader answers false on anything else.
type recordDecoder struct {
	s string
	i int
}

func (d *recordDecoder) space() {
	for d.i < len(d.s) && (d.s[d.i] == ' ' || d.s[d.i] == '\t' || d.s[d.i] == '\n' || d.s[d.i] == '\r') {
		d.i++
	}
}

// next consumes c after any white space.
func (d *recordDecoder) next(c byte) bool {
	d.space()
	if d.i < len(d.s) && d.s[d.i] == c {
		d.i++
		return true
	}
	return false
}

// whole reads the record: one object (object) and nothing after it but
// white space.
func (d *recordDecoder) whole(member func(key string) bool) bool {
	if !d.object(member) {
		return false
	}
	d.space()
	return d.i == len(d.s)
}

// object reads {"key": value, …}, calling member for each key with the
// decoder at its value.
func (d *recordDecoder) object(member func(key string) bool) bool {
	if !d.next('{') {
		return false
	}
	if d.next('}') {
		return true
	}
	for {
		key, ok := d.str()
		if !ok || !d.next(':') || !member(key) {
			return false
		}
		if d.next('}') {
			return true
		}
		if !d.next(',') {
			return false
		}
	}
}

// str reads a string without escapes or control characters, in valid
// UTF-8 (encoding/json replaces invalid bytes).
func (d *recordDecoder) str() (string, bool) {
	if !d.next('"') {
		return "", false
	}
	ascii := true
	for j := d.i; j < len(d.s); j++ {
		switch c := d.s[j]; {
		case c == '"':
			v := d.s[d.i:j]
			if !ascii && !utf8.ValidString(v) {
				return "", false
			}
			d.i = j + 1
			return v, true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= 0x80:
			ascii = false
		}
	}
	return "", false
}

// null consumes a null.
func (d *recordDecoder) null() bool {
	d.space()
	if len(d.s)-d.i >= 4 && d.s[d.i:d.i+4] == "null" {
		d.i += 4
		return true
	}
	return false
}

func (d *recordDecoder) boolean() (bool, bool) {
	d.space()
	switch {
	case len(d.s)-d.i >= 4 && d.s[d.i:d.i+4] == "true":
		d.i += 4
		return true, true
	case len(d.s)-d.i >= 5 && d.s[d.i:d.i+5] == "false":
		d.i += 5
		return false, true
	}
	return false, false
}

// strInto sets *p from a string (null leaves it, as encoding/json does).
func (d *recordDecoder) strInto(p *string) bool {
	if d.null() {
		return true
	}
	v, ok := d.str()
	*p = strings.Clone(v)
	return ok
}

func (d *recordDecoder) boolInto(p *bool) bool {
	if d.null() {
		return true
	}
	v, ok := d.boolean()
	*p = v
	return ok
}

// timeInto reads a time as time.Time's UnmarshalJSON does.
func (d *recordDecoder) timeInto(p *time.Time) bool {
	if d.null() {
		return true
	}
	d.space()
	start := d.i
	if _, ok := d.str(); !ok {
		return false
	}
	return p.UnmarshalJSON([]byte(d.s[start:d.i])) == nil
}

func (d *recordDecoder) timePtr(p **time.Time) bool {
	if d.null() {
		*p = nil
		return true
	}
	if *p == nil { // a key given twice reuses the first one's, as encoding/json
		*p = new(time.Time)
	}
	return d.timeInto(*p)
}

// strings reads an array of strings (null: nil).
func (d *recordDecoder) strings(p *[]string) bool {
	if d.null() {
		*p = nil
		return true
	}
	if !d.next('[') {
		return false
	}
	out := []string{}
	if !d.next(']') {
		for {
			v, ok := d.str()
			if !ok {
				return false
			}
			out = append(out, strings.Clone(v))
			if d.next(']') {
				break
			}
			if !d.next(',') {
				return false
			}
		}
	}
	*p = out
	return true
}

// password reads the nested password object with encoding/json (only
// users with a local password have one).
func (d *recordDecoder) password(p **Password) bool {
	if d.null() {
		*p = nil
		return true
	}
	d.space()
	start, depth := d.i, 0
	for ; d.i < len(d.s); d.i++ {
		switch d.s[d.i] {
		case '"':
			if _, ok := d.str(); !ok {
				return false
			}
			d.i--
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				d.i++
				if *p == nil { // a key given twice decodes into the first, as encoding/json
					*p = new(Password)
				}
				return json.Unmarshal([]byte(d.s[start:d.i]), *p) == nil
			}
		}
		if depth == 0 {
			return false // not an object
		}
	}
	return false
}

// bytes reads a base64 string as encoding/json reads a []byte.
func (d *recordDecoder) bytes(p *[]byte) bool {
	if d.null() {
		*p = nil
		return true
	}
	v, ok := d.str()
	if !ok {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(v)
	*p = b
	return err == nil
}

// field reads the value of key into u: the keys of userRecord, its
// stored secrets straight into User's fields of the same meaning.
func (d *recordDecoder) field(u *User, key string) bool {
	switch key {
	case "id":
		return d.strInto(&u.ID)
	case "org":
		return d.strInto(&u.Org)
	case "name":
		return d.strInto(&u.Name)
	case "email":
		return d.strInto(&u.Email)
	case "username":
		return d.strInto(&u.Username)
	case "legacy_id":
		return d.strInto(&u.LegacyID)
	case "cpr":
		return d.strInto(&u.CPRMasked)
	case "birth_date":
		return d.strInto(&u.BirthDate)
	case "kind":
		return d.strInto((*string)(&u.Kind))
	case "cpr_linked":
		return d.boolInto(&u.CPRLinked)
	case "p_number":
		return d.strInto(&u.PNumber)
	case "se_number":
		return d.strInto(&u.SENumber)
	case "anonymous":
		return d.boolInto(&u.Anonymous)
	case "status":
		return d.strInto((*string)(&u.Status))
	case "deactivated_until":
		return d.timePtr(&u.DeactivatedUntil)
	case "status_changed_at":
		return d.timeInto(&u.StatusChangedAt)
	case "last_login":
		return d.timePtr(&u.LastLogin)
	case "justification":
		return d.strInto(&u.Justification)
	case "language":
		return d.strInto(&u.Language)
	case "phone":
		return d.strInto(&u.Phone)
	case "source":
		return d.strInto(&u.Source)
	case "user_type":
		return d.strInto(&u.UserType)
	case "class":
		return d.strInto(&u.Class)
	case "identification_means":
		return d.strings(&u.IdentificationMeans)
	case "confirmed_at":
		return d.timePtr(&u.ConfirmedAt)
	case "password_status":
		return d.strInto(&u.PasswordStatus)
	case "created_at":
		return d.timeInto(&u.CreatedAt)
	case "updated_at":
		return d.timeInto(&u.UpdatedAt)
	case "cpr_hash":
		return d.strInto(&u.CPRHash)
	case "cpr_encrypted":
		return d.bytes(&u.CPREncrypted)
	case "password":
		return d.password(&u.Password)
	case "activation_hash":
		return d.strInto(&u.ActivationHash)
	}
	return false
}
