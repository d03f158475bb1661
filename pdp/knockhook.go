package pdp

import "github.com/adgang/adgang/store"

// KnockHook is called inside the transaction that queues a new knock
// (D2), never on the decision path: the admin API uses it to notify the
// organisation's administrators. An error fails the batch of knocks.
type KnockHook func(tx *store.Tx, k *store.Knock) error

// SetKnockHook installs fn as the hook for newly queued knocks (nil
// removes it). Safe to call while the engine runs.
func (e *Engine) SetKnockHook(fn KnockHook) {
	if fn == nil {
		e.knockHook.Store(nil)
		return
	}
	e.knockHook.Store(&fn)
}
