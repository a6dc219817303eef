package zitifake

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The OIDC side of a v2.0.3 controller, as recorded in
// backend/openziti/testdata/signin (the README there lists the facts):
// GET /oidc/authorize → 302 to /oidc/login/username?authRequestID=…;
// POST /oidc/login/password (form) → 302 to /oidc/authorize/callback?id=…,
// or 200 Totp-Required with authQueries, or 401 INVALID_AUTH;
// POST /oidc/login/totp (JSON {id, code}) → 302 or 400 INVALID TOTP CODE;
// the callback → 302 to redirect_uri?code=…&state=…; POST
// /oidc/oauth/token (authorization_code with the PKCE verifier, or
// refresh_token) → access token (30 min), refresh token (24 h), ID token.
// The management API takes the access token as Authorization: Bearer.

const (
	oidcRedirect   = "http://localhost:8080/auth/callback"
	accessLifetime = 1800 * time.Second
	// refreshLifetime is the refresh token's, as recorded (exp - iat).
	refreshLifetime = 24 * time.Hour
)

// fAuthRequest is one OIDC login under way.
type fAuthRequest struct {
	id, challenge, state, nonce string
	identityID, authenticatorID string
	amr                         []string
	needTOTP                    bool
	code                        string // issued at the callback
}

// fTOTP is an identity's enrolled TOTP.
type fTOTP struct {
	secret   string
	recovery []string
}

// oidcSession is what the fake keeps per OIDC api session.
type oidcSession struct {
	id, identityID, authenticatorID string
	amr                             []string
	createdAt                       time.Time
}

// claims of the fake's access and refresh tokens, as recorded.
type oidcClaims struct {
	jwt.RegisteredClaims
	AMR      []string `json:"amr"`
	AuthTime int64    `json:"auth_time"`
	ClientID string   `json:"client_id"`
	Scopes   []string `json:"scopes"`
	ZAID     string   `json:"z_aid"`
	ZASID    string   `json:"z_asid"`
	ZAuthID  string   `json:"z_authid"`
	ZIA      bool     `json:"z_ia"`
	ZT       string   `json:"z_t"`
}

// LegacyOnly makes the fake a controller without OIDC: its /version
// capabilities don't name OIDC_AUTH and /oidc/* answers 404.
func LegacyOnly() Option { return func(o *options) { o.legacyOnly = true } }

// EnrollTOTP enrols TOTP for the named admin login (a username with a
// password authenticator) and returns its secret (base32) and recovery
// codes; with require, its logins then need a code (as under an auth
// policy with secondary.requireTotp).
func (f *Controller) EnrollTOTP(username string, require bool) (secret string, recovery []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var a *fAuthenticator
	for _, x := range f.authenticators {
		if x.method == "updb" && x.username == username {
			a = x
		}
	}
	if a == nil {
		f.t.Fatalf("zitifake: no password login %q to enrol TOTP for", username)
	}
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	secret = base32.StdEncoding.EncodeToString(b)
	for range 20 {
		rb := make([]byte, 8)
		_, _ = rand.Read(rb)
		recovery = append(recovery, strings.ReplaceAll(base32.StdEncoding.EncodeToString(rb), "=", "")[:6])
	}
	f.totp[a.identityID] = &fTOTP{secret: secret, recovery: slices.Clone(recovery)}
	if require {
		f.totpRequired[a.identityID] = true
	} else {
		delete(f.totpRequired, a.identityID)
	}
	return secret, recovery
}

// AddAdmin makes another admin identity that logs in with username and
// password, and returns its ID.
func (f *Controller) AddAdmin(name, username, password string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addAdmin(name, username, password, false)
}

// TOTPCode is the code of a TOTP secret at t (RFC 6238: SHA-1, 6 digits,
// 30-second steps), as an authenticator app shows it.
func TOTPCode(secret string, t time.Time) string {
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(strings.ToUpper(secret), "="))
	if err != nil {
		return ""
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(t.Unix()/30))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1000000)
}

// checkTOTP says whether code is the identity's current TOTP code (one
// step either side, as the controller's window allows) or one of its
// recovery codes, which is then used up (caller holds mu).
func (f *Controller) checkTOTP(identityID, code string) bool {
	t := f.totp[identityID]
	if t == nil || code == "" {
		return false
	}
	now := f.now()
	for _, d := range []time.Duration{0, -30 * time.Second, 30 * time.Second} {
		if subtle.ConstantTimeCompare([]byte(TOTPCode(t.secret, now.Add(d))), []byte(code)) == 1 {
			return true
		}
	}
	for i, rc := range t.recovery {
		if rc == code {
			t.recovery = append(t.recovery[:i], t.recovery[i+1:]...)
			return true
		}
	}
	return false
}

