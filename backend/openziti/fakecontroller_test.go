package openziti

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/golang-jwt/jwt/v5"
)

// fakeController is a stateful stand-in for an OpenZiti controller's Edge
// Management API, serving over TLS the endpoints idcon uses. It checks every
// request it receives and every response it sends against the official
// spec (management.yml) and fails the test on any mismatch. Its clock is
// the test's: Advance moves it; the timestamps it writes tick on by a
// microsecond per write between advances, as a real clock would move
// between requests.
type fakeController struct {
	t     testing.TB
	srv   *httptest.Server
	spec  *specValidator
	ca    *x509.Certificate
	caPEM []byte
	key   *ecdsa.PrivateKey // the TLS server key, which also signs enrollment JWTs
	leaf  *x509.Certificate

	username, password string

	mu             sync.Mutex
	clock          time.Time
	last           time.Time // the last timestamp written
	seq            int
	identities     map[string]*fIdentity
	enrollments    map[string]*fEnrollment
	authenticators map[string]*fAuthenticator
	apiSessions    map[string]*fAPISession
	adminTokens    map[string]bool
	requests       []string // "METHOD /path?query" of every request, in order

	// Test knobs.
	mfa         bool           // answer logins with an MFA auth query
	rateLimited int            // answer this many more requests with 429
	failNext    map[string]int // "METHOD /path" → status to answer once with an error
	clientCAs   *x509.CertPool // for method=cert logins
	certLoginCN string         // the admin certificate's common name
}

type fIdentity struct {
	id, name       string
	createdAt      time.Time
	updatedAt      time.Time
	tags           map[string]any
	roleAttributes []string
	typ            string
	isAdmin        bool
}

type fEnrollment struct {
	id, identityID, method, token, jwt string
	expiresAt, createdAt, updatedAt    time.Time
}

type fAuthenticator struct {
	id, identityID, method, fingerprint string
	createdAt, updatedAt                time.Time
}

type fAPISession struct {
	id, identityID, authenticatorID, token string
	createdAt, updatedAt                   time.Time
}

// newFakeController starts a fake on loopback with a CA and server
// certificate of its own; clients trust it through f.caPEM.
func newFakeController(t testing.TB, now time.Time) *fakeController {
	t.Helper()
	f := &fakeController{
		t:              t,
		username:       "admin",
		password:       "admin-password",
		clock:          now,
		identities:     map[string]*fIdentity{},
		enrollments:    map[string]*fEnrollment{},
		authenticators: map[string]*fAuthenticator{},
		apiSessions:    map[string]*fAPISession{},
		adminTokens:    map[string]bool{},
		failNext:       map[string]int{},
	}
	var caKey *ecdsa.PrivateKey
	f.ca, caKey = newCA(t, "fake controller CA")
	f.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.ca.Raw})
	f.leaf, f.key = newLeaf(t, f.ca, caKey, "127.0.0.1", false)
	f.clientCAs = x509.NewCertPool()
	f.clientCAs.AddCert(f.ca)

	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{f.leaf.Raw, f.ca.Raw}, PrivateKey: f.key, Leaf: f.leaf}},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    f.clientCAs,
	}
	// Handshakes the tests make fail on purpose needn't be logged.
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	spec, err := newSpecValidator(f.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	f.spec = spec
	return f
}

// newCA makes a self-signed ECDSA CA.
func newCA(t testing.TB, cn string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// newLeaf makes a server (for host) or client certificate signed by ca.
func newLeaf(t testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey, host string, client bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// config is a client configuration for this fake.
func (f *fakeController) config() Config {
	return Config{
		Name:       "ziti-test",
		Controller: f.srv.URL,
		PinnedCA:   f.caPEM,
		Username:   f.username,
		Password:   f.password,
		Now:        f.Now,
	}
}

// The conformance Fixture.

func (f *fakeController) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.clock
}

func (f *fakeController) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = f.clock.Add(d)
}

