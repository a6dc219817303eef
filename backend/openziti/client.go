// Package openziti is idcon's backend for an OpenZiti network: it manages
// the identities and enrollments of one controller through its Edge
// Management API (/edge/management/v1) over HTTPS. One controller is one
// network in idcon's picker.
package openziti

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// DefaultTimeout bounds each backend call (all the requests it makes,
// retries included) unless Config.Timeout says otherwise.
const DefaultTimeout = 15 * time.Second

// Kind is the model.Network.Kind of networks this backend serves.
const Kind = "openziti"

// apiPath is where the Edge Management API lives on a controller.
const apiPath = "/edge/management/v1"

// Config says how to reach and log in to one controller.
type Config struct {
	Name string // the network's name in the picker
	// Controller is the controller's address, e.g. https://ctrl.example.org:1280.
	// Plain http:// is refused except on loopback, where Client.Warnings
	// says it is in use.
	Controller string
	// CAFile is a PEM bundle of CAs to trust for the controller; PinnedCA is
	// the controller's own CA as FetchCA returned it and the admin confirmed.
	// With neither, the system's roots are used.
	CAFile   string
	PinnedCA []byte
	// Username and Password log in with the password (OIDC where the
	// controller offers it, else method=password); CertFile and KeyFile log
	// in with method=cert instead. Exactly one is given. Username without
	// Password asks Ask for it.
	Username, Password string
	CertFile, KeyFile  string
	// Session, when set, replaces the login: it returns a session token
	// obtained elsewhere (NetFoundry exchanges its API token for one) and is
	// called again when the controller answers 401. Controller may then end
	// in /edge/management/v1, as such services report it.
	Session func(ctx context.Context) (token string, err error)
	// Stored, when set, is the session to use first (a ziti CLI login),
	// renewed with its refresh token; Username and Password then stay
	// empty. See StoredSession for what happens when it can't be renewed.
	Stored *StoredSession
	// Ask, when set, is asked for a password the configuration doesn't
	// give (Username without Password) and for a TOTP code when the
	// controller wants one. Without it such a login fails saying what to
	// set (the SSH server never asks).
	Ask Asker
	// Observe, when set, is told of every request made to the controller
	// (--verbose, the console's requests pane). It is called from the
	// goroutine making the request and must not block.
	Observe func(Exchange)
	// ReadOnly refuses every change (a ziti CLI login marked read-only, as
	// `ziti edge login --token` marks it): only reads are sent.
	ReadOnly bool
	// Controllers names more nodes of the same HA cluster beside
	// Controller (docs/CONTROLLERS.md); the others are read from the
	// cluster's own node list (GET /controllers) after login.
	Controllers []string
	// NodeCache, when set, is a file where the client keeps the node URLs
	// it learned from GET /controllers, and reads them back when it
	// starts: the next run (a CLI command) of a network naming one node
	// then reaches the others while that node is down (nodecache.go).
	NodeCache string
	// OnNodes, when set, is called (from a backend call's goroutine, and
	// must not block) when a node goes down or comes back, or calls move
	// to another node: Client.Nodes then says how things stand.
	OnNodes func()
	Timeout time.Duration // per call; zero means DefaultTimeout
	Now     func() time.Time
	Policy  model.ExpiryPolicy
}

// Client is a backend.Backend for one OpenZiti controller. It is safe for
// concurrent use: its sessions (the SSH server's, the TUI's) share one
// controller login.
type Client struct {
	// logins counts the logins tried, and loginErr is the last one's
	// error: a caller that waited for a login to fail gets its error
	// rather than sending the refused login again (see session).
	logins    atomic.Int64
	loginErr  error
	cfg       Config
	networkID string
	base      string   // controller URL + apiPath
	nodes     *nodeSet // the controller's nodes (one unless it is a cluster)
	http      *http.Client
	now       func() time.Time
	timeout   time.Duration
	warnings  []string
	method    string // "password", "cert", "session" or "stored"

	// rateRetries and rateWait shape the back-off on 429 RATE_LIMITED:
	// rateRetries more attempts, waiting rateWait, then twice that, ...
	rateRetries int
	rateWait    time.Duration

	mu   sync.Mutex  // guards sess; held while logging in or renewing
	sess *apiSession // nil before the first login

	capMu    sync.Mutex // guards capKnown, capOIDC
	capKnown bool
	capOIDC  bool // the controller's capabilities name OIDC_AUTH

	selfMu  sync.Mutex // guards selfID, selfSet
	selfID  string     // the identity the client is signed in as
	selfSet bool

	keyMu      sync.Mutex // guards signingKey
	signingKey string

	states stateCache // the state map of state filters (statefilter.go)
}

var _ backend.Backend = (*Client)(nil)

