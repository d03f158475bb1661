// Package outbox delivers the store's outbox (activation mails, lifecycle
// warnings, temporary passwords; SPEC §4 L7) over SMTP.
//
// Delivery is at least once: a mail is marked sent, and its one-time
// secret wiped, in its own store transaction after the SMTP server has
// accepted it. A crash between the two sends it again on the next round;
// the Message-ID is derived from the mail's id, so it is the same on every
// attempt and a receiving system can drop the duplicate. A refused or
// failed send leaves the mail pending; it is retried with a growing delay,
// and mails that keep failing never hold up the ones behind them.
//
// Nothing here logs a mail's body, its secret or its recipient's CPR: a
// failure is logged with the mail's id and kind only.
package outbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/store"
)

// Actor is the audit actor of marking a mail sent.
const Actor = "system:outbox"

// Defaults of Deliverer.
const (
	DefaultInterval = 10 * time.Second
	DefaultTimeout  = 30 * time.Second
	// BatchSize is how many mails one round tries at most.
	BatchSize = 100
	// maxRetryDelay caps the delay before a failed mail is tried again.
	maxRetryDelay = time.Hour
)

// Deliverer sends the store's pending mails to an SMTP server. The zero
// values of Interval, Timeout and Now are the defaults; Store and Addr are
// required.
type Deliverer struct {
	Store *store.Store
	// Addr is the SMTP server, host:port. STARTTLS is used when the
	// server offers it.
	Addr string
	// From is the sender, an RFC 5322 address ("Adgang <adgang@example.dk>"
	// or just the address).
	From string
	// Username and Password enable PLAIN authentication (both optional).
	// net/smtp sends them only over TLS or to localhost.
	Username, Password string
	// Interval is the time between rounds (default 10s).
	Interval time.Duration
	// Timeout bounds one SMTP conversation (default 30s), so a server
	// that stops answering cannot stall delivery or shutdown.
	Timeout time.Duration
	Logger  zerolog.Logger
	Now     func() time.Time // clock (default time.Now)

	mu    sync.Mutex // one round at a time; guards retry
	retry map[string]retryState
}

// retryState is when a failed mail may be tried again.
type retryState struct {
	failures int
	next     time.Time
}

