package openziti

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idcon/idcon/backend"
)

// How idcon signs in to a controller (README "Sign in"; the exchanges are
// recorded from a real v2.0.3 controller in testdata/signin):
//
//   - GET /edge/management/v1/version: a controller whose capabilities
//     name OIDC_AUTH is signed in to with OIDC, as the v2 ziti CLI does
//     (sdk-golang edge-apis EdgeOidcAuthenticator): the authorization-code
//     flow with PKCE of the public client "native", the password posted to
//     /oidc/login/password, a TOTP code to /oidc/login/totp when the answer
//     says Totp-Required, the code traded at /oidc/oauth/token. The access
//     token (RS256, 30 minutes) goes as Authorization: Bearer; the refresh
//     token (24 hours) renews it at the same token endpoint
//     (grant_type=refresh_token) before it expires.
//   - Other controllers get the legacy POST /authenticate?method=password
//     session (zt-session), and POST /authenticate/mfa for a second factor.
//   - A ziti CLI session (ziti-cli.json) is used as it is: its access token
//     while it is valid, then its refresh token; idcon never writes the file.

// OIDC constants, as sdk-golang sends them.
const (
	oidcClientID    = "native"
	oidcRedirectURI = "http://localhost:8080/auth/callback"
	oidcScope       = "openid offline_access"
	capOIDC         = "OIDC_AUTH"
	// renewBefore is how long before its expiry an access token is renewed.
	renewBefore = time.Minute
	// maxAsks bounds how often one login asks again after a refusal.
	maxAsks = 5
)

// PromptKind says what a login asks the admin for.
type PromptKind int

const (
	// PromptPassword asks for the controller password of Prompt.Username.
	PromptPassword PromptKind = iota
	// PromptCode asks for the 6-digit TOTP code (or a recovery code).
	PromptCode
)

// Prompt is one question a login asks.
type Prompt struct {
	Kind       PromptKind
	Network    string // the network's name
	Controller string // its address
	Username   string
	// Retry says why it asks again ("" the first time): the controller
	// refused the previous answer.
	Retry string
	// Instead says what the admin can do rather than answer (where there
	// is no one to ask): "set passwordEnv: …", "run `ziti edge login …`".
	Instead string
}

// Asker answers a login's question: the console with a dialog, the CLI
// with a no-echo prompt or --mfa-code. An error (the admin cancelled, no
// terminal) ends the login with that error. The answer is a secret: the
// client uses it for one login and keeps it nowhere.
type Asker func(ctx context.Context, p Prompt) (string, error)

// StoredSession is a session obtained elsewhere, as the ziti CLI keeps it
// in ziti-cli.json: an OIDC access token with its refresh token, or a
// legacy zt-session token.
type StoredSession struct {
	// Source names where it came from, for messages ("ziti-cli.json entry
	// default").
	Source string
	// OIDC is true for Authorization: Bearer tokens, false for zt-session.
	OIDC          bool
	Token         string // the access token or the zt-session token
	RefreshToken  string // OIDC only; may be empty
	Username      string // who logged in, when the file says
	FixCommand    string // the command that makes a new session, for messages
	AllowPassword bool   // when it can't be renewed, ask for the password (Config.Ask) and log in
}

// apiSession is the session calls go out with.
type apiSession struct {
	node    *node // the node that issued a legacy session (nil for OIDC: valid on every node)
	oidc    bool
	token   string    // zt-session, or the OIDC access token
	refresh string    // OIDC refresh token ("" for none)
	expires time.Time // when token expires; zero: unknown (renewed on 401)
	// refreshExpires is when refresh stops working; zero: unknown.
	refreshExpires time.Time
}

// usable says whether the session's token can be sent at now.
func (s *apiSession) usable(now time.Time) bool {
	return s != nil && s.token != "" && (s.expires.IsZero() || now.Before(s.expires.Add(-renewBefore)))
}

// renewable says whether the refresh token may still work at now.
func (s *apiSession) renewable(now time.Time) bool {
	return s != nil && s.refresh != "" && (s.refreshExpires.IsZero() || now.Before(s.refreshExpires))
}

