package main

import (
	"net/http"
	"net/http/pprof"
	"os"
)

// ADGANG_PPROF_ADDR (off by default) serves Go's pprof profiles on a
// separate listener, for profiling a running server (the load benchmark's
// -pprof flag uses it). Never expose it beyond localhost: profiles show
// memory contents such as request data.
func init() {
	addr := os.Getenv("ADGANG_PPROF_ADDR")
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() { _ = http.ListenAndServe(addr, mux) }()
}