func (d *Deliverer) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// Start delivers pending mails every Interval until ctx ends. A round in
// progress stops at the next mail (or mid-conversation: the connection is
// closed) when ctx ends; that mail stays pending.
func (d *Deliverer) Start(ctx context.Context) {
	interval := d.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := d.DeliverOnce(ctx); err != nil && ctx.Err() == nil {
			d.Logger.Warn().Err(err).Int("sent", n).Msg("outbox round incomplete; failed mails are retried")
		} else if n > 0 {
			d.Logger.Info().Int("sent", n).Msg("outbox mails sent")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DeliverOnce runs one round: it sends up to BatchSize pending mails,
// oldest first, skipping those whose retry delay has not passed, and
// marks each one sent right after the server accepted it. It returns how
// many were sent and, if any failed, an error saying how many.
func (d *Deliverer) DeliverOnce(ctx context.Context) (sent int, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.Store == nil || d.Addr == "" {
		return 0, errors.New("outbox: Store and Addr are required")
	}
	if d.retry == nil {
		d.retry = map[string]retryState{}
	}
	// Mails waiting for a retry are among the oldest pending ones, so
	// reading that many more guarantees a full batch of mails to try.
	var mails []*store.OutboxMail
	if err := d.Store.View(ctx, func(tx *store.Tx) (err error) {
		mails, err = tx.PendingMail(BatchSize + len(d.retry))
		return err
	}); err != nil {
		return 0, fmt.Errorf("outbox: read pending mail: %w", err)
	}
	now := d.now()
	var failed, tried int
	var first error
	for _, m := range mails {
		if tried == BatchSize {
			break
		}
		if r, ok := d.retry[m.ID]; ok && now.Before(r.next) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return sent, err
		}
		tried++
		if err := d.deliver(ctx, m, now); err != nil {
			if ctx.Err() != nil {
				return sent, ctx.Err()
			}
			failed++
			first = cmpOr(first, err)
			r := d.retry[m.ID]
			r.failures++
			r.next = now.Add(d.retryDelay(r.failures))
			d.retry[m.ID] = r
			// The error is about the conversation (server replies, network);
			// it never holds the message, so it is safe to log.
			d.Logger.Warn().Err(err).Str("mail_id", m.ID).Str("kind", m.Kind).Int("failures", r.failures).
				Time("retry_at", r.next).Msg("mail not sent; it stays in the outbox")
			continue
		}
		delete(d.retry, m.ID)
		sent++
	}
	if failed > 0 {
		return sent, fmt.Errorf("outbox: %d of %d mails not sent: %w", failed, tried, first)
	}
	return sent, nil
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// retryDelay is Interval doubled per earlier failure, at most an hour.
func (d *Deliverer) retryDelay(failures int) time.Duration {
	delay := d.Interval
	if delay <= 0 {
		delay = DefaultInterval
	}
	for i := 1; i < failures && delay < maxRetryDelay; i++ {
		delay *= 2
	}
	return min(delay, maxRetryDelay)
}

// deliver sends one mail and marks it sent.
func (d *Deliverer) deliver(ctx context.Context, m *store.OutboxMail, now time.Time) error {
	from, err := mail.ParseAddress(d.From)
	if err != nil {
		return fmt.Errorf("sender address: %w", err)
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return fmt.Errorf("recipient address: %w", err)
	}
	msg, err := Message(m, from, to, now)
	if err != nil {
		return err
	}
	if err := d.send(ctx, from.Address, to.Address, msg); err != nil {
		return fmt.Errorf("smtp %s: %w", d.Addr, err)
	}
	if _, err := d.Store.Update(ctx, Actor, func(tx *store.Tx) error {
		return tx.MarkMailSent(m.ID, d.now())
	}); err != nil {
		// Sent but not recorded: it goes again next round (same
		// Message-ID). Nothing better is possible without a two-phase
		// commit with the SMTP server.
		return fmt.Errorf("mark sent: %w", err)
	}
	return nil
}

// send is net/smtp.SendMail with a context and a deadline: SendMail dials
// without a timeout, so a server that stops answering would hold the
// round, and shutdown, forever.
func (d *Deliverer) send(ctx context.Context, from, to string, msg []byte) error {
	host, _, err := net.SplitHostPort(d.Addr)
	if err != nil {
		return err
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var dialer net.Dialer
	conn, err := dialer.DialContext(dctx, "tcp", d.Addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host}); err != nil {
			return err
		}
	}
	if d.Username != "" || d.Password != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("server does not offer AUTH")
		}
		// PlainAuth refuses to send the password unless the connection
		// is TLS or to localhost.
		if err := c.Auth(smtp.PlainAuth("", d.Username, d.Password, host)); err != nil {
			return err
		}
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// Message builds the RFC 5322 message of m: UTF-8 plain text, quoted-
// printable, the subject Q-encoded, and SecretMark in the body replaced by
// the secret. The result holds the secret: never log it.
func Message(m *store.OutboxMail, from, to *mail.Address, date time.Time) ([]byte, error) {
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("From", from.String())
	header("To", to.String())
	// A line break in the subject would start a header of its own.
	subject := strings.Join(strings.Fields(m.Subject), " ")
	header("Subject", mime.QEncoding.Encode("utf-8", subject))
	header("Date", date.Format(time.RFC1123Z))
	header("Message-ID", messageID(m, from))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	body := strings.ReplaceAll(m.Body, store.SecretMark, m.Secret)
	body = strings.ReplaceAll(body, "\r\n", "\n")
	qp := quotedprintable.NewWriter(&b) // text mode: "\n" becomes CRLF
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	b.WriteString("\r\n")
	return b.Bytes(), nil
}

// messageID is stable per mail, so a resend after a crash carries the same
// id. Mail ids may hold '@' (they can embed an address), hence the hash.
func messageID(m *store.OutboxMail, from *mail.Address) string {
	domain := "adgang.invalid"
	if i := strings.LastIndex(from.Address, "@"); i >= 0 && i+1 < len(from.Address) {
		domain = from.Address[i+1:]
	}
	sum := sha256.Sum256([]byte(m.ID))
	return fmt.Sprintf("<%s.%d@%s>", hex.EncodeToString(sum[:16]), m.CreatedAt.UnixNano(), domain)
}