// New checks cfg and returns a client; it does not contact the controller
// (the first call logs in).
func New(cfg Config) (*Client, error) {
	if err := model.ValidateName(cfg.Name); err != nil {
		return nil, backend.Invalid("network name: %v", err)
	}
	base, warnings, err := controllerBase(cfg.Controller)
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg:         cfg,
		networkID:   "ziti:" + cfg.Name,
		base:        base,
		now:         cfg.Now,
		timeout:     cfg.Timeout,
		warnings:    warnings,
		rateRetries: 3,
		rateWait:    500 * time.Millisecond,
	}
	roots := []string{strings.TrimSuffix(base, apiPath)}
	for _, extra := range cfg.Controllers {
		b, w, err := controllerBase(extra)
		if err != nil {
			return nil, err
		}
		roots = append(roots, strings.TrimSuffix(b, apiPath))
		warnings = append(warnings, w...)
	}
	for _, r := range readNodeCache(cfg.NodeCache) {
		if !slices.Contains(roots, r) {
			roots = append(roots, r)
		}
	}
	c.nodes = newNodeSet(roots, cfg.OnNodes)
	c.warnings = warnings
	if c.now == nil {
		c.now = time.Now
	}
	switch {
	case cfg.Timeout < 0:
		return nil, backend.Invalid("timeout %s is negative: leave it out for %s, or give a positive duration", cfg.Timeout, DefaultTimeout)
	case cfg.Timeout == 0:
		c.timeout = DefaultTimeout
	}

	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	pwd := cfg.Username != "" || cfg.Password != ""
	crt := cfg.CertFile != "" || cfg.KeyFile != ""
	switch {
	case cfg.Stored != nil && (pwd || crt || cfg.Session != nil):
		return nil, backend.Invalid("network %s: give either a stored session or a login, not both", cfg.Name)
	case cfg.Stored != nil:
		if cfg.Stored.Token == "" && cfg.Stored.RefreshToken == "" && (!cfg.Stored.AllowPassword || cfg.Ask == nil) {
			return nil, backend.Invalid("network %s: the %s holds no session: log in again with `%s`", cfg.Name, cfg.Stored.Source, cfg.Stored.FixCommand)
		}
		c.method = "stored"
		if cfg.Stored.Token != "" || cfg.Stored.RefreshToken != "" {
			c.sess = sessionFromStored(cfg.Stored)
		}
	case cfg.Session != nil && (pwd || crt):
		return nil, backend.Invalid("network %s: give either a session source or a login, not both", cfg.Name)
	case cfg.Session != nil:
		c.method = "session"
	case pwd && crt:
		return nil, backend.Invalid("network %s: give either a username and password or a client certificate, not both", cfg.Name)
	case pwd:
		if cfg.Username == "" {
			return nil, backend.Invalid("network %s: a password login needs a username", cfg.Name)
		}
		c.method = "password"
	case crt:
		if cfg.CertFile == "" || cfg.KeyFile == "" {
			return nil, backend.Invalid("network %s: certificate login needs both cert and key files", cfg.Name)
		}
		pair, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, backend.Invalid("network %s: can't load the client certificate: %v", cfg.Name, err)
		}
		tlsConf.Certificates = []tls.Certificate{pair}
		c.method = "cert"
	default:
		return nil, backend.Invalid("network %s: no login given: set a username and password, or a client certificate", cfg.Name)
	}

	if cfg.CAFile != "" || len(cfg.PinnedCA) > 0 {
		pool := x509.NewCertPool()
		if cfg.CAFile != "" {
			b, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, backend.Invalid("network %s: can't read the CA file: %v", cfg.Name, err)
			}
			if !pool.AppendCertsFromPEM(b) {
				return nil, backend.Invalid("network %s: the CA file %s holds no PEM certificate", cfg.Name, cfg.CAFile)
			}
		}
		if len(cfg.PinnedCA) > 0 && !pool.AppendCertsFromPEM(cfg.PinnedCA) {
			return nil, backend.Invalid("network %s: the pinned CA holds no PEM certificate: fetch and pin it again", cfg.Name)
		}
		tlsConf.RootCAs = pool
	}

	c.http = &http.Client{
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:     tlsConf,
			TLSHandshakeTimeout: 10 * time.Second,
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: 8,
			IdleConnTimeout:     90 * time.Second,
		},
		// The API never redirects; following one could send the session
		// header somewhere else.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

// controllerBase checks a controller address and returns the API's base
// URL, with a warning when it is plain HTTP on loopback.
func controllerBase(controller string) (string, []string, error) {
	if strings.TrimSpace(controller) == "" {
		return "", nil, backend.Invalid("no controller address: give one like https://ctrl.example.org:1280")
	}
	u, err := url.Parse(controller)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", nil, backend.Invalid("controller %q is not an address: give one like https://ctrl.example.org:1280", controller)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", nil, backend.Invalid("controller %q must be a plain address without user, query or fragment, like https://ctrl.example.org:1280", controller)
	}
	path := strings.TrimSuffix(u.Path, "/")
	if path != "" && path != apiPath {
		return "", nil, backend.Invalid("controller %q has a path: give the address only, like https://%s", controller, u.Host)
	}
	var warnings []string
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return "", nil, backend.Invalid("controller %q uses plain http://, which would send the password and tokens unencrypted: use https:// (plain HTTP is allowed only on loopback)", controller)
		}
		warnings = append(warnings, fmt.Sprintf("the controller %s is reached over plain HTTP: allowed because it is on this machine, but use https:// in production", u.Host))
	default:
		return "", nil, backend.Invalid("controller %q: the scheme must be https://", controller)
	}
	return u.Scheme + "://" + u.Host + apiPath, warnings, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Warnings lists what the caller should tell the admin about this
