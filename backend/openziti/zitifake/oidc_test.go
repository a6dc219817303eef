package zitifake

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// signinRecording is one exchange of backend/openziti/testdata/signin,
// recorded from the real v2.0.3 lab by zitilab/recordsignin.
type signinRecording struct {
	Request struct {
		Method, Path string
		Headers      map[string]string
		Form         map[string]string
		Body         json.RawMessage
	} `json:"request"`
	Response struct {
		Status  int
		Headers map[string]string
		Body    json.RawMessage
	} `json:"response"`
	Note string `json:"note"`
}

func signinRecordings(t *testing.T, file string) []signinRecording {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "signin", file))
	if err != nil {
		t.Fatal(err)
	}
	var out []signinRecording
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// replayer sends the recorded requests to the fake, with the values that
// can't be replayed (auth request id, PKCE, code, tokens, TOTP codes)
// made afresh, and checks each answer against the recorded one: status,
// the headers a client reads, the shape of Location, and the JSON keys.
type replayer struct {
	t        *testing.T
	f        *Controller
	hc       *http.Client
	verifier string
	id       string // auth request id
	code     string // authorization code
	vars     map[string]string
}

func newReplayer(t *testing.T, f *Controller) *replayer {
	hc := f.srv.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &replayer{t: t, f: f, hc: hc, verifier: "verifier-" + strings.Repeat("x", 40), vars: map[string]string{}}
}

func (p *replayer) send(rec signinRecording, header map[string]string, form url.Values, body []byte) (*http.Response, []byte) {
	p.t.Helper()
	path := rec.Request.Path
	if strings.HasPrefix(path, "/oidc/authorize?") {
		u, _ := url.Parse(path)
		q := u.Query()
		sum := sha256.Sum256([]byte(p.verifier))
		q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
		q.Set("state", "st-1")
		path = "/oidc/authorize?" + q.Encode()
	}
	if strings.Contains(path, "authRequestID=") || strings.Contains(path, "callback?id=") {
		u, _ := url.Parse(path)
		q := u.Query()
		for _, k := range []string{"authRequestID", "id"} {
			if q.Has(k) {
				q.Set(k, p.id)
			}
		}
		path = u.Path + "?" + q.Encode()
	}
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	} else if body != nil {
		rd = bytes.NewReader(body)
	}
	req, _ := http.NewRequest(rec.Request.Method, p.f.URL+path, rd)
	for k, v := range rec.Request.Headers {
		req.Header.Set(k, v)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	p.check(rec, resp, b)
	return resp, b
}

// check compares an answer with the recorded one.
func (p *replayer) check(rec signinRecording, resp *http.Response, body []byte) {
	p.t.Helper()
	what := rec.Request.Method + " " + strings.SplitN(rec.Request.Path, "?", 2)[0] + " (" + rec.Note + ")"
	if resp.StatusCode != rec.Response.Status {
		p.t.Errorf("%s: HTTP %d, recorded %d: %s", what, resp.StatusCode, rec.Response.Status, body)
		return
	}
	for _, h := range []string{"Auth-Request-Id", "Totp-Required", "Location"} {
		want, recorded := rec.Response.Headers[h]
		got := resp.Header.Get(h)
		if recorded != (got != "") {
			p.t.Errorf("%s: header %s %q, recorded %q", what, h, got, want)
			continue
		}
		if h == "Location" && recorded {
			// Same place, same query keys.
			wu, _ := url.Parse(want)
			gu, _ := url.Parse(got)
			if wu.Path != gu.Path || (wu.Host == "") != (gu.Host == "") || !slices.Equal(keys(wu.Query()), keys(gu.Query())) {
				p.t.Errorf("%s: Location %s, recorded %s", what, got, want)
			}
		}
	}
	var w, g any
	if json.Unmarshal(rec.Response.Body, &w) == nil && json.Unmarshal(body, &g) == nil {
		if wm, ok := w.(map[string]any); ok {
			gm, _ := g.(map[string]any)
			if !slices.Equal(mapKeys(wm), mapKeys(gm)) {
				p.t.Errorf("%s: answer keys %v, recorded %v", what, mapKeys(gm), mapKeys(wm))
			}
			for _, k := range []string{"code", "error", "token_type", "scope"} {
				if want, got := codeOf(wm[k]), codeOf(gm[k]); want != "" && want != got {
					p.t.Errorf("%s: %s %v, recorded %v", what, k, got, want)
				}
			}
		}
	}
}

