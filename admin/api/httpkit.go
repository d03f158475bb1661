package api

import (
	"net/http"

	"github.com/adgang/adgang/admin"
	pdpapi "github.com/adgang/adgang/pdp/api"
	"github.com/adgang/adgang/store"
)

// The admin listener's few HTTP helpers. Every JSON answer, error and
// request body of the admin API goes through this file to the one error
// writer of pdp/api, which maps every error (405 and 413 included) to its
// status as SPEC §8 settles it.

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) { pdpapi.WriteJSON(w, status, v) }

// writeErr answers err with the status the one error writer maps it to.
func writeErr(w http.ResponseWriter, err error) { pdpapi.WriteError(w, err) }

// httpStatus is the HTTP status writeErr answers err with.
func httpStatus(err error) int { return pdpapi.StatusOf(err) }

// decodeJSON reads a JSON body strictly (bounded size, unknown fields
// and trailing data refused).
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	return pdpapi.DecodeJSON(w, r, v)
}

// pageAnswer is one page of a GET collection: {revision, <name>:
// items, next_page_token}; the items' key is the collection's name.
func pageAnswer[T any](name string, p *admin.Page[T]) map[string]any {
	return map[string]any{"revision": p.Revision, name: nonNil(p.Items), "next_page_token": p.Next}
}

// answerPage answers a page read by the service, or its error.
func answerPage[T any](s *Server, w http.ResponseWriter, r *http.Request, name string, p *admin.Page[T], err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pageAnswer(name, p))
}

// nonNil answers a nil slice as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// invalid is a 400 refusal of malformed input.
func invalid(format string, args ...any) error { return store.Errorf(store.EInvalid, format, args...) }

// reply answers v with status, or err when it is not nil. v must be
// safe to build from the zero results of a failed call.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, status, v)
}
