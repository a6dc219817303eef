package openziti

import (
	"context"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

func TestNewRefusesBadConfig(t *testing.T) {
	good := Config{Name: "prod", Controller: "https://ctrl.example.org:1280", Username: "admin", Password: "secret-pw"}
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		edit func(*Config)
		want string // part of the message
	}{
		{"no name", func(c *Config) { c.Name = "" }, "network name"},
		{"no controller", func(c *Config) { c.Controller = "" }, "no controller address"},
		{"ftp scheme", func(c *Config) { c.Controller = "ftp://ctrl.example.org" }, "must be https://"},
		{"plain http to a remote host", func(c *Config) { c.Controller = "http://ctrl.example.org:1280" }, "plain http://"},
		{"a path", func(c *Config) { c.Controller = "https://ctrl.example.org/zac" }, "has a path"},
		{"a query", func(c *Config) { c.Controller = "https://ctrl.example.org?x=1" }, "without user, query or fragment"},
		{"credentials in the URL", func(c *Config) { c.Controller = "https://admin:pw@ctrl.example.org" }, "without user"},
		{"no host", func(c *Config) { c.Controller = "https://" }, "not an address"},
		{"password and certificate", func(c *Config) { c.CertFile, c.KeyFile = "a.pem", "a.key" }, "not both"},
		{"no login", func(c *Config) { c.Username, c.Password = "", "" }, "no login given"},
		{"password without username", func(c *Config) { c.Username = "" }, "needs a username"},
		{"certificate without key", func(c *Config) { c.Username, c.Password, c.CertFile = "", "", "a.pem" }, "both cert and key"},
		{"unreadable certificate", func(c *Config) {
			c.Username, c.Password, c.CertFile, c.KeyFile = "", "", "/nonexistent.pem", "/nonexistent.key"
		}, "can't load the client certificate"},
		{"missing CA file", func(c *Config) { c.CAFile = filepath.Join(dir, "missing.pem") }, "can't read the CA file"},
		{"CA file without certificates", func(c *Config) { c.CAFile = notPEM }, "holds no PEM certificate"},
		{"pinned CA without certificates", func(c *Config) { c.PinnedCA = []byte("junk") }, "pin it again"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.edit(&cfg)
			_, err := New(cfg)
			if !errors.Is(err, backend.ErrInvalid) {
				t.Fatalf("New: %v, want an invalid-input error", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %q doesn't say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret-pw") {
				t.Errorf("New: the error shows the password")
			}
		})
	}
	for _, loop := range []string{"http://127.0.0.1:1280", "http://localhost:1280", "http://[::1]:1280"} {
		cfg := good
		cfg.Controller = loop
		c, err := New(cfg)
		if err != nil {
			t.Errorf("New(%s): %v, want plain HTTP allowed on loopback", loop, err)
			continue
		}
		if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "plain HTTP") {
			t.Errorf("New(%s): warnings %q, want one about plain HTTP", loop, w)
		}
	}
	c, err := New(good)
	if err != nil {
		t.Fatal(err)
	}
	if c.NetworkID() != "ziti:prod" || len(c.Warnings()) != 0 || c.timeout != DefaultTimeout {
		t.Errorf("New: network %q, warnings %q, timeout %s", c.NetworkID(), c.Warnings(), c.timeout)
	}
}

// mustErr fails unless err has the class and says each of the words.
func mustErr(t *testing.T, what string, err error, class error, words ...string) {
	t.Helper()
	if !errors.Is(err, class) {
		t.Fatalf("%s: %v (class %v), want class %v", what, err, backend.Kind(err), class)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: %q doesn't say %q", what, err, w)
		}
	}
}

