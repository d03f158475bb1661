package outbox_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/admin/jobs/outbox"
	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/storetest"
)

// smtpServer is a minimal SMTP server (no TLS, no AUTH): enough for
// net/smtp's client. With refuse set it answers MAIL FROM with 550.
type smtpServer struct {
	ln     net.Listener
	refuse atomic.Bool

	mu   sync.Mutex
	msgs []received
}

type received struct {
	from, to string
	data     []byte
}

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); s.serve(conn) }()
		}
	}()
	return s
}

func (s *smtpServer) addr() string { return s.ln.Addr().String() }

func (s *smtpServer) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

func (s *smtpServer) serve(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(conn)
	reply := func(format string, args ...any) { _ = tp.PrintfLine(format, args...) }
	reply("220 test.local ESMTP")
	var cur received
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			reply("250 test.local") // no extensions: no STARTTLS, no AUTH
		case "MAIL":
			if s.refuse.Load() {
				reply("550 5.7.1 not today")
				continue
			}
			cur = received{from: arg}
			reply("250 OK")
		case "RCPT":
			cur.to = arg
			reply("250 OK")
		case "DATA":
			reply("354 go ahead")
			data, err := io.ReadAll(tp.DotReader())
			if err != nil {
				return
			}
			cur.data = data
			s.mu.Lock()
			s.msgs = append(s.msgs, cur)
			s.mu.Unlock()
			reply("250 queued")
		case "RSET", "NOOP":
			reply("250 OK")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 unknown command")
		}
	}
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

type fixture struct {
	st   *store.Store
	srv  *smtpServer
	d    *outbox.Deliverer
	logs *syncBuffer
	now  time.Time
}

const (
	secret  = "S3cr3t-token-7f2a"
	subject = "Aktivér din konto – æøå"
)

var ctx = context.Background()

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := store.Open(store.Config{Dir: t.TempDir(), CPRKey: storetest.Key, NoSync: true, Logger: zerolog.Nop(), GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{st: st, srv: startSMTP(t), logs: &syncBuffer{}, now: time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)}
	f.d = &outbox.Deliverer{Store: st, Addr: f.srv.addr(), From: "Adgang <adgang@example.dk>", Interval: time.Minute,
		Timeout: 5 * time.Second, Logger: zerolog.New(f.logs), Now: func() time.Time { return f.now }}
	return f
}