// Enroll does what `ziti edge enroll` does with the identity's ott token:
// the enrollment becomes a certificate authenticator.
func (f *fakeController) Enroll(t *testing.T, _ string, id string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.enrollmentOf(id, "ott")
	if e == nil || !f.clock.Before(e.expiresAt) {
		t.Fatalf("fake controller: identity %s has no valid ott enrollment to enroll with", id)
	}
	delete(f.enrollments, e.id)
	now := f.stamp()
	sum := sha1.Sum([]byte(e.token))
	aid := f.newID("auth")
	f.authenticators[aid] = &fAuthenticator{id: aid, identityID: id, method: "cert", fingerprint: hex.EncodeToString(sum[:]), createdAt: now, updatedAt: now}
}

// Connect logs the identity in n times, as its SDK would.
func (f *fakeController) Connect(t *testing.T, _ string, id string, n int) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.authenticatorOf(id)
	if a == nil {
		t.Fatalf("fake controller: identity %s has no authenticator to log in with", id)
	}
	f.connect(id, a.id, n)
}

func (f *fakeController) connect(identityID, authenticatorID string, n int) {
	for range n {
		now := f.stamp()
		sid := f.newID("sess")
		f.apiSessions[sid] = &fAPISession{id: sid, identityID: identityID, authenticatorID: authenticatorID, token: rand.Text(), createdAt: now, updatedAt: now}
	}
}

// stamp is the time of a write: the clock, but never the same as the
// previous write's.
func (f *fakeController) stamp() time.Time {
	t := f.clock
	if !t.After(f.last) {
		t = f.last.Add(time.Microsecond)
	}
	f.last = t
	return t
}

func (f *fakeController) newID(prefix string) string {
	f.seq++
	return fmt.Sprintf("%s-%06d-%s", prefix, f.seq, strings.ToLower(rand.Text()[:6]))
}

func (f *fakeController) enrollmentOf(identityID, method string) *fEnrollment {
	for _, e := range f.enrollments {
		if e.identityID == identityID && e.method == method {
			return e
		}
	}
	return nil
}

func (f *fakeController) authenticatorOf(identityID string) *fAuthenticator {
	for _, a := range f.authenticators {
		if a.identityID == identityID {
			return a
		}
	}
	return nil
}

// issueJWT makes an enrollment JWT as a controller does: signed with the
// TLS server key, kid the certificate's SHA-1, jti the token.
func (f *fakeController) issueJWT(identityID, token, method string, exp time.Time) string {
	kid := sha1.Sum(f.leaf.Raw)
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"iss": "https://" + f.srv.Listener.Addr().String(),
		"sub": identityID,
		"aud": []string{""},
		"exp": exp.Unix(),
		"jti": token,
		"em":  method,
	})
	tok.Header["kid"] = hex.EncodeToString(kid[:])
	s, err := tok.SignedString(f.key)
	if err != nil {
		f.t.Errorf("fake controller: sign JWT: %v", err)
	}
	return s
}

// newEnrollment creates an ott enrollment (caller holds mu).
func (f *fakeController) newEnrollment(identityID string, expiresAt time.Time) *fEnrollment {
	now := f.stamp()
	e := &fEnrollment{id: f.newID("enr"), identityID: identityID, method: "ott", token: rand.Text(), expiresAt: expiresAt, createdAt: now, updatedAt: now}
	e.jwt = f.issueJWT(identityID, e.token, "ott", expiresAt)
	f.enrollments[e.id] = e
	return e
}

// reply is a handler's answer.
type reply struct {
	status int
	body   any    // marshalled as JSON
	raw    []byte // sent as is (with contentType) when body is nil
	ctype  string
}

func ok(body any) reply { return reply{status: http.StatusOK, body: body} }

func emptyOK() reply {
	return ok(map[string]any{"data": map[string]any{}, "meta": map[string]any{}})
}

func created(id, kind string) reply {
	return reply{status: http.StatusCreated, body: map[string]any{
		"data": map[string]any{"id": id, "_links": links("./" + kind + "/" + id)},
		"meta": map[string]any{},
	}}
}