func TestControllerErrorsAreTyped(t *testing.T) {
	ctx := t.Context()
	c, f := newTestClient(t)
	net := c.NetworkID()
	exp := testEpoch.Add(48 * time.Hour)

	_, err := c.Identity(ctx, net, "no-such-id")
	mustErr(t, "unknown identity", err, backend.ErrNotFound, "no-such-id")

	f.FailNext("POST", "/enrollments", http.StatusConflict)
	_, err = c.CreateIdentity(ctx, net, model.NewIdentity{Name: "dev-1", ExpiresAt: exp})
	mustErr(t, "409 from the controller", err, backend.ErrConflict, "ENROLLMENT_EXISTS", "An enrollment already exists")
	if p, err := c.Identities(ctx, net, model.ListQuery{}); err != nil || p.Total != 0 {
		t.Errorf("a create whose token failed left %d identities (%v), want it undone", p.Total, err)
	}

	f.FailNext("POST", "/enrollments", http.StatusBadRequest)
	_, err = c.CreateIdentity(ctx, net, model.NewIdentity{Name: "dev-1", ExpiresAt: exp})
	mustErr(t, "400 COULD_NOT_VALIDATE", err, backend.ErrInvalid, "COULD_NOT_VALIDATE", "expiresAt must be in the future")

	f.FailNext("GET", "/identities", http.StatusServiceUnavailable)
	_, err = c.Identities(ctx, net, model.ListQuery{})
	mustErr(t, "503", err, backend.ErrUnavailable, "The cluster has no leader")

	f.FailNext("GET", "/identities", http.StatusServiceUnavailable)
	nets, err := c.Networks(ctx)
	if err != nil || len(nets) != 1 || nets[0].Identities != -1 || !strings.Contains(nets[0].Status, "no leader") {
		t.Errorf("Networks with the controller down: %+v, %v; want the network with Identities -1 and a status", nets, err)
	}

	// Duplicate names come back as 400 with a "duplicate" cause.
	if _, err := c.CreateIdentity(ctx, net, model.NewIdentity{Name: "dev-2", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	if got := decodeAPIError(400, []byte(`{"error":{"code":"COULD_NOT_VALIDATE","message":"The supplied request contains an invalid document","cause":{"field":"name","reason":"duplicate value 'dev-2' in unique index on identities store","value":"dev-2"}},"meta":{}}`), false).classify("create"); !errors.Is(got, backend.ErrConflict) {
		t.Errorf("a duplicate-name 400: %v, want a conflict", got)
	}
}

func TestRateLimitedRequestsAreRetried(t *testing.T) {
	c, f := newTestClient(t)
	if _, err := c.Identities(t.Context(), c.NetworkID(), model.ListQuery{}); err != nil {
		t.Fatal(err)
	}
	before := len(f.Requests())
	f.RateLimit(2)
	if _, err := c.Identities(t.Context(), c.NetworkID(), model.ListQuery{}); err != nil {
		t.Fatalf("after two 429s: %v, want the third attempt to succeed", err)
	}
	if n := len(f.Requests()) - before; n != 3 {
		t.Errorf("%d requests, want 3 (two rate-limited, one answered)", n)
	}
	f.RateLimit(100)
	_, err := c.Identities(t.Context(), c.NetworkID(), model.ListQuery{})
	mustErr(t, "persistent 429", err, backend.ErrUnavailable, "RATE_LIMITED", "try again")
}

func TestExpiredSessionIsRenewedOnce(t *testing.T) {
	c, f := newTestClient(t)
	ctx := t.Context()
	if _, err := c.Identities(ctx, c.NetworkID(), model.ListQuery{}); err != nil {
		t.Fatal(err)
	}
	f.ExpireAdminSessions() // the controller forgets the session
	if _, err := c.Identities(ctx, c.NetworkID(), model.ListQuery{}); err != nil {
		t.Fatalf("after the session expired: %v, want a transparent new login", err)
	}
	logins := 0
	for _, r := range f.Requests() {
		if strings.HasPrefix(r, "POST /oidc/login/password") {
			logins++
		}
	}
	if logins != 2 {
		t.Errorf("%d logins, want 2 (the first and one renewal)", logins)
	}

	// A password that stops working is a refusal, said once, without the
	// password.
	f.ExpireAdminSessions()
	f.SetPassword("rotated")
	_, err := c.Identities(ctx, c.NetworkID(), model.ListQuery{})
	mustErr(t, "login refused", err, backend.ErrForbidden, `"admin"`, "The authentication request failed")
	if strings.Contains(err.Error(), "admin-password") {
		t.Errorf("the error shows the password")
	}
}

// Without a way to ask (Config.Ask), a login that needs a TOTP code says
// where to give one.
func TestMFAWithoutAskerSaysHowToGiveTheCode(t *testing.T) {
	c, f := newTestClient(t)
	f.RequireMFA(true)
	_, err := c.Identities(t.Context(), c.NetworkID(), model.ListQuery{})
	mustErr(t, "MFA login", err, backend.ErrForbidden, "TOTP code", "--mfa-code", "IDCON_MFA_CODE")
}

func TestCertificateLogin(t *testing.T) {
	f := newFake(t)
	// The admin's certificate comes from a client CA the fake trusts.
	cfg := configFor(f)
	cfg.Username, cfg.Password = "", ""
	cfg.CertFile, cfg.KeyFile = f.ClientCertFiles()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Identities(t.Context(), c.NetworkID(), model.ListQuery{}); err != nil {
		t.Fatalf("certificate login: %v", err)
	}
}

func TestTransportErrors(t *testing.T) {
	ctx := t.Context()
	f := newFake(t)

	t.Run("certificate not trusted", func(t *testing.T) {
		cfg := configFor(f)
		cfg.PinnedCA = nil // the system roots don't know the fake's CA
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.Identities(ctx, c.NetworkID(), model.ListQuery{})
		mustErr(t, "untrusted certificate", err, backend.ErrUnavailable, "the controller's certificate is not trusted: set ca: in the config, or run idcon network trust ziti-test")
		if !errors.Is(err, ErrUntrusted) {
			t.Errorf("untrusted certificate: %v is not ErrUntrusted", err)
		}
		nets, err := c.Networks(ctx)
		if err != nil || nets[0].Status == "" || nets[0].Identities != -1 {
			t.Errorf("Networks with an untrusted controller: %+v, %v; want the network, unopenable, with a status", nets, err)
		}
	})

	t.Run("certificate for another name", func(t *testing.T) {
		cfg := configFor(f)
		_, port, _ := net.SplitHostPort(f.Addr())
		cfg.Controller = "https://localhost:" + port // the certificate names 127.0.0.1 only
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.Identities(ctx, c.NetworkID(), model.ListQuery{})
		mustErr(t, "wrong name", err, backend.ErrUnavailable, "not valid for this address")
	})

	t.Run("unreachable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // nothing listens there now
		cfg := configFor(f)
		cfg.Controller = "https://" + addr
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.Identities(ctx, c.NetworkID(), model.ListQuery{})
		mustErr(t, "unreachable", err, backend.ErrUnavailable, "controller unreachable", "dial tcp")
	})

	t.Run("not TLS", func(t *testing.T) {
		plain := httptest.NewServer(http.NotFoundHandler())
		defer plain.Close()
		cfg := configFor(f)
		cfg.Controller = strings.Replace(plain.URL, "http://", "https://", 1)
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.Identities(ctx, c.NetworkID(), model.ListQuery{})
		mustErr(t, "plain HTTP server", err, backend.ErrUnavailable, "did not answer with TLS")
	})

	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		slow := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer slow.Close()
		defer close(release)
		cfg := configFor(f)
		cfg.Controller = slow.URL
		cfg.PinnedCA = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: slow.Certificate().Raw})
		cfg.Timeout = 100 * time.Millisecond
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.Identities(ctx, c.NetworkID(), model.ListQuery{})
		mustErr(t, "a controller that doesn't answer", err, backend.ErrUnavailable, "did not answer in time")
	})

	t.Run("cancelled", func(t *testing.T) {
		c, err := New(configFor(f))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err = c.Identities(cctx, c.NetworkID(), model.ListQuery{})
		mustErr(t, "cancelled", err, backend.ErrUnavailable, "cancelled")
	})
}

