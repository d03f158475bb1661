package admin

import (
	"net/http"

	pdpapi "github.com/adgang/adgang/pdp/api"
)

// The admin listener's few HTTP helpers. Every JSON answer, error and
// request body of the admin API goes through this file to the one error
// writer of pdp/api, which maps every error (405 and 413 included) to its
// status as SPEC §8 settles it.

// errorDetail is the JSON error object {code, message, rule}.
type errorDetail = pdpapi.ErrorDetail

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) { pdpapi.WriteJSON(w, status, v) }

// writeErr answers err with the status the one error writer maps it to.
func writeErr(w http.ResponseWriter, err error) { pdpapi.WriteError(w, err) }

// httpStatus is the HTTP status writeErr answers err with.
func httpStatus(err error) int { return pdpapi.StatusOf(err) }

// detailOf is the JSON error detail writeErr answers err with (masked,
// no internals).
func detailOf(err error) errorDetail { return pdpapi.DetailOf(err) }

// decodeJSON reads a JSON body strictly (bounded size, unknown fields
// and trailing data refused).
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	return pdpapi.DecodeJSON(w, r, v)
}
