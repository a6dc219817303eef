// Package netfoundry is idcon's backend for a NetFoundry organisation: it
// signs in with an API account, lists every network of the organisation
// through NetFoundry's API gateway, and manages a network's identities by
// exchanging the API token for a session on that network's own OpenZiti
// controller, where the openziti backend does the work unchanged.
package netfoundry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/openziti"
	"github.com/idcon/idcon/model"
)

// Kind is the model.Network.Kind of NetFoundry networks.
const Kind = "netfoundry"

// IDPrefix starts the ID of every NetFoundry network in idcon, so that a
// joined backend routes them without ambiguity: "nf:" + NetFoundry's ID.
const IDPrefix = "nf:"

// DefaultTimeout bounds each call unless Config.Timeout says otherwise.
const DefaultTimeout = 20 * time.Second

// Config says where to find the API account and how to reach NetFoundry.
type Config struct {
	// CredentialsFile is netfoundry.credentials from the config file; when
	// set it must exist. Empty means search as FindCredentials does.
	CredentialsFile string
	// Gateway overrides the API address derived from the account (for
	// tests, or a private deployment).
	Gateway string
	// Lookup is the environment and current directory the search reads.
	Lookup Lookup
	// ControllerCA, when set, holds the PEM CAs trusted for the networks'
	// controllers instead of the system's roots. NetFoundry's controllers
	// have public certificates, so only tests need it.
	ControllerCA []byte
	Timeout      time.Duration // per call; zero means DefaultTimeout
	Now          func() time.Time
	Policy       model.ExpiryPolicy
}

// Backend serves every network of one NetFoundry organisation. It is safe
// for concurrent use; the API token and the controller sessions it obtains
// are shared by all callers and kept in memory only.
type Backend struct {
	cfg      Config
	gateway  string
	http     *http.Client
	tokens   *tokenSource
	timeout  time.Duration
	warnings []string

	mu     sync.Mutex
	names  map[string]string         // NetFoundry network ID → name, from the last listing
	opened map[string]*openedNetwork // NetFoundry network ID → its controller client
	closed bool
}

var _ backend.Backend = (*Backend)(nil)

// openedNetwork is one network's controller client, made on first use.
type openedNetwork struct {
	mu     sync.Mutex // held while exchanging for the first session
	client *openziti.Client
}

// New finds the credentials and checks the configuration; it doesn't
// contact NetFoundry (the first call signs in). Without a configured or
// discoverable account it returns ErrNotConfigured.
func New(cfg Config) (*Backend, error) {
	creds, err := FindCredentials(cfg.CredentialsFile, cfg.Lookup)
	if err != nil {
		return nil, err
	}
	return NewWithCredentials(cfg, creds)
}

// NewWithCredentials is New with credentials already found.
func NewWithCredentials(cfg Config, creds Credentials) (*Backend, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	timeout := cfg.Timeout
	switch {
	case timeout < 0:
		return nil, backend.Invalid("timeout %s is negative: leave it out for %s, or give a positive duration", timeout, DefaultTimeout)
	case timeout == 0:
		timeout = DefaultTimeout
	}
	var plain []string // hosts reached over plain HTTP
	if creds.Token == "" {
		au, p, err := checkURL(creds.AuthURL, "NetFoundry authentication URL", true)
		if err != nil {
			return nil, err
		}
		if p {
			plain = append(plain, au.Host)
		}
	}
	gw, err := gatewayFor(cfg.Gateway, creds)
	if err != nil {
		return nil, err
	}
	u, p, err := checkURL(gw, "NetFoundry gateway", false)
	if err != nil {
		return nil, err
	}
	if p && !slices.Contains(plain, u.Host) {
		plain = append(plain, u.Host)
	}
	var warnings []string
	if len(plain) > 0 {
		warnings = append(warnings, fmt.Sprintf("NetFoundry (%s) is reached over plain HTTP: allowed because it is on this machine, but use https:// in production", strings.Join(plain, ", ")))
	}
	if len(cfg.ControllerCA) > 0 {
		if !x509.NewCertPool().AppendCertsFromPEM(cfg.ControllerCA) {
			return nil, backend.Invalid("the controller CA holds no PEM certificate")
		}
	}
	hc := &http.Client{
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout: 10 * time.Second,
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     90 * time.Second,
		},
		// Following a redirect could carry the bearer token or the account's
		// password elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	b := &Backend{
		cfg:      cfg,
		gateway:  u.Scheme + "://" + u.Host,
		http:     hc,
		timeout:  timeout,
		warnings: warnings,
		names:    map[string]string{},
		opened:   map[string]*openedNetwork{},
	}
	b.tokens = &tokenSource{
		creds:   creds,
		scope:   b.gateway + "//ignore-scope", // ignored by NetFoundry, but must not be empty
		http:    hc,
		now:     cfg.Now,
		timeout: timeout,
	}
	return b, nil
}

