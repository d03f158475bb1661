package pdp

import (
	"cmp"
	"slices"
)

// reasonRank is the presentation order of login reasons by rule ID (SPEC
// §8 settled details): the denying ones by cause — D6, D2, D3, D14, D15,
// D4, D5, D9, D10, D12, D1 — then the ignored grants (D7, D8, D13), then
// information (D11). The order is presentation, not a decision: Rego
// decides which reasons there are and whether they deny; Go orders them,
// so every policy set (a custom one too) answers in this order, and the
// first denying reason (the metrics label, the decision log's reason) is
// the cause, not the alphabetically first (an unknown user is
// unknown_user, not no_grant).
var reasonRank = func() map[string]int {
	m := map[string]int{}
	for i, id := range []string{"D6", "D2", "D3", "D14", "D15", "D4", "D5", "D9", "D10", "D12", "D1",
		"D7", "D8", "D13", "D11"} {
		m[id] = i
	}
	return m
}()

// rankOf places a reason: a denying reason of a rule outside the table (a
// custom policy's, fail_closed) after the known denying ones and before
// the ignored grants; an unknown informational one last.
func rankOf(r Reason) int {
	if n, ok := reasonRank[r.Rule]; ok {
		return n
	}
	if r.Info {
		return len(reasonRank) + 1
	}
	return reasonRank["D1"] // ties with D1 are broken by info, then code
}

// sortReasons orders a login decision's reasons: every denying reason
// before every informational one, each group by rankOf, then by code,
// right, grant and message, so equal inputs give equal answers.
func sortReasons(rs []Reason) {
	slices.SortStableFunc(rs, func(a, b Reason) int {
		if a.Info != b.Info {
			if a.Info {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(rankOf(a), rankOf(b)), cmp.Compare(a.Code, b.Code),
			cmp.Compare(a.Right, b.Right), cmp.Compare(a.Grant, b.Grant), cmp.Compare(a.Message, b.Message))
	})
}
