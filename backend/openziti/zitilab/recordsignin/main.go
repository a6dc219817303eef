// Command recordsignin records, from the real lab controller, the sign-in
// exchanges idcon's OpenZiti backend relies on (the OIDC authorization-code
// flow with PKCE as the ziti CLI runs it, the token endpoint's refresh, a
// TOTP-protected login with a wrong, a right and a recovery code, and the
// legacy login of the same admin), and writes them, redacted, as fixtures
// under backend/openziti/testdata/signin for zitifake to reproduce.
//
//	ZITI_LAB=/work/lab go run ./backend/openziti/zitilab/recordsignin [-out DIR]
//
// It sends plain net/http requests of its own (not idcon's client), so the
// recordings are the controller's answers to the SDK's requests, whatever
// idcon does. It makes one admin identity of its own (signin-rec-…) under
// an auth policy of its own requiring TOTP, and deletes both at the end; it
// never touches `admin` or the default policy.
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

const (
	ctrl     = "https://127.0.0.1:1280"
	mgmt     = "/edge/management/v1"
	client   = "/edge/client/v1"
	redirect = "http://localhost:8080/auth/callback"
)

// exchange is one recorded request and answer, in the format of
// ../shared/openziti/real-v2.0.3 plus the headers a sign-in depends on.
type exchange struct {
	Request  request  `json:"request"`
	Response response `json:"response"`
	Note     string   `json:"note,omitempty"`
}

type request struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers,omitempty"`
	Form    map[string]string `json:"form,omitempty"`
	Body    any               `json:"body"`
}

type response struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    any               `json:"body"`
}

type recorder struct {
	hc      *http.Client
	secrets []string // values replaced wherever they appear
	log     []exchange
}

