package pdp

import (
	"context"
	"time"

	"github.com/adgang/adgang/store"
)

// PasswordRequest is a local (IMI-style) password login, optionally with
// a new password. Service, Right and PNumber are Adgang additions beside
// SPEC §5's fields: the login decision that follows is for that service
// (default "imi", the system with local accounts).
type PasswordRequest struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	NewPassword string `json:"new_password,omitempty"`
	Service     string `json:"service,omitempty"`
	Right       string `json:"right,omitempty"`
	PNumber     string `json:"p_number,omitempty"`
}

// DefaultPasswordService is the service a password login is decided for
// when the request names none.
const DefaultPasswordService = "imi"

// PasswordAnswer is the login decision after a password check, plus the
// reasons a new password was refused (L8), if one was given.
type PasswordAnswer struct {
	Decision
	// PasswordChangeRequired is true while the password is temporary or
	// expired (D15): the login is denied until new_password is accepted.
	PasswordChangeRequired bool     `json:"password_change_required"`
	PasswordChanged        bool     `json:"password_changed"`
	PasswordReasons        []Reason `json:"password_reasons,omitempty"`
}

// ReasonInvalidCredentials answers an unknown username and a wrong
// password alike, so the answer does not tell which usernames exist.
const ReasonInvalidCredentials = "invalid_credentials"

// ReasonPasswordBlocked is L8's reason while a password is blocked after
// repeated failures, until an administrator lifts the block.
const ReasonPasswordBlocked = "password_blocked"

// PasswordBlockQuery decides whether a count of wrong passwords in a row
// blocks the account (L8, adgang.password).
const PasswordBlockQuery = "data.adgang.password.block_after_failures"

// PasswordStatusQuery is the status of a stored password shown to
// administrators: blocked, temporary, expired or valid.
const PasswordStatusQuery = "data.adgang.password.status"

// PasswordBlocks asks the policy whether failures wrong passwords in a
// row block the account. A policy that cannot answer does not block (the
// login is denied anyway); it is logged.
func (e *Engine) PasswordBlocks(ctx context.Context, failures int) bool {
	res, err := e.evalValue(ctx, PasswordBlockQuery, passwordBlockInput(failures))
	if err != nil {
		e.log.Error().Err(err).Msg("password block rule could not be evaluated")
		return false
	}
	b, _ := res.(bool)
	return b
}

// PasswordStatus is the status of a user's local password at now, as the
// adgang.password rules see it; "" when the user has none or the policy
// cannot answer.
func (e *Engine) PasswordStatus(ctx context.Context, p *store.Password, org *store.Org, now time.Time) string {
	if p == nil {
		return ""
	}
	res, err := e.evalValue(ctx, PasswordStatusQuery, passwordStatusInput(p, org, now))
	if err != nil {
		e.log.Error().Err(err).Msg("password status rule could not be evaluated")
		return ""
	}
	st, _ := res.(string)
	return st
}
