package netfoundry

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/idcon/idcon/backend"
)

// renewMargin is how long before its expiry a token is replaced, so that a
// call never starts with a token about to lapse. Short-lived tokens are
// renewed once a quarter of their life is left instead.
const renewMargin = 5 * time.Minute

// tokenSource hands out the API bearer token: obtained from the account's
// OAuth2 token endpoint with the client-credentials grant, kept in memory
// only (never on disk, never in a message) and renewed before it expires.
// A ready token (NETFOUNDRY_API_TOKEN) is handed out until it expires.
type tokenSource struct {
	creds   Credentials
	scope   string
	http    *http.Client
	now     func() time.Time
	timeout time.Duration

	mu      sync.Mutex // held while fetching, so concurrent callers share one
	token   string
	renewAt time.Time // when to fetch a new one
	expires time.Time // when the current one stops working
}

// renewable reports whether a refused token can be replaced by a new one.
func (s *tokenSource) renewable() bool { return s.creds.Token == "" }

// get returns a token valid for a while yet, fetching one when needed.
func (s *tokenSource) get(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.creds.Token != "" {
		return s.ready(now)
	}
	if s.token != "" && now.Before(s.renewAt) {
		return s.token, nil
	}
	tok, lifetime, err := s.fetch(ctx)
	if err != nil {
		return "", err
	}
	margin := min(renewMargin, lifetime/4)
	s.token, s.expires, s.renewAt = tok, now.Add(lifetime), now.Add(lifetime-margin)
	return tok, nil
}

// ready checks the ready token's expiry (read from its claims, unverified:
// the gateway is the judge; this only gives a clearer message sooner).
func (s *tokenSource) ready(now time.Time) (string, error) {
	if s.expires.IsZero() {
		s.expires = readyExpiry(s.creds.Token)
	}
	if !s.expires.IsZero() && !now.Before(s.expires) {
		return "", backend.Forbidden("the NetFoundry API token in %s expired at %s: set a fresh one, or use an API account's credentials.json instead, which idcon renews by itself", s.creds.Source, s.expires.UTC().Format(time.RFC3339))
	}
	return s.creds.Token, nil
}

// drop forgets tok after the gateway refused it, unless it was replaced.
func (s *tokenSource) drop(tok string) {
	s.mu.Lock()
	if s.token == tok {
		s.token = ""
	}
	s.mu.Unlock()
}

// tokenAnswer is the token endpoint's success answer.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	TokenType   string `json:"token_type"`
}

// fetch asks the token endpoint for a new token and its lifetime.
func (s *tokenSource) fetch(ctx context.Context) (string, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {s.scope}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.creds.AuthURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, backend.Invalid("NetFoundry's authentication URL %q in %s is not usable: %v", s.creds.AuthURL, s.creds.Source, err)
	}
	req.SetBasicAuth(s.creds.ClientID, s.creds.Password)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		return "", 0, transportError(ctx, err, "NetFoundry's sign-in service", hostOf(s.creds.AuthURL), s.timeout)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", 0, transportError(ctx, err, "NetFoundry's sign-in service", hostOf(s.creds.AuthURL), s.timeout)
	}
	switch {
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		// Cognito answers a wrong secret and a deleted account alike:
		// 400 invalid_client.
		return "", 0, backend.Forbidden("NetFoundry refused the %s: the client ID or password is wrong, or the account was deleted; download a new credentials.json from the NetFoundry console (Organization → Manage API Accounts)", s.creds.Account())
	case resp.StatusCode != http.StatusOK:
		return "", 0, backend.Unavailable("NetFoundry's sign-in service at %s answered HTTP %d", hostOf(s.creds.AuthURL), resp.StatusCode)
	}
	var a tokenAnswer
	if err := json.Unmarshal(body, &a); err != nil || a.AccessToken == "" {
		return "", 0, backend.Unavailable("NetFoundry's sign-in service at %s gave no token", hostOf(s.creds.AuthURL))
	}
	if a.TokenType != "" && !strings.EqualFold(a.TokenType, "bearer") {
		return "", 0, backend.Unavailable("NetFoundry's sign-in service at %s gave a %q token, not a bearer token", hostOf(s.creds.AuthURL), a.TokenType)
	}
	lifetime := time.Duration(a.ExpiresIn) * time.Second
	if lifetime <= 0 {
		lifetime = time.Hour // NetFoundry's tokens last an hour
	}
	return a.AccessToken, lifetime, nil
}

// readyClaims are the parts of a ready token idcon reads.
type readyClaims struct {
	jwt.RegisteredClaims
	Scope string `json:"scope"`
}

// parseReady reads a ready token's claims without verifying it (idcon has
// no key to; the gateway verifies). A token that isn't a JWT gives zero
// claims.
func parseReady(tok string) readyClaims {
	var c readyClaims
	_, _, _ = jwt.NewParser().ParseUnverified(tok, &c)
	return c
}

func readyExpiry(tok string) time.Time {
	if c := parseReady(tok); c.ExpiresAt != nil {
		return c.ExpiresAt.Time
	}
	return time.Time{}
}
