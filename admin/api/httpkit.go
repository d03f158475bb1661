package api

import (
	"context"
	"net/http"
	"net/url"

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
	s.replyWith(w, r, status, err, func() any { return v })
}

// replyWith answers build() with status, or err when it is not nil;
// build runs only after a successful call, so it may read results that
// a failed call leaves nil.
func (s *Server) replyWith(w http.ResponseWriter, r *http.Request, status int, err error, build func() any) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, status, build())
}

// bodyHandler is the handler of a route with a JSON body, called with
// the body decoded.
type bodyHandler[T any] func(w http.ResponseWriter, r *http.Request, c *admin.Caller, req *T)

// decodeWith decodes a request body into v (decodeBody or
// decodeOptionalBody).
type decodeWith func(w http.ResponseWriter, r *http.Request, v any) error

// decoded adapts fn to a route: the body is decoded into a new T first,
// and a refused body is answered without calling fn.
func decoded[T any](s *Server, decode decodeWith, fn bodyHandler[T]) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
		var req T
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		fn(w, r, c, &req)
	}
}

// withBody adapts fn to a route whose JSON body is required (decodeBody).
func withBody[T any](s *Server, fn bodyHandler[T]) handlerFunc { return decoded(s, decodeBody, fn) }

// withOptionalBody adapts fn to a route whose JSON body may be absent
// (decodeOptionalBody); an absent body is the zero T.
func withOptionalBody[T any](s *Server, fn bodyHandler[T]) handlerFunc {
	return decoded(s, decodeOptionalBody, fn)
}

// noBody adapts fn to a POST route that takes no fields: no body or an
// empty JSON object; any field is refused.
func noBody(s *Server, fn handlerFunc) handlerFunc {
	return withOptionalBody(s, func(w http.ResponseWriter, r *http.Request, c *admin.Caller, _ *struct{}) { fn(w, r, c) })
}

// listFunc reads one page of a collection below a path parameter.
type listFunc[T any] func(ctx context.Context, c *admin.Caller, parent string, q url.Values) (*admin.Page[T], error)

// listIn answers GET of the collection name below the path parameter
// param: one page of it (pageAnswer).
func listIn[T any](s *Server, name, param string, read listFunc[T]) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
		p, err := read(r.Context(), c, pathVar(r, param), r.URL.Query())
		s.replyWith(w, r, http.StatusOK, err, func() any { return pageAnswer(name, p) })
	}
}

// list answers GET of the top-level collection name: one page of it.
func list[T any](s *Server, name string, read func(context.Context, *admin.Caller, url.Values) (*admin.Page[T], error)) handlerFunc {
	return listIn(s, name, "", func(ctx context.Context, c *admin.Caller, _ string, q url.Values) (*admin.Page[T], error) {
		return read(ctx, c, q)
	})
}

// deleteByID answers DELETE of the resource {id}: the id deleted.
func deleteByID(s *Server, del func(context.Context, *admin.Caller, string) (uint64, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *admin.Caller) {
		id := pathVar(r, "id")
		rev, err := del(r.Context(), c, id)
		s.reply(w, r, http.StatusOK, deletedAnswer{Revision: rev, Deleted: id}, err)
	}
}
