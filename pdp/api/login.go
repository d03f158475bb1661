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
	if err := DecodeJSON(w, r, &req); err != nil {
		WriteError(w, err)
		return
	}
	if err := s.eng.WaitRevision(r.Context(), req.MinRevision); err != nil {
		WriteError(w, err)
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

// answerBufs recycles the login answers' write buffers.
var answerBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}