func apiErr(status int, code, message string, cause map[string]any) reply {
	e := map[string]any{
		"code": code, "message": message, "causeMessage": "",
		"args": map[string]any{"urlVars": map[string]any{}}, "requestId": "req-" + strings.ToLower(rand.Text()[:8]),
	}
	if cause != nil {
		e["cause"] = cause
	}
	return reply{status: status, body: map[string]any{"error": e, "meta": map[string]any{"apiVersion": "0.0.1", "apiEnrollmentVersion": "0.0.1"}}}
}

func notFound() reply {
	return apiErr(http.StatusNotFound, "NOT_FOUND", "The resource requested was not found or is no longer available", nil)
}

func invalid(field, reason string, value any) reply {
	return apiErr(http.StatusBadRequest, "COULD_NOT_VALIDATE", "The supplied request contains an invalid document",
		map[string]any{"field": field, "reason": reason, "value": value})
}

func links(self string) map[string]any {
	return map[string]any{"self": map[string]any{"href": self}}
}

func stampJSON(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// serve validates the request, answers it and validates the answer.
func (f *fakeController) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("fake controller: read request: %v", err)
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	f.mu.Unlock()

	// The EST endpoint at the root is outside the API (and its spec).
	if r.URL.Path == "/.well-known/est/cacerts" {
		w.Header().Set("Content-Type", "application/pkcs7-mime")
		_, _ = w.Write(f.cacerts())
		return
	}
	in, err := f.spec.request(r, body)
	if err != nil {
		f.t.Errorf("fake controller: %v", err)
		if in == nil {
			writeReply(w, notFound())
			return
		}
	}
	rep := f.handle(r, body)
	var out []byte
	if rep.body != nil {
		out, err = json.Marshal(rep.body)
		if err != nil {
			f.t.Errorf("fake controller: encode answer: %v", err)
		}
		rep.ctype = "application/json"
	} else {
		out = rep.raw
	}
	if in != nil && rep.body != nil {
		rep.ctype = declaredJSONType(in, rep.status)
	}
	hdr := http.Header{}
	hdr.Set("Content-Type", rep.ctype)
	if in != nil {
		if err := f.spec.response(in, rep.status, hdr, out); err != nil {
			f.t.Errorf("fake controller: %v", err)
		}
	}
	w.Header().Set("Content-Type", rep.ctype)
	w.WriteHeader(rep.status)
	_, _ = w.Write(out)
}

// declaredJSONType is the JSON media type the spec declares for a response
// (some operations say "application/json; charset=utf-8").
func declaredJSONType(in *openapi3filter.RequestValidationInput, status int) string {
	if r := in.Route.Operation.Responses.Status(status); r != nil && r.Value != nil {
		for ct := range r.Value.Content {
			if strings.HasPrefix(ct, "application/json") {
				return ct
			}
		}
	}
	return "application/json"
}

