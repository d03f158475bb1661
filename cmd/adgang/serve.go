package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/adgang/adgang/admin"
	adminapi "github.com/adgang/adgang/admin/api"
	"github.com/adgang/adgang/admin/api/console"
	"github.com/adgang/adgang/admin/jobs/lifecycle"
	"github.com/adgang/adgang/admin/jobs/outbox"
	"github.com/adgang/adgang/pdp"
	pdpapi "github.com/adgang/adgang/pdp/api"
	"github.com/adgang/adgang/store"
	"github.com/adgang/adgang/store/pg"
)

// Main is the program object: it owns the store, the engine and the
// listeners, so tests can run the real binary's wiring in-process.
type Main struct {
	Config Config
	Logger zerolog.Logger

	Store  *store.Store
	Engine *pdp.Engine

	// DecisionURL and AdminURL are the listeners' base URLs once Run returned.
	DecisionURL string
	AdminURL    string
	PprofURL    string // the pprof listener's base URL, when --pprof-addr is set

	admin *admin.Service

	servers       []*http.Server
	declogFh      *os.File
	stopLifecycle context.CancelFunc
	lifecycleDone chan struct{}
	stopOutbox    context.CancelFunc
	outboxDone    chan struct{}

	passwords *admin.PasswordLogin // the local password logins of the decision listener
	fleetLog  *pg.Log              // the fleet's system of record (nil: the embedded store alone)
	stopLease context.CancelFunc   // the job lease loop of a fleet node (fleet.go)
	leaseDone chan struct{}
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseServeFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	level, err := parseLogLevel(cfg.LogLevel)
	if err != nil {
		return err
	}
	m := &Main{Config: *cfg, Logger: zerolog.New(stderr).Level(level).With().Timestamp().Logger()}
	if err := m.Run(ctx, stdout); err != nil {
		_ = m.closeWithin(m.shutdownBound())
		return err
	}
	m.logStarted()
	<-ctx.Done()
	m.Logger.Info().Msg("shutting down")
	return m.closeWithin(m.shutdownBound())
}

// Run opens the store, loads the policies and starts the listeners. It
// returns once they accept connections; Close stops everything.
func (m *Main) Run(ctx context.Context, stdout io.Writer) error {
	if err := m.startPprof(); err != nil {
		return err
	}
	st, err := m.openStore(ctx)
	if err != nil {
		return err
	}
	declog, err := m.decisionLog(stdout)
	if err != nil {
		return err
	}
	eng, err := m.startEngine(ctx, st, declog)
	if err != nil {
		return err
	}
	adminTLS, decisionTLS, err := listenerTLS(&m.Config)
	if err != nil {
		return err
	}
	if err := m.startDecisionListener(eng, st, decisionTLS); err != nil {
		return err
	}
	adm, err := admin.New(ctx, admin.Config{Store: st, Engine: eng, JWKSFile: m.Config.JWKSFile, JWTIssuer: m.Config.JWTIssuer,
		JWTAudience: m.Config.JWTAudience, Logger: m.Logger.With().Str("component", "admin").Logger()})
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	m.admin = adm
	adminAPI := adminapi.New(adm, adminapi.Config{Logger: m.Logger.With().Str("component", "admin").Logger(), Registry: eng.Registry()})
	h, err := m.adminHandler(adminAPI.Handler())
	if err != nil {
		return err
	}
	if m.AdminURL, err = m.listen(m.Config.AdminAddr, withOps(h, eng), "admin", adminTLS); err != nil {
		return err
	}
	m.startJobs(st, eng, adm)
	return nil
}

// adminHandler is the admin API, with the admin console under /console/
// unless --console=false.
func (m *Main) adminHandler(h http.Handler) (http.Handler, error) {
	if !m.Config.Console {
		return h, nil
	}
	con, err := console.New(console.Config{API: h, Logger: m.Logger.With().Str("component", "console").Logger()})
	if err != nil {
		return nil, fmt.Errorf("admin console: %w", err)
	}
	return con.Mount(h), nil
}