func (f *fixture) put(t *testing.T, ms ...*store.OutboxMail) {
	t.Helper()
	if _, err := f.st.Update(ctx, "test", func(tx *store.Tx) error {
		for _, m := range ms {
			if err := tx.PutMail(m); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) mail(t *testing.T, id string) *store.OutboxMail {
	t.Helper()
	var m *store.OutboxMail
	if err := f.st.View(ctx, func(tx *store.Tx) (err error) { m, err = tx.GetMail(id); return }); err != nil {
		t.Fatal(err)
	}
	return m
}

func (f *fixture) pending(t *testing.T) []string {
	t.Helper()
	var ids []string
	if err := f.st.View(ctx, func(tx *store.Tx) error {
		ms, err := tx.PendingMail(0)
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return ids
}

func activationMail() *store.OutboxMail {
	return &store.OutboxMail{ID: "act-1", To: "Jens Ølgaard <jens@example.dk>", UserID: "00000000-0000-4000-8000-000000000001",
		Kind: "activation", Subject: subject,
		Body:   "Hej Jens,\n\nAktivér din konto her: https://adgang.example.dk/activate?token=" + store.SecretMark + "\n\nVenlig hilsen\nAdgang",
		Secret: secret, CreatedAt: time.Date(2024, 6, 1, 11, 0, 0, 0, time.UTC)}
}

func TestDeliverOnce(t *testing.T) {
	f := newFixture(t)
	f.put(t, activationMail())
	sent, err := f.d.DeliverOnce(ctx)
	if err != nil || sent != 1 {
		t.Fatalf("DeliverOnce = %d, %v; logs: %s", sent, err, f.logs)
	}
	got := f.srv.received()
	if len(got) != 1 {
		t.Fatalf("server got %d messages", len(got))
	}
	if got[0].from != "FROM:<adgang@example.dk>" || got[0].to != "TO:<jens@example.dk>" {
		t.Errorf("envelope %q %q", got[0].from, got[0].to)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(got[0].data))
	if err != nil {
		t.Fatalf("not an RFC 5322 message: %v\n%s", err, got[0].data)
	}
	t.Run("headers", func(t *testing.T) {
		var dec mime.WordDecoder
		if s, err := dec.DecodeHeader(msg.Header.Get("Subject")); err != nil || s != subject {
			t.Errorf("subject %q decodes to %q, %v", msg.Header.Get("Subject"), s, err)
		}
		if strings.ContainsFunc(msg.Header.Get("Subject"), func(r rune) bool { return r > 127 }) {
			t.Errorf("raw subject is not ASCII: %q", msg.Header.Get("Subject"))
		}
		if to, err := msg.Header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != "jens@example.dk" || to[0].Name != "Jens Ølgaard" {
			t.Errorf("To %+v %v", to, err)
		}
		if from, err := msg.Header.AddressList("From"); err != nil || from[0].Address != "adgang@example.dk" {
			t.Errorf("From %+v %v", from, err)
		}
		if d, err := msg.Header.Date(); err != nil || !d.Equal(f.now) {
			t.Errorf("Date %v %v", d, err)
		}
		if id := msg.Header.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.dk>") || strings.Count(id, "@") != 1 {
			t.Errorf("Message-ID %q", id)
		}
		if ct := msg.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		if cte := msg.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
			t.Errorf("Content-Transfer-Encoding %q", cte)
		}
	})
	t.Run("body carries the secret", func(t *testing.T) {
		body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
		if err != nil {
			t.Fatal(err)
		}
		want := "Aktivér din konto her: https://adgang.example.dk/activate?token=" + secret
		if !strings.Contains(string(body), want) || strings.Contains(string(body), store.SecretMark) {
			t.Errorf("body %q", body)
		}
	})
	t.Run("marked sent, secret wiped", func(t *testing.T) {
		m := f.mail(t, "act-1")
		if m.SentAt == nil || m.Secret != "" {
			t.Errorf("after delivery: %+v", m)
		}
		if p := f.pending(t); len(p) != 0 {
			t.Errorf("still pending: %v", p)
		}
		var evs []store.AuditEvent
		_ = f.st.View(ctx, func(tx *store.Tx) (err error) {
			evs, err = tx.History(m.UserID, time.Time{}, time.Time{}, "mail.sent", 0)
			return
		})
		if len(evs) != 1 || evs[0].Actor != outbox.Actor {
			t.Errorf("audit %+v", evs)
		}
	})
	t.Run("next round sends nothing", func(t *testing.T) {
		f.now = f.now.Add(time.Hour)
		if sent, err := f.d.DeliverOnce(ctx); sent != 0 || err != nil {
			t.Errorf("DeliverOnce = %d, %v", sent, err)
		}
		if n := len(f.srv.received()); n != 1 {
			t.Errorf("server got %d messages", n)
		}
	})
	if strings.Contains(f.logs.String(), secret) {
		t.Errorf("secret logged: %s", f.logs)
	}
}

func TestRefusedThenDelivered(t *testing.T) {
	f := newFixture(t)
	f.put(t, activationMail())
	f.srv.refuse.Store(true)
	sent, err := f.d.DeliverOnce(ctx)
	if sent != 0 || err == nil || !strings.Contains(err.Error(), "550") {
		t.Fatalf("refused round = %d, %v", sent, err)
	}
	if p := f.pending(t); len(p) != 1 {
		t.Fatalf("pending after refusal: %v", p)
	}
	if m := f.mail(t, "act-1"); m.Secret != secret || m.SentAt != nil {
		t.Fatalf("refused mail changed: %+v", m)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "act-1") || !strings.Contains(logs, "550") {
		t.Errorf("failure not logged with id and reply: %s", logs)
	}
	for _, leak := range []string{secret, "Aktivér din konto her", "Hej Jens", "jens@example.dk"} {
		if strings.Contains(logs, leak) {
			t.Errorf("log holds %q: %s", leak, logs)
		}
	}

	// Within the retry delay the mail is not tried again.
	f.srv.refuse.Store(false)
	if sent, err := f.d.DeliverOnce(ctx); sent != 0 || err != nil || len(f.srv.received()) != 0 {
		t.Errorf("round within the retry delay = %d, %v", sent, err)
	}
	f.now = f.now.Add(time.Minute)
	if sent, err := f.d.DeliverOnce(ctx); sent != 1 || err != nil {
		t.Fatalf("second round = %d, %v", sent, err)
	}
	f.now = f.now.Add(time.Hour)
	if sent, err := f.d.DeliverOnce(ctx); sent != 0 || err != nil {
		t.Errorf("third round = %d, %v", sent, err)
	}
	if n := len(f.srv.received()); n != 1 {
		t.Errorf("delivered %d times, want exactly once", n)
	}
	if m := f.mail(t, "act-1"); m.Secret != "" || m.SentAt == nil {
		t.Errorf("after delivery: %+v", m)
	}
}

func TestBadRecipientDoesNotBlock(t *testing.T) {
	f := newFixture(t)
	bad := &store.OutboxMail{ID: "bad", To: "not an address", Kind: "lifecycle_warning", Subject: "x", Body: "y",
		CreatedAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	good := activationMail()
	f.put(t, bad, good)
	sent, err := f.d.DeliverOnce(ctx)
	if sent != 1 || err == nil {
		t.Fatalf("DeliverOnce = %d, %v", sent, err)
	}
	if p := f.pending(t); len(p) != 1 || p[0] != "bad" {
		t.Errorf("pending %v", p)
	}
}

func TestStartStops(t *testing.T) {
	f := newFixture(t)
	f.d.Now = nil
	f.d.Interval = 20 * time.Millisecond
	f.put(t, activationMail())
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); f.d.Start(cctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(f.pending(t)) != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Start did not return after cancel")
	}
	if n := len(f.srv.received()); n != 1 {
		t.Errorf("delivered %d", n)
	}
}

// TestStopsHungServer: a server that accepts the connection and then says
// nothing must not hold a round (or shutdown) past its context.
func TestStopsHungServer(t *testing.T) {
	f := newFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, bufio.NewReader(c)); c.Close() }()
		}
	}()
	f.d.Addr = ln.Addr().String()
	f.put(t, activationMail())
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := f.d.DeliverOnce(cctx); err == nil {
		t.Error("no error from a hung server")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("round took %v after its context ended", d)
	}
	if p := f.pending(t); len(p) != 1 {
		t.Errorf("pending %v", p)
	}
}

func TestMessageLines(t *testing.T) {
	m := activationMail()
	m.Subject = "Injected\r\nBcc: evil@example.com"
	from, to := &mail.Address{Address: "a@example.dk"}, &mail.Address{Address: "b@example.dk"}
	msg, err := outbox.Message(m, from, to, time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ReplaceAll(string(msg), "\r\n", ""), "\n") {
		t.Errorf("bare LF in message: %q", msg)
	}
	if !strings.Contains(string(msg), "Venlig hilsen\r\nAdgang") {
		t.Errorf("body lines not CRLF: %q", msg)
	}
	if strings.Contains(string(msg), "\r\nBcc:") {
		t.Errorf("subject injected a header: %q", msg)
	}
}