func writeReply(w http.ResponseWriter, rep reply) {
	out, _ := json.Marshal(rep.body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	_, _ = w.Write(out)
}

// handle routes a request (already validated) to its endpoint.
func (f *fakeController) handle(r *http.Request, body []byte) reply {
	f.mu.Lock()
	defer f.mu.Unlock()
	path := strings.TrimPrefix(r.URL.Path, apiPath)
	route := r.Method + " " + path
	if status, ok := f.failNext[route]; ok {
		delete(f.failNext, route)
		return cannedError(status)
	}
	if f.rateLimited > 0 && r.Method == http.MethodGet { // the spec lists 429 for reads, not for every write
		f.rateLimited--
		return apiErr(http.StatusTooManyRequests, "RATE_LIMITED", "The resource is rate limited and the rate limit has been exceeded. Please try again later", nil)
	}
	if route == "GET /.well-known/est/cacerts" {
		return reply{status: http.StatusOK, raw: f.cacerts(), ctype: "application/pkcs7-mime"}
	}
	if route == "POST /authenticate" {
		return f.authenticate(r, body)
	}
	if !f.adminTokens[r.Header.Get("zt-session")] {
		return apiErr(http.StatusUnauthorized, "UNAUTHORIZED", "The request could not be completed. The session is not authorized or the credentials are invalid", nil)
	}
	seg := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case route == "DELETE /current-api-session":
		delete(f.adminTokens, r.Header.Get("zt-session"))
		return emptyOK()
	case route == "GET /identities":
		return f.list(r, f.identityRecords())
	case route == "POST /identities":
		return f.createIdentity(body)
	case len(seg) == 2 && seg[0] == "identities":
		return f.identityByID(r.Method, seg[1], body)
	case route == "GET /enrollments":
		return f.list(r, f.enrollmentRecords())
	case route == "POST /enrollments":
		return f.createEnrollment(body)
	case len(seg) == 2 && seg[0] == "enrollments":
		return f.enrollmentByID(r.Method, seg[1])
	case len(seg) == 3 && seg[0] == "enrollments" && seg[2] == "refresh" && r.Method == http.MethodPost:
		return f.refresh(seg[1], body)
	case route == "GET /authenticators":
		return f.list(r, f.authenticatorRecords())
	case len(seg) == 2 && seg[0] == "authenticators" && r.Method == http.MethodGet:
		a := f.authenticators[seg[1]]
		if a == nil {
			return notFound()
		}
		return ok(map[string]any{"data": f.authenticatorJSON(a), "meta": map[string]any{}})
	case len(seg) == 3 && seg[0] == "authenticators" && seg[2] == "re-enroll" && r.Method == http.MethodPost:
		return f.reEnroll(seg[1], body)
	case route == "GET /api-sessions":
		return f.list(r, f.sessionRecords())
	case len(seg) == 2 && seg[0] == "api-sessions" && r.Method == http.MethodDelete:
		if f.apiSessions[seg[1]] == nil {
			return notFound()
		}
		delete(f.apiSessions, seg[1])
		return emptyOK()
	}
	f.t.Errorf("fake controller: %s is in the spec but not faked", route)
	return notFound()
}

// cannedError is an error answer of a given status, as the controller
// words it.
func cannedError(status int) reply {
	switch status {
	case http.StatusBadRequest:
		return invalid("expiresAt", "must be in the future", "2001-01-01T00:00:00Z")
	case http.StatusNotFound:
		return notFound()
	case http.StatusConflict:
		return apiErr(status, "ENROLLMENT_EXISTS", "An enrollment already exists for this identity and method", nil)
	case http.StatusUnauthorized:
		return apiErr(status, "INVALID_AUTH", "The authentication request failed", nil)
	case http.StatusServiceUnavailable:
		return apiErr(status, "CLUSTER_HAS_NO_LEADER", "The cluster has no leader", nil)
	}
	return apiErr(status, "UNHANDLED", "An unhandled error occurred", nil)
}

func (f *fakeController) authenticate(r *http.Request, body []byte) reply {
	var method = r.URL.Query().Get("method")
	switch method {
	case "password":
		var in struct{ Username, Password string }
		if err := json.Unmarshal(body, &in); err != nil || in.Username != f.username || in.Password != f.password {
			return apiErr(http.StatusUnauthorized, "INVALID_AUTH", "The authentication request failed", nil)
		}
	case "cert":
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
			return apiErr(http.StatusUnauthorized, "INVALID_AUTH", "The authentication request failed", nil)
		}
	default:
		return apiErr(http.StatusUnauthorized, "INVALID_AUTH", "The authentication request failed", nil)
	}
	token := rand.Text()
	f.adminTokens[token] = true
	now := f.stamp()
	queries := []any{}
	if f.mfa {
		queries = append(queries, map[string]any{"provider": "ziti", "typeId": "MFA", "format": "numeric", "httpMethod": "POST", "httpUrl": "./authenticate/mfa", "minLength": 4, "maxLength": 6})
	}
	return ok(map[string]any{
		"data": map[string]any{
			"_links": links("./current-api-session"), "id": "admin-session", "createdAt": stampJSON(now), "updatedAt": stampJSON(now),
			"token": token, "identity": map[string]any{"id": "admin", "name": "Default Admin", "entity": "identities"}, "identityId": "admin",
			"configTypes": []string{}, "ipAddress": "127.0.0.1", "authQueries": queries, "cachedUpdatedAt": stampJSON(now),
			"isMfaRequired": f.mfa, "isMfaComplete": false, "authenticatorId": "admin-updb", "isCertExtendable": false,
			"expiresAt": stampJSON(now.Add(30 * time.Minute)), "expirationSeconds": 1800,
		},
		"meta": map[string]any{},
	})
}