// openStore opens the store in the data directory (with the CPR key),
// applies the bootstrap token and the demo data, and warns when no admin
// token exists.
func (m *Main) openStore(ctx context.Context) (*store.Store, error) {
	cfg := &m.Config
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if cfg.CPRKey == nil {
		key, err := m.loadCPRKey()
		if err != nil {
			return nil, err
		}
		cfg.CPRKey = key
	}
	log, err := m.openLog(ctx)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(store.Config{
		Log:           log,
		Dir:           filepath.Join(cfg.DataDir, "badger"),
		EncryptionKey: cfg.EncryptionKey,
		CPRKey:        cfg.CPRKey,
		Logger:        m.Logger.With().Str("component", "store").Logger(),
		MinFreeDisk:   cfg.MinFreeDisk,
	})
	if err != nil {
		return nil, err
	}
	m.Store = st
	if err := m.seedStore(ctx, st); err != nil {
		return nil, err
	}
	if cfg.BootstrapToken == "" {
		var tokens []*store.Token
		_ = st.View(ctx, func(tx *store.Tx) (err error) { tokens, err = tx.ListTokens(); return })
		if len(tokens) == 0 {
			m.Logger.Warn().Msg("no admin API token exists: stop the server and run `adgang token create --superadmin` or, on a store never bootstrapped, set ADGANG_BOOTSTRAP_TOKEN")
		}
	}
	return st, nil
}

// seedStore applies the bootstrap token, then the demo data. Bootstrap
// goes first: on an empty store both apply, and the demo's own token must
// not count as an earlier bootstrap.
func (m *Main) seedStore(ctx context.Context, st *store.Store) error {
	cfg := &m.Config
	if cfg.BootstrapToken != "" {
		created, err := admin.Bootstrap(ctx, st, cfg.BootstrapToken)
		if err != nil {
			return fmt.Errorf("bootstrap token: %w", err)
		}
		if created {
			m.Logger.Info().Msg("ADGANG_BOOTSTRAP_TOKEN stored as a superadmin token")
		} else {
			m.Logger.Info().Msg("the store was bootstrapped before: ADGANG_BOOTSTRAP_TOKEN is ignored (bootstrapping happens once per store); remove it from the environment")
		}
	}
	if !cfg.Demo {
		return nil
	}
	loaded, err := loadDemo(ctx, st)
	if err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	if !loaded {
		m.Logger.Info().Msg("store not empty: demo data not loaded")
		return nil
	}
	path, err := writeDemoToken(ctx, st, cfg.DataDir)
	if err != nil {
		return fmt.Errorf("demo admin token: %w", err)
	}
	m.Logger.Info().Str("token_file", path).Msg("demo data loaded; a superadmin token for the admin API is in token_file")
	return nil
}

// decisionLog is where --decision-log writes: nil when off, stdout,
// stderr or a file opened for appending (closed by Close).
func (m *Main) decisionLog(stdout io.Writer) (io.Writer, error) {
	switch m.Config.DecisionLog {
	case "off", "":
		return nil, nil
	case "stdout":
		return stdout, nil
	case "stderr":
		return os.Stderr, nil
	}
	fh, err := os.OpenFile(m.Config.DecisionLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("decision log: %w", err)
	}
	m.declogFh = fh
	return fh, nil
}

// startEngine loads the policies and starts the decision engine.
func (m *Main) startEngine(ctx context.Context, st *store.Store, declog io.Writer) (*pdp.Engine, error) {
	cfg := &m.Config
	eng, err := pdp.New(ctx, st, pdp.Config{
		Policies:          pdp.Source{Dir: cfg.PoliciesDir, Extra: cfg.ExtraPaths},
		WatchInterval:     cfg.WatchInterval,
		Logger:            m.Logger.With().Str("component", "pdp").Logger(),
		DecisionLog:       declog,
		AuthZENEntrypoint: cfg.AuthZENEntrypoint,
		CacheSize:         pdpCacheSize(cfg.DecisionCache),
		CacheBytes:        pdpCacheBytes(cfg.CacheBytes),
		LoginEvaluator:    cfg.LoginEvaluator,
		// Queryable decision log (issue 16).
		DecisionStore:        decisionStore(cfg, st),
		DecisionLogMode:      cfg.DecisionLogMode,
		DecisionLogRetention: cfg.DecisionLogRetention,
		DefaultDecision:      cfg.DefaultDecision,
		// The fleet (issue 14).
		MinRevisionWait: cfg.MinRevisionWait,
		MaxStaleness:    cfg.MaxStaleness,
	})
	if err != nil {
		return nil, fmt.Errorf("policies: %w", err)
	}
	m.Engine = eng
	return eng, nil
}