// Warnings lists what the caller should tell the admin about this
// configuration (for example plain HTTP on loopback).
func (b *Backend) Warnings() []string { return append([]string(nil), b.warnings...) }

// Gateway is the API address in use.
func (b *Backend) Gateway() string { return b.gateway }

// Account names the API account in use, without secrets.
func (b *Backend) Account() string { return b.tokens.creds.Account() }

// remember keeps the names of listed networks for messages.
func (b *Backend) remember(nets []model.Network) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, n := range nets {
		b.names[strings.TrimPrefix(n.ID, IDPrefix)] = n.Name
	}
}

func (b *Backend) nameOf(nfID string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.names[nfID]
}

// exchangeAnswer is the answer to POST /core/v3/networks/{id}/exchange.
type exchangeAnswer struct {
	Value                string `json:"value"` // the controller session: a secret
	NetworkControllerURL string `json:"networkControllerUrl"`
}

// exchange trades the API token for a session on the network's controller.
func (b *Backend) exchange(ctx context.Context, nfID string) (exchangeAnswer, error) {
	var a exchangeAnswer
	subject := about{network: nfID, name: b.nameOf(nfID)}
	err := b.call(ctx, http.MethodPost, "/core/v3/networks/"+url.PathEscape(nfID)+"/exchange", nil, map[string]string{"type": "session"}, &a, subject)
	if err != nil {
		return exchangeAnswer{}, err
	}
	if a.Value == "" || a.NetworkControllerURL == "" {
		return exchangeAnswer{}, backend.Unavailable("NetFoundry gave no controller session for %s", subject.words())
	}
	return a, nil
}

// client returns the controller client of a network, opening it (checking
// its status and exchanging for a session) on first use.
func (b *Backend) client(ctx context.Context, network string) (*openziti.Client, error) {
	nfID, ok := strings.CutPrefix(network, IDPrefix)
	if !ok || nfID == "" {
		return nil, backend.NotFound("no network %q here: NetFoundry networks have IDs starting with %s", network, IDPrefix)
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, backend.Unavailable("the NetFoundry backend is closed")
	}
	o := b.opened[nfID]
	if o == nil {
		o = &openedNetwork{}
		b.opened[nfID] = o
	}
	b.mu.Unlock()

	o.mu.Lock()
	defer o.mu.Unlock()
	if o.client != nil {
		return o.client, nil
	}
	w, err := b.network(ctx, nfID)
	if err != nil {
		return nil, err
	}
	if err := openable(w); err != nil {
		return nil, err
	}
	first, err := b.exchange(ctx, nfID)
	if err != nil {
		return nil, err
	}
	name := w.Name
	if model.ValidateName(name) != nil {
		name = nfID
	}
	sess := &exchangedSession{pending: first.Value, renew: func(ctx context.Context) (string, error) {
		a, err := b.exchange(ctx, nfID)
		return a.Value, err
	}}
	c, err := openziti.New(openziti.Config{
		Name:       name,
		Controller: first.NetworkControllerURL,
		PinnedCA:   b.cfg.ControllerCA,
		Session:    sess.token,
		Timeout:    b.timeout,
		Now:        b.cfg.Now,
		Policy:     b.cfg.Policy,
	})
	if err != nil {
		return nil, backend.Unavailable("NetFoundry network %s: its controller address can't be used: %v", name, err)
	}
	o.client = c
	return c, nil
}

// exchangedSession hands the controller client its session: first the one
// obtained when opening, then a fresh exchange each time the controller
// refuses the current one.
type exchangedSession struct {
	mu      sync.Mutex
	pending string
	renew   func(ctx context.Context) (string, error)
}

func (s *exchangedSession) token(ctx context.Context) (string, error) {
	s.mu.Lock()
	tok := s.pending
	s.pending = ""
	s.mu.Unlock()
	if tok != "" {
		return tok, nil
	}
	return s.renew(ctx)
}

// Close ends the controller sessions (best effort) and drops connections.
func (b *Backend) Close() error {
	b.mu.Lock()
	b.closed = true
	opened := b.opened
	b.opened = map[string]*openedNetwork{}
	b.mu.Unlock()
	var errs []error
	for _, o := range opened {
		o.mu.Lock()
		if o.client != nil {
			errs = append(errs, o.client.Close())
		}
		o.mu.Unlock()
	}
	b.http.CloseIdleConnections()
	return errors.Join(errs...)
}