// IssueOIDCSession logs the admin in with OIDC directly in the fake's
// state, as `ziti edge login` would have, and returns its access and
// refresh tokens, the access token expiring at accessExpiry (which may be
// in the past: an expired ziti CLI session).
func (f *Controller) IssueOIDCSession(accessExpiry time.Time) (access, refresh string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var a *fAuthenticator
	for _, x := range f.authenticators {
		if x.identityID == f.adminID && x.method == "updb" {
			a = x
		}
	}
	s := f.newOIDCSession(a.identityID, a.id, []string{"password"})
	_, refresh = f.oidcTokens(s, "")
	access = f.signAccess(s, accessExpiry)
	f.issued = append(f.issued, access)
	return access, refresh
}

// OIDCRefreshes counts the refresh_token grants the fake has answered.
func (f *Controller) OIDCRefreshes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refreshes
}

func (f *Controller) newOIDCSession(identityID, authenticatorID string, amr []string) *oidcSession {
	s := &oidcSession{id: newUUID(), identityID: identityID, authenticatorID: authenticatorID, amr: amr, createdAt: f.stamp()}
	f.oidcSessions[s.id] = s
	return s
}

// oidcTokens makes an access token (30 min from now) and a refresh token
// (24 h) for the session, signed RS256.
func (f *Controller) oidcTokens(s *oidcSession, nonce string) (access, refresh string) {
	now := f.now()
	access = f.signAccess(s, now.Add(accessLifetime))
	refresh = f.sign(f.claims(s, "r", now, now.Add(refreshLifetime)))
	f.issued = append(f.issued, access, refresh)
	return access, refresh
}

// IssuedSecrets lists every secret the fake handed out: access, refresh
// and ID tokens, authorization codes, legacy session tokens — for tests
// that check none of them shows where it mustn't.
func (f *Controller) IssuedSecrets() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.issued)
	for _, s := range f.apiSessions {
		out = append(out, s.token)
	}
	return out
}

func (f *Controller) signAccess(s *oidcSession, exp time.Time) string {
	return f.sign(f.claims(s, "a", f.now(), exp))
}

func (f *Controller) claims(s *oidcSession, typ string, iat, exp time.Time) oidcClaims {
	i := f.identities[s.identityID]
	return oidcClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: f.URL + "/oidc", Subject: s.identityID, Audience: jwt.ClaimStrings{"native"},
			ExpiresAt: jwt.NewNumericDate(exp), IssuedAt: jwt.NewNumericDate(iat), NotBefore: jwt.NewNumericDate(iat), ID: newUUID(),
		},
		AMR: s.amr, AuthTime: s.createdAt.Unix(), ClientID: "native", Scopes: []string{"openid", "offline_access"},
		ZAID: "native", ZASID: s.id, ZAuthID: s.authenticatorID, ZIA: i != nil && i.isAdmin, ZT: typ,
	}
}

func (f *Controller) sign(c oidcClaims) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = f.oidcKid()
	s, err := tok.SignedString(f.key)
	if err != nil {
		f.t.Errorf("zitifake: sign token: %v", err)
	}
	return s
}

func (f *Controller) oidcKid() string {
	sum := sha1.Sum(f.leaf.RawSubjectPublicKeyInfo)
	return fmt.Sprintf("%x", sum)
}

// parseOIDC verifies one of the fake's tokens of type typ ("a" or "r") at
// the fake's clock and returns its session.
func (f *Controller) parseOIDC(tok, typ string) *oidcSession {
	var c oidcClaims
	_, err := jwt.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return &f.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(f.now), jwt.WithIssuer(f.URL+"/oidc"))
	if err != nil || c.ZT != typ {
		return nil
	}
	if exp, ok := f.revocations[c.Subject]; ok && exp.After(f.now()) && c.IssuedAt != nil && !c.IssuedAt.After(exp.Add(-24*time.Hour)) {
		return nil // a revocation of the identity ends its tokens issued before it
	}
	return f.oidcSessions[c.ZASID]
}

// bearerSession is the admin session of an Authorization: Bearer access
// token, as an fAPISession for the handlers (caller holds mu).
func (f *Controller) bearerSession(r *http.Request) (*fAPISession, bool) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return nil, false
	}
	s := f.parseOIDC(tok, "a")
	if s == nil {
		return nil, true
	}
	if i := f.identities[s.identityID]; i == nil || !i.isAdmin {
		return nil, true
	}
	return &fAPISession{id: s.id, identityID: s.identityID, authenticatorID: s.authenticatorID, token: tok, createdAt: s.createdAt, updatedAt: s.createdAt}, true
}

