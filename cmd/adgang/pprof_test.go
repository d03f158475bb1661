package main

import (
	"net/http"
	"testing"

	"github.com/rs/zerolog"
)

// TestPprofListenerStops: --pprof-addr serves the profiles, and Close
// stops that listener with the others (it used to be an init goroutine
// that nothing stopped).
func TestPprofListenerStops(t *testing.T) {
	m := &Main{Config: Config{PprofAddr: "127.0.0.1:0"}, Logger: zerolog.Nop()}
	if err := m.startPprof(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(m.PprofURL + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("pprof index: %d", resp.StatusCode)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get(m.PprofURL + "/debug/pprof/"); err == nil {
		resp.Body.Close()
		t.Errorf("pprof still answers after Close: %d", resp.StatusCode)
	}
	off := &Main{Logger: zerolog.Nop()}
	if err := off.startPprof(); err != nil || off.PprofURL != "" {
		t.Errorf("without --pprof-addr: %q %v", off.PprofURL, err)
	}
}
