package admin

import (
	"net/http"

	"github.com/adgang/adgang/pdp"
)

// The admin listener's few HTTP helpers. Every JSON answer, error and
// request body of the admin API goes through this file, so that the one
// error writer it delegates to (pdp's today, pdp/api's after issue 13)
// is named in exactly one import.

// errorDetail is the JSON error object {code, message, rule}.
type errorDetail = pdp.ErrorDetail

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) { pdp.WriteJSON(w, status, v) }

// writeErr answers err with the status the one error writer maps it to.
func writeErr(w http.ResponseWriter, err error) { pdp.WriteError(w, err) }

// httpStatus is the HTTP status writeErr answers err with.
func httpStatus(err error) int { return pdp.StatusOf(err) }

// detailOf is the JSON error detail writeErr answers err with (masked,
// no internals).
func detailOf(err error) errorDetail { return pdp.DetailOf(err) }

// decodeJSON reads a JSON body strictly (bounded size, unknown fields
// and trailing data refused).
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error { return pdp.DecodeJSON(w, r, v) }

// writeStatusError answers an error that has no store error code (405,
// 413) in the one error shape.
// TODO(issue 13): the one error writer of pdp/api maps 405 and 413 too;
// then this goes.
func writeStatusError(w http.ResponseWriter, status int, code, message string) {
	pdp.WriteJSON(w, status, pdp.ErrorBody{Error: pdp.ErrorDetail{Code: code, Message: message}})
}