// startDecisionListener serves the decision API (pdp/api). It reaches
// the password login of the change service through
// pdpapi.PasswordLogins: pdp/api never imports admin.
func (m *Main) startDecisionListener(eng *pdp.Engine, st *store.Store, decisionTLS *tls.Config) error {
	cfg := &m.Config
	m.passwords = admin.NewPasswordLogin(eng, st)
	decisionHandler := pdpapi.New(eng, pdpapi.Options{Passwords: m.passwords}).Handler()
	if cfg.DecisionToken != "" {
		decisionHandler = pdpapi.RequireBearer(cfg.DecisionToken, decisionHandler)
	}
	url, err := m.listen(cfg.DecisionAddr, decisionHandler, "decision", decisionTLS)
	if err != nil {
		return err
	}
	if decisionTLS == nil || decisionTLS.ClientAuth != tls.RequireAndVerifyClientCert {
		if cfg.DecisionToken == "" && !isLoopback(url) {
			m.Logger.Warn().Str("listener", "decision").Str("url", url).
				Msg("the decision listener accepts anyone who reaches it: set ADGANG_DECISION_TOKEN or --tls-client-ca")
		}
	}
	m.DecisionURL = url
	return nil
}

// startJobs starts the lifecycle runner and the outbox delivery when
// configured; Close stops them.
func (m *Main) startJobs(st *store.Store, eng *pdp.Engine, adm *admin.Service) {
	if m.fleetLog != nil {
		m.leaseJobs(func() { m.runJobs(st, eng, adm) })
		return
	}
	m.runJobs(st, eng, adm)
}

// runJobs starts the lifecycle jobs and the outbox delivery.
func (m *Main) runJobs(st *store.Store, eng *pdp.Engine, adm *admin.Service) {
	cfg := &m.Config
	if cfg.LifecycleInterval > 0 {
		runner := &lifecycle.Runner{Store: st, Policy: eng, Interval: cfg.LifecycleInterval,
			Logger: m.Logger.With().Str("component", "lifecycle").Logger(),
			// L4 warnings also notify the org's administrators (the mail goes out already).
			Notify: func(tx *store.Tx, n store.Notification) error { return adm.Notify(tx, n, false) }}
		lctx, cancel := context.WithCancel(context.Background())
		m.stopLifecycle, m.lifecycleDone = cancel, make(chan struct{})
		go func() { defer close(m.lifecycleDone); runner.Start(lctx) }()
	}
	if cfg.SMTPAddr != "" {
		d := &outbox.Deliverer{Store: st, Addr: cfg.SMTPAddr, From: cfg.SMTPFrom, Username: cfg.SMTPUsername,
			Password: cfg.SMTPPassword, Interval: cfg.SMTPInterval, Logger: m.Logger.With().Str("component", "outbox").Logger()}
		octx, cancel := context.WithCancel(context.Background())
		m.stopOutbox, m.outboxDone = cancel, make(chan struct{})
		go func() { defer close(m.outboxDone); d.Start(octx) }()
		m.Logger.Info().Str("smtp_addr", cfg.SMTPAddr).Msg("outbox delivery on")
	}
}

// stopJobs stops the lifecycle jobs and the outbox delivery, if running.
func (m *Main) stopJobs() {
	if m.stopLifecycle != nil {
		m.stopLifecycle()
		<-m.lifecycleDone // a lifecycle action finishes its transaction first
		m.stopLifecycle = nil
	}
	if m.stopOutbox != nil {
		m.stopOutbox() // a send in progress is cut off; the mail stays pending
		<-m.outboxDone
		m.stopOutbox = nil
	}
}

// listen serves h on addr, over TLS when tlsCfg is set. It warns when a
// listener reachable from other hosts serves plain HTTP.
func (m *Main) listen(addr string, h http.Handler, name string, tlsCfg *tls.Config) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("%s listener: %w", name, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, TLSConfig: tlsCfg,
		ErrorLog: log.New(debugWriter{m.Logger.With().Str("listener", name).Logger()}, "", 0)} // e.g. failed TLS handshakes
	m.servers = append(m.servers, srv)
	scheme := "http://"
	if tlsCfg != nil {
		scheme = "https://"
		ln = tls.NewListener(ln, tlsCfg)
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error().Err(err).Str("listener", name).Msg("listener stopped")
		}
	}()
	url := scheme + ln.Addr().String()
	m.Logger.Info().Str("listener", name).Str("url", url).Bool("tls", tlsCfg != nil).Msg("listening")
	if tlsCfg == nil && !isLoopback(url) {
		m.Logger.Warn().Str("listener", name).Str("url", url).
			Msg("listener binds a non-loopback address without TLS: credentials and answers cross the network in clear; set --tls-cert and --tls-key")
	}
	return url, nil
}

