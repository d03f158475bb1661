package pdp

import (
	"context"
	"fmt"
	"time"
)

// WaitLoginEvaluator waits until the serving policy set evaluates login
// decisions with want ("wasm" or "topdown"), or ctx ends: the Wasm login
// is attached in the background after a start or reload. Benchmarks and
// tests that measure one evaluator wait for it.
func (e *Engine) WaitLoginEvaluator(ctx context.Context, want string) error {
	for {
		got := e.Policy().LoginEvaluator()
		if got == want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("login evaluator is %s, want %s: %w", got, want, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