// jwtExpiry reads the exp claim of a JWT without checking its signature
// (only the controller can, and it does): zero when there is none.
func jwtExpiry(tok string) time.Time {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}
	}
	var c struct {
		Exp json.Number `json:"exp"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return time.Time{}
	}
	f, err := c.Exp.Float64()
	if err != nil || f <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(f), 0)
}

// IsJWT says whether a token has the shape of a JWS (header.claims.sig
// starting "ey"), as the ziti CLI tells OIDC tokens from legacy ones.
func IsJWT(tok string) bool {
	return strings.HasPrefix(tok, "ey") && strings.Count(tok, ".") == 2
}

// sessionFromStored turns a stored session into the client's first one.
func sessionFromStored(st *StoredSession) *apiSession {
	s := &apiSession{oidc: st.OIDC, token: st.Token, refresh: st.RefreshToken}
	if s.oidc {
		s.expires = jwtExpiry(st.Token)
		s.refreshExpires = jwtExpiry(st.RefreshToken)
	}
	return s
}

// signedInWithOIDC says whether the current session is an OIDC one.
func (c *Client) signedInWithOIDC() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess != nil && c.sess.oidc
}

// usesOIDC asks the controller once whether it offers OIDC (its /version
// capabilities name OIDC_AUTH).
func (c *Client) usesOIDC(ctx context.Context) (bool, error) {
	c.capMu.Lock()
	defer c.capMu.Unlock()
	if c.capKnown {
		return c.capOIDC, nil
	}
	status, _, body, err := c.send(ctx, http.MethodGet, "/version", nil, nil, nil)
	if err != nil {
		return false, err
	}
	if status != http.StatusOK {
		return false, decodeAPIError(status, body, true).classify("read the controller's version")
	}
	var v envelope[struct {
		Capabilities []string `json:"capabilities"`
	}]
	if err := json.Unmarshal(body, &v); err != nil {
		return false, backend.Unavailable("the controller's /version answer could not be read: %v", err)
	}
	c.capOIDC, c.capKnown = slices.Contains(v.Data.Capabilities, capOIDC), true
	return c.capOIDC, nil
}

// login makes a new session with the configured credentials.
func (c *Client) login(ctx context.Context) (*apiSession, error) {
	switch c.method {
	case "session":
		token, err := c.cfg.Session(ctx)
		if err != nil {
			return nil, err
		}
		return &apiSession{oidc: IsJWT(token), token: token, expires: jwtExpiry(token)}, nil
	case "stored":
		st := c.cfg.Stored
		if !st.AllowPassword || c.cfg.Ask == nil || st.Username == "" {
			return nil, backend.Forbidden("the %s session for %s has expired and can't be renewed: log in again with `%s`", st.Source, c.cfg.Controller, st.FixCommand)
		}
		return c.passwordLogin(ctx, st.Username, "")
	case "cert":
		token, err := c.legacyLogin(ctx, nil, "the certificate")
		if err != nil {
			return nil, err
		}
		return &apiSession{token: token}, nil
	}
	return c.passwordLogin(ctx, c.cfg.Username, c.cfg.Password)
}

// passwordLogin logs in as username with password, asking for it (and
// again after a refusal) when it is "" and the client can ask.
func (c *Client) passwordLogin(ctx context.Context, username, password string) (*apiSession, error) {
	oidc, err := c.usesOIDC(ctx)
	if err != nil {
		return nil, err
	}
	asked := password == ""
	ask := func(retry string) (string, error) {
		if c.cfg.Ask == nil {
			return "", backend.Forbidden("network %s: no password for %q: name the environment variable that holds it with passwordEnv: in the config", c.cfg.Name, username)
		}
		instead := fmt.Sprintf("name the environment variable that holds it with passwordEnv: in network %s's entry of the config file", c.cfg.Name)
		if st := c.cfg.Stored; st != nil {
			instead = fmt.Sprintf("log in again with `%s`", st.FixCommand)
		}
		return c.cfg.Ask(ctx, Prompt{Kind: PromptPassword, Network: c.cfg.Name, Controller: c.cfg.Controller, Username: username, Retry: retry, Instead: instead})
	}
	if asked {
		if password, err = ask(""); err != nil {
			return nil, err
		}
	}
	if oidc {
		return c.oidcLogin(ctx, username, password, asked, ask)
	}
	for n := 0; ; n++ {
		body := map[string]string{"username": username, "password": password}
		token, err := c.legacyLogin(ctx, body, strconv.Quote(username))
		if err == nil {
			return &apiSession{token: token}, nil
		}
		if !asked || !errors.Is(err, errWrongPassword) || n >= maxAsks {
			return nil, err
		}
		if password, err = ask("the controller refused that password for " + strconv.Quote(username)); err != nil {
			return nil, err
		}
	}
}

// errWrongPassword is matched by a login refused for its credentials.
var errWrongPassword = errors.New("wrong password")

type wrongPasswordError struct{ err error }

func (e *wrongPasswordError) Error() string   { return e.err.Error() }
func (e *wrongPasswordError) Unwrap() []error { return []error{e.err, errWrongPassword} }

// legacyLogin is POST /authenticate (method password with body, else
// cert), with the second factor when the answer asks for one. It returns
// the zt-session token.
func (c *Client) legacyLogin(ctx context.Context, creds map[string]string, who string) (string, error) {
	method := "cert"
	var raw []byte = []byte("{}")
	if creds != nil {
		method = "password"
		raw, _ = json.Marshal(creds)
	}
	for attempt := 0; ; attempt++ {
		status, hdr, resp, err := c.send(ctx, http.MethodPost, "/authenticate", url.Values{"method": {method}}, raw, nil)
		if err != nil {
			return "", err
		}
		if status == http.StatusTooManyRequests && attempt < c.rateRetries {
			if err := c.backOff(ctx, attempt, hdr); err != nil {
				return "", err
			}
			continue
		}
		if status != http.StatusOK {
			e := decodeAPIError(status, resp, true)
			if status == http.StatusUnauthorized {
				return "", &wrongPasswordError{backend.Forbidden("the controller refused the login for %s: %s", who, e.words())}
			}
			return "", e.classify("log in")
		}
		var sess envelope[struct {
			Token       string      `json:"token"`
			AuthQueries []authQuery `json:"authQueries"`
		}]
		if err := json.Unmarshal(resp, &sess); err != nil {
			return "", backend.Unavailable("the controller's answer to the login could not be read: %v", err)
		}
		if sess.Data.Token == "" {
			return "", backend.Unavailable("the controller's answer to the login held no session token")
		}
		if len(sess.Data.AuthQueries) > 0 {
			q := sess.Data.AuthQueries[0]
			if q.TypeID != "MFA" && q.TypeID != "TOTP" {
				return "", backend.Forbidden("the controller asks for a second factor idcon doesn't know (%s %s) for %s: use an admin without it, or a client certificate", q.TypeID, q.Provider, who)
			}
			if err := c.secondFactor(ctx, who, func(code string) (int, []byte, error) {
				b, _ := json.Marshal(map[string]string{"code": code})
				st, _, body, err := c.send(ctx, http.MethodPost, "/authenticate/mfa", nil, b, &apiSession{token: sess.Data.Token})
				return st, body, err
			}); err != nil {
				return "", err
			}
		}
		return sess.Data.Token, nil
	}
}

// secondFactor asks for a TOTP code and sends it with post until the
// controller takes one (post answers its status): a refused code is said
// and asked again.
func (c *Client) secondFactor(ctx context.Context, who string, post func(code string) (int, []byte, error)) error {
	if c.cfg.Ask == nil {
		return backend.Forbidden("the controller requires a TOTP code for %s: give it with --mfa-code or IDCON_MFA_CODE, or sign in from the console", who)
	}
	retry := ""
	for n := 0; ; n++ {
		code, err := c.cfg.Ask(ctx, Prompt{Kind: PromptCode, Network: c.cfg.Name, Controller: c.cfg.Controller, Username: strings.Trim(who, `"`), Retry: retry,
			Instead: "give the code with --mfa-code or IDCON_MFA_CODE"})
		if err != nil {
			return err
		}
		code = strings.TrimSpace(code)
		status, body, err := post(code)
		if err != nil {
			return err
		}
		switch {
		case status == http.StatusOK || status == http.StatusFound:
			return nil
		case status == http.StatusBadRequest || status == http.StatusUnauthorized:
			if n >= maxAsks {
				return backend.Forbidden("the controller refused %d codes for %s: check the authenticator app's clock, or use a recovery code", n+1, who)
			}
			retry = "the controller refused that code"
		default:
			return decodeAPIError(status, body, true).classify("check the TOTP code")
		}
	}
}

