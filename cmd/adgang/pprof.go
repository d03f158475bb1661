package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
)

// startPprof serves Go's pprof profiles on --pprof-addr (env
// ADGANG_PPROF_ADDR; off by default), for profiling a running server (the
// load benchmark's -pprof flag uses it). The listener is one of m.servers,
// so Close stops it with the others. Never expose it beyond localhost:
// profiles show memory contents such as request data.
func (m *Main) startPprof() error {
	addr := m.Config.PprofAddr
	if addr == "" {
		return nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("pprof listener: %w", err)
	}
	srv := &http.Server{Handler: mux}
	m.servers = append(m.servers, srv)
	m.PprofURL = "http://" + ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	m.Logger.Warn().Str("listener", "pprof").Str("addr", ln.Addr().String()).Msg("serving pprof profiles: keep this address private")
	return nil
}