// handleOIDC serves /oidc/* (caller holds mu).
func (f *Controller) handleOIDC(r *http.Request, body []byte) (int, http.Header, []byte) {
	hdr := http.Header{}
	if f.legacyOnly {
		return http.StatusNotFound, hdr, []byte("404 page not found\n")
	}
	jsonAnswer := func(status int, v any) (int, http.Header, []byte) {
		b, _ := json.Marshal(v)
		hdr.Set("Content-Type", "application/json")
		return status, hdr, b
	}
	redirect := func(loc string) (int, http.Header, []byte) {
		hdr.Set("Location", loc)
		return http.StatusFound, hdr, nil
	}
	path := strings.TrimPrefix(r.URL.Path, "/oidc")
	switch r.Method + " " + path {
	case "GET /authorize":
		q := r.URL.Query()
		if q.Get("client_id") != "native" || q.Get("response_type") != "code" || q.Get("redirect_uri") != oidcRedirect ||
			q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || !strings.Contains(q.Get("scope"), "openid") {
			f.t.Errorf("zitifake: OIDC authorize with %s: not what the SDK sends", r.URL.RawQuery)
			return jsonAnswer(http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "bad authorize request"})
		}
		ar := &fAuthRequest{id: newUUID(), challenge: q.Get("code_challenge"), state: q.Get("state"), nonce: q.Get("nonce")}
		f.authRequests[ar.id] = ar
		hdr.Set("Content-Type", "text/html; charset=utf-8")
		return redirect("/oidc/login/username?authRequestID=" + ar.id)
	case "GET /login/username", "GET /login/password":
		id := r.URL.Query().Get("authRequestID")
		hdr.Set("Auth-Request-Id", id)
		hdr.Set("Content-Type", "text/html; charset=utf-8")
		return http.StatusOK, hdr, []byte("<!DOCTYPE html>\n<html><head><title>Login</title></head></html>\n")
	case "POST /login/password", "POST /login/username":
		form, err := url.ParseQuery(string(body))
		if err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			f.t.Errorf("zitifake: OIDC password login not sent as a form")
			return jsonAnswer(http.StatusBadRequest, map[string]string{"code": "COULD_NOT_PARSE_BODY", "message": "bad form"})
		}
		ar := f.authRequests[form.Get("id")]
		if ar == nil {
			return jsonAnswer(http.StatusBadRequest, map[string]string{"code": "INVALID_AUTH_REQUEST", "message": "auth request not found"})
		}
		var a *fAuthenticator
		for _, x := range f.authenticators {
			if x.method == "updb" && x.username == form.Get("username") && x.password == form.Get("password") && form.Get("password") != "" {
				a = x
			}
		}
		if a == nil {
			return jsonAnswer(http.StatusUnauthorized, map[string]string{"code": "INVALID_AUTH", "message": "The authentication request failed"})
		}
		ar.identityID, ar.authenticatorID, ar.amr = a.identityID, a.id, []string{"password"}
		ar.needTOTP = f.totpRequired[a.identityID]
		if ar.needTOTP {
			hdr.Set("Totp-Required", "true")
			return jsonAnswer(http.StatusOK, map[string]any{"authQueries": []any{map[string]any{
				"format": "numeric", "httpMethod": "POST", "httpUrl": "./oidc/login/totp", "isTotpEnrolled": f.totp[a.identityID] != nil,
				"maxLength": 8, "minLength": 6, "provider": "ziti", "scopes": nil, "typeId": "TOTP",
			}}})
		}
		return redirect(f.URL + "/oidc/authorize/callback?id=" + ar.id)
	case "POST /login/totp":
		var in struct{ ID, Code string }
		if err := json.Unmarshal(body, &in); err != nil {
			return jsonAnswer(http.StatusBadRequest, map[string]string{"code": "COULD_NOT_PARSE_BODY", "message": "bad body"})
		}
		ar := f.authRequests[in.ID]
		if ar == nil || ar.identityID == "" || !f.checkTOTP(ar.identityID, strings.TrimSpace(in.Code)) {
			return jsonAnswer(http.StatusBadRequest, map[string]string{"code": "INVALID TOTP CODE", "message": "an invalid TOTP code was supplied"})
		}
		ar.amr = append(ar.amr, "totp")
		ar.needTOTP = false
		return redirect(f.URL + "/oidc/authorize/callback?id=" + ar.id)
	case "GET /authorize/callback":
		ar := f.authRequests[r.URL.Query().Get("id")]
		if ar == nil || ar.identityID == "" || ar.needTOTP {
			return jsonAnswer(http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "auth request not authenticated"})
		}
		ar.code = "eyJhbGciOiJBMjU2R0NNS1ciLCJlbmMiOiJBMjU2R0NNIn0." + rand.Text() + "." + rand.Text() + "." + rand.Text() + "." + rand.Text()
		f.issued = append(f.issued, ar.code)
		hdr.Set("Content-Type", "text/html; charset=utf-8")
		return redirect(oidcRedirect + "?code=" + url.QueryEscape(ar.code) + "&state=" + url.QueryEscape(ar.state))
	case "POST /oauth/token":
		form, _ := url.ParseQuery(string(body))
		switch form.Get("grant_type") {
		case "authorization_code":
			var ar *fAuthRequest
			for _, x := range f.authRequests {
				if x.code != "" && x.code == form.Get("code") {
					ar = x
				}
			}
			sum := sha256.Sum256([]byte(form.Get("code_verifier")))
			if ar == nil || form.Get("client_id") != "native" || form.Get("redirect_uri") != oidcRedirect ||
				base64.RawURLEncoding.EncodeToString(sum[:]) != ar.challenge {
				return jsonAnswer(http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "invalid code or code verifier"})
			}
			delete(f.authRequests, ar.id)
			s := f.newOIDCSession(ar.identityID, ar.authenticatorID, ar.amr)
			access, refresh := f.oidcTokens(s, ar.nonce)
			return jsonAnswer(http.StatusOK, map[string]any{"access_token": access, "token_type": "Bearer", "refresh_token": refresh,
				"expires_in": 1799, "id_token": f.idToken(s, ar.nonce), "scope": "openid offline_access"})
		case "refresh_token":
			s := f.parseOIDC(form.Get("refresh_token"), "r")
			if s == nil || form.Get("client_id") != "native" {
				return jsonAnswer(http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "failed to parse refresh token"})
			}
			f.refreshes++
			access, refresh := f.oidcTokens(s, "")
			return jsonAnswer(http.StatusOK, map[string]any{"access_token": access, "token_type": "Bearer", "refresh_token": refresh,
				"expires_in": 1799, "id_token": f.idToken(s, ""), "scope": "openid offline_access"})
		}
		return jsonAnswer(http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type", "error_description": "grant type not supported"})
	case "GET /.well-known/openid-configuration":
		return jsonAnswer(http.StatusOK, map[string]any{"issuer": f.URL + "/oidc", "authorization_endpoint": f.URL + "/oidc/authorize",
			"token_endpoint": f.URL + "/oidc/oauth/token", "jwks_uri": f.URL + "/oidc/keys"})
	}
	return http.StatusNotFound, hdr, []byte("404 page not found\n")
}