// oidcLogin runs the authorization-code flow with PKCE.
func (c *Client) oidcLogin(ctx context.Context, username, password string, asked bool, ask func(string) (string, error)) (*apiSession, error) {
	verifier := randomText(32)
	sum := sha256.Sum256([]byte(verifier))
	state, nonce := randomText(16), randomText(32)
	q := url.Values{
		"client_id": {oidcClientID}, "response_type": {"code"}, "scope": {oidcScope},
		"state": {state}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"redirect_uri": {oidcRedirectURI}, "nonce": {nonce},
	}
	status, hdr, body, err := c.sendRoot(ctx, http.MethodGet, "/oidc/authorize", q, nil, "", nil)
	if err != nil {
		return nil, err
	}
	requestID := ""
	switch status {
	case http.StatusOK:
		requestID = hdr.Get("Auth-Request-Id")
	case http.StatusFound:
		// The login page's address carries the auth request's id.
		if u, err := url.Parse(hdr.Get("Location")); err == nil {
			requestID = u.Query().Get("authRequestID")
		}
	default:
		return nil, oidcError(status, body, "start the OIDC login")
	}
	if requestID == "" {
		return nil, backend.Unavailable("the controller's OIDC authorize answer named no auth request (HTTP %d): is it an OpenZiti controller?", status)
	}

	who := strconv.Quote(username)
	for n := 0; ; n++ {
		form := url.Values{"id": {requestID}, "username": {username}, "password": {password}}
		status, hdr, body, err = c.sendRoot(ctx, http.MethodPost, "/oidc/login/password", nil, []byte(form.Encode()), "application/x-www-form-urlencoded", nil)
		if err != nil {
			return nil, err
		}
		if status != http.StatusUnauthorized && status != http.StatusBadRequest {
			break
		}
		refusal := backend.Forbidden("the controller refused the login for %s: %s", who, oidcWords(body))
		if !asked || n >= maxAsks {
			return nil, refusal
		}
		if password, err = ask("the controller refused that password for " + who); err != nil {
			return nil, err
		}
	}
	password = ""
	switch {
	case status == http.StatusFound:
	case status == http.StatusOK && hdr.Get("Totp-Required") != "":
		var aq struct {
			AuthQueries []struct {
				TypeID         string `json:"typeId"`
				IsTotpEnrolled bool   `json:"isTotpEnrolled"`
			} `json:"authQueries"`
		}
		_ = json.Unmarshal(body, &aq)
		for _, a := range aq.AuthQueries {
			if a.TypeID == "TOTP" && !a.IsTotpEnrolled {
				return nil, backend.Forbidden("the controller requires TOTP for %s, who has none enrolled yet: enrol it once with `ziti edge login %s -u %s`, then sign in here", who, c.cfg.Controller, username)
			}
		}
		err = c.secondFactor(ctx, who, func(code string) (int, []byte, error) {
			b, _ := json.Marshal(map[string]string{"id": requestID, "code": code})
			var st int
			st, hdr, body, err = c.sendRoot(ctx, http.MethodPost, "/oidc/login/totp", nil, b, "application/json", nil)
			return st, body, err
		})
		if err != nil {
			return nil, err
		}
	default:
		return nil, oidcError(status, body, "log in with OIDC")
	}

	// The callback, on the controller itself, redirects to redirect_uri
	// with the code and state. It goes to the address idcon was given,
	// whatever host the Location names (the controller's advertised
	// address, which a proxy in between may not be): the auth request
	// never leaves the configured controller.
	cb, err := url.Parse(hdr.Get("Location"))
	if err != nil || cb.Path == "" {
		return nil, backend.Unavailable("the controller's OIDC login answered with no callback to follow (HTTP %d)", status)
	}
	status, hdr, body, err = c.sendRoot(ctx, http.MethodGet, cb.Path, cb.Query(), nil, "", nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusFound {
		return nil, oidcError(status, body, "finish the OIDC login")
	}
	final, err := url.Parse(hdr.Get("Location"))
	if err != nil || !strings.HasPrefix(final.String(), oidcRedirectURI) {
		return nil, backend.Unavailable("the controller's OIDC login ended somewhere unexpected: is redirect_uri %s allowed in its configuration?", oidcRedirectURI)
	}
	if final.Query().Get("state") != state {
		return nil, backend.Unavailable("the controller's OIDC login came back with another state: try again")
	}
	code := final.Query().Get("code")
	if code == "" {
		return nil, backend.Unavailable("the controller's OIDC login came back without a code: %s", oidcWords([]byte(final.Query().Get("error_description"))))
	}
	form := url.Values{
		"grant_type": {"authorization_code"}, "client_id": {oidcClientID}, "code_verifier": {verifier},
		"code": {code}, "redirect_uri": {oidcRedirectURI},
	}
	return c.tokenRequest(ctx, form, "")
}

// refreshSession renews an OIDC session at the token endpoint with its
// refresh token.
func (c *Client) refreshSession(ctx context.Context, s *apiSession) (*apiSession, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {oidcClientID}, "refresh_token": {s.refresh}}
	return c.tokenRequest(ctx, form, s.refresh)
}

