package netfoundry

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/idcon/idcon/backend"
)

// maxBody bounds what is read of one gateway answer.
const maxBody = 8 << 20

// envLabel matches the first label of an authentication URL's host:
// netfoundry-<env>-<suffix>.
var envLabel = regexp.MustCompile(`^netfoundry-([a-z0-9]+)-`)

// scopeGateway matches the gateway in a token's scope claim.
var scopeGateway = regexp.MustCompile(`^https://gateway\.([a-z0-9]+)\.netfoundry\.io/`)

// defaultGateway is the production API, for a ready token that doesn't say.
const defaultGateway = "https://gateway.production.netfoundry.io"

// gatewayFor is the API address for the credentials: the override when
// given, else derived from the environment named in the authentication
// URL's host (netfoundry-<env>-... → https://gateway.<env>.netfoundry.io),
// or, for a ready token, from its scope claim.
func gatewayFor(override string, creds Credentials) (string, error) {
	if override != "" {
		return override, nil
	}
	if creds.Token != "" {
		if m := scopeGateway.FindStringSubmatch(parseReady(creds.Token).Scope); m != nil {
			return "https://gateway." + m[1] + ".netfoundry.io", nil
		}
		return defaultGateway, nil
	}
	u, err := url.Parse(creds.AuthURL)
	if err != nil || u.Host == "" {
		return "", backend.Invalid("NetFoundry API account: the authenticationUrl %q in %s is not an address: download credentials.json again from the NetFoundry console", creds.AuthURL, creds.Source)
	}
	m := envLabel.FindStringSubmatch(strings.ToLower(u.Hostname()))
	if m == nil {
		return "", backend.Invalid("NetFoundry API account: can't tell the NetFoundry environment from the authentication host %s (expected netfoundry-<environment>-…): set netfoundry.gateway in the config file", u.Hostname())
	}
	return "https://gateway." + m[1] + ".netfoundry.io", nil
}

// checkURL accepts https:// addresses, and plain http:// on loopback only
// (for local tests), which it reports with plain. what names the address
// in messages.
func checkURL(raw, what string, pathAllowed bool) (u *url.URL, plain bool, err error) {
	u, err = url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, false, backend.Invalid("%s %q is not an address: give one like https://gateway.production.netfoundry.io", what, raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, false, backend.Invalid("%s %q must be a plain address without user, query or fragment", what, raw)
	}
	if !pathAllowed && strings.Trim(u.Path, "/") != "" {
		return nil, false, backend.Invalid("%s %q has a path: give the address only, like https://%s", what, raw, u.Host)
	}
	switch u.Scheme {
	case "https":
		return u, false, nil
	case "http":
		if isLoopback(u.Hostname()) {
			return u, true, nil
		}
		return nil, false, backend.Invalid("%s %q uses plain http://, which would send the API account and tokens unencrypted: use https:// (plain HTTP is allowed only on loopback)", what, raw)
	}
	return nil, false, backend.Invalid("%s %q: the scheme must be https://", what, raw)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return raw
}

// about says what a gateway request concerns, for its error messages.
type about struct {
	network string // the NetFoundry network ID ("" for the organisation)
	name    string // its name when known
}

func (a about) words() string {
	switch {
	case a.name != "":
		return fmt.Sprintf("network %s", a.name)
	case a.network != "":
		return fmt.Sprintf("network %s", a.network)
	}
	return "the organisation's networks"
}

// call makes one gateway request with the bearer token, decoding a 2xx
// answer into out. A refused token (401) is replaced once and the request
// repeated; other failures become one typed sentence.
func (b *Backend) call(ctx context.Context, method, path string, query url.Values, in, out any, subject about) error {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return backend.Invalid("can't encode the request: %v", err)
		}
	}
	u := b.gateway + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	for renewed := false; ; renewed = true {
		tok, err := b.tokens.get(ctx)
		if err != nil {
			return err
		}
		status, data, err := b.send(ctx, method, u, body, tok)
		if err != nil {
			return err
		}
		switch {
		case status == http.StatusUnauthorized && !renewed && b.tokens.renewable():
			b.tokens.drop(tok)
			continue
		case status >= 200 && status < 300:
			if out == nil || len(bytes.TrimSpace(data)) == 0 {
				return nil
			}
			if err := json.Unmarshal(data, out); err != nil {
				return backend.Unavailable("the NetFoundry API's answer to %s %s could not be read: %v", method, path, err)
			}
			return nil
		}
		return b.statusError(status, subject)
	}
}

// send makes one HTTP exchange with the gateway.
func (b *Backend) send(ctx context.Context, method, u string, body []byte, tok string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, backend.Invalid("can't build the request: %v", err)
	}
	req.Header.Set("Accept", "application/hal+json, application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := b.http.Do(req)
	if err != nil {
		return 0, nil, transportError(ctx, err, "the NetFoundry API", hostOf(b.gateway), b.timeout)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, transportError(ctx, err, "the NetFoundry API", hostOf(b.gateway), b.timeout)
	}
	return resp.StatusCode, data, nil
}

// statusError says a gateway refusal in one sentence. The answer's body is
// left out: it adds nothing an admin can act on.
func (b *Backend) statusError(status int, subject about) error {
	switch {
	case status == http.StatusUnauthorized:
		if !b.tokens.renewable() {
			return backend.Forbidden("NetFoundry no longer accepts the %s: set a fresh token, or use an API account's credentials.json instead", b.tokens.creds.Account())
		}
		return backend.Forbidden("NetFoundry no longer accepts the %s: it has expired or was revoked; create a new API account in the NetFoundry console (Organization → Manage API Accounts)", b.tokens.creds.Account())
	case status == http.StatusForbidden:
		return backend.Forbidden("NetFoundry doesn't let the %s see %s: ask an organisation admin to grant it access", b.tokens.creds.Account(), subject.words())
	case status == http.StatusNotFound && subject.network != "":
		return backend.NotFound("NetFoundry has no %s that this account can see (it may have been deleted): pick one from the network list", subject.words())
	case status == http.StatusTooManyRequests || status >= 500:
		return backend.Unavailable("the NetFoundry API at %s is not answering properly (HTTP %d)", hostOf(b.gateway), status)
	}
	return backend.Unavailable("the NetFoundry API at %s gave an unexpected answer (HTTP %d) about %s", hostOf(b.gateway), status, subject.words())
}

// transportError classes a failure to talk to a service at all.
func transportError(ctx context.Context, err error, who, host string, timeout time.Duration) error {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return backend.Unavailable("the request to %s was cancelled", who)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return backend.Unavailable("%s at %s did not answer within %s", who, host, timeout)
	}
	var ua x509.UnknownAuthorityError
	var ve *tls.CertificateVerificationError
	var he x509.HostnameError
	if errors.As(err, &ua) || errors.As(err, &ve) || errors.As(err, &he) {
		return backend.Unavailable("%s at %s presented a certificate this machine doesn't trust (check the address, or the proxy in between)", who, host)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return backend.Unavailable("%s at %s can't be reached (%v)", who, host, err)
}
