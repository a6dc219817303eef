package zitifake

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// clientPath is where the Edge Client API lives: devices enroll and log in
// there, as `ziti edge enroll` and the SDKs do.
const clientPath = "/edge/client/v1"

// handleClient serves the few client-API calls a device makes (caller
// holds mu): enroll with a token, log in with a certificate or a password,
// read the current API session.
func (f *Controller) handleClient(r *http.Request, body []byte) reply {
	path := strings.TrimPrefix(r.URL.Path, clientPath)
	switch r.Method + " " + path {
	case "POST /enroll":
		return f.clientEnroll(r, body)
	case "POST /authenticate":
		var a *fAuthenticator
		switch r.URL.Query().Get("method") {
		case "cert":
			if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
				fp := certFingerprint(r.TLS.PeerCertificates[0].Raw)
				for _, x := range f.authenticators {
					if x.method == "cert" && x.fingerprint == fp {
						a = x
					}
				}
			}
		case "password":
			a = f.passwordAuthenticator(body)
		default:
			return reply{status: 606, body: map[string]any{"error": map[string]any{"code": "UNHANDLED", "message": "unsupported authentication method"}, "meta": errMeta()}}
		}
		if a == nil {
			return invalidAuth()
		}
		return ok(map[string]any{"data": f.currentSessionJSON(f.login(a)), "meta": map[string]any{}})
	case "GET /current-api-session":
		s := f.sessionByToken(r.Header.Get("zt-session"))
		if s == nil {
			return unauthorized()
		}
		return ok(map[string]any{"data": f.currentSessionJSON(s), "meta": map[string]any{}})
	}
	return notFound()
}

// clientEnroll enrolls with an outstanding token: method=ott with a CSR
// (PEM) gives a client certificate, method=updb with {"password"} sets the
// password. The token is used up; an unknown or replaced token gets 400
// INVALID_ENROLLMENT_TOKEN, as recorded.
func (f *Controller) clientEnroll(r *http.Request, body []byte) reply {
	q := r.URL.Query()
	var e *fEnrollment
	for _, x := range f.enrollments {
		if x.token == q.Get("token") && x.method == q.Get("method") {
			e = x
		}
	}
	if e == nil || !f.now().Before(e.expiresAt) {
		return apiErr(http.StatusBadRequest, "INVALID_ENROLLMENT_TOKEN", "The supplied token is not valid", nil)
	}
	now := f.stamp()
	switch e.method {
	case "ott":
		block, _ := pem.Decode(body)
		if block == nil {
			return invalid("csr", "must be a PEM certificate request", nil)
		}
		csr, err := x509.ParseCertificateRequest(block.Bytes)
		if err != nil || csr.CheckSignature() != nil {
			return invalid("csr", "must be a signed certificate request", nil)
		}
		der, err := signClient(f.Intermediate, f.interKey, csr, e.identityID)
		if err != nil {
			return apiErr(http.StatusInternalServerError, "UNHANDLED", err.Error(), nil)
		}
		delete(f.enrollments, e.id)
		aid := f.newID("")
		f.authenticators[aid] = &fAuthenticator{id: aid, identityID: e.identityID, method: "cert", fingerprint: certFingerprint(der), certDER: der, createdAt: now, updatedAt: now}
		return ok(map[string]any{"data": map[string]any{"cert": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}, "meta": map[string]any{}})
	case "updb":
		var in struct{ Password string }
		if json.Unmarshal(body, &in) != nil || in.Password == "" {
			return invalid("password", "is required", nil)
		}
		delete(f.enrollments, e.id)
		aid := f.newLongID()
		name := e.username
		if i := f.identities[e.identityID]; i != nil && name == "" {
			name = i.name
		}
		f.authenticators[aid] = &fAuthenticator{id: aid, identityID: e.identityID, method: "updb", username: name, password: in.Password, createdAt: now, updatedAt: now}
		return ok(map[string]any{"data": map[string]any{}, "meta": map[string]any{}})
	}
	return invalid("method", "unsupported", e.method)
}

