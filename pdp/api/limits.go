package api

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/adgang/adgang/pdp"
	"github.com/adgang/adgang/store"
)

// MaxDecisionBody bounds every request body on the decision listener,
// counted after gzip decompression (SPEC §8); a larger one is answered 413
// {error:{code:"too_large"}} before any handler sees it.
const MaxDecisionBody = 64 << 10

// limitBody enforces MaxDecisionBody on every decision route: the body is
// read up front (gzip decompressed when Content-Encoding says so), so no
// handler, cache or log ever holds more than MaxDecisionBody of it.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		body, err := readBounded(w, r)
		if err != nil {
			WriteError(w, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Del("Content-Encoding")
		next.ServeHTTP(w, r)
	})
}

// readBounded reads r's body, gzip decompressed when Content-Encoding
// says so, refusing one over MaxDecisionBody.
func readBounded(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	// The wire bound leaves room for gzip's framing around a body that
	// is at the limit once decompressed.
	var src io.Reader = http.MaxBytesReader(w, r.Body, MaxDecisionBody+4096)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(src)
		if err != nil {
			if tooLarge(err) {
				return nil, errTooLarge
			}
			return nil, store.Errorf(store.EInvalid, "malformed gzip body")
		}
		defer zr.Close()
		src = zr
	default:
		return nil, errUnsupportedEncoding
	}
	body, err := io.ReadAll(io.LimitReader(src, MaxDecisionBody+1))
	switch {
	case tooLarge(err) || err == nil && len(body) > MaxDecisionBody:
		return nil, errTooLarge
	case err != nil:
		return nil, store.Errorf(store.EInvalid, "request body unreadable or malformed gzip")
	}
	return body, nil
}

var (
	errTooLarge = &store.Error{Code: store.EInvalid, Reason: store.ReasonTooLarge,
		Message: fmt.Sprintf("request body larger than %d bytes (after decompression)", MaxDecisionBody)}
	errUnsupportedEncoding = &store.Error{Code: store.EInvalid, Reason: ReasonUnsupportedEncoding,
		Message: "Content-Encoding must be gzip or identity"}
)

func tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// withRequestID echoes X-Request-ID (AuthZEN) and makes one (a UUID)
// when the client sent none, so every decision-log line has one.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if id == "" {
			id = uuid.NewString()
			r.Header.Set("X-Request-ID", id)
		}
		w.Header().Set("X-Request-ID", id)
		next.ServeHTTP(w, r)
	})
}

// meta is the request's facts for the decision log.
func meta(r *http.Request) pdp.RequestMeta {
	return pdp.MetaOf(r.Context(), r.Header.Get("X-Request-ID"))
}

// withDurableLog holds every answer in lossless mode until the decisions
// it made are durable in the stored decision log; when one cannot be made
// durable, the answer is replaced by 503 decision_log_unavailable (fail
// closed: no decision is answered that the log may not have).
func (s *Server) withDurableLog(next http.Handler) http.Handler {
	if !s.eng.LosslessLog() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, wait, cancel := s.eng.WithPendingLog(r.Context())
		defer cancel()
		buf := &heldResponse{h: w.Header(), status: http.StatusOK}
		next.ServeHTTP(buf, r.WithContext(ctx))
		if err := wait(); err != nil {
			w.Header().Del("Content-Encoding")
			WriteError(w, &store.Error{Code: store.EInternal, Reason: pdp.ReasonDecisionLogUnavailable,
				Message: "the decision could not be logged durably (lossless decision log); try again"})
			return
		}
		w.WriteHeader(buf.status)
		_, _ = w.Write(buf.body.Bytes())
	})
}

// heldResponse keeps an answer until it may be released.
type heldResponse struct {
	h      http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (h *heldResponse) Header() http.Header { return h.h }

func (h *heldResponse) WriteHeader(code int) {
	if !h.wrote {
		h.status, h.wrote = code, true
	}
}

func (h *heldResponse) Write(b []byte) (int, error) {
	h.wrote = true
	return h.body.Write(b)
}

// SourceOf is the throttling key of a request's source: the peer IP
// address (IPv6 by its /64, which one host usually holds). Forwarding
// headers are not trusted: they are the client's to choose.
func SourceOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}