// debugWriter turns net/http's server log lines (failed TLS handshakes,
// mostly: the client's problem) into debug log entries.
type debugWriter struct{ l zerolog.Logger }

func (d debugWriter) Write(p []byte) (int, error) {
	d.l.Debug().Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}

// listenerTLS builds the TLS configurations of the admin and decision
// listeners from --tls-cert, --tls-key and --tls-client-ca: both nil
// without a certificate; with --tls-client-ca the decision listener
// requires a client certificate signed by one of its CAs.
func listenerTLS(cfg *Config) (admin, decision *tls.Config, err error) {
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, nil, errors.New("--tls-cert and --tls-key go together")
	}
	if cfg.TLSCert == "" {
		if cfg.TLSClientCA != "" {
			return nil, nil, errors.New("--tls-client-ca needs --tls-cert and --tls-key (client certificates are checked in TLS)")
		}
		return nil, nil, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	admin = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	decision = admin.Clone()
	if cfg.TLSClientCA != "" {
		pem, err := os.ReadFile(cfg.TLSClientCA)
		if err != nil {
			return nil, nil, fmt.Errorf("--tls-client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("--tls-client-ca: %s holds no PEM certificate", cfg.TLSClientCA)
		}
		decision.ClientCAs, decision.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return admin, decision, nil
}

// isLoopback reports whether a listener URL's host is a loopback address
// (an unspecified address such as 0.0.0.0 or [::] is not: it binds all).
func isLoopback(url string) bool {
	_, hostport, _ := strings.Cut(url, "://")
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Close shuts the listeners down, stops the engine and closes the store
// last, so every acknowledged write is on disk.
func (m *Main) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), m.grace())
	defer cancel()
	var errs []error
	for _, s := range m.servers {
		if err := s.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	m.servers = nil
	if m.stopLease != nil {
		m.stopLease() // stops the jobs and gives the lease up
		<-m.leaseDone
		m.stopLease = nil
	}
	m.stopJobs()
	if m.admin != nil {
		errs = append(errs, m.admin.Close())
		m.admin = nil
	}
	if m.Engine != nil {
		errs = append(errs, m.Engine.Close())
		m.Engine = nil
	}
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
		m.Store = nil
	}
	if m.declogFh != nil {
		errs = append(errs, m.declogFh.Close())
		m.declogFh = nil
	}
	return errors.Join(errs...)
}

// loadOrCreateKey reads a 32-byte secret, creating it (0600) on first use.
func loadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		key, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) < 16 {
			return nil, fmt.Errorf("%s: not a hex key of at least 16 bytes", path)
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	// Durable before use: losing the key would orphan every CPR hash.
	tmp := path + ".tmp"
	fh, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("write CPR key: %w", err)
	}
	if _, err := fh.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		fh.Close()
		return nil, fmt.Errorf("write CPR key: %w", err)
	}
	if err := errors.Join(fh.Sync(), fh.Close(), os.Rename(tmp, path)); err != nil {
		return nil, fmt.Errorf("write CPR key: %w", err)
	}
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		_ = dir.Sync()
		dir.Close()
	}
	return key, nil
}

// pdpCacheBytes maps --decision-cache-bytes (0 = off) onto
// pdp.Config.CacheBytes (0 = default, negative = off).
func pdpCacheBytes(n int64) int64 {
	if n <= 0 {
		return -1
	}
	return n
}

// pdpCacheSize maps --decision-cache (0 = off) onto pdp.Config.CacheSize
// (0 = default, negative = off).
func pdpCacheSize(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// decisionStore is the stored decision log's store: st when
// --decision-log-store is on, else nil (off).
func decisionStore(cfg *Config, st *store.Store) pdp.DecisionLogStore {
	if !cfg.DecisionLogStore {
		return nil
	}
	return st
}
