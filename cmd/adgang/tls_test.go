package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue signs a leaf certificate: a server one for 127.0.0.1, or a client one.
func (ca *testCA) issue(t *testing.T, cn string, server bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tlsClient trusts ca and presents the client certificate, if any.
func tlsClient(t *testing.T, ca *testCA, certPEM, keyPEM []byte) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.pem)
	cfg := &tls.Config{RootCAs: pool}
	if certPEM != nil {
		c, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}, Timeout: 30 * time.Second}
}

// TestListenerSecurity runs `adgang serve`'s own wiring (Main.Run) with
// --tls-cert, --tls-key, --tls-client-ca and ADGANG_DECISION_TOKEN: both
// listeners speak TLS only; the decision listener refuses the handshake
// without a client certificate of the CA (or with one of another CA),
// answers 401 without the right bearer token and 200 with it; /health
// stays open to a client with a certificate but no token.
func TestListenerSecurity(t *testing.T) {
	dir := t.TempDir()
	ca, rogue := newTestCA(t, "Adgang test CA"), newTestCA(t, "Rogue CA")
	srvCert, srvKey := ca.issue(t, "adgang", true)
	cliCert, cliKey := ca.issue(t, "decision client", false)
	rogueCert, rogueKey := rogue.issue(t, "rogue client", false)
	const token = "decision-secret-0123456789"

	t.Setenv("ADGANG_TLS_CERT", writeFile(t, dir, "server.pem", srvCert))
	t.Setenv("ADGANG_TLS_KEY", writeFile(t, dir, "server.key", srvKey))
	t.Setenv("ADGANG_TLS_CLIENT_CA", writeFile(t, dir, "ca.pem", ca.pem))
	t.Setenv("ADGANG_DECISION_TOKEN", token)
	cfg, err := parseServeFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLSCert == "" || cfg.TLSKey == "" || cfg.TLSClientCA == "" || cfg.DecisionToken != token {
		t.Fatalf("env not read: %+v", cfg)
	}
	cfg.DataDir = t.TempDir() // not the default ./data
	m := startMain(t, *cfg)
	if !strings.HasPrefix(m.DecisionURL, "https://") || !strings.HasPrefix(m.AdminURL, "https://") {
		t.Fatalf("listeners %s %s are not TLS", m.DecisionURL, m.AdminURL)
	}
	good := tlsClient(t, ca, cliCert, cliKey)
	get := func(c *http.Client, url, bearer string) (int, map[string]any, error) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body, nil
	}
	config := m.DecisionURL + "/.well-known/authzen-configuration"

	t.Run("no client certificate: handshake refused", func(t *testing.T) {
		if _, _, err := get(tlsClient(t, ca, nil, nil), config, token); err == nil {
			t.Fatal("a client without a certificate got an answer")
		}
	})
	t.Run("certificate of another CA: handshake refused", func(t *testing.T) {
		if _, _, err := get(tlsClient(t, ca, rogueCert, rogueKey), config, token); err == nil {
			t.Fatal("a client with a rogue certificate got an answer")
		}
	})
	t.Run("plain HTTP refused", func(t *testing.T) {
		if st, _, err := get(http.DefaultClient, strings.Replace(config, "https://", "http://", 1), token); err == nil && st == 200 {
			t.Fatal("the decision listener answered plain HTTP")
		}
	})
	for _, c := range []struct {
		name, bearer string
		status       int
	}{
		{"bearer missing", "", http.StatusUnauthorized},
		{"bearer wrong", "decision-secret-0123456788", http.StatusUnauthorized},
		{"bearer prefix of the token", "decision-secret", http.StatusUnauthorized},
		{"bearer right", token, http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, body, err := get(good, config, c.bearer)
			if err != nil {
				t.Fatal(err)
			}
			if st != c.status {
				t.Fatalf("status %d, want %d (%v)", st, c.status, body)
			}
			if st == http.StatusUnauthorized {
				if e, _ := body["error"].(map[string]any); e["code"] != "unauthorized" {
					t.Fatalf("401 body %v, want the JSON error shape", body)
				}
			}
		})
	}
	t.Run("a decision with the token", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, m.DecisionURL+"/v1/decisions/login",
			bytes.NewBufferString(`{"subject":{"id":"00000000-0000-4000-8000-000000000001","cvr":"29190011","kind":"employee","cpr_linked":true},"service":"eksamensdatabasen"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := good.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("login decision: %d", resp.StatusCode)
		}
	})
	t.Run("health open without the token", func(t *testing.T) {
		if st, body, err := get(good, m.DecisionURL+"/health", ""); err != nil || st != http.StatusOK {
			t.Fatalf("health: %d %v %v", st, body, err)
		}
	})
	t.Run("admin listener over TLS, no client certificate needed", func(t *testing.T) {
		st, _, err := get(tlsClient(t, ca, nil, nil), m.AdminURL+"/v1/rights", "")
		if err != nil || st != http.StatusUnauthorized {
			t.Fatalf("admin API over TLS: %d %v (want 401 from the admin API itself)", st, err)
		}
	})
}

// TestListenerSecurityConfig: inconsistent TLS settings stop the start
// with a clear error, and a listener on a non-loopback address without
// TLS is warned about.
func TestListenerSecurityConfig(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"cert without key", Config{TLSCert: "x.pem"}, "--tls-key"},
		{"client CA without TLS", Config{TLSClientCA: "ca.pem"}, "--tls-client-ca"},
		{"unreadable cert", Config{TLSCert: "/nonexistent.pem", TLSKey: "/nonexistent.key"}, "--tls-cert"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.cfg
			cfg.DataDir, cfg.DecisionAddr, cfg.AdminAddr, cfg.DecisionLog = t.TempDir(), "127.0.0.1:0", "127.0.0.1:0", "off"
			m := &Main{Config: cfg, Logger: zerolog.Nop()}
			err := m.Run(context.Background(), io.Discard)
			_ = m.Close()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Run = %v, want an error naming %s", err, c.want)
			}
		})
	}
	t.Run("warning for a non-loopback listener without TLS", func(t *testing.T) {
		var logs bytes.Buffer
		m := &Main{Config: Config{DataDir: t.TempDir(), DecisionAddr: "0.0.0.0:0", AdminAddr: "127.0.0.1:0", DecisionLog: "off"},
			Logger: zerolog.New(&logs)}
		if err := m.Run(context.Background(), io.Discard); err != nil {
			t.Fatal(err)
		}
		_ = m.Close()
		var decisionWarned, adminWarned bool
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, `"level":"warn"`) && strings.Contains(line, "without TLS") {
				decisionWarned = decisionWarned || strings.Contains(line, `"listener":"decision"`)
				adminWarned = adminWarned || strings.Contains(line, `"listener":"admin"`)
			}
		}
		if !decisionWarned || adminWarned {
			t.Fatalf("warned decision=%v admin=%v, want only the decision listener (0.0.0.0):\n%s", decisionWarned, adminWarned, logs.String())
		}
	})
}