// record is one entity as the list endpoints see it: its JSON and its
// filter symbols.
type record struct {
	json map[string]any
	sym  map[string]any
}

func (f *fakeController) list(r *http.Request, recs []record) reply {
	q := r.URL.Query()
	limit, offset := int64(10), int64(0)
	if s := q.Get("limit"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return apiErr(http.StatusBadRequest, "INVALID_PAGINATION", "invalid limit", nil)
		}
		limit = min(n, 500)
	}
	if s := q.Get("offset"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 || n > 100000 {
			return apiErr(http.StatusBadRequest, "INVALID_PAGINATION", "invalid offset", nil)
		}
		offset = n
	}
	query, err := parseZitiQL(q.Get("filter"))
	if err != nil {
		return apiErr(http.StatusBadRequest, "INVALID_FILTER", "the filter is not valid", map[string]any{"field": "filter", "reason": err.Error()})
	}
	var match []record
	for _, rec := range recs {
		ok, err := query.eval(func(s string) (any, bool) {
			if tag, isTag := strings.CutPrefix(s, "tags."); isTag {
				tags, has := rec.sym["tags"].(map[string]any)
				return tags[tag], has // a missing tag is null
			}
			v, ok := rec.sym[s]
			return v, ok
		})
		if err != nil {
			return apiErr(http.StatusBadRequest, "INVALID_FILTER", "the filter is not valid", map[string]any{"field": "filter", "reason": err.Error()})
		}
		if ok {
			match = append(match, rec)
		}
	}
	sorts := query.sort
	if len(sorts) == 0 {
		sorts = []zqlSort{{field: "id"}}
	}
	for _, s := range sorts {
		if _, known := recs0sym(recs, s.field); !known && len(recs) > 0 {
			return apiErr(http.StatusBadRequest, "INVALID_SORT_IDENTIFIER", "invalid sort field "+s.field, nil)
		}
	}
	slices.SortStableFunc(match, func(a, b record) int {
		for _, s := range sorts {
			c := compareSymbol(a.sym[s.field], b.sym[s.field])
			if s.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	if query.skip != nil {
		offset = int64(*query.skip)
	}
	if query.limit != nil {
		limit = int64(*query.limit)
	}
	total := int64(len(match))
	page := []any{}
	for i := offset; i < total && i < offset+limit; i++ {
		page = append(page, match[i].json)
	}
	return ok(map[string]any{"data": page, "meta": map[string]any{"pagination": map[string]any{"limit": limit, "offset": offset, "totalCount": total}}})
}

func recs0sym(recs []record, field string) (any, bool) {
	if len(recs) == 0 {
		return nil, false
	}
	v, ok := recs[0].sym[field]
	return v, ok
}

func (f *fakeController) identityRecords() []record {
	var out []record
	for _, i := range f.identities {
		out = append(out, record{json: f.identityJSON(i), sym: map[string]any{
			"id": i.id, "name": i.name, "createdAt": i.createdAt, "updatedAt": i.updatedAt,
			"type": i.typ, "isAdmin": i.isAdmin, "tags": i.tags,
		}})
	}
	return out
}

func (f *fakeController) enrollmentRecords() []record {
	var out []record
	for _, e := range f.enrollments {
		out = append(out, record{json: f.enrollmentJSON(e), sym: map[string]any{
			"id": e.id, "identity": e.identityID, "method": e.method, "expiresAt": e.expiresAt, "createdAt": e.createdAt, "updatedAt": e.updatedAt,
		}})
	}
	return out
}

func (f *fakeController) authenticatorRecords() []record {
	var out []record
	for _, a := range f.authenticators {
		out = append(out, record{json: f.authenticatorJSON(a), sym: map[string]any{
			"id": a.id, "identity": a.identityID, "method": a.method, "createdAt": a.createdAt, "updatedAt": a.updatedAt,
		}})
	}
	return out
}

func (f *fakeController) sessionRecords() []record {
	var out []record
	for _, s := range f.apiSessions {
		out = append(out, record{json: f.sessionJSON(s), sym: map[string]any{
			"id": s.id, "identity": s.identityID, "createdAt": s.createdAt, "updatedAt": s.updatedAt,
		}})
	}
	return out
}

func (f *fakeController) ref(kind, id, name string) map[string]any {
	return map[string]any{"_links": links("./" + kind + "/" + id), "entity": kind, "id": id, "name": name}
}

func (f *fakeController) identityJSON(i *fIdentity) map[string]any {
	enr := map[string]any{}
	for _, e := range f.enrollments {
		if e.identityID == i.id {
			enr[e.method] = map[string]any{"id": e.id, "token": e.token, "jwt": e.jwt, "expiresAt": stampJSON(e.expiresAt)}
		}
	}
	auth := map[string]any{}
	for _, a := range f.authenticators {
		if a.identityID == i.id {
			auth[a.method] = map[string]any{"id": a.id, "fingerprint": a.fingerprint}
		}
	}
	hasSession := false
	for _, s := range f.apiSessions {
		hasSession = hasSession || s.identityID == i.id
	}
	tags := map[string]any{}
	for k, v := range i.tags {
		tags[k] = v
	}
	attrs := i.roleAttributes
	if attrs == nil {
		attrs = []string{}
	}
	return map[string]any{
		"_links": links("./identities/" + i.id), "id": i.id, "createdAt": stampJSON(i.createdAt), "updatedAt": stampJSON(i.updatedAt), "tags": tags,
		"name": i.name, "type": f.ref("identity-types", i.typ, i.typ), "typeId": i.typ, "isDefaultAdmin": false, "isAdmin": i.isAdmin,
		"authenticators": auth, "enrollment": enr, "envInfo": map[string]any{}, "sdkInfo": map[string]any{}, "roleAttributes": attrs,
		"hasEdgeRouterConnection": false, "edgeRouterConnectionStatus": "offline", "hasApiSession": hasSession, "isMfaEnabled": false,
		"serviceHostingPrecedences": map[string]any{}, "serviceHostingCosts": map[string]any{}, "defaultHostingCost": 0,
		"defaultHostingPrecedence": "default", "authPolicyId": "default", "authPolicy": f.ref("auth-policies", "default", "Default"),
		"externalId": nil, "disabled": false, "permissions": []string{}, "appData": map[string]any{},
	}
}

func (f *fakeController) enrollmentJSON(e *fEnrollment) map[string]any {
	name := ""
	if i := f.identities[e.identityID]; i != nil {
		name = i.name
	}
	return map[string]any{
		"_links": links("./enrollments/" + e.id), "id": e.id, "createdAt": stampJSON(e.createdAt), "updatedAt": stampJSON(e.updatedAt), "tags": map[string]any{},
		"token": e.token, "jwt": e.jwt, "method": e.method, "expiresAt": stampJSON(e.expiresAt), "details": map[string]any{},
		"identityId": e.identityID, "identity": f.ref("identities", e.identityID, name),
	}
}

func (f *fakeController) authenticatorJSON(a *fAuthenticator) map[string]any {
	name := ""
	if i := f.identities[a.identityID]; i != nil {
		name = i.name
	}
	return map[string]any{
		"_links": links("./authenticators/" + a.id), "id": a.id, "createdAt": stampJSON(a.createdAt), "updatedAt": stampJSON(a.updatedAt), "tags": map[string]any{},
		"method": a.method, "fingerprint": a.fingerprint, "identityId": a.identityID, "identity": f.ref("identities", a.identityID, name),
		"isIssuedByNetwork": true,
	}
}

func (f *fakeController) sessionJSON(s *fAPISession) map[string]any {
	name := ""
	if i := f.identities[s.identityID]; i != nil {
		name = i.name
	}
	return map[string]any{
		"_links": links("./api-sessions/" + s.id), "id": s.id, "createdAt": stampJSON(s.createdAt), "updatedAt": stampJSON(s.updatedAt), "tags": map[string]any{},
		"token": s.token, "identity": f.ref("identities", s.identityID, name), "identityId": s.identityID, "configTypes": []string{},
		"ipAddress": "192.0.2.7", "authQueries": []any{}, "cachedUpdatedAt": stampJSON(s.updatedAt), "isMfaRequired": false,
		"isMfaComplete": false, "authenticatorId": s.authenticatorID, "isCertExtendable": true,
	}
}

func (f *fakeController) createIdentity(body []byte) reply {
	var in struct {
		Name           string         `json:"name"`
		Type           string         `json:"type"`
		IsAdmin        bool           `json:"isAdmin"`
		RoleAttributes []string       `json:"roleAttributes"`
		Tags           map[string]any `json:"tags"`
		Enrollment     *struct {
			OTT bool `json:"ott"`
		} `json:"enrollment"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return invalid("(root)", err.Error(), nil)
	}
	for _, i := range f.identities {
		if i.name == in.Name {
			return invalid("name", fmt.Sprintf("duplicate value '%s' in unique index on identities store", in.Name), in.Name)
		}
	}
	now := f.stamp()
	i := &fIdentity{id: f.newID("ident"), name: in.Name, createdAt: now, updatedAt: now, tags: in.Tags, roleAttributes: in.RoleAttributes, typ: in.Type, isAdmin: in.IsAdmin}
	if i.tags == nil {
		i.tags = map[string]any{}
	}
	f.identities[i.id] = i
	if in.Enrollment != nil && in.Enrollment.OTT {
		f.newEnrollment(i.id, f.clock.Add(3*time.Hour))
	}
	return created(i.id, "identities")
}

func (f *fakeController) identityByID(method, id string, body []byte) reply {
	i := f.identities[id]
	if i == nil {
		return notFound()
	}
	switch method {
	case http.MethodGet:
		return ok(map[string]any{"data": f.identityJSON(i), "meta": map[string]any{}})
	case http.MethodPatch:
		var in map[string]json.RawMessage
		if err := json.Unmarshal(body, &in); err != nil {
			return invalid("(root)", err.Error(), nil)
		}
		if v, ok := in["roleAttributes"]; ok {
			_ = json.Unmarshal(v, &i.roleAttributes)
		}
		if v, ok := in["tags"]; ok {
			_ = json.Unmarshal(v, &i.tags)
		}
		// Like boltz, every update stamps updatedAt.
		i.updatedAt = f.stamp()
		return emptyOK()
	case http.MethodDelete:
		delete(f.identities, id)
		for k, e := range f.enrollments {
			if e.identityID == id {
				delete(f.enrollments, k)
			}
		}
		for k, a := range f.authenticators {
			if a.identityID == id {
				delete(f.authenticators, k)
			}
		}
		for k, s := range f.apiSessions {
			if s.identityID == id {
				delete(f.apiSessions, k)
			}
		}
		return emptyOK()
	}
	return notFound()
}

// parseExpiry reads an expiresAt the controller's way: it must be in the
// future.
func (f *fakeController) parseExpiry(body []byte) (time.Time, *reply) {
	var in struct {
		ExpiresAt string `json:"expiresAt"`
	}
	_ = json.Unmarshal(body, &in)
	t, err := time.Parse(time.RFC3339Nano, in.ExpiresAt)
	if err != nil {
		r := invalid("expiresAt", "must be a date-time", in.ExpiresAt)
		return time.Time{}, &r
	}
	if !t.After(f.clock) {
		r := invalid("expiresAt", "must be in the future", in.ExpiresAt)
		return time.Time{}, &r
	}
	return t.UTC(), nil
}

func (f *fakeController) createEnrollment(body []byte) reply {
	var in struct {
		Method     string `json:"method"`
		IdentityID string `json:"identityId"`
	}
	_ = json.Unmarshal(body, &in)
	exp, bad := f.parseExpiry(body)
	if bad != nil {
		return *bad
	}
	if f.identities[in.IdentityID] == nil {
		return invalid("identityId", "identity not found", in.IdentityID)
	}
	if f.enrollmentOf(in.IdentityID, in.Method) != nil {
		return apiErr(http.StatusConflict, "ENROLLMENT_EXISTS", "An enrollment already exists for this identity and method", nil)
	}
	e := f.newEnrollment(in.IdentityID, exp)
	return created(e.id, "enrollments")
}

func (f *fakeController) enrollmentByID(method, id string) reply {
	e := f.enrollments[id]
	if e == nil {
		return notFound()
	}
	if method == http.MethodDelete {
		delete(f.enrollments, id)
		return emptyOK()
	}
	return ok(map[string]any{"data": f.enrollmentJSON(e), "meta": map[string]any{}})
}

// refresh gives the enrollment a new token, JWT and expiry and answers
// with an empty body, as the controller does (the spec promises an id).
func (f *fakeController) refresh(id string, body []byte) reply {
	e := f.enrollments[id]
	if e == nil {
		return invalid("id", "enrollment not found", id)
	}
	exp, bad := f.parseExpiry(body)
	if bad != nil {
		return *bad
	}
	e.token = rand.Text()
	e.expiresAt = exp
	e.jwt = f.issueJWT(e.identityID, e.token, e.method, exp)
	e.updatedAt = f.stamp()
	return ok(map[string]any{"data": map[string]any{}, "meta": map[string]any{}})
}

// reEnroll reverts an authenticator to an ott enrollment; the API sessions
// that logged in with it end with it.
func (f *fakeController) reEnroll(id string, body []byte) reply {
	a := f.authenticators[id]
	if a == nil {
		return notFound()
	}
	exp, bad := f.parseExpiry(body)
	if bad != nil {
		return *bad
	}
	delete(f.authenticators, id)
	for k, s := range f.apiSessions {
		if s.authenticatorID == id {
			delete(f.apiSessions, k)
		}
	}
	e := f.newEnrollment(a.identityID, exp)
	return created(e.id, "enrollments")
}

// cacerts is the EST CA bundle: base64 PKCS#7 certs-only.
func (f *fakeController) cacerts() []byte {
	return []byte(base64.StdEncoding.EncodeToString(pkcs7CertsOnly(f.t, f.ca)))
}

// pkcs7CertsOnly builds a degenerate PKCS#7 SignedData holding certs.
func pkcs7CertsOnly(t testing.TB, certs ...*x509.Certificate) []byte {
	var raw bytes.Buffer
	for _, c := range certs {
		raw.Write(c.Raw)
	}
	type signedData struct {
		Version          int
		DigestAlgorithms asn1.RawValue
		ContentInfo      struct{ ContentType asn1.ObjectIdentifier }
		Certificates     asn1.RawValue
		SignerInfos      asn1.RawValue
	}
	set := asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true}
	sd, err := asn1.Marshal(signedData{
		Version:          1,
		DigestAlgorithms: set,
		ContentInfo:      struct{ ContentType asn1.ObjectIdentifier }{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}},
		Certificates:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: raw.Bytes()},
		SignerInfos:      set,
	})
	if err != nil {
		t.Fatal(err)
	}
	ci, err := asn1.Marshal(struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue
	}{oidSignedData, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sd}})
	if err != nil {
		t.Fatal(err)
	}
	return ci
}

// requestLog returns the requests so far.
func (f *fakeController) requestLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}