func TestAPIErrorWords(t *testing.T) {
	cases := []struct {
		status int
		body   string
		quiet  bool
		class  error
		want   string
	}{
		{400, `{"error":{"code":"COULD_NOT_VALIDATE","message":"The supplied request contains an invalid document","causeMessage":"schema validation failed","cause":{"field":"expiresAt","reason":"must be in the future","value":"2001-01-01T00:00:00Z"}},"meta":{}}`, false,
			backend.ErrInvalid, `The supplied request contains an invalid document (COULD_NOT_VALIDATE): schema validation failed: expiresAt must be in the future (value "2001-01-01T00:00:00Z")`},
		{400, `{"error":{"code":"COULD_NOT_VALIDATE","message":"m","cause":{"field":"password","reason":"too short","value":"hunter2"}},"meta":{}}`, true,
			backend.ErrInvalid, "m (COULD_NOT_VALIDATE): password too short"},
		{404, `{"error":{"code":"NOT_FOUND","message":"The resource requested was not found or is no longer available","cause":null},"meta":{}}`, false,
			backend.ErrNotFound, "The resource requested was not found or is no longer available (NOT_FOUND)"},
		{401, `{"error":{"code":"UNAUTHORIZED","message":"not authorized","cause":""},"meta":{}}`, false,
			backend.ErrForbidden, "not authorized (UNAUTHORIZED)"},
		{409, `{"error":{"code":"CONFLICT_CANNOT_MODIFY_REFERENCED","message":"referenced"},"meta":{}}`, false,
			backend.ErrConflict, "referenced (CONFLICT_CANNOT_MODIFY_REFERENCED)"},
		{502, `<html>bad gateway</html>`, false, backend.ErrUnavailable, "HTTP 502 Bad Gateway: <html>bad gateway</html>"},
		{500, `{"error":{"code":"UNHANDLED","message":"boom","cause":{"value":{"password":"x"}}},"meta":{}}`, false, backend.ErrUnavailable, "boom (UNHANDLED)"},
	}
	for _, c := range cases {
		err := decodeAPIError(c.status, []byte(c.body), c.quiet).classify("test")
		mustErr(t, c.body, err, c.class, c.want)
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), `"password"`) {
			t.Errorf("%s: the error echoes a secret: %q", c.body, err)
		}
	}
}
