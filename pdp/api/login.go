package api

import (
	"net/http"
	"sync"

	"github.com/adgang/adgang/pdp"
)

// handleLogin serves POST /v1/decisions/login: the login decision, written
// from its pre-encoded answer.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req pdp.LoginRequest
	if !s.decodeLogin(w, r, &req) {
		return
	}
	d, err := s.eng.LoginAnswer(r.Context(), &req, meta(r))
	if err != nil {
		WriteError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	buf := answerBufs.Get().(*[]byte)
	*buf = d.AppendJSON((*buf)[:0])
	_, _ = w.Write(*buf)
	if cap(*buf) <= 64<<10 {
		answerBufs.Put(buf)
	}
}

// decodeLogin decodes a login request and waits for its min_revision
// (SPEC §8); false when it answered an error instead.
func (s *Server) decodeLogin(w http.ResponseWriter, r *http.Request, req *pdp.LoginRequest) bool {
	err := DecodeJSON(w, r, req)
	if err == nil {
		err = s.eng.WaitRevision(r.Context(), req.MinRevision)
	}
	if err != nil {
		WriteError(w, err)
		return false
	}
	return true
}

// answerBufs recycles the login answers' write buffers.
var answerBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}
