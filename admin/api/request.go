package api

import (
	"bufio"
	"errors"
	"io"
	"net/http"

	"github.com/gorilla/mux"
)

// pathVar is the path parameter name of the route r matched.
func pathVar(r *http.Request, name string) string { return mux.Vars(r)[name] }

// decodeBody decodes a required JSON body strictly (decodeJSON:
// unknown fields and trailing data refused).
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error { return decodeJSON(w, r, v) }

// decodeOptionalBody is decodeBody for a body that may be absent.
func decodeOptionalBody(w http.ResponseWriter, r *http.Request, v any) error {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil
	}
	br := bufio.NewReader(r.Body)
	if _, err := br.Peek(1); errors.Is(err, io.EOF) {
		return nil
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{br, r.Body}
	return decodeJSON(w, r, v)
}
