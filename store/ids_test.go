package store_test

import (
	"strings"
	"testing"

	"github.com/adgang/adgang/store"
)

func TestIdentifiers(t *testing.T) {
	tests := []struct {
		name  string
		check func(string) error
		in    string
		ok    bool
	}{
		{"CVR valid", store.ValidCVR, "12345674", true},
		{"CVR valid 2", store.ValidCVR, "55133018", true},
		{"CVR checksum", store.ValidCVR, "12345678", false},
		{"CVR leading zero", store.ValidCVR, "01234567", false},
		{"CVR short", store.ValidCVR, "1234567", false},
		{"CVR letters", store.ValidCVR, "1234567a", false},
		{"SE valid", store.ValidSE, "29190003", true},
		{"SE checksum", store.ValidSE, "29190004", false},
		{"P valid", store.ValidPNumber, "1000000001", true},
		{"P short", store.ValidPNumber, "100000000", false},
		{"P letters", store.ValidPNumber, "10000000x1", false},
		{"UUID", store.ValidUUID, "6f1c1a52-7d2c-4a55-9b0e-2a1f3c4d5e61", true},
		{"UUID without dashes", store.ValidUUID, "6f1c1a527d2c4a559b0e2a1f3c4d5e61", false},
		{"UUID braces", store.ValidUUID, "{6f1c1a52-7d2c-4a55-9b0e-2a1f3c4d5e6}", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.check(tc.in); (err == nil) != tc.ok {
				t.Fatalf("%q: err = %v, want ok=%v", tc.in, err, tc.ok)
			}
		})
	}
}

func TestParseCPR(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"0101901234", "0101901234"},
		{"010190-1234", "0101901234"},
		{"290200-1234", "2902001234"}, // leap day
		{"6101901234", "6101901234"},  // fictitious: day + 60
		{"010190-ab12", "010190AB12"}, // KOT number with letters
		{"3212901234", ""},            // day 32
		{"0113901234", ""},            // month 13
		{"3002901234", ""},            // 30 February
		{"010190123", ""},             // short
		{"01019O1234", ""},            // letter in the date
		{"010190-12 4", ""},
	}
	for _, tc := range tests {
		got, err := store.ParseCPR(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%s accepted", tc.in)
			} else if strings.Contains(err.Error(), tc.in[:6]) {
				t.Errorf("error repeats the number: %v", err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseCPR(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
		if m := store.MaskCPR(got); m != got[:6]+"-****" {
			t.Errorf("mask %s", m)
		}
	}
}

func TestParseLegacyID(t *testing.T) {
	cvr, rid, err := store.ParseLegacyID("CVR:12345674-RID:1234567890")
	if err != nil || cvr != "12345674" || rid != "1234567890" {
		t.Fatalf("%s %s %v", cvr, rid, err)
	}
	for _, bad := range []string{"CVR:12345678-RID:1", "CVR:12345674-RID:", "CVR:12345674-RID:12a", "12345674-RID:1", "CVR:12345674"} {
		if _, _, err := store.ParseLegacyID(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseCPR(f *testing.F) {
	for _, s := range []string{"0101901234", "010190-1234", "6101901234", "010190-AB12", "3002901234", "", "-", "0101901234\n",
		"010190\u0131\u0131", "010190\u017f\u017f", "1001000010", "290200-0000", " 010190-ab12 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cpr, err := store.ParseCPR(s)
		if err != nil {
			if len(s) >= 10 && strings.Contains(err.Error(), s) {
				t.Fatalf("error repeats the input")
			}
			return
		}
		if len(cpr) != 10 {
			t.Fatalf("normalised %q has length %d", cpr, len(cpr))
		}
		again, err := store.ParseCPR(cpr)
		if err != nil || again != cpr {
			t.Fatalf("not idempotent: %q → %q (%v)", cpr, again, err)
		}
		// The serial may well occur inside DDMMYY ("100100-****" holds
		// "0010"), so the invariant is the shape: date kept, serial starred.
		if m := store.MaskCPR(cpr); m != cpr[:6]+"-****" || strings.Contains(m, cpr) {
			t.Fatalf("mask %q of an accepted CPR number", m)
		}
		if m := store.MaskCPR(s); m != cpr[:6]+"-****" {
			t.Fatalf("mask of the raw input %q = %q", s, m)
		}
	})
}

func FuzzValidCVR(f *testing.F) {
	for _, s := range []string{"12345674", "12345678", "00000000", "", "1234567a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if store.ValidCVR(s) == nil {
			if len(s) != 8 || s[0] == '0' {
				t.Fatalf("accepted %q", s)
			}
			if store.ValidSE(s) != nil {
				t.Fatalf("CVR and SE disagree on %q", s)
			}
		}
	})
}

func FuzzValidPNumber(f *testing.F) {
	for _, s := range []string{"1000000001", "100000000", "", "abcdefghij"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if store.ValidPNumber(s) == nil && len(s) != 10 {
			t.Fatalf("accepted %q", s)
		}
	})
}

func FuzzParseLegacyID(f *testing.F) {
	for _, s := range []string{"CVR:12345674-RID:1234567890", "CVR:-RID:", "CVR:12345674-RID:", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cvr, rid, err := store.ParseLegacyID(s)
		if err != nil {
			return
		}
		if store.ValidCVR(cvr) != nil || rid == "" || "CVR:"+cvr+"-RID:"+rid != s {
			t.Fatalf("accepted %q as %q/%q", s, cvr, rid)
		}
	})
}

func FuzzValidUUID(f *testing.F) {
	for _, s := range []string{"6f1c1a52-7d2c-4a55-9b0e-2a1f3c4d5e61", "", "urn:uuid:6f1c1a52-7d2c-4a55-9b0e-2a1f3c4d5e61"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if store.ValidUUID(s) == nil && len(s) != 36 {
			t.Fatalf("accepted %q", s)
		}
	})
}
