package main

import (
	"context"
	"fmt"
	"io"

	"github.com/adgang/adgang/pdp"
)

// runPolicy implements `adgang policy test|check [DIR]`, so security teams
// need no separate OPA binary.
func runPolicy(ctx context.Context, args []string, stdout io.Writer) error {
	if wantsHelp(args) {
		fmt.Fprint(stdout, policyUsage)
		return nil
	}
	if len(args) == 0 || len(args) > 2 {
		return usageError(policyUsage)
	}
	src := pdp.Source{}
	if len(args) == 2 {
		src.Dir = args[1]
	}
	name := src.Dir
	if name == "" {
		name = "embedded policy set"
	}
	switch args[0] {
	case "test":
		results, err := pdp.RunTests(ctx, src)
		if err != nil {
			return err
		}
		failed := 0
		for _, r := range results {
			status := "PASS"
			if !r.Pass {
				status = "FAIL"
				failed++
			}
			fmt.Fprintf(stdout, "%s %s.%s (%s) %v\n", status, r.Package, r.Name, r.Location, r.Duration)
			if r.Error != "" {
				fmt.Fprintf(stdout, "     error: %s\n", r.Error)
			}
		}
		fmt.Fprintf(stdout, "%s: %d passed, %d failed\n", name, len(results)-failed, failed)
		if len(results) == 0 {
			return fmt.Errorf("no policy tests found in %s", name)
		}
		if failed > 0 {
			return fmt.Errorf("%d policy tests failed", failed)
		}
		// The gate `adgang serve --policies DIR` applies: a test for
		// every rule ID of the serving set.
		return pdp.CheckRuleTests(results)
	case "check":
		if err := pdp.Check(src); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: ok\n", name)
		return nil
	}
	return usageError(policyUsage)
}

const policyUsage = `usage: adgang policy test|check [DIR]

  test   run the Rego tests of DIR (default: the embedded set) and check that
         every rule ID of the embedded set has a test_<ID>_… test
  check  compile DIR and report errors with file:line
`

// wantsHelp reports whether args ask for help (-h, -help, --help).
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}