// Device is the client side of an enrolled device: its certificate, for
// the logins a test makes through the client API.
type Device struct {
	f    *Controller
	Cert tls.Certificate
}

// EnrollWithJWT enrolls a new device with an enrollment JWT as `ziti edge
// enroll` does: a fresh key, a CSR posted to the client API with the
// token (the JWT's jti). It fails if the controller refuses the token.
func (f *Controller) EnrollWithJWT(jwt string) (*Device, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var claims struct{ Jti, Em, Sub string }
	if err := json.Unmarshal(raw, &claims); err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: claims.Sub}}, key)
	if err != nil {
		return nil, err
	}
	status, body, err := f.clientCall(nil, "", http.MethodPost, "/enroll?method="+claims.Em+"&token="+claims.Jti,
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}))
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("enroll: HTTP %d: %s", status, body)
	}
	var out struct {
		Data struct{ Cert string } `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, err
	}
	block, _ := pem.Decode([]byte(out.Data.Cert))
	if block == nil {
		return nil, fmt.Errorf("enroll: no certificate in %s", body)
	}
	return &Device{f: f, Cert: tls.Certificate{Certificate: [][]byte{block.Bytes}, PrivateKey: key}}, nil
}

// Login logs the device in with its certificate (POST
// /edge/client/v1/authenticate?method=cert) and returns the session token
// and the HTTP status.
func (d *Device) Login() (token string, status int) {
	return d.f.clientLogin(&d.Cert, "cert", nil)
}

// PasswordLogin logs in to the client API with a updb password.
func (f *Controller) PasswordLogin(username, password string) (token string, status int) {
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	return f.clientLogin(nil, "password", body)
}

// SessionWorks reports whether a client-API session token is still
// accepted (GET /edge/client/v1/current-api-session answers 200).
func (f *Controller) SessionWorks(token string) bool {
	status, _, err := f.clientCall(nil, token, http.MethodGet, "/current-api-session", nil)
	return err == nil && status == http.StatusOK
}

func (f *Controller) clientLogin(cert *tls.Certificate, method string, body []byte) (string, int) {
	status, out, err := f.clientCall(cert, "", http.MethodPost, "/authenticate?method="+method, body)
	if err != nil {
		f.t.Errorf("zitifake: login: %v", err)
		return "", 0
	}
	var s struct {
		Data struct{ Token string } `json:"data"`
	}
	_ = json.Unmarshal(out, &s)
	return s.Data.Token, status
}

// clientCall makes one HTTPS request to the client API, with a client
// certificate when cert is set.
func (f *Controller) clientCall(cert *tls.Certificate, session, method, path string, body []byte) (int, []byte, error) {
	roots := x509.NewCertPool()
	roots.AddCert(f.CA)
	tc := &tls.Config{RootCAs: roots}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequest(method, f.URL+clientPath+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if session != "" {
		req.Header.Set("zt-session", session)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// AddToken gives an identity a new one-time token beside whatever it has,
// as `POST /enrollments` does on an enrolled identity, and returns its JWT.
func (f *Controller) AddToken(identityID string, expiresAt time.Time) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.newEnrollmentOf(identityID, "ott", f.newLongID(), expiresAt.UTC()).jwt
}

// AddPassword gives an identity a updb authenticator, as `POST
// /authenticators` does, and returns its id.
func (f *Controller) AddPassword(identityID, username, password string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.stamp()
	id := f.newLongID()
	f.authenticators[id] = &fAuthenticator{id: id, identityID: identityID, method: "updb", username: username, password: password, createdAt: now, updatedAt: now}
	return id
}

// CreateAdmin makes another admin identity that logs in to the management
// API with username and password, and returns its id.
func (f *Controller) CreateAdmin(name, username, password string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addAdmin(name, username, password, false)
}

// AdminID is the id of the "Default Admin" identity the fake's
// Username/Password log in as.
func (f *Controller) AdminID() string { return f.adminID }

// Authenticators counts the identity's authenticators by method.
func (f *Controller) Authenticators(identityID string) map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for _, a := range f.authenticatorsOf(identityID) {
		out[a.method]++
	}
	return out
}
