package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/google/uuid"
)

var mod11Weights = [8]int{2, 7, 6, 5, 4, 3, 2, 1}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func mod11(kind, s string) error {
	if len(s) != 8 || !allDigits(s) {
		return Errorf(EInvalid, "%s must be 8 digits", kind)
	}
	if s[0] == '0' {
		return Errorf(EInvalid, "%s must not start with 0", kind)
	}
	sum := 0
	for i := 0; i < 8; i++ {
		sum += int(s[i]-'0') * mod11Weights[i]
	}
	if sum%11 != 0 {
		return Errorf(EInvalid, "%s %s fails the modulus-11 check", kind, s)
	}
	return nil
}

// ValidCVR checks a CVR number: 8 digits, first not 0, modulus-11.
func ValidCVR(s string) error { return mod11("CVR number", s) }

// ValidSE checks an SE-number: 8 digits, first not 0, modulus-11.
func ValidSE(s string) error { return mod11("SE-number", s) }

// ValidPNumber checks a P-number: 10 digits.
func ValidPNumber(s string) error {
	if len(s) != 10 || !allDigits(s) {
		return Errorf(EInvalid, "P-number must be 10 digits")
	}
	return nil
}

// ParseCPR checks a CPR number (DDMMYYXXXX or DDMMYY-XXXX) and returns it
// normalised to 10 characters. The date must be valid; day+60 fictitious
// numbers and KOT numbers (letters in the serial part) are accepted;
// modulus-11 is not required. Errors never repeat the number.
func ParseCPR(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) == 11 && s[6] == '-' {
		s = s[:6] + s[7:]
	}
	if len(s) != 10 || !allDigits(s[:6]) {
		return "", Errorf(EInvalid, "CPR number must be DDMMYY-XXXX")
	}
	// Check the serial byte by byte before upper-casing: strings.ToUpper
	// of non-ASCII input can change its length ("ıı" → "II").
	var serial [4]byte
	for i := 0; i < 4; i++ {
		c := s[6+i]
		switch {
		case c >= '0' && c <= '9', c >= 'A' && c <= 'Z':
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		default:
			return "", Errorf(EInvalid, "CPR number must be DDMMYY-XXXX")
		}
		serial[i] = c
	}
	day := int(s[0]-'0')*10 + int(s[1]-'0')
	month := int(s[2]-'0')*10 + int(s[3]-'0')
	year := int(s[4]-'0')*10 + int(s[5]-'0')
	if day > 60 {
		day -= 60 // fictitious CPR numbers (Unilogin): day + 60
	}
	if day < 1 || month < 1 || month > 12 {
		return "", Errorf(EInvalid, "CPR number has no valid date")
	}
	// 2000 is a leap year, so every 29 February of a two-digit year is valid.
	full := 2000 + year
	if time.Date(full, time.Month(month), day, 0, 0, 0, 0, time.UTC).Day() != day {
		return "", Errorf(EInvalid, "CPR number has no valid date")
	}
	return s[:6] + string(serial[:]), nil
}

// MaskCPR returns the display form DDMMYY-**** of a CPR number (either
// form). Anything that does not start with six digits gives "******-****",
// so no part of a malformed value leaks.
func MaskCPR(cpr string) string {
	cpr = strings.TrimSpace(cpr)
	if len(cpr) < 6 || !allDigits(cpr[:6]) {
		return "******-****"
	}
	return cpr[:6] + "-****"
}

// ParseLegacyID parses an OCES legacy id `CVR:12345678-RID:1234567890`.
func ParseLegacyID(s string) (cvr, rid string, err error) {
	rest, ok := strings.CutPrefix(s, "CVR:")
	if !ok {
		return "", "", Errorf(EInvalid, "legacy id must be CVR:…-RID:…")
	}
	cvr, rid, ok = strings.Cut(rest, "-RID:")
	if !ok || rid == "" || len(rid) > 20 || !allDigits(rid) {
		return "", "", Errorf(EInvalid, "legacy id must be CVR:…-RID:<digits>")
	}
	if err := ValidCVR(cvr); err != nil {
		return "", "", err
	}
	return cvr, rid, nil
}

// ValidUUID checks the canonical 36-character RFC 4122 form.
func ValidUUID(s string) error {
	if len(s) != 36 {
		return Errorf(EInvalid, "id must be a UUID (36 characters)")
	}
	if _, err := uuid.Parse(s); err != nil {
		return Errorf(EInvalid, "id must be a UUID")
	}
	return nil
}

// CPRHasher computes keyed look-up hashes of CPR numbers.
type CPRHasher struct{ key []byte }

// NewCPRHasher returns a hasher with the given secret key.
func NewCPRHasher(key []byte) *CPRHasher { return &CPRHasher{key: append([]byte(nil), key...)} }

// Hash returns hex(HMAC-SHA256(key, cpr)). A CPR number that ParseCPR
// accepts is normalised first, so DDMMYY-XXXX, DDMMYYXXXX and a lower-case
// KOT serial all hash alike.
func (h *CPRHasher) Hash(cpr string) string {
	if n, err := ParseCPR(cpr); err == nil {
		cpr = n
	}
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(cpr))
	return hex.EncodeToString(m.Sum(nil))
}