// configuration (for example plain HTTP on loopback).
func (c *Client) Warnings() []string { return append([]string(nil), c.warnings...) }

// NetworkID is the ID of the one network this client serves.
func (c *Client) NetworkID() string { return c.networkID }

// Networks returns the controller's one network. A controller that can't be
// reached or refuses the login doesn't fail the picker: the network comes
// back with Identities -1 and Status saying why it can't be opened.
func (c *Client) Networks(ctx context.Context) ([]model.Network, error) {
	ctx, cancel := c.callContext(ctx)
	defer cancel()
	n := model.Network{ID: c.networkID, Name: c.cfg.Name, Kind: Kind, Identities: -1, Address: c.rootURL()}
	var page listEnvelope[identityWire]
	err := c.call(ctx, http.MethodGet, "/identities", url.Values{"limit": {"1"}}, nil, &page)
	switch {
	case err != nil && ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		return nil, err // the caller gave up: that's no news about the network
	case err != nil:
		n.Status = err.Error()
	default:
		n.Identities = int(page.Meta.Pagination.TotalCount)
	}
	c.keyMu.Lock()
	n.SigningKey = c.signingKey
	c.keyMu.Unlock()
	return []model.Network{n}, nil
}

// Close logs out of a legacy session it made (best effort) and drops idle
// connections. OIDC tokens simply expire; a stored session (the ziti
// CLI's) is never ended: it is the admin's.
func (c *Client) Close() error {
	c.states.abort()
	c.mu.Lock()
	s := c.sess
	c.sess = nil
	c.mu.Unlock()
	if s != nil && !s.oidc && s.token != "" && c.method != "stored" {
		ctx, cancel := context.WithTimeout(context.Background(), min(c.timeout, 5*time.Second))
		_, _, _, _ = c.send(ctx, http.MethodDelete, "/current-api-session", nil, nil, s)
		cancel()
	}
	c.http.CloseIdleConnections()
	return nil
}

// callContext applies the per-call deadline.
func (c *Client) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.timeout)
}

// checkNetwork refuses network IDs this client doesn't serve.
func (c *Client) checkNetwork(network string) error {
	if network != c.networkID {
		return backend.NotFound("no network %q here: this controller serves %q", network, c.networkID)
	}
	return nil
}

// noteSigningKey remembers the public key of the controller's TLS
// certificate: the controller signs enrollment tokens with that key, so it
// is what verifies them (when the client API shares the management API's
// certificate, as it does by default).
func (c *Client) noteSigningKey(state *tls.ConnectionState) {
	if state == nil || len(state.PeerCertificates) == 0 {
		return
	}
	c.keyMu.Lock()
	defer c.keyMu.Unlock()
	if c.signingKey != "" {
		return
	}
	der, err := x509.MarshalPKIXPublicKey(state.PeerCertificates[0].PublicKey)
	if err != nil {
		return
	}
	c.signingKey = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// errorsAs is errors.As for value targets, to keep call sites short.
func errorsAs[T error](err error) (T, bool) {
	var t T
	ok := errors.As(err, &t)
	return t, ok
}

// self is the identity this client is signed in as, from GET
// /current-api-session (asked once; a real controller answers it though
// the spec lists only DELETE). "" when the controller doesn't say: then
// nothing is refused as a self-reset, and the controller decides.
func (c *Client) self(ctx context.Context) (string, error) {
	c.selfMu.Lock()
	if c.selfSet {
		defer c.selfMu.Unlock()
		return c.selfID, nil
	}
	c.selfMu.Unlock()
	var cur envelope[struct {
		IdentityID string `json:"identityId"`
		Identity   struct {
			ID string `json:"id"`
		} `json:"identity"`
	}]
	err := c.call(ctx, http.MethodGet, "/current-api-session", nil, nil, &cur)
	var kind error
	switch {
	case err == nil:
	case errors.Is(err, backend.ErrNotFound), errors.Is(err, backend.ErrInvalid):
		// Not served here: unknown.
	default:
		kind = err
	}
	if kind != nil {
		return "", kind
	}
	id := cur.Data.IdentityID
	if id == "" {
		id = cur.Data.Identity.ID
	}
	c.selfMu.Lock()
	defer c.selfMu.Unlock()
	c.selfID, c.selfSet = id, true
	return id, nil
}

// knownSelf is self as far as it is known already ("" before the first
// call).
func (c *Client) knownSelf() string {
	c.selfMu.Lock()
	defer c.selfMu.Unlock()
	return c.selfID
}
