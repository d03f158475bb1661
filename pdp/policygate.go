package pdp

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// ruleIDTitle matches a rule's METADATA title: its ID, then its name
// ("D1 no valid grant", "A10 the last administrator stays").
var ruleIDTitle = regexp.MustCompile(`^([DALMC][0-9]+)\s`)

// servingRuleIDs are the rule IDs the embedded default set decides, read
// from its METADATA titles once.
var servingRuleIDs = sync.OnceValues(func() ([]string, error) {
	modules, _, _, err := readSource(Source{})
	if err != nil {
		return nil, err
	}
	return ruleIDsOf(modules), nil
})

// ServingRuleIDs returns the rule IDs (D*, A*, L*, M*) the embedded
// default policy set decides: every ID a replacing set must test.
func ServingRuleIDs() ([]string, error) { return servingRuleIDs() }

// ruleIDsOf lists the rule IDs named by the METADATA titles of modules,
// sorted by letter and number.
func ruleIDsOf(modules map[string]*ast.Module) []string {
	seen := map[string]bool{}
	for _, m := range modules {
		for _, a := range m.Annotations {
			if id, ok := ruleIDOf(a); ok {
				seen[id] = true
			}
		}
	}
	return sortedRuleIDs(seen)
}

// ruleIDOf is the rule ID a METADATA block's title names, if any.
func ruleIDOf(a *ast.Annotations) (string, bool) {
	if sm := ruleIDTitle.FindStringSubmatch(a.Title); sm != nil {
		return sm[1], true
	}
	return "", false
}

// sortedRuleIDs are the IDs of a set, sorted by letter and number.
func sortedRuleIDs(set map[string]bool) []string {
	ids := make([]string, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if ids[i][0] != ids[j][0] {
			return ids[i][0] < ids[j][0]
		}
		a, _ := strconv.Atoi(ids[i][1:])
		b, _ := strconv.Atoi(ids[j][1:])
		return a < b
	})
	return ids
}

// CheckRuleTests is the policy-test gate: a set that replaces the serving
// one must have, for every rule ID the serving (embedded) set decides, at
// least one passing test named test_<ID>_… (the ID in any case). The IDs
// come from the serving set, not from the candidate, so a candidate that
// drops a rule's METADATA or its tests does not escape the gate. (That
// every test passes is checked by runTests.)
func CheckRuleTests(results []TestResult) error {
	required, err := servingRuleIDs()
	if err != nil {
		return fmt.Errorf("policy-test gate: read the serving rule IDs: %w", err)
	}
	tested := map[string]bool{}
	for _, r := range results {
		if !r.Pass {
			continue
		}
		rest, ok := strings.CutPrefix(r.Name, "test_")
		if !ok {
			continue
		}
		if id, _, ok := strings.Cut(rest, "_"); ok {
			tested[strings.ToUpper(id)] = true
		}
	}
	var missing []string
	for _, id := range required {
		if !tested[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("policy set refused: no passing test_<ID>_… test for rule(s) %s (every rule of the serving set needs its tests)",
			strings.Join(missing, ", "))
	}
	return nil
}