// codeOf is a string value, or the code of an error object.
func codeOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		s, _ := x["code"].(string)
		return s
	}
	return ""
}

func keys(q url.Values) []string {
	var out []string
	for k := range q {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func mapKeys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// replayLogin replays an OIDC login (authorize … token) of the recording,
// from index i, with the given password and TOTP codes in order; it
// returns the token answer and the index after it.
func (p *replayer) replayLogin(recs []signinRecording, i int, username, password string, codes []string) (map[string]any, int) {
	p.t.Helper()
	var tokens map[string]any
	for ; i < len(recs); i++ {
		rec := recs[i]
		path, _, _ := strings.Cut(rec.Request.Path, "?")
		switch {
		case path == "/oidc/authorize":
			resp, _ := p.send(rec, nil, nil, nil)
			u, _ := url.Parse(resp.Header.Get("Location"))
			p.id = u.Query().Get("authRequestID")
		case path == "/oidc/login/username" || path == "/oidc/authorize/callback":
			resp, _ := p.send(rec, nil, nil, nil)
			if u, err := url.Parse(resp.Header.Get("Location")); err == nil && u.Query().Get("code") != "" {
				p.code = u.Query().Get("code")
			}
		case path == "/oidc/login/password":
			pw := password
			if strings.HasPrefix(rec.Request.Form["password"], "not-") {
				pw = "not-" + password
			}
			p.send(rec, nil, url.Values{"id": {p.id}, "username": {username}, "password": {pw}}, nil)
		case path == "/oidc/login/totp":
			var code string
			code, codes = codes[0], codes[1:]
			b, _ := json.Marshal(map[string]string{"id": p.id, "code": code})
			p.send(rec, nil, nil, b)
		case path == "/oidc/oauth/token" && rec.Request.Form["grant_type"] == "authorization_code":
			_, b := p.send(rec, nil, url.Values{"grant_type": {"authorization_code"}, "client_id": {"native"},
				"code_verifier": {p.verifier}, "code": {p.code}, "redirect_uri": {oidcRedirect}}, nil)
			_ = json.Unmarshal(b, &tokens)
			return tokens, i + 1
		}
	}
	p.t.Fatal("the recording holds no token exchange")
	return nil, i
}

// The fake answers the OIDC login, the refresh and the refusals as the
// real controller did (02-oidc-login-refresh.json).
func TestFakeAnswersOIDCAsRecorded(t *testing.T) {
	f := Start(t, At(time.Now().UTC()))
	p := newReplayer(t, f)
	recs := signinRecordings(t, "02-oidc-login-refresh.json")
	tokens, i := p.replayLogin(recs, 0, f.Username, f.Password, nil)
	access, _ := tokens["access_token"].(string)
	refresh, _ := tokens["refresh_token"].(string)
	if access == "" || refresh == "" {
		t.Fatalf("token answer %v", tokens)
	}
	// The token claims the recording shows (z_t, z_asid, scopes…).
	wantClaims := claimKeys(t, recordedField(t, recs[i-1], "access_token"))
	if got := claimKeys(t, access); !isSubset(mustHave, got) || !isSubset(mustHave, wantClaims) {
		t.Errorf("access token claims %v, recorded %v", got, wantClaims)
	}
	firstAccess, firstRefresh := access, refresh
	for ; i < len(recs); i++ {
		rec := recs[i]
		path, _, _ := strings.Cut(rec.Request.Path, "?")
		switch {
		case path == "/oidc/oauth/token":
			form := url.Values{}
			for k, v := range rec.Request.Form {
				form.Set(k, v)
			}
			if rec.Request.Form["refresh_token"] == "not-a-token" {
				p.send(rec, nil, form, nil)
				continue
			}
			if form.Get("grant_type") != "refresh_token" {
				continue // the SDK's token exchange: not used by idcon, not faked
			}
			form.Set("refresh_token", firstRefresh)
			_, b := p.send(rec, nil, form, nil)
			var tk map[string]any
			_ = json.Unmarshal(b, &tk)
			if a, _ := tk["access_token"].(string); a != "" {
				access = a
			}
		case strings.HasPrefix(path, "/edge/management/v1/"):
			tok := access
			switch {
			case strings.Contains(rec.Note, "first access token"):
				tok = firstAccess
			case strings.Contains(rec.Note, "bad signature"):
				parts := strings.Split(access, ".")
				tok = parts[0] + "." + parts[1] + ".AAAA"
			case strings.Contains(rec.Note, "not a JWT"):
				tok = "not-a-jwt"
			}
			p.send(rec, map[string]string{"Authorization": "Bearer " + tok}, nil, nil)
		}
	}
}

var mustHave = []string{"amr", "aud", "client_id", "exp", "iat", "iss", "jti", "scopes", "sub", "z_asid", "z_ia", "z_t"}

func recordedField(t *testing.T, rec signinRecording, field string) string {
	var m map[string]any
	if err := json.Unmarshal(rec.Response.Body, &m); err != nil {
		t.Fatal(err)
	}
	s, _ := m[field].(string)
	return s
}

func claimKeys(t *testing.T, tok string) []string {
	parts := strings.Split(tok, ".")
	if len(parts) < 2 {
		t.Fatalf("not a JWT: %.20q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return mapKeys(m)
}

func isSubset(sub, of []string) bool {
	for _, s := range sub {
		if !slices.Contains(of, s) {
			return false
		}
	}
	return true
}

// TOTP over OIDC as recorded (04, 05): the password step answers 200
// Totp-Required with the auth query, a wrong code 400 INVALID TOTP CODE,
// the right code and a recovery code 302; the tokens name amr totp.
func TestFakeAnswersTOTPAsRecorded(t *testing.T) {
	f := Start(t, At(time.Now().UTC()))
	f.AddAdmin("mfa admin", "mfa-admin", "mfa-password")
	secret, recovery := f.EnrollTOTP("mfa-admin", true)
	p := newReplayer(t, f)
	tokens, _ := p.replayLogin(signinRecordings(t, "04-oidc-totp.json"), 0, "mfa-admin", "mfa-password",
		[]string{"000000", TOTPCode(secret, f.Now())})
	access, _ := tokens["access_token"].(string)
	if !strings.Contains(string(mustDecodeClaims(t, access)), `"totp"`) {
		t.Errorf("access token after TOTP: amr lacks totp")
	}
	p2 := newReplayer(t, f)
	p2.replayLogin(signinRecordings(t, "05-oidc-recovery-code.json"), 0, "mfa-admin", "mfa-password", []string{recovery[0]})
}

func mustDecodeClaims(t *testing.T, tok string) []byte {
	parts := strings.Split(tok, ".")
	if len(parts) < 2 {
		t.Fatalf("not a JWT")
	}
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	return b
}

// The legacy login of a TOTP admin as recorded (06): a partial session the
// management API refuses, a wrong code 400 MFA_INVALID_TOKEN, the right
// one 200, then the session works.
func TestFakeAnswersLegacyMFAAsRecorded(t *testing.T) {
	f := Start(t, At(time.Now().UTC()))
	f.AddAdmin("mfa admin", "mfa-admin", "mfa-password")
	secret, _ := f.EnrollTOTP("mfa-admin", true)
	p := newReplayer(t, f)
	recs := signinRecordings(t, "06-legacy-mfa.json")
	body, _ := json.Marshal(map[string]string{"username": "mfa-admin", "password": "mfa-password"})
	_, b := p.send(recs[0], nil, nil, body)
	var s struct {
		Data struct {
			Token       string `json:"token"`
			AuthQueries []struct {
				TypeID string `json:"typeId"`
				Format string `json:"format"`
			} `json:"authQueries"`
		} `json:"data"`
	}
	_ = json.Unmarshal(b, &s)
	if len(s.Data.AuthQueries) != 1 || s.Data.AuthQueries[0].TypeID != "MFA" || s.Data.AuthQueries[0].Format != "alphaNumeric" {
		t.Errorf("auth queries %+v, recorded one MFA alphaNumeric", s.Data.AuthQueries)
	}
	h := map[string]string{"zt-session": s.Data.Token}
	p.send(recs[1], h, nil, nil)
	p.send(recs[2], h, nil, []byte(`{"code":"000000"}`))
	code, _ := json.Marshal(map[string]string{"code": TOTPCode(secret, f.Now())})
	p.send(recs[3], h, nil, code)
	p.send(recs[4], h, nil, nil)
}

// /version as recorded: OIDC_AUTH among the capabilities, unless
// LegacyOnly.
func TestFakeVersionCapabilities(t *testing.T) {
	rec := signinRecordings(t, "01-discovery.json")[0]
	var want struct {
		Data struct{ Capabilities []string } `json:"data"`
	}
	_ = json.Unmarshal(rec.Response.Body, &want)
	for _, legacy := range []bool{false, true} {
		var opts []Option
		if legacy {
			opts = append(opts, LegacyOnly())
		}
		f := Start(t, opts...)
		resp, err := f.srv.Client().Get(f.URL + apiPath + "/version")
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Data struct{ Capabilities []string } `json:"data"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		hasOIDC := slices.Contains(got.Data.Capabilities, "OIDC_AUTH")
		if hasOIDC == legacy || (!legacy && !slices.Equal(got.Data.Capabilities, want.Data.Capabilities)) {
			t.Errorf("legacy=%v: capabilities %v (recorded %v)", legacy, got.Data.Capabilities, want.Data.Capabilities)
		}
	}
}

// What a Bearer can't do, as recorded (07): DELETE /api-sessions/{id} is
// refused (401), DELETE /current-api-session ends nothing (404); deleting
// an authenticator takes its API sessions with it.
func TestFakeBearerLimitsAsRecorded(t *testing.T) {
	recs := signinRecordings(t, "07-bearer-limits.json")
	f := Start(t, At(time.Now().UTC()), OffSpecRequests()) // the 401 answers a request the spec refuses
	access, _ := f.IssueOIDCSession(f.Now().Add(time.Hour))
	b := map[string]string{"Authorization": "Bearer " + access}
	p := newReplayer(t, f)
	id := f.CreateIdentity("probe", "", time.Time{})
	body, _ := json.Marshal(map[string]any{"method": "updb", "identityId": id, "username": "probe", "password": "probe-pass"})
	_, out := p.send(recs[1], b, nil, body)
	var created struct {
		Data struct{ ID string } `json:"data"`
	}
	_ = json.Unmarshal(out, &created)
	login, _ := json.Marshal(map[string]string{"username": "probe", "password": "probe-pass"})
	_, out = p.send(recs[2], nil, nil, login)
	var s struct {
		Data struct{ ID string } `json:"data"`
	}
	_ = json.Unmarshal(out, &s)
	filter := "/edge/management/v1/api-sessions?" + url.Values{"filter": {`identity="` + id + `"`}}.Encode()
	list := func(rec signinRecording, want int) {
		rec.Request.Path = filter
		_, out := p.send(rec, b, nil, nil)
		var l struct{ Data []any }
		_ = json.Unmarshal(out, &l)
		if len(l.Data) != want {
			t.Errorf("%s: %d sessions, want %d", rec.Note, len(l.Data), want)
		}
	}
	list(recs[3], 1)
	del := recs[4]
	del.Request.Path = "/edge/management/v1/api-sessions/" + s.Data.ID
	p.send(del, b, nil, nil)
	p.send(recs[5], b, nil, nil)
	p.send(recs[6], b, nil, nil)
	da := recs[7]
	da.Request.Path = "/edge/management/v1/authenticators/" + created.Data.ID
	p.send(da, b, nil, nil)
	list(recs[8], 0)
}
