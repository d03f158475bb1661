package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"time"
)

// progressReader counts the rows of an import file as they are sent and
// shows, at most five times a second, the rows sent, the rate and (when the
// file's size is known) the time left, on one terminal line. The server
// reads the rows as it checks and stores them, so the rows sent follow the
// rows done.
type progressReader struct {
	r     io.Reader
	w     io.Writer
	size  int64 // bytes in the file; -1 when unknown (standard input)
	read  int64
	lines int64
	start time.Time
	last  time.Time
	now   func() time.Time
}

func newProgressReader(r io.Reader, size int64, w io.Writer) *progressReader {
	now := time.Now
	t := now()
	return &progressReader{r: r, w: w, size: size, start: t, last: t, now: now}
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.read += int64(n)
	p.lines += int64(bytes.Count(b[:n], []byte{'\n'}))
	if t := p.now(); t.Sub(p.last) >= 200*time.Millisecond {
		p.last = t
		fmt.Fprintf(p.w, "\r%s", p.line(t))
	}
	return n, err
}

// rows is the data rows sent so far (the header line not counted).
func (p *progressReader) rows() int64 { return max(p.lines-1, 0) }

func (p *progressReader) line(t time.Time) string {
	elapsed := t.Sub(p.start)
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(p.rows()) / s
	}
	out := fmt.Sprintf("%d rows sent, %.0f rows/s", p.rows(), rate)
	if p.size > 0 && p.read > 0 && p.read < p.size {
		left := time.Duration(float64(elapsed) * float64(p.size-p.read) / float64(p.read))
		out += fmt.Sprintf(", ETA %s", left.Round(time.Second))
	}
	return out + "   "
}

// finish ends the progress line with the totals.
func (p *progressReader) finish() {
	t := p.now()
	fmt.Fprintf(p.w, "\r%d rows sent in %s (%.0f rows/s)      \n", p.rows(), t.Sub(p.start).Round(100*time.Millisecond),
		float64(p.rows())/max(t.Sub(p.start).Seconds(), 1e-9))
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
