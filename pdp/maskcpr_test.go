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
	} {
		if got := MaskCPR(tc.in); got != tc.want {
			t.Errorf("MaskCPR(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