// tokenRequest posts to the token endpoint and reads the tokens.
func (c *Client) tokenRequest(ctx context.Context, form url.Values, oldRefresh string) (*apiSession, error) {
	now := c.now()
	status, _, body, err := c.sendRoot(ctx, http.MethodPost, "/oidc/oauth/token", nil, []byte(form.Encode()), "application/x-www-form-urlencoded", nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, oidcError(status, body, "get OIDC tokens")
	}
	var t struct {
		AccessToken  string  `json:"access_token"`
		RefreshToken string  `json:"refresh_token"`
		ExpiresIn    float64 `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" {
		return nil, backend.Unavailable("the controller's token answer held no access token")
	}
	s := &apiSession{oidc: true, token: t.AccessToken, refresh: t.RefreshToken}
	if s.refresh == "" {
		s.refresh = oldRefresh
	}
	if t.ExpiresIn > 0 {
		s.expires = now.Add(time.Duration(t.ExpiresIn) * time.Second)
	} else {
		s.expires = jwtExpiry(t.AccessToken)
	}
	s.refreshExpires = jwtExpiry(s.refresh)
	return s, nil
}

// oidcError words an OIDC endpoint's refusal: {error, error_description}
// from the token endpoint, {code, message} from the login endpoints.
func oidcError(status int, body []byte, what string) error {
	msg := oidcWords(body)
	switch {
	case status == http.StatusBadRequest || status == http.StatusUnauthorized || status == http.StatusForbidden:
		return backend.Forbidden("the controller refused to %s: %s", what, msg)
	case status == http.StatusNotFound:
		return backend.Unavailable("the controller has no OIDC endpoint to %s (HTTP 404): is it older than v1.0?", what)
	}
	return backend.Unavailable("the controller could not %s: HTTP %d %s", what, status, msg)
}

func oidcWords(body []byte) string {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Code        string `json:"code"`
		Message     string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil {
		switch {
		case e.Description != "":
			return e.Description
		case e.Message != "":
			return e.Message
		case e.Error != "":
			return e.Error
		}
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 120 || strings.HasPrefix(s, "<") {
		return "(no explanation)"
	}
	return s
}

func randomText(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// redactedKeys are query and form keys whose values are secrets or
// handles on a login.
var redactedKeys = map[string]bool{
	"password": true, "code": true, "code_verifier": true, "code_challenge": true, "refresh_token": true,
	"access_token": true, "id_token": true, "token": true, "subject_token": true, "state": true, "nonce": true,
	"authrequestid": true, "id": true, "client_secret": true,
}

// RedactQuery returns a query string with the values of secret keys
// replaced by REDACTED, and anything shaped like a JWT too.
func RedactQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	out := url.Values{}
	for k, vs := range q {
		for _, v := range vs {
			if redactedKeys[strings.ToLower(k)] || IsJWT(v) {
				v = "REDACTED"
			}
			out.Add(k, v)
		}
	}
	return strings.ReplaceAll(out.Encode(), "+", "%20")
}

// Exchange is one request idcon made (or, in a dry run, would make) to a
// controller, for --verbose and the console's requests pane. It holds no
// secret: secret query values are redacted, headers and login bodies are
// never kept.
type Exchange struct {
	Network string
	Method  string
	Path    string // from the server root, with the query (redacted)
	Status  int    // 0: no answer (a transport error), or not sent
	Elapsed time.Duration
	// Planned is true for a write a dry run did not send; Body is then its
	// JSON body ("" for none).
	Planned bool
	Body    string
}

// String is the exchange as --verbose prints it.
func (e Exchange) String() string {
	if e.Planned {
		s := "would send " + e.Method + " " + e.Path
		if e.Body != "" {
			s += " " + e.Body
		}
		return s
	}
	status := "no answer"
	if e.Status != 0 {
		status = strconv.Itoa(e.Status)
	}
	return fmt.Sprintf("%s %s → %s in %d ms", e.Method, e.Path, status, e.Elapsed.Milliseconds())
}
