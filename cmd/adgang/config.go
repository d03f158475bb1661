package main

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/mail"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/adgang/adgang/pdp"
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
	LoginEvaluator    string        // --login-evaluator, ADGANG_LOGIN_EVALUATOR: plan (default), wasm or topdown
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
	// The fleet (issue 14).
	StoreURL        string        // --store, ADGANG_STORE: "" or badger (the embedded store), or postgres://… (the fleet's system of record)
	MinRevisionWait time.Duration // --min-revision-wait, ADGANG_MIN_REVISION_WAIT: how long a min_revision waits (default 1s)
	MaxStaleness    time.Duration // --max-staleness, ADGANG_MAX_STALENESS: refuse decisions from a replica older than this (default 0: off)
}

// envOr is the environment variable name, or def when it is unset or empty.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// envDuration is the duration in the environment variable name, or def.
func envDuration(name, def string) (time.Duration, error) {
	d, err := time.ParseDuration(envOr(name, def))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}

// serveFlagText holds the flags that are read as text and checked after
// parsing, since the config file may still set them.
type serveFlagText struct {
	minFreeDisk string // --min-free-disk: bytes or e.g. 512MiB
	logStore    string // --decision-log-store: on or off
}

// parseServeFlags is the Config of `adgang serve`: defaults, then the
// --config file, then ADGANG_* environment variables, then flags win. A
// malformed environment variable is an error before the flags are read.
func parseServeFlags(args []string, stderr io.Writer) (*Config, error) {
	cfg := &Config{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var text serveFlagText
	for _, define := range []func(*flag.FlagSet, *Config, *serveFlagText) error{
		defineListenerFlags, defineCacheFlags, defineSMTPFlags, defineSecurityFlags, defineDecisionLogFlags, defineOpsFlags,
		defineFleetFlags,
	} {
		if err := define(fs, cfg, &text); err != nil {
			return nil, err
		}
	}
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
	if err := cfg.checkFlags(text, fs.Args()); err != nil {
		return nil, err
	}
	if err := cfg.checkFleet(); err != nil {
		return nil, err
	}
	if err := cfg.readSecrets(); err != nil {
		return nil, err
	}
	if err := cfg.checkSMTP(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// defineListenerFlags defines the data directory, the listeners, the
// policies and logs, and the intervals of the watcher and lifecycle jobs.
func defineListenerFlags(fs *flag.FlagSet, cfg *Config, _ *serveFlagText) error {
	fs.StringVar(&cfg.DataDir, "data", envOr("ADGANG_DATA", "./data"), "data directory (env ADGANG_DATA)")
	fs.StringVar(&cfg.DecisionAddr, "decision-addr", envOr("ADGANG_DECISION_ADDR", "127.0.0.1:8181"), "decision API listen address (env ADGANG_DECISION_ADDR)")
	fs.StringVar(&cfg.AdminAddr, "admin-addr", envOr("ADGANG_ADMIN_ADDR", "127.0.0.1:8182"), "admin API listen address (env ADGANG_ADMIN_ADDR)")
	fs.StringVar(&cfg.PoliciesDir, "policies", envOr("ADGANG_POLICIES", ""), "policy directory, watched for changes (env ADGANG_POLICIES; default: the embedded set)")
	consoleOn, err := strconv.ParseBool(envOr("ADGANG_CONSOLE", "true"))
	if err != nil {
		return errors.New("ADGANG_CONSOLE must be true or false")
	}
	fs.BoolVar(&cfg.Console, "console", consoleOn, "serve the admin console (web pages on the admin API) at /console/ on the admin listener; --console=false turns it off (env ADGANG_CONSOLE)")
	fs.StringVar(&cfg.PprofAddr, "pprof-addr", envOr("ADGANG_PPROF_ADDR", ""), "serve Go's pprof profiles on this address (off when empty; keep it private) (env ADGANG_PPROF_ADDR)")
	fs.BoolVar(&cfg.Demo, "demo", envOr("ADGANG_DEMO", "") == "true" || envOr("ADGANG_DEMO", "") == "1", "load the demo data set into an empty store (env ADGANG_DEMO)")
	fs.StringVar(&cfg.AuthZENEntrypoint, "authzen-entrypoint", envOr("ADGANG_AUTHZEN_ENTRYPOINT", ""), "rule the AuthZEN endpoints evaluate, e.g. todo/decision (env ADGANG_AUTHZEN_ENTRYPOINT; default: the login decision)")
	fs.StringVar(&cfg.DecisionLog, "decision-log", envOr("ADGANG_DECISION_LOG", "stdout"), "decision log: stdout, stderr, off or a file path (env ADGANG_DECISION_LOG)")
	fs.StringVar(&cfg.LogLevel, "log-level", envOr("ADGANG_LOG_LEVEL", "info"), "log level: debug, info, warn, error (env ADGANG_LOG_LEVEL)")
	watch, err := envDuration("ADGANG_WATCH_INTERVAL", "1s")
	if err != nil {
		return err
	}
	fs.DurationVar(&cfg.WatchInterval, "watch-interval", watch, "how often the policy directory is checked for changes (env ADGANG_WATCH_INTERVAL)")
	lifecycleEvery, err := envDuration("ADGANG_LIFECYCLE_INTERVAL", "1h")
	if err != nil {
		return err
	}
	fs.DurationVar(&cfg.LifecycleInterval, "lifecycle-interval", lifecycleEvery, "how often the lifecycle jobs (L1-L5) run; 0 disables them (env ADGANG_LIFECYCLE_INTERVAL)")
	return nil
}

// defineCacheFlags defines the decision cache's bounds.
func defineCacheFlags(fs *flag.FlagSet, cfg *Config, _ *serveFlagText) error {
	cacheSize, err := strconv.Atoi(envOr("ADGANG_DECISION_CACHE", "300000"))
	if err != nil || cacheSize < 0 {
		return errors.New("ADGANG_DECISION_CACHE must be a number of entries (0 disables the cache)")
	}
	fs.IntVar(&cfg.DecisionCache, "decision-cache", cacheSize, "how many login decisions are cached, each exact for its store revision and policy set; 0 disables (env ADGANG_DECISION_CACHE)")
	cacheBytes, err := strconv.ParseInt(envOr("ADGANG_DECISION_CACHE_BYTES", strconv.Itoa(pdp.DefaultCacheBytes)), 10, 64)
	if err != nil || cacheBytes < 0 {
		return errors.New("ADGANG_DECISION_CACHE_BYTES must be a number of bytes (0 disables the cache)")
	}
	fs.Int64Var(&cfg.CacheBytes, "decision-cache-bytes", cacheBytes, "how many bytes the cached login decisions may hold together (approximate); 0 disables (env ADGANG_DECISION_CACHE_BYTES)")
	fs.StringVar(&cfg.LoginEvaluator, "login-evaluator", envOr("ADGANG_LOGIN_EVALUATOR", pdp.EvaluatorPlan),
		"how login decisions are evaluated: plan (OPA's query plan of the policy set, run in Go), wasm (the set compiled to WebAssembly), each used where it answers as topdown on a check sample, or topdown (OPA's interpreter only) (env ADGANG_LOGIN_EVALUATOR)")
	return nil
}

// defineSMTPFlags defines the outbox's mail delivery.
func defineSMTPFlags(fs *flag.FlagSet, cfg *Config, _ *serveFlagText) error {
	fs.StringVar(&cfg.SMTPAddr, "smtp-addr", envOr("ADGANG_SMTP_ADDR", ""), "SMTP server host:port the outbox is delivered to; empty: no delivery, mails stay readable via the API (env ADGANG_SMTP_ADDR)")
	fs.StringVar(&cfg.SMTPFrom, "smtp-from", envOr("ADGANG_SMTP_FROM", "adgang@localhost"), "sender address of outbox mails (env ADGANG_SMTP_FROM)")
	fs.StringVar(&cfg.SMTPUsername, "smtp-username", envOr("ADGANG_SMTP_USERNAME", ""), "SMTP PLAIN auth user, sent only over TLS or to localhost; the password comes from env ADGANG_SMTP_PASSWORD only (env ADGANG_SMTP_USERNAME)")
	smtpEvery, err := envDuration("ADGANG_SMTP_INTERVAL", "10s")
	if err != nil {
		return err
	}
	fs.DurationVar(&cfg.SMTPInterval, "smtp-interval", smtpEvery, "how often pending outbox mails are sent (env ADGANG_SMTP_INTERVAL)")
	return nil
}

// defineSecurityFlags defines listener security (TLS on both listeners,
// client certificates on the decision listener) and disk and key safety
// (issue 12).
func defineSecurityFlags(fs *flag.FlagSet, cfg *Config, text *serveFlagText) error {
	fs.StringVar(&cfg.TLSCert, "tls-cert", envOr("ADGANG_TLS_CERT", ""), "PEM certificate file; with --tls-key both listeners serve TLS only (env ADGANG_TLS_CERT)")
	fs.StringVar(&cfg.TLSKey, "tls-key", envOr("ADGANG_TLS_KEY", ""), "PEM private key file of --tls-cert (env ADGANG_TLS_KEY)")
	fs.StringVar(&cfg.TLSClientCA, "tls-client-ca", envOr("ADGANG_TLS_CLIENT_CA", ""), "PEM CA file: the decision listener requires client certificates signed by it; needs --tls-cert (env ADGANG_TLS_CLIENT_CA)")
	fs.StringVar(&text.minFreeDisk, "min-free-disk", envOr("ADGANG_MIN_FREE_DISK", "512MiB"), "refuse writes (507 insufficient_storage) while the data directory's disk has less free: bytes or e.g. 512MiB, 1GiB; 0 disables (env ADGANG_MIN_FREE_DISK)")
	fs.StringVar(&cfg.CPRKeyFile, "cpr-key-file", envOr("ADGANG_CPR_KEY_FILE", ""), "file with the CPR key (hex, at least 16 bytes), kept outside --data; or env ADGANG_CPR_KEY (env ADGANG_CPR_KEY_FILE)")
	return nil
}

// defineDecisionLogFlags defines the queryable decision log (issue 16):
// decisions kept in the store, optionally lossless, and OPA's default
// decision.
func defineDecisionLogFlags(fs *flag.FlagSet, cfg *Config, text *serveFlagText) error {
	fs.StringVar(&text.logStore, "decision-log-store", envOr("ADGANG_DECISION_LOG_STORE", "off"), "on: keep every decision (masked input, result, reasons, revision, policy) in the store, queryable at GET /v1/decisions (env ADGANG_DECISION_LOG_STORE)")
	fs.StringVar(&cfg.DecisionLogMode, "decision-log-mode", envOr("ADGANG_DECISION_LOG_MODE", pdp.DecisionLogBestEffort), "best-effort, or lossless: a decision is answered only once its stored log entry is durable, else 503 (env ADGANG_DECISION_LOG_MODE)")
	logRetention, err := envDuration("ADGANG_DECISION_LOG_RETENTION", "720h")
	if err != nil {
		return err
	}
	fs.StringVar(&cfg.DefaultDecision, "default-decision", envOr("ADGANG_DEFAULT_DECISION", pdp.DefaultDecision), "rule OPA's default-decision endpoint POST / evaluates, as a path (env ADGANG_DEFAULT_DECISION)")
	fs.DurationVar(&cfg.DecisionLogRetention, "decision-log-retention", logRetention, "how long stored decisions are kept; older ones are deleted by a background job (env ADGANG_DECISION_LOG_RETENTION)")
	return nil
}

// defineOpsFlags defines operations (issue 18): the shutdown grace and
// the configuration file.
func defineOpsFlags(fs *flag.FlagSet, cfg *Config, _ *serveFlagText) error {
	grace, err := envDuration("ADGANG_SHUTDOWN_GRACE", shutdownGrace.String())
	if err != nil {
		return err
	}
	fs.DurationVar(&cfg.ShutdownGrace, "shutdown-grace", grace, "how long requests in flight may finish at shutdown; the store closes at most 5s later (env ADGANG_SHUTDOWN_GRACE)")
	fs.StringVar(&cfg.ConfigFile, "config", envOr("ADGANG_CONFIG", ""), "YAML file of settings named like the flags (data: ./data); flags and environment variables override it (env ADGANG_CONFIG)")
	return nil
}

// checkFlags checks the parsed flags and sets what is read from text,
// and the extra PATHs, which must exist.
func (cfg *Config) checkFlags(text serveFlagText, paths []string) error {
	if cfg.ShutdownGrace <= 0 {
		return errors.New("--shutdown-grace must be positive")
	}
	switch text.logStore {
	case "on", "true", "1":
		cfg.DecisionLogStore = true
	case "off", "false", "0", "":
	default:
		return errors.New("--decision-log-store must be on or off")
	}
	if cfg.LoginEvaluator != pdp.EvaluatorPlan && cfg.LoginEvaluator != pdp.EvaluatorWasm && cfg.LoginEvaluator != pdp.EvaluatorTopdown {
		return errors.New("--login-evaluator must be plan, wasm or topdown")
	}
	if cfg.DecisionLogMode != pdp.DecisionLogBestEffort && cfg.DecisionLogMode != pdp.DecisionLogLossless {
		return errors.New("--decision-log-mode must be lossless or best-effort")
	}
	if cfg.DecisionLogMode == pdp.DecisionLogLossless && !cfg.DecisionLogStore {
		return errors.New("--decision-log-mode lossless needs --decision-log-store on")
	}
	if cfg.DecisionLogRetention <= 0 {
		return errors.New("--decision-log-retention must be positive")
	}
	var err error
	if cfg.MinFreeDisk, err = parseDiskSize(text.minFreeDisk); err != nil {
		return fmt.Errorf("--min-free-disk: %w", err)
	}
	cfg.ExtraPaths = paths
	for _, p := range cfg.ExtraPaths {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("extra path: %w", err)
		}
	}
	return nil
}

// readSecrets reads the settings that have no flag, since a flag would
// show in ps: keys, tokens, the SMTP password and the JWT settings.
func (cfg *Config) readSecrets() error {
	var err error
	if cfg.CPRKey, err = cprKeyFromEnv(cfg.CPRKeyFile); err != nil {
		return err
	}
	if k := os.Getenv("ADGANG_ENCRYPTION_KEY"); k != "" {
		if cfg.EncryptionKey, err = hex.DecodeString(k); err != nil {
			return errors.New("ADGANG_ENCRYPTION_KEY must be hex-encoded (16, 24 or 32 bytes)")
		}
	}
	cfg.BootstrapToken = os.Getenv("ADGANG_BOOTSTRAP_TOKEN")
	cfg.DecisionToken = os.Getenv("ADGANG_DECISION_TOKEN")
	cfg.SMTPPassword = os.Getenv("ADGANG_SMTP_PASSWORD")
	cfg.JWKSFile, cfg.JWTIssuer, cfg.JWTAudience = os.Getenv("ADGANG_JWKS_FILE"), os.Getenv("ADGANG_JWT_ISSUER"), os.Getenv("ADGANG_JWT_AUDIENCE")
	return nil
}

// checkSMTP checks the mail settings when delivery is on.
func (cfg *Config) checkSMTP() error {
	if cfg.SMTPAddr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(cfg.SMTPAddr); err != nil {
		return fmt.Errorf("--smtp-addr must be host:port: %w", err)
	}
	if _, err := mail.ParseAddress(cfg.SMTPFrom); err != nil {
		return fmt.Errorf("--smtp-from: %w", err)
	}
	if cfg.SMTPInterval <= 0 {
		return errors.New("--smtp-interval must be positive")
	}
	return nil
}

// applyConfigFile sets the flags of fs from a YAML file of settings named
// like the flags (`data: /var/lib/adgang`, `decision-addr: …`, `log-level:
// debug`); underscores may stand for dashes. A flag given on the command
// line or through its ADGANG_* environment variable wins over the file.
// An unknown name, a value of the wrong type or --config itself in the
// file is an error. An empty path does nothing.
func applyConfigFile(fs *flag.FlagSet, path string) error {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	var settings map[string]any
	if err := yaml.Unmarshal(b, &settings); err != nil {
		return fmt.Errorf("--config %s: not a YAML mapping of settings: %w", path, err)
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	names := make([]string, 0, len(settings))
	for k := range settings {
		names = append(names, k)
	}
	sort.Strings(names)
	var errs []error
	for _, key := range names {
		name := strings.ReplaceAll(strings.ToLower(key), "_", "-")
		f := fs.Lookup(name)
		if f == nil || name == "config" {
			errs = append(errs, fmt.Errorf("--config %s: unknown setting %q (settings are named like the flags of `adgang serve -h`)", path, key))
			continue
		}
		env := "ADGANG_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		if given[name] || os.Getenv(env) != "" {
			continue // the command line and the environment win
		}
		var value string
		switch v := settings[key].(type) {
		case nil:
			continue
		case string:
			value = v
		case bool, int, int64, uint64, float64:
			value = fmt.Sprint(v)
		default:
			errs = append(errs, fmt.Errorf("--config %s: %s must be a single value", path, key))
			continue
		}
		if err := fs.Set(name, value); err != nil {
			errs = append(errs, fmt.Errorf("--config %s: %s: %w", path, key, err))
		}
	}
	return errors.Join(errs...)
}
