package store

import (
	"errors"
	"fmt"
)

// Error codes. The HTTP layer maps each to exactly one status.
const (
	EInvalid      = "invalid"      // 400/422: malformed or refused input
	ENotFound     = "not_found"    // 404
	EConflict     = "conflict"     // 409: unique index or concurrent change
	EForbidden    = "forbidden"    // 403
	EUnauthorized = "unauthorized" // 401
	EInternal     = "internal"     // 500 / 503
	ERateLimited  = "rate_limited" // 429: too many attempts
)

// EInsufficientStorage means the data directory's disk is (nearly) full and
// writes are refused (507); reads go on.
const EInsufficientStorage = "insufficient_storage"

// Error is the one error type of Adgang's domain: a code from the list
// above, the rule ID (SPEC.md) that refused the change if any, and a
// message that is safe to show (never a CPR number).
type Error struct {
	Code    string
	Rule    string
	Reason  string // reason code from SPEC (e.g. "duplicate"); defaults to Code
	Message string
}

// Error implements error.
func (e *Error) Error() string {
	if e.Rule != "" {
		return fmt.Sprintf("%s (%s): %s", e.ReasonCode(), e.Rule, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.ReasonCode(), e.Message)
}

// ReasonCode is the SPEC reason code of e, falling back to its Code.
func (e *Error) ReasonCode() string {
	if e.Reason != "" {
		return e.Reason
	}
	return e.Code
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// RuleError returns an *Error carrying a rule ID and its reason code.
func RuleError(code, rule, reason, format string, args ...any) *Error {
	return &Error{Code: code, Rule: rule, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error,
// EInternal for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// IsNotFound reports whether err is a not_found *Error.
func IsNotFound(err error) bool { return ErrorCode(err) == ENotFound }

// IsConflict reports whether err is a conflict *Error (a unique index, A12,
// or a concurrent change).
func IsConflict(err error) bool { return ErrorCode(err) == EConflict }

// IsReason reports whether err is (or wraps) an *Error with reason code reason.
func IsReason(err error, reason string) bool {
	var e *Error
	return errors.As(err, &e) && e.ReasonCode() == reason
}
