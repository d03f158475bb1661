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
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
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
)

// Config is everything `adgang serve` is configured with. Each field has a
// flag and an ADGANG_* environment variable; flags win.
type Config struct {
	DataDir           string        // --data, ADGANG_DATA (default ./data)
	DecisionAddr      string        // --decision-addr, ADGANG_DECISION_ADDR (default 127.0.0.1:8181)
	AdminAddr         string        // --admin-addr, ADGANG_ADMIN_ADDR (default 127.0.0.1:8182)
	PoliciesDir       string        // --policies, ADGANG_POLICIES (default: embedded)
	ExtraPaths        []string      // positional PATH… (Rego and data, like `opa run`)
	Demo              bool          // --demo, ADGANG_DEMO
	Console           bool          // --console, ADGANG_CONSOLE: serve the admin console at /console/ on the admin listener (default true)
	PprofAddr         string        // --pprof-addr, ADGANG_PPROF_ADDR: serve Go's pprof profiles there (default off)
	AuthZENEntrypoint string        // --authzen-entrypoint, ADGANG_AUTHZEN_ENTRYPOINT
	DecisionLog       string        // --decision-log, ADGANG_DECISION_LOG: stdout (default), stderr, off, or a file
	LogLevel          string        // --log-level, ADGANG_LOG_LEVEL (default info)
	WatchInterval     time.Duration // --watch-interval, ADGANG_WATCH_INTERVAL (default 1s)
	LifecycleInterval time.Duration // --lifecycle-interval, ADGANG_LIFECYCLE_INTERVAL (default 1h; 0 disables)
	DecisionCache     int           // --decision-cache, ADGANG_DECISION_CACHE: cached login decisions (default 300000; 0 disables)
	CacheBytes        int64         // --decision-cache-bytes, ADGANG_DECISION_CACHE_BYTES: bytes the decision cache may hold (default 128 MiB; 0 disables)
	CPRKey            []byte        // ADGANG_CPR_KEY (hex) or <data>/cpr.key, generated on first start
	EncryptionKey     []byte        // ADGANG_ENCRYPTION_KEY (hex, 16/24/32 bytes): Badger encryption at rest
	BootstrapToken    string        // ADGANG_BOOTSTRAP_TOKEN
	JWKSFile          string        // ADGANG_JWKS_FILE: enables JWT bearer tokens for the admin API
	JWTIssuer         string        // ADGANG_JWT_ISSUER
	JWTAudience       string        // ADGANG_JWT_AUDIENCE
	SMTPAddr          string        // --smtp-addr, ADGANG_SMTP_ADDR: outbox delivery (empty: none, mails stay readable via the API)
	SMTPFrom          string        // --smtp-from, ADGANG_SMTP_FROM (default adgang@localhost)
	SMTPUsername      string        // --smtp-username, ADGANG_SMTP_USERNAME
	SMTPPassword      string        // ADGANG_SMTP_PASSWORD only: a flag would show in ps
	SMTPInterval      time.Duration // --smtp-interval, ADGANG_SMTP_INTERVAL (default 10s)

	// Listener security (issue 12 finding 10).
	TLSCert       string // --tls-cert, ADGANG_TLS_CERT: PEM certificate (chain) both listeners serve TLS with
	TLSKey        string // --tls-key, ADGANG_TLS_KEY: its PEM private key
	TLSClientCA   string // --tls-client-ca, ADGANG_TLS_CLIENT_CA: PEM CA(s); the decision listener then requires client certificates they sign
	DecisionToken string // ADGANG_DECISION_TOKEN only (a flag would show in ps): Authorization: Bearer required on the decision listener

	// Disk and key safety (issue 12).
	MinFreeDisk uint64 // --min-free-disk, ADGANG_MIN_FREE_DISK: writes are refused (507) below this many free bytes (default 512MiB; 0 disables)
	CPRKeyFile  string // --cpr-key-file, ADGANG_CPR_KEY_FILE: file holding the CPR key (hex), kept outside --data

	// Queryable decision log (issue 16, S11/B7).
	DecisionLogStore     bool          // --decision-log-store on|off, ADGANG_DECISION_LOG_STORE (default off)
	DecisionLogMode      string        // --decision-log-mode lossless|best-effort, ADGANG_DECISION_LOG_MODE (default best-effort)
	DecisionLogRetention time.Duration // --decision-log-retention, ADGANG_DECISION_LOG_RETENTION (default 720h)
	// OPA Data API parity (issue 16).
	DefaultDecision string // --default-decision, ADGANG_DEFAULT_DECISION: the rule POST / evaluates (default adgang/login/decision)
	// Operations (issue 18).
	ShutdownGrace time.Duration // --shutdown-grace, ADGANG_SHUTDOWN_GRACE: how long in-flight requests may finish at shutdown (default 10s)
	ConfigFile    string        // --config, ADGANG_CONFIG: YAML file of flag settings; flags and environment override it
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func parseServeFlags(args []string, stderr io.Writer) (*Config, error) {
	cfg := &Config{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.DataDir, "data", envOr("ADGANG_DATA", "./data"), "data directory (env ADGANG_DATA)")
	fs.StringVar(&cfg.DecisionAddr, "decision-addr", envOr("ADGANG_DECISION_ADDR", "127.0.0.1:8181"), "decision API listen address (env ADGANG_DECISION_ADDR)")
	fs.StringVar(&cfg.AdminAddr, "admin-addr", envOr("ADGANG_ADMIN_ADDR", "127.0.0.1:8182"), "admin API listen address (env ADGANG_ADMIN_ADDR)")
	fs.StringVar(&cfg.PoliciesDir, "policies", envOr("ADGANG_POLICIES", ""), "policy directory, watched for changes (env ADGANG_POLICIES; default: the embedded set)")
	consoleOn, err := strconv.ParseBool(envOr("ADGANG_CONSOLE", "true"))
	if err != nil {
		return nil, errors.New("ADGANG_CONSOLE must be true or false")
	}
	fs.BoolVar(&cfg.Console, "console", consoleOn, "serve the admin console (web pages on the admin API) at /console/ on the admin listener; --console=false turns it off (env ADGANG_CONSOLE)")
	fs.StringVar(&cfg.PprofAddr, "pprof-addr", envOr("ADGANG_PPROF_ADDR", ""), "serve Go's pprof profiles on this address (off when empty; keep it private) (env ADGANG_PPROF_ADDR)")
	fs.BoolVar(&cfg.Demo, "demo", envOr("ADGANG_DEMO", "") == "true" || envOr("ADGANG_DEMO", "") == "1", "load the demo data set into an empty store (env ADGANG_DEMO)")
	fs.StringVar(&cfg.AuthZENEntrypoint, "authzen-entrypoint", envOr("ADGANG_AUTHZEN_ENTRYPOINT", ""), "rule the AuthZEN endpoints evaluate, e.g. todo/decision (env ADGANG_AUTHZEN_ENTRYPOINT; default: the login decision)")
	fs.StringVar(&cfg.DecisionLog, "decision-log", envOr("ADGANG_DECISION_LOG", "stdout"), "decision log: stdout, stderr, off or a file path (env ADGANG_DECISION_LOG)")
	fs.StringVar(&cfg.LogLevel, "log-level", envOr("ADGANG_LOG_LEVEL", "info"), "log level: debug, info, warn, error (env ADGANG_LOG_LEVEL)")
	watch, err := time.ParseDuration(envOr("ADGANG_WATCH_INTERVAL", "1s"))
	if err != nil {
		return nil, fmt.Errorf("ADGANG_WATCH_INTERVAL: %w", err)
	}
	fs.DurationVar(&cfg.WatchInterval, "watch-interval", watch, "how often the policy directory is checked for changes (env ADGANG_WATCH_INTERVAL)")
	lifecycleEvery, err := time.ParseDuration(envOr("ADGANG_LIFECYCLE_INTERVAL", "1h"))
	if err != nil {
		return nil, fmt.Errorf("ADGANG_LIFECYCLE_INTERVAL: %w", err)
	}
	cacheSize, err := strconv.Atoi(envOr("ADGANG_DECISION_CACHE", "300000"))
	if err != nil || cacheSize < 0 {
		return nil, errors.New("ADGANG_DECISION_CACHE must be a number of entries (0 disables the cache)")
	}
	fs.IntVar(&cfg.DecisionCache, "decision-cache", cacheSize, "how many login decisions are cached, each exact for its store revision and policy set; 0 disables (env ADGANG_DECISION_CACHE)")
	cacheBytes, err := strconv.ParseInt(envOr("ADGANG_DECISION_CACHE_BYTES", strconv.Itoa(pdp.DefaultCacheBytes)), 10, 64)
	if err != nil || cacheBytes < 0 {
		return nil, errors.New("ADGANG_DECISION_CACHE_BYTES must be a number of bytes (0 disables the cache)")
	}
	fs.Int64Var(&cfg.CacheBytes, "decision-cache-bytes", cacheBytes, "how many bytes the cached login decisions may hold together (approximate); 0 disables (env ADGANG_DECISION_CACHE_BYTES)")
	fs.StringVar(&cfg.SMTPAddr, "smtp-addr", envOr("ADGANG_SMTP_ADDR", ""), "SMTP server host:port the outbox is delivered to; empty: no delivery, mails stay readable via the API (env ADGANG_SMTP_ADDR)")
	fs.StringVar(&cfg.SMTPFrom, "smtp-from", envOr("ADGANG_SMTP_FROM", "adgang@localhost"), "sender address of outbox mails (env ADGANG_SMTP_FROM)")
	fs.StringVar(&cfg.SMTPUsername, "smtp-username", envOr("ADGANG_SMTP_USERNAME", ""), "SMTP PLAIN auth user, sent only over TLS or to localhost; the password comes from env ADGANG_SMTP_PASSWORD only (env ADGANG_SMTP_USERNAME)")
	smtpEvery, err := time.ParseDuration(envOr("ADGANG_SMTP_INTERVAL", "10s"))
	if err != nil {
		return nil, fmt.Errorf("ADGANG_SMTP_INTERVAL: %w", err)
	}
	fs.DurationVar(&cfg.SMTPInterval, "smtp-interval", smtpEvery, "how often pending outbox mails are sent (env ADGANG_SMTP_INTERVAL)")
	fs.DurationVar(&cfg.LifecycleInterval, "lifecycle-interval", lifecycleEvery, "how often the lifecycle jobs (L1-L5) run; 0 disables them (env ADGANG_LIFECYCLE_INTERVAL)")
	// Listener security: TLS on both listeners, client certificates and a bearer token on the decision listener.
	fs.StringVar(&cfg.TLSCert, "tls-cert", envOr("ADGANG_TLS_CERT", ""), "PEM certificate file; with --tls-key both listeners serve TLS only (env ADGANG_TLS_CERT)")
	fs.StringVar(&cfg.TLSKey, "tls-key", envOr("ADGANG_TLS_KEY", ""), "PEM private key file of --tls-cert (env ADGANG_TLS_KEY)")
	fs.StringVar(&cfg.TLSClientCA, "tls-client-ca", envOr("ADGANG_TLS_CLIENT_CA", ""), "PEM CA file: the decision listener requires client certificates signed by it; needs --tls-cert (env ADGANG_TLS_CLIENT_CA)")

	// Disk and key safety (issue 12).
	minFreeDisk := fs.String("min-free-disk", envOr("ADGANG_MIN_FREE_DISK", "512MiB"), "refuse writes (507 insufficient_storage) while the data directory's disk has less free: bytes or e.g. 512MiB, 1GiB; 0 disables (env ADGANG_MIN_FREE_DISK)")
	fs.StringVar(&cfg.CPRKeyFile, "cpr-key-file", envOr("ADGANG_CPR_KEY_FILE", ""), "file with the CPR key (hex, at least 16 bytes), kept outside --data; or env ADGANG_CPR_KEY (env ADGANG_CPR_KEY_FILE)")
	// Queryable decision log (issue 16): decisions kept in the store, optionally lossless.
	logStore := fs.String("decision-log-store", envOr("ADGANG_DECISION_LOG_STORE", "off"), "on: keep every decision (masked input, result, reasons, revision, policy) in the store, queryable at GET /v1/decisions (env ADGANG_DECISION_LOG_STORE)")
	fs.StringVar(&cfg.DecisionLogMode, "decision-log-mode", envOr("ADGANG_DECISION_LOG_MODE", pdp.DecisionLogBestEffort), "best-effort, or lossless: a decision is answered only once its stored log entry is durable, else 503 (env ADGANG_DECISION_LOG_MODE)")
	logRetention, err := time.ParseDuration(envOr("ADGANG_DECISION_LOG_RETENTION", "720h"))
	if err != nil {
		return nil, fmt.Errorf("ADGANG_DECISION_LOG_RETENTION: %w", err)
	}
	fs.StringVar(&cfg.DefaultDecision, "default-decision", envOr("ADGANG_DEFAULT_DECISION", pdp.DefaultDecision), "rule OPA's default-decision endpoint POST / evaluates, as a path (env ADGANG_DEFAULT_DECISION)")
	fs.DurationVar(&cfg.DecisionLogRetention, "decision-log-retention", logRetention, "how long stored decisions are kept; older ones are deleted by a background job (env ADGANG_DECISION_LOG_RETENTION)")
	// Operations (issue 18): shutdown grace and the configuration file.
	grace, err := time.ParseDuration(envOr("ADGANG_SHUTDOWN_GRACE", shutdownGrace.String()))
	if err != nil {
		return nil, fmt.Errorf("ADGANG_SHUTDOWN_GRACE: %w", err)
	}
	fs.DurationVar(&cfg.ShutdownGrace, "shutdown-grace", grace, "how long requests in flight may finish at shutdown; the store closes at most 5s later (env ADGANG_SHUTDOWN_GRACE)")
	fs.StringVar(&cfg.ConfigFile, "config", envOr("ADGANG_CONFIG", ""), "YAML file of settings named like the flags (data: ./data); flags and environment variables override it (env ADGANG_CONFIG)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: adgang serve [flags] [PATH…]\n\nPATH… are extra Rego and JSON/YAML data files or directories loaded beside the policy set.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := applyConfigFile(fs, cfg.ConfigFile); err != nil {
		return nil, err
	}
	if cfg.ShutdownGrace <= 0 {
		return nil, errors.New("--shutdown-grace must be positive")
	}
	switch *logStore {
	case "on", "true", "1":
		cfg.DecisionLogStore = true
	case "off", "false", "0", "":
	default:
		return nil, errors.New("--decision-log-store must be on or off")
	}
	if cfg.DecisionLogMode != pdp.DecisionLogBestEffort && cfg.DecisionLogMode != pdp.DecisionLogLossless {
		return nil, errors.New("--decision-log-mode must be lossless or best-effort")
	}
	if cfg.DecisionLogMode == pdp.DecisionLogLossless && !cfg.DecisionLogStore {
		return nil, errors.New("--decision-log-mode lossless needs --decision-log-store on")
	}
	if cfg.DecisionLogRetention <= 0 {
		return nil, errors.New("--decision-log-retention must be positive")
	}
	if cfg.MinFreeDisk, err = parseDiskSize(*minFreeDisk); err != nil {
		return nil, fmt.Errorf("--min-free-disk: %w", err)
	}
	cfg.ExtraPaths = fs.Args()
	for _, p := range cfg.ExtraPaths {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("extra path: %w", err)
		}
	}
	if cfg.CPRKey, err = cprKeyFromEnv(cfg.CPRKeyFile); err != nil {
		return nil, err
	}
	if k := os.Getenv("ADGANG_ENCRYPTION_KEY"); k != "" {
		if cfg.EncryptionKey, err = hex.DecodeString(k); err != nil {
			return nil, errors.New("ADGANG_ENCRYPTION_KEY must be hex-encoded (16, 24 or 32 bytes)")
		}
	}
	cfg.BootstrapToken = os.Getenv("ADGANG_BOOTSTRAP_TOKEN")
	cfg.DecisionToken = os.Getenv("ADGANG_DECISION_TOKEN")
	cfg.SMTPPassword = os.Getenv("ADGANG_SMTP_PASSWORD")
	if cfg.SMTPAddr != "" {
		if _, _, err := net.SplitHostPort(cfg.SMTPAddr); err != nil {
			return nil, fmt.Errorf("--smtp-addr must be host:port: %w", err)
		}
		if _, err := mail.ParseAddress(cfg.SMTPFrom); err != nil {
			return nil, fmt.Errorf("--smtp-from: %w", err)
		}
		if cfg.SMTPInterval <= 0 {
			return nil, errors.New("--smtp-interval must be positive")
		}
	}
	cfg.JWKSFile, cfg.JWTIssuer, cfg.JWTAudience = os.Getenv("ADGANG_JWKS_FILE"), os.Getenv("ADGANG_JWT_ISSUER"), os.Getenv("ADGANG_JWT_AUDIENCE")
	return cfg, nil
}

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
	st, err := store.Open(store.Config{
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
		// Queryable decision log (issue 16).
		DecisionStore:        decisionStore(cfg, st),
		DecisionLogMode:      cfg.DecisionLogMode,
		DecisionLogRetention: cfg.DecisionLogRetention,
		DefaultDecision:      cfg.DefaultDecision,
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
	decisionHandler := pdpapi.New(eng, pdpapi.Options{Passwords: admin.NewPasswordLogin(eng, st)}).Handler()
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
