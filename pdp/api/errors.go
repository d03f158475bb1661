// Package api is Adgang's decision listener over HTTP and the one place
// that turns an error into an HTTP status and the JSON error shape
// {error:{code,message,rule}}; the admin listener answers through it too.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// MaxBody bounds a request body read with DecodeJSON (the admin API's
// bodies too); decision routes are bounded tighter by MaxDecisionBody.
const MaxBody = 1 << 20

// Reason codes that choose a status of their own (SPEC §8).
const (
	// ReasonMethodNotAllowed answers 405: the path exists, the method not.
	ReasonMethodNotAllowed = "method_not_allowed"
	// ReasonStoreUnavailable answers 503: the store could not be read.
	ReasonStoreUnavailable = pdp.ReasonStoreUnavailable
	// ReasonRevisionNotReached answers 503: a read-your-writes revision
	// was not reached in time.
	ReasonRevisionNotReached = "revision_not_reached"
	// ReasonRateLimited answers 429.
	ReasonRateLimited = "rate_limited"
	// ReasonUnsupportedEncoding answers 415: a Content-Encoding other
	// than gzip or identity.
	ReasonUnsupportedEncoding = "unsupported_encoding"
)

// ErrorBody is the JSON error shape of every Adgang API.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail describes one error: a code, a safe message and the rule ID
// that refused the request, if any.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Rule    string `json:"rule,omitempty"`
}

// conflictRules are the rules whose refusal is a conflict with the state
// of other records (SPEC §8: A10 the last admin, A12 unique fields, A17
// must-have roles), answered 409.
var conflictRules = map[string]bool{"A10": true, "A12": true, "A17": true}

// roleRules are the rules that say the caller's role may not (SPEC §8:
// "403 the caller's role may not (incl. A14)"): the role table (A14) and
// A11, an administrator granting an admin role its own role lacks.
// Answered 403 like a refusal by role without a rule.
var roleRules = map[string]bool{"A11": true, "A14": true}

// StatusOf maps an error to its HTTP status as SPEC §8 "Settled details"
// fixes it; the one place that does. An error that is not a *store.Error
// is internal (500).
func StatusOf(err error) int {
	var e *store.Error
	if !errors.As(err, &e) {
		return http.StatusInternalServerError
	}
	switch e.ReasonCode() {
	case store.ReasonTooLarge:
		return http.StatusRequestEntityTooLarge
	case ReasonMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case ReasonUnsupportedEncoding:
		return http.StatusUnsupportedMediaType
	case ReasonStoreUnavailable, ReasonRevisionNotReached, pdp.ReasonDecisionLogUnavailable:
		return http.StatusServiceUnavailable
	case ReasonRateLimited:
		return http.StatusTooManyRequests
	}
	switch e.Code {
	case store.EUnauthorized:
		return http.StatusUnauthorized
	case store.ERateLimited:
		return http.StatusTooManyRequests
	case store.EInsufficientStorage:
		return http.StatusInsufficientStorage
	case store.ENotFound:
		return http.StatusNotFound
	case store.EInvalid, store.EForbidden, store.EConflict:
		return ruleStatus(e)
	default:
		return http.StatusInternalServerError
	}
}

// ruleStatus is the status of a refusal: without a rule it follows the
// code (400 malformed, 403 the caller's role may not, 409 a conflict);
// with one, A1 is 404, A14 403, A10/A12/A17 and state conflicts 409, and
// every other rule 422 (A11 escalation included: SPEC §8 names only A14
// as the caller's role).
func ruleStatus(e *store.Error) int {
	switch {
	case e.Rule == "" && e.Code == store.EInvalid:
		return http.StatusBadRequest
	case e.Rule == "" && e.Code == store.EForbidden, roleRules[e.Rule]:
		return http.StatusForbidden
	case e.Rule == "A1":
		return http.StatusNotFound
	case e.Code == store.EConflict, conflictRules[e.Rule]:
		return http.StatusConflict
	default:
		return http.StatusUnprocessableEntity
	}
}

// DetailOf is the JSON error detail of err as WriteError answers it: the
// reason code, a masked message and the rule; internals are hidden.
func DetailOf(err error) ErrorDetail {
	var e *store.Error
	if errors.As(err, &e) && (e.Code != store.EInternal || StatusOf(e) == http.StatusServiceUnavailable) {
		return ErrorDetail{Code: e.ReasonCode(), Message: pdp.MaskCPR(e.Message), Rule: e.Rule}
	}
	return ErrorDetail{Code: store.EInternal, Message: "internal error"}
}

// WriteError writes err as {error:{code,message,rule}} with its status.
// Internal errors are not described to the client.
func WriteError(w http.ResponseWriter, err error) {
	WriteJSON(w, StatusOf(err), ErrorBody{Error: DetailOf(err)})
}

// WriteJSON writes v as JSON with status; HTML characters are not escaped.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// DecodeJSON reads a JSON body strictly: at most MaxBody bytes, unknown
// fields and trailing data refused; every refusal is a 400 *store.Error.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return store.Errorf(store.EInvalid, "request body larger than %d bytes", MaxBody)
		}
		if terr, ok := store.TimeFieldError(err); ok {
			return terr
		}
		return store.Errorf(store.EInvalid, "malformed JSON body: %s", pdp.MaskCPR(err.Error()))
	}
	if dec.More() {
		return store.Errorf(store.EInvalid, "malformed JSON body: trailing data")
	}
	return nil
}

// TooLarge is the error of a body over limit bytes (413 too_large).
func TooLarge(limit int64, what string) error {
	return &store.Error{Code: store.EInvalid, Reason: store.ReasonTooLarge,
		Message: fmt.Sprintf("%s larger than %d bytes", what, limit)}
}

// MethodNotAllowed is the error of a known path asked with another
// method (405 method_not_allowed).
func MethodNotAllowed(method string) error {
	return &store.Error{Code: store.EInvalid, Reason: ReasonMethodNotAllowed,
		Message: "method " + method + " is not allowed here"}
}
