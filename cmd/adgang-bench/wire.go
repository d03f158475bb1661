package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"
)

// wire is one keep-alive HTTP/1.1 connection of a load loop's worker,
// spoken by hand: a request is one prepared write, its answer one buffered
// read. On this 2-core machine the load driver shares the cores with the
// server under test, so what the driver spends a request is taken from the
// server: Go's net/http client spent ~48 µs of CPU a request (two
// goroutine hand-offs per request, header maps, the answer decoded whole),
// more than the constant baseline server spends answering it. Every answer
// is still read whole, checked to be one valid JSON value, and its
// decision compared (target.allow).
type wire struct {
	host, path string
	conn       net.Conn
	br         *bufio.Reader
	req, body  []byte // the request being sent; the last answer's body
	tmp        []byte // the request body before its header
}

// wireTimeout bounds one request's exchange, as the net/http client's
// Timeout did.
const wireTimeout = 10 * time.Second

func newWire(rawURL string) (*wire, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("load driver: %s: only http", rawURL)
	}
	return &wire{host: u.Host, path: u.RequestURI()}, nil
}

// dial opens w's connection unless one is open.
func (w *wire) dial(ctx context.Context) error {
	if w.conn != nil {
		return nil
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", w.host)
	if err != nil {
		return err
	}
	w.conn = c
	if w.br == nil {
		w.br = bufio.NewReaderSize(c, 16<<10)
	} else {
		w.br.Reset(c)
	}
	return nil
}

// close closes the connection, if one is open.
func (w *wire) close() {
	if w.conn != nil {
		_ = w.conn.Close()
		w.conn = nil
	}
}

// ask sends r to t over w's connection (dialled again after an error or a
// closed connection) and checks the answer; it returns whether it was
// allowed.
func (w *wire) ask(ctx context.Context, t *target, r *Request) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	b, status, err := w.post(ctx, t.body, r)
	if err != nil {
		w.close()
		return false, err
	}
	return t.decision(status, b)
}

// post sends one POST of r's body and reads the answer's status and body
// (valid until the next post).
func (w *wire) post(ctx context.Context, body func([]byte, *Request) []byte, r *Request) ([]byte, int, error) {
	if err := w.dial(ctx); err != nil {
		return nil, 0, err
	}
	w.tmp = body(w.tmp[:0], r)
	w.req = append(w.req[:0], "POST "...)
	w.req = append(w.req, w.path...)
	w.req = append(w.req, " HTTP/1.1\r\nHost: "...)
	w.req = append(w.req, w.host...)
	w.req = append(w.req, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	w.req = strconv.AppendInt(w.req, int64(len(w.tmp)), 10)
	w.req = append(w.req, "\r\n\r\n"...)
	w.req = append(w.req, w.tmp...)
	if err := w.conn.SetDeadline(time.Now().Add(wireTimeout)); err != nil {
		return nil, 0, err
	}
	if _, err := w.conn.Write(w.req); err != nil {
		return nil, 0, err
	}
	return w.readAnswer()
}

var errBadAnswer = errors.New("load driver: malformed HTTP answer")

// readAnswer reads one HTTP/1.1 answer: its status, its headers (the
// body's length: Content-Length or chunked; Connection: close) and its
// body into w.body.
func (w *wire) readAnswer() ([]byte, int, error) {
	line, err := w.br.ReadSlice('\n')
	if err != nil {
		return nil, 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return nil, 0, fmt.Errorf("%w: status line %q", errBadAnswer, line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: status line %q", errBadAnswer, line)
	}
	length, chunked, closing := -1, false, false
	for {
		line, err = w.br.ReadSlice('\n')
		if err != nil {
			return nil, 0, err
		}
		h := bytes.TrimRight(line, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return nil, 0, fmt.Errorf("%w: header %q", errBadAnswer, h)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return nil, 0, fmt.Errorf("%w: Content-Length %q", errBadAnswer, value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	w.body = w.body[:0]
	switch {
	case chunked:
		err = w.readChunks()
	case length >= 0:
		w.body = grow(w.body, length)
		_, err = io.ReadFull(w.br, w.body)
	default: // until the server closes
		closing = true
		w.body, err = io.ReadAll(w.br)
	}
	if err != nil {
		return nil, 0, err
	}
	if closing {
		w.close()
	}
	return w.body, status, nil
}

// readChunks reads a chunked body into w.body.
func (w *wire) readChunks() error {
	for {
		line, err := w.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseUint(string(size), 16, 31)
		if err != nil {
			return fmt.Errorf("%w: chunk size %q", errBadAnswer, line)
		}
		if n == 0 { // trailers, then the empty line
			for {
				line, err = w.br.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return nil
				}
			}
		}
		at := len(w.body)
		w.body = grow(w.body, at+int(n))
		if _, err := io.ReadFull(w.br, w.body[at:]); err != nil {
			return err
		}
		if line, err = w.br.ReadSlice('\n'); err != nil || len(bytes.TrimRight(line, "\r\n")) != 0 {
			return fmt.Errorf("%w: no line end after a chunk", errBadAnswer)
		}
	}
}

// grow is b resized to n bytes (its first len(b) kept).
func grow(b []byte, n int) []byte {
	if cap(b) >= n {
		return b[:n]
	}
	return append(b[:cap(b)], make([]byte, n-cap(b))...)
}

// topField is the raw JSON value of key in the object b, found without
// decoding the rest (the driver checks every answer; decoding each whole
// with encoding/json was an eighth of its CPU). It fails on anything that
// is not an object with key at its top level; nested objects with the same
// key do not count. It does not check the rest of b (target.decision
// checks that the whole answer is valid JSON).
func topField(b []byte, key string) ([]byte, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return nil, false
	}
	for i < len(b) {
		end, ok := skipString(b, i)
		if !ok {
			return nil, false
		}
		k := b[i+1 : end-1]
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return nil, false
		}
		i = skipSpace(b, i+1)
		vEnd, ok := skipValue(b, i)
		if !ok {
			return nil, false
		}
		if string(k) == key { // a key with escapes never equals a plain key
			return b[i:vEnd], true
		}
		i = skipSpace(b, vEnd)
		if i >= len(b) || b[i] != ',' {
			return nil, false
		}
		i = skipSpace(b, i+1)
	}
	return nil, false
}

// topBool is topField's value when it is true or false.
func topBool(b []byte, key string) (bool, bool) {
	v, ok := topField(b, key)
	switch {
	case !ok:
		return false, false
	case string(v) == "true":
		return true, true
	case string(v) == "false":
		return false, true
	}
	return false, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString is the index after the string that starts at b[i].
func skipString(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, false
	}
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1, true
		}
	}
	return 0, false
}

// skipValue is the index after the JSON value that starts at b[i].
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, ok := skipString(b, i)
				if !ok {
					return 0, false
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1, true
				}
			}
			i++
		}
		return 0, false
	}
	start := i // a number, true, false or null
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\n' && b[i] != '\r' && b[i] != '\t' {
		i++
	}
	return i, i > start
}
