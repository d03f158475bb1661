package pdp

import "testing"

func TestMaskCPR(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"cpr 0101901234 here", "cpr 010190-**** here"},
		{"010190-1234", "010190-****"},
		{"fictitious 6101901234", "fictitious 610190-****"},
		{"KOT 010190-AB12", "KOT 010190-****"},
		{"user 00000000-0000-4000-8000-00000000a001", "user 00000000-0000-4000-8000-00000000a001"},
		{"short 12345", "short 12345"},
		{"P-number 1000000001", "P-number 1000000001"}, // month 00: not a date
		{"no month 13: 0113901234", "no month 13: 0113901234"},
		{"no day 00: 0001901234", "no day 00: 0001901234"},
		{"day 31 3112991234", "day 31 311299-****"},
		{"fictitious day 91 9112991234", "fictitious day 91 911299-****"},
	} {
		if got := MaskCPR(tc.in); got != tc.want {
			t.Errorf("MaskCPR(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
