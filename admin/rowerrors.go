package admin

import (
	pdpapi "github.com/adgang/adgang/pdp/api"
)

// errorDetail is the error object {code, message, rule} of one line of a
// bulk answer or an import report: the same detail the one error writer
// of pdp/api answers a whole request with.
type errorDetail = pdpapi.ErrorDetail

// detailOf is the error detail of err (masked, no internals).
func detailOf(err error) errorDetail { return pdpapi.DetailOf(err) }