var jwtRE = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)?`)

// redact hides secrets: a JWS keeps its header and claims (what a fake must
// reproduce) with its signature replaced; a JWE (the authorization code) is
// replaced whole; listed values (passwords, TOTP secret and codes,
// verifiers, session tokens) are replaced wherever they appear.
func (r *recorder) redact(s string) string {
	for _, v := range r.secrets {
		if v != "" {
			s = strings.ReplaceAll(s, v, "REDACTED")
			s = strings.ReplaceAll(s, url.QueryEscape(v), "REDACTED")
		}
	}
	return jwtRE.ReplaceAllStringFunc(s, func(tok string) string {
		parts := strings.Split(tok, ".")
		if len(parts) == 5 {
			return "REDACTED-CODE"
		}
		return parts[0] + "." + parts[1] + ".REDACTED-SIGNATURE"
	})
}

func (r *recorder) redactAny(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal([]byte(r.redact(string(b))), &out)
	return out
}

// headers a sign-in depends on, kept in the recordings.
var keptHeaders = []string{"Location", "Auth-Request-Id", "Totp-Required", "Content-Type"}

type call struct {
	method, path string
	hdr          map[string]string
	form         url.Values
	json         any
	note         string
}

func (r *recorder) do(c call) (int, http.Header, []byte) {
	var body io.Reader
	rec := request{Method: c.method, Path: c.path, Headers: map[string]string{}}
	switch {
	case c.form != nil:
		body = strings.NewReader(c.form.Encode())
		rec.Form = map[string]string{}
		for k := range c.form {
			rec.Form[k] = r.redact(c.form.Get(k))
		}
		if c.hdr == nil {
			c.hdr = map[string]string{}
		}
		c.hdr["Content-Type"] = "application/x-www-form-urlencoded"
	case c.json != nil:
		b, _ := json.Marshal(c.json)
		body = bytes.NewReader(b)
		rec.Body = r.redactAny(c.json)
		if c.hdr == nil {
			c.hdr = map[string]string{}
		}
		c.hdr["Content-Type"] = "application/json"
	}
	req, err := http.NewRequest(c.method, ctrl+c.path, body)
	if err != nil {
		fail(err)
	}
	for k, v := range c.hdr {
		req.Header.Set(k, v)
		switch {
		case strings.EqualFold(k, "Authorization"):
			rec.Headers[k] = "Bearer REDACTED"
		case strings.EqualFold(k, "zt-session"):
			rec.Headers[k] = "REDACTED-SESSION"
		default:
			rec.Headers[k] = v
		}
	}
	if len(rec.Headers) == 0 {
		rec.Headers = nil
	}
	rec.Path = r.redact(c.path)
	resp, err := r.hc.Do(req)
	if err != nil {
		fail(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	out := response{Status: resp.StatusCode, Headers: map[string]string{}}
	for _, h := range keptHeaders {
		if v := resp.Header.Get(h); v != "" {
			out.Headers[h] = r.redact(v)
		}
	}
	var parsed any
	if json.Unmarshal(data, &parsed) == nil {
		out.Body = r.redactAny(dropLinks(parsed))
	} else if len(data) > 0 {
		s := r.redact(string(data))
		if len(s) > 160 {
			s = s[:160] + "…"
		}
		out.Body = s
	}
	r.log = append(r.log, exchange{Request: rec, Response: out, Note: c.note})
	return resp.StatusCode, resp.Header, data
}

func dropLinks(v any) any {
	switch t := v.(type) {
	case map[string]any:
		delete(t, "_links")
		for k, x := range t {
			t[k] = dropLinks(x)
		}
	case []any:
		for i, x := range t {
			t[i] = dropLinks(x)
		}
	}
	return v
}

func (r *recorder) write(dir, name string) {
	b, err := json.MarshalIndent(r.log, "", " ")
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), append(b, '\n'), 0o644); err != nil {
		fail(err)
	}
	fmt.Printf("wrote %s (%d exchanges)\n", name, len(r.log))
	r.log = nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "recordsignin:", err)
	os.Exit(1)
}

func must(status, want int, what string, body []byte) {
	if status != want {
		fail(fmt.Errorf("%s: HTTP %d, want %d: %.300s", what, status, want, body))
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b64(b)
}

// totp is RFC 6238 with the controller's parameters (SHA-1, 6 digits, 30 s).
func totp(secret string, t time.Time) string {
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(strings.ToUpper(secret), "="))
	if err != nil {
		fail(err)
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

type tokens struct {
	Access, Refresh, ID string
	ExpiresIn           float64
}

// oidcLogin runs the flow as sdk-golang's EdgeOidcAuthenticator does, with
// an optional TOTP step (codes are tried in order: the first that answers
// 302 wins), and returns the tokens.
func (r *recorder) oidcLogin(user, pass string, codes []string, notes map[string]string) tokens {
	verifier := random(32)
	sum := sha256.Sum256([]byte(verifier))
	r.secrets = append(r.secrets, verifier)
	state, nonce := random(16), random(32)
	q := url.Values{
		"client_id": {"native"}, "response_type": {"code"}, "scope": {"openid offline_access"},
		"state": {state}, "code_challenge": {b64(sum[:])}, "code_challenge_method": {"S256"},
		"redirect_uri": {redirect}, "nonce": {nonce},
	}
	st, hdr, body := r.do(call{method: "GET", path: "/oidc/authorize?" + q.Encode(), note: notes["authorize"]})
	must(st, http.StatusFound, "authorize", body)
	loc := hdr.Get("Location")
	st, hdr, body = r.do(call{method: "GET", path: loc, note: "the authorize redirect, followed as the SDK does: the auth request id comes back in the Auth-Request-Id header"})
	must(st, http.StatusOK, "login page", body)
	id := hdr.Get("Auth-Request-Id")
	if notes["wrong-password"] != "" {
		st, _, body = r.do(call{method: "POST", path: "/oidc/login/password", hdr: map[string]string{"Accept": "application/json"},
			form: url.Values{"id": {id}, "username": {user}, "password": {"not-" + pass}}, note: notes["wrong-password"]})
		if st == http.StatusFound {
			fail(fmt.Errorf("a wrong password was accepted: %s", body))
		}
	}
	st, hdr, body = r.do(call{method: "POST", path: "/oidc/login/password", hdr: map[string]string{"Accept": "application/json"},
		form: url.Values{"id": {id}, "username": {user}, "password": {pass}}, note: notes["password"]})
	if len(codes) > 0 {
		must(st, http.StatusOK, "password step (TOTP required)", body)
		for i, code := range codes {
			st, hdr, body = r.do(call{method: "POST", path: "/oidc/login/totp", hdr: map[string]string{"Accept": "application/json"},
				json: map[string]string{"id": id, "code": code}, note: notes[fmt.Sprintf("totp%d", i)]})
			if st == http.StatusFound {
				break
			}
		}
	}
	must(st, http.StatusFound, "login", body)
	cb := hdr.Get("Location")
	u, _ := url.Parse(cb)
	st, hdr, body = r.do(call{method: "GET", path: u.RequestURI(), note: "the login's redirect: the controller's callback, which redirects to redirect_uri with the code and state"})
	must(st, http.StatusFound, "callback", body)
	final, _ := url.Parse(hdr.Get("Location"))
	if final.Query().Get("state") != state {
		fail(fmt.Errorf("state mismatch in %s", final))
	}
	code := final.Query().Get("code")
	st, _, body = r.do(call{method: "POST", path: "/oidc/oauth/token", form: url.Values{
		"grant_type": {"authorization_code"}, "client_id": {"native"}, "code_verifier": {verifier}, "code": {code}, "redirect_uri": {redirect},
	}, note: notes["token"]})
	must(st, http.StatusOK, "token", body)
	return parseTokens(body)
}

func parseTokens(body []byte) tokens {
	var t struct {
		AccessToken  string  `json:"access_token"`
		RefreshToken string  `json:"refresh_token"`
		IDToken      string  `json:"id_token"`
		ExpiresIn    float64 `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &t); err != nil {
		fail(err)
	}
	return tokens{t.AccessToken, t.RefreshToken, t.IDToken, t.ExpiresIn}
}