func (f *Controller) idToken(s *oidcSession, nonce string) string {
	now := f.now()
	c := struct {
		jwt.RegisteredClaims
		AMR   []string `json:"amr"`
		Nonce string   `json:"nonce,omitempty"`
		Name  string   `json:"name"`
	}{RegisteredClaims: jwt.RegisteredClaims{Issuer: f.URL + "/oidc", Subject: s.identityID, Audience: jwt.ClaimStrings{"native"},
		ExpiresAt: jwt.NewNumericDate(now.Add(accessLifetime)), IssuedAt: jwt.NewNumericDate(now)}, AMR: s.amr, Nonce: nonce}
	if i := f.identities[s.identityID]; i != nil {
		c.Name = i.name
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = f.oidcKid()
	out, _ := tok.SignedString(f.key)
	f.issued = append(f.issued, out)
	return out
}

// versionJSON is GET /version as recorded (01-discovery.json), with the
// fake's address; LegacyOnly leaves OIDC out of the capabilities.
func (f *Controller) versionJSON() map[string]any {
	api := func(p string) map[string]any {
		return map[string]any{"v1": map[string]any{"apiBaseUrls": []string{f.URL + p}, "path": p}}
	}
	caps := []string{"OIDC_AUTH", "OIDC_AUTH_WITH_CSR", "HA_CONTROLLER"}
	versions := map[string]any{"edge": api(clientPath), "edge-client": api(clientPath), "edge-management": api(apiPath),
		"edge-oidc": api("/oidc"), "fabric": map[string]any{"v1": map[string]any{"apiBaseUrls": []string{f.URL}, "path": "/fabric/v1"}}}
	if f.legacyOnly {
		caps = []string{}
		delete(versions, "edge-oidc")
	}
	return map[string]any{"data": map[string]any{
		"apiVersions": versions, "buildDate": "2026-08-20 15:41:33", "capabilities": caps,
		"revision": "e86e337a1f36a071211d52a3bfe58f399a3dc15c", "runtimeVersion": "go1.26.8", "version": "v2.0.3",
	}, "meta": map[string]any{}}
}

// AdminLegacyToken logs the admin in with its password directly in the
// fake's state (a legacy session, as `ziti edge login --token` would keep
// it) and returns the zt-session token.
func (f *Controller) AdminLegacyToken(t testing.TB) string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.authenticators {
		if a.identityID == f.adminID && a.method == "updb" {
			return f.login(a).token
		}
	}
	t.Fatal("zitifake: the admin has no password login")
	return ""
}