func bearer(t string) map[string]string { return map[string]string{"Authorization": "Bearer " + t} }

func main() {
	out := flag.String("out", filepath.Join("backend", "openziti", "testdata", "signin"), "where to write the fixtures")
	only := flag.String("only", "", "record only this part: bearer (07-bearer-limits.json)")
	flag.Parse()
	lab := os.Getenv("ZITI_LAB")
	if lab == "" {
		fail(fmt.Errorf("ZITI_LAB is not set: give the lab's folder"))
	}
	pem, err := os.ReadFile(filepath.Join(lab, "qs", "pki", "root-ca", "certs", "root-ca.cert"))
	if err != nil {
		fail(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fail(err)
	}
	r := &recorder{hc: &http.Client{
		Timeout:       20 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	const adminPass = "admin123"
	r.secrets = append(r.secrets, adminPass)
	if *only == "bearer" {
		recordBearerLimits(r, *out, adminPass)
		return
	}

	// 1. Discovery: capabilities, the OIDC configuration and keys.
	r.do(call{method: "GET", path: mgmt + "/version", note: "capabilities name OIDC_AUTH: the controller offers OIDC"})
	r.do(call{method: "GET", path: "/oidc/.well-known/openid-configuration", note: "OIDC discovery"})
	r.do(call{method: "GET", path: "/oidc/keys", note: "JWKS: the key (kid) that signs access, refresh and ID tokens"})
	r.write(*out, "01-discovery.json")

	// 2. The admin's OIDC login, a refresh, and how tokens are refused.
	tk := r.oidcLogin("admin", adminPass, nil, map[string]string{
		"authorize":      "GET authorize with PKCE (S256), state, nonce, scope openid offline_access, client native, redirect_uri the SDK's default: 302 to the login page",
		"wrong-password": "a wrong password: refused, the auth request stays usable",
		"password":       "the password step (form, Accept: application/json): 302 to the callback (no second factor)",
		"token":          "authorization_code grant with the PKCE verifier: access (RS256, 30 min), refresh (24 h) and ID token",
	})
	r.do(call{method: "GET", path: mgmt + "/identities?limit=1", hdr: bearer(tk.Access), note: "the management API takes the access token as a Bearer"})
	r.do(call{method: "GET", path: mgmt + "/current-api-session", hdr: bearer(tk.Access), note: "the OIDC api session (its id is the token's z_asid)"})
	st, _, body := r.do(call{method: "POST", path: "/oidc/oauth/token", form: url.Values{
		"grant_type": {"refresh_token"}, "client_id": {"native"}, "refresh_token": {tk.Refresh},
	}, note: "refresh_token grant at the token endpoint: new access and refresh tokens"})
	must(st, http.StatusOK, "refresh", body)
	tk2 := parseTokens(body)
	r.do(call{method: "GET", path: mgmt + "/identities?limit=1", hdr: bearer(tk2.Access), note: "the renewed access token works"})
	r.do(call{method: "GET", path: mgmt + "/identities?limit=1", hdr: bearer(tk.Access), note: "the first access token, after the refresh"})
	r.do(call{method: "POST", path: "/oidc/oauth/token", form: url.Values{
		"grant_type": {"refresh_token"}, "client_id": {"native"}, "refresh_token": {tk.Refresh},
	}, note: "the first refresh token used a second time"})
	r.do(call{method: "POST", path: "/oidc/oauth/token", form: url.Values{
		"grant_type": {"refresh_token"}, "client_id": {"native"}, "refresh_token": {"not-a-token"},
	}, note: "a refresh token that is not one"})
	r.do(call{method: "POST", path: "/oidc/oauth/token", form: url.Values{
		"grant_type":           {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"client_id":            {"native"},
		"subject_token":        {tk2.Refresh},
		"subject_token_type":   {"urn:ietf:params:oauth:token-type:refresh_token"},
		"requested_token_type": {"urn:ietf:params:oauth:token-type:refresh_token"},
	}, note: "the token exchange sdk-golang's exchangeTokens sends (RFC 8693), for comparison"})
	forged := strings.Split(tk2.Access, ".")
	r.do(call{method: "GET", path: mgmt + "/identities?limit=1", hdr: bearer(forged[0] + "." + forged[1] + ".AAAA"), note: "an access token with a bad signature"})
	r.do(call{method: "GET", path: mgmt + "/identities?limit=1", hdr: bearer("not-a-jwt"), note: "a Bearer that is not a JWT"})
	r.write(*out, "02-oidc-login-refresh.json")

	// 3. An admin with TOTP under a policy requiring it.
	sess := legacyLogin(r, "admin", adminPass)
	r.secrets = append(r.secrets, sess)
	adm := map[string]string{"zt-session": sess}
	name := fmt.Sprintf("signin-rec-mfa-%d", time.Now().Unix()%100000)
	pass := random(12)
	r.secrets = append(r.secrets, pass)
	st, _, body = r.do(call{method: "POST", path: mgmt + "/identities", hdr: adm, json: map[string]any{"name": name, "type": "Default", "isAdmin": true},
		note: "a new admin identity for the MFA recordings (never `admin`)"})
	must(st, http.StatusCreated, "create identity", body)
	identityID := createdID(body)
	policyID := ""
	defer func() {
		// Clean up what was made, whatever happened.
		r.do(call{method: "DELETE", path: mgmt + "/identities/" + identityID, hdr: adm, note: "clean up"})
		if policyID != "" {
			r.do(call{method: "DELETE", path: mgmt + "/auth-policies/" + policyID, hdr: adm, note: "clean up"})
		}
		r.write(*out, "99-cleanup.json")
	}()
	st, _, body = r.do(call{method: "POST", path: mgmt + "/authenticators", hdr: adm, json: map[string]any{"method": "updb", "identityId": identityID, "username": name, "password": pass},
		note: "its password"})
	must(st, http.StatusCreated, "password", body)
	// Enrol TOTP with a legacy session of its own (client API).
	st, _, body = r.do(call{method: "POST", path: client + "/authenticate?method=password", json: map[string]string{"username": name, "password": pass}, note: "the MFA admin logs in (legacy) to enrol TOTP"})
	must(st, http.StatusOK, "mfa admin login", body)
	var ls struct {
		Data struct{ Token string } `json:"data"`
	}
	_ = json.Unmarshal(body, &ls)
	r.secrets = append(r.secrets, ls.Data.Token)
	own := map[string]string{"zt-session": ls.Data.Token}
	st, _, body = r.do(call{method: "POST", path: client + "/current-identity/mfa", hdr: own, note: "start TOTP enrolment"})
	must(st, http.StatusCreated, "mfa enrol", body)
	st, _, body = r.do(call{method: "GET", path: client + "/current-identity/mfa", hdr: own})
	var mfa struct {
		Data struct {
			ProvisioningURL string   `json:"provisioningUrl"`
			RecoveryCodes   []string `json:"recoveryCodes"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &mfa); err != nil || mfa.Data.ProvisioningURL == "" {
		fail(fmt.Errorf("no provisioning URL: %s", body))
	}
	pu, _ := url.Parse(mfa.Data.ProvisioningURL)
	secret := pu.Query().Get("secret")
	r.secrets = append(r.secrets, secret)
	r.secrets = append(r.secrets, mfa.Data.RecoveryCodes...)
	// The earlier exchange held the secret before it was known: redact again.
	for i := range r.log {
		r.log[i].Response.Body = r.redactAny(r.log[i].Response.Body)
	}
	code := totp(secret, time.Now())
	r.secrets = append(r.secrets, code)
	st, _, body = r.do(call{method: "POST", path: client + "/current-identity/mfa/verify", hdr: own, json: map[string]string{"code": code}, note: "verify the enrolment with a code computed from the secret (RFC 6238, SHA-1, 6 digits, 30 s)"})
	must(st, http.StatusOK, "mfa verify", body)
	st, _, body = r.do(call{method: "POST", path: mgmt + "/auth-policies", hdr: adm, json: map[string]any{
		"name": name + "-policy",
		"primary": map[string]any{
			"cert":   map[string]any{"allowed": false, "allowExpiredCerts": false},
			"extJwt": map[string]any{"allowed": false, "allowedSigners": []string{}},
			"updb":   map[string]any{"allowed": true, "lockoutDurationMinutes": 0, "maxAttempts": 0, "minPasswordLength": 5, "requireMixedCase": false, "requireNumberChar": false, "requireSpecialChar": false},
		},
		"secondary": map[string]any{"requireTotp": true},
	}, note: "a new auth policy requiring TOTP (never the default one)"})
	must(st, http.StatusCreated, "auth policy", body)
	policyID = createdID(body)
	st, _, body = r.do(call{method: "PATCH", path: mgmt + "/identities/" + identityID, hdr: adm, json: map[string]any{"authPolicyId": policyID}, note: "put the MFA admin under it"})
	must(st, http.StatusOK, "patch policy", body)
	r.write(*out, "03-mfa-setup.json")

	// 4. OIDC login with TOTP: a wrong code, then the right one.
	waitNextStep() // a fresh TOTP step: the enrolment's code may not be reused
	right := totp(secret, time.Now())
	r.secrets = append(r.secrets, right)
	tk3 := r.oidcLogin(name, pass, []string{"000000", right}, map[string]string{
		"authorize": "authorize, as for any login",
		"password":  "the password step of an admin whose policy requires TOTP: 200, header Totp-Required, JSON authQueries (TOTP, isTotpEnrolled)",
		"totp0":     "a wrong code (JSON {id, code}): 400 INVALID TOTP CODE; the auth request stays usable",
		"totp1":     "the right code: 302 to the callback",
		"token":     "the tokens: amr password + totp",
	})
	r.do(call{method: "GET", path: mgmt + "/identities?limit=1", hdr: bearer(tk3.Access), note: "the MFA admin's access token works on the management API"})
	r.write(*out, "04-oidc-totp.json")

	// 5. A recovery code in place of the TOTP code (consumed).
	rc := mfa.Data.RecoveryCodes[0]
	r.oidcLogin(name, pass, []string{rc}, map[string]string{
		"authorize": "authorize",
		"password":  "password step: TOTP required",
		"totp0":     "a recovery code (6 characters) where the TOTP code goes: accepted, and used up",
		"token":     "the tokens",
	})
	r.write(*out, "05-oidc-recovery-code.json")

	// 6. The same admin's legacy login, for controllers without OIDC.
	st, _, body = r.do(call{method: "POST", path: mgmt + "/authenticate?method=password", json: map[string]string{"username": name, "password": pass},
		note: "legacy password login of the MFA admin: a session with authQueries (MFA) that the management API refuses until the code is given"})
	must(st, http.StatusOK, "legacy mfa login", body)
	var lsess struct {
		Data struct{ Token string } `json:"data"`
	}
	_ = json.Unmarshal(body, &lsess)
	r.secrets = append(r.secrets, lsess.Data.Token)
	part := map[string]string{"zt-session": lsess.Data.Token}
	r.do(call{method: "GET", path: mgmt + "/identities?limit=1", hdr: part, note: "the partial session before the code"})
	r.do(call{method: "POST", path: mgmt + "/authenticate/mfa", hdr: part, json: map[string]string{"code": "000000"}, note: "a wrong code"})
	waitNextStep()
	c2 := totp(secret, time.Now())
	r.secrets = append(r.secrets, c2)
	r.do(call{method: "POST", path: mgmt + "/authenticate/mfa", hdr: part, json: map[string]string{"code": c2}, note: "the right code"})
	r.do(call{method: "GET", path: mgmt + "/identities?limit=1", hdr: part, note: "the session after the code"})
	r.write(*out, "06-legacy-mfa.json")
}

func legacyLogin(r *recorder, user, pass string) string {
	st, _, body := r.do(call{method: "POST", path: mgmt + "/authenticate?method=password", json: map[string]string{"username": user, "password": pass}, note: "legacy admin login for the setup"})
	must(st, http.StatusOK, "legacy login", body)
	var s struct {
		Data struct{ Token string } `json:"data"`
	}
	_ = json.Unmarshal(body, &s)
	r.log = r.log[:len(r.log)-1] // the setup's own login is not a fixture
	return s.Data.Token
}

func createdID(body []byte) string {
	var c struct {
		Data struct{ ID string } `json:"data"`
	}
	_ = json.Unmarshal(body, &c)
	if c.Data.ID == "" {
		fail(fmt.Errorf("no id in %s", body))
	}
	return c.Data.ID
}

// waitNextStep waits for the next 30-second TOTP step, so that a code is
// not one the controller has seen.
func waitNextStep() {
	now := time.Now()
	next := now.Truncate(30 * time.Second).Add(30*time.Second + 500*time.Millisecond)
	time.Sleep(next.Sub(now))
}

// recordBearerLimits records what an OIDC (Bearer) session can't do that a
// legacy one can, and what deleting an authenticator does to its sessions:
// 07-bearer-limits.json.
func recordBearerLimits(r *recorder, out, adminPass string) {
	tk := r.oidcLogin("admin", adminPass, nil, map[string]string{})
	r.log = nil // the login is in 02
	r.secrets = append(r.secrets, tk.Access, tk.Refresh)
	b := bearer(tk.Access)
	name := fmt.Sprintf("signin-rec-probe-%d", time.Now().Unix()%100000)
	pass := random(12)
	r.secrets = append(r.secrets, pass)
	st, _, body := r.do(call{method: "POST", path: mgmt + "/identities", hdr: b, json: map[string]any{"name": name, "type": "Default", "isAdmin": false}, note: "a probe identity (not an admin)"})
	must(st, http.StatusCreated, "probe", body)
	id := createdID(body)
	defer func() {
		r.do(call{method: "DELETE", path: mgmt + "/identities/" + id, hdr: b, note: "clean up"})
		r.write(out, "07-bearer-limits.json")
	}()
	st, _, body = r.do(call{method: "POST", path: mgmt + "/authenticators", hdr: b, json: map[string]any{"method": "updb", "identityId": id, "username": name, "password": pass}, note: "its password"})
	must(st, http.StatusCreated, "probe password", body)
	auth := createdID(body)
	st, _, body = r.do(call{method: "POST", path: client + "/authenticate?method=password", json: map[string]string{"username": name, "password": pass}, note: "the probe logs in (legacy): one API session"})
	must(st, http.StatusOK, "probe login", body)
	var ls struct {
		Data struct{ ID, Token string } `json:"data"`
	}
	_ = json.Unmarshal(body, &ls)
	r.secrets = append(r.secrets, ls.Data.Token)
	for i := range r.log { // the login answer held the token before it was known
		r.log[i].Response.Body = r.redactAny(r.log[i].Response.Body)
	}
	filter := url.Values{"filter": {`identity="` + id + `"`}}.Encode()
	r.do(call{method: "GET", path: mgmt + "/api-sessions?" + filter, hdr: b, note: "its API session, listed with a Bearer"})
	r.do(call{method: "DELETE", path: mgmt + "/api-sessions/" + ls.Data.ID, hdr: b, note: "DELETE /api-sessions/{id} with a Bearer: refused (the spec lists only ztSession here)"})
	r.do(call{method: "DELETE", path: mgmt + "/current-api-session", hdr: b, note: "DELETE /current-api-session with a Bearer: an OIDC session is not ended this way"})
	r.do(call{method: "GET", path: mgmt + "/identities?limit=1", hdr: b, note: "the Bearer still works after that"})
	r.do(call{method: "DELETE", path: mgmt + "/authenticators/" + auth, hdr: b, note: "deleting the probe's only authenticator"})
	r.do(call{method: "GET", path: mgmt + "/api-sessions?" + filter, hdr: b, note: "its API session went with it"})
}
