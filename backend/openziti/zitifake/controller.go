// Package zitifake is a stateful stand-in for an OpenZiti controller's Edge
// Management API, for tests only: backend/openziti's own tests, and the
// end-to-end tests that point the real idcon binary at a controller. It
// serves the endpoints idcon uses on loopback, checks every request it
// receives and every response it sends against the official spec
// (shared/openziti/management.yml beside the repository) and fails the test
// on any mismatch. Nothing but tests may import it: it takes a testing.TB
// and reports through it.
package zitifake

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// apiPath is where the Edge Management API lives on a controller.
const apiPath = "/edge/management/v1"

// Controller is a running fake controller. Its exported fields are set by
// Start and never change; everything else goes through its methods, which
// are safe to call while a client (or the idcon binary) talks to it.
type Controller struct {
	// URL is the controller's address, https://127.0.0.1:PORT (http:// with
	// PlainHTTP), as an admin puts it in idcon's config.
	URL string
	// CA is the controller's own CA, which signed its server certificate;
	// CAPEM is it as PEM, and CAFile a file holding CAPEM.
	CA     *x509.Certificate
	CAPEM  []byte
	CAFile string
	// Username and Password log in as the admin (SetPassword changes the
	// password the fake accepts, not this field).
	Username, Password string

	// Intermediate signed the server certificate; CA (the root) signed it.
	// The EST bundle holds both, as a real controller's does.
	Intermediate *x509.Certificate

	t               testing.TB
	srv             *httptest.Server
	spec            *specValidator
	key             *rsa.PrivateKey // the TLS server key (RSA 4096), which also signs enrollment JWTs (RS256)
	leaf            *x509.Certificate
	interKey        *ecdsa.PrivateKey
	dir             string
	adminID         string // the "Default Admin" identity, whose updb password Username/Password log in with
	adminFP         string // the fingerprint of the admin client certificate (ClientCertFiles)
	unlisted        bool   // AdminUnlisted
	unchecked       bool   // Unchecked
	offSpecRequests bool   // OffSpecRequests

	cluster    *Cluster // set by StartCluster
	noQuorum   bool     // Cluster.LoseQuorum
	leaderGone bool     // Cluster.LoseLeader
	lastSess   *fAPISession

	mu             sync.Mutex
	fixed          bool          // the clock is the test's, moved by Advance only
	clock          time.Time     // the fixed clock
	offset         time.Duration // what Advance added to the wall clock
	last           time.Time     // the last timestamp written
	seq            int
	password       string
	identities     map[string]*fIdentity
	enrollments    map[string]*fEnrollment
	authenticators map[string]*fAuthenticator
	apiSessions    map[string]*fAPISession
	revocations    map[string]time.Time // revoked identity ID → the revocation's expiry
	requests       []string             // "METHOD /path?query" of every request, in order
	writes         []string             // "METHOD /path?query BODY" of every write to the API (no logins), in order

	// OIDC (oidc.go).
	legacyOnly   bool
	authRequests map[string]*fAuthRequest
	oidcSessions map[string]*oidcSession
	totp         map[string]*fTOTP // identity ID → its enrolled TOTP
	totpRequired map[string]bool   // identity ID → its logins need a code
	refreshes    int
	issued       []string // every token and code handed out (IssuedSecrets)

	// Test knobs.
	rateLimited int            // answer this many more reads with 429
	failNext    map[string]int // "METHOD /path" → status to answer once with an error
	clientCAs   *x509.CertPool // for method=cert logins
	standIn     []byte         // standInCert

	perf perfState // list indexes and the latency model (index.go)
}

type fIdentity struct {
	id, name       string
	createdAt      time.Time
	updatedAt      time.Time
	tags           map[string]any
	roleAttributes []string
	typ            string
	isAdmin        bool
	isDefaultAdmin bool
}

type fEnrollment struct {
	id, identityID, method, token, jwt string
	username                           string // a updb enrollment's, as created
	expiresAt, createdAt, updatedAt    time.Time
}

type fAuthenticator struct {
	id, identityID, method, fingerprint string
	username, password                  string // updb
	certDER                             []byte // cert, when a device enrolled through the client API
	createdAt, updatedAt                time.Time
}

type fAPISession struct {
	node                                   int // the cluster node that issued it (0: the first, or the only one)
	id, identityID, authenticatorID, token string
	mfaPending                             bool // a legacy login still waiting for its TOTP code
	createdAt, updatedAt                   time.Time
}

// Option changes how Start sets the fake up.
type Option func(*options)

type options struct {
	at              time.Time
	plain           bool
	user, pwd       string
	adminUnlisted   bool
	unchecked       bool
	offSpecRequests bool
	latency         *Latency
	legacyOnly      bool
}

// Unchecked skips checking the fake's answers against the spec, which
// costs more than making them for lists of 500 records. It is for
// measuring (make bench) at a controller's scale, where the answers are
// those the tests check; tests leave it out.
func Unchecked() Option { return func(o *options) { o.unchecked = true } }

// OffSpecRequests stops the fake reporting requests that break the spec,
// for tests that send what a real controller was recorded answering
// (a missing zt-session, an unknown enum value): they are answered as it
// did.
func OffSpecRequests() Option { return func(o *options) { o.offSpecRequests = true } }

// AdminUnlisted leaves the "Default Admin" identity out of GET
// /identities, and its password out of GET /authenticators (it is still
// there by id, and still logs in). A real
// controller lists it; the conformance suite, which counts and pages the
// identities it made, asks for this so that its counts are its own.
func AdminUnlisted() Option { return func(o *options) { o.adminUnlisted = true } }

// At gives the fake a clock of the test's own, starting at t and moved only
// by Advance; without it the fake runs on the wall clock (plus whatever
// Advance added), as a controller that a separate process talks to must.
func At(t time.Time) Option { return func(o *options) { o.at = t } }

// PlainHTTP serves plain HTTP instead of TLS, as a controller behind a
// local proxy might (idcon allows that on loopback only).
func PlainHTTP() Option { return func(o *options) { o.plain = true } }

// Credentials sets the admin's username and password (default admin /
// admin-password).
func Credentials(username, password string) Option {
	return func(o *options) { o.user, o.pwd = username, password }
}

// Start starts a fake controller on loopback with a CA and server
// certificate of its own; the test's cleanup stops it. Spec violations and
// misuse are reported through t.
func Start(t testing.TB, opts ...Option) *Controller {
	t.Helper()
	o := options{user: "admin", pwd: "admin-password"}
	for _, opt := range opts {
		opt(&o)
	}
	f := &Controller{
		Username:       o.user,
		Password:       o.pwd,
		t:              t,
		dir:            t.TempDir(),
		fixed:          !o.at.IsZero(),
		clock:          o.at.UTC(),
		password:       o.pwd,
		identities:     map[string]*fIdentity{},
		enrollments:    map[string]*fEnrollment{},
		authenticators: map[string]*fAuthenticator{},
		apiSessions:    map[string]*fAPISession{},
		revocations:    map[string]time.Time{},
		failNext:       map[string]int{},
		legacyOnly:     o.legacyOnly,
		authRequests:   map[string]*fAuthRequest{},
		oidcSessions:   map[string]*oidcSession{},
		totp:           map[string]*fTOTP{},
		totpRequired:   map[string]bool{},
	}
	// The PKI of a quickstart controller: root → intermediate → server
	// certificate (RSA 4096, whose key signs the enrollment JWTs).
	var caKey *ecdsa.PrivateKey
	f.CA, caKey = NewCA(t, "root-ca")
	f.Intermediate, f.interKey = newIntermediate(t, f.CA, caKey, "intermediate-ca-instance-1")
	f.CAPEM = PEM(f.CA)
	f.CAFile = writeFile(t, f.dir, "controller-ca.pem", f.CAPEM)
	f.key = serverKey(t)
	f.leaf = newRSALeaf(t, f.Intermediate, f.interKey, f.key, "127.0.0.1")
	f.clientCAs = x509.NewCertPool()
	f.clientCAs.AddCert(f.CA)
	f.clientCAs.AddCert(f.Intermediate)
	f.adminID = f.addAdmin("Default Admin", o.user, o.pwd, true)
	f.unlisted = o.adminUnlisted
	f.unchecked = o.unchecked
	f.offSpecRequests = o.offSpecRequests
	if o.latency != nil {
		f.perf.model, f.perf.slots = o.latency, slotsFor(o.latency)
	}

	f.srv = httptest.NewUnstartedServer(f.nodeHandler(0))
	// Handshakes the tests make fail on purpose needn't be logged.
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if o.plain {
		f.srv.Start()
	} else {
		f.srv.TLS = &tls.Config{
			Certificates: []tls.Certificate{{Certificate: [][]byte{f.leaf.Raw, f.Intermediate.Raw, f.CA.Raw}, PrivateKey: f.key, Leaf: f.leaf}},
			ClientAuth:   tls.VerifyClientCertIfGiven,
			// The pool is read during handshakes; TrustClientCA adds to it
			// only before clients connect.
			ClientCAs: f.clientCAs,
		}
		f.srv.StartTLS()
	}
	t.Cleanup(f.srv.Close)
	f.URL = f.srv.URL
	spec, err := newSpecValidator(f.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	f.spec = spec
	return f
}

// Addr is the host:port the fake listens on.
func (f *Controller) Addr() string { return f.srv.Listener.Addr().String() }

// TLSConfig is the server's TLS configuration (nil with PlainHTTP), for a
// test that serves something else with the fake's certificate.
func (f *Controller) TLSConfig() *tls.Config { return f.srv.TLS }

// Close stops the fake now, as a controller going down would; the test's
// cleanup would stop it anyway.
func (f *Controller) Close() { f.srv.Close() }

// Now is the fake's current time.
func (f *Controller) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now()
}

func (f *Controller) now() time.Time {
	if f.fixed {
		return f.clock
	}
	return time.Now().UTC().Add(f.offset)
}

// Advance moves the fake's clock forward by d.
func (f *Controller) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = f.clock.Add(d)
	f.offset += d
}

// CreateIdentity creates an identity directly in the fake's state (no
// request is made) with an unused one-time token expiring at expiresAt,
// which may be in the past (the identity is then expired); a zero
// expiresAt gives no token at all. email goes where idcon keeps it, the
// "email" tag. It returns the identity's ID.
func (f *Controller) CreateIdentity(name, email string, expiresAt time.Time) string {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, i := range f.identities {
		if i.name == name {
			f.t.Fatalf("zitifake: an identity named %q already exists", name)
		}
	}
	now := f.stamp()
	i := &fIdentity{id: f.newID("ident"), name: name, createdAt: now, updatedAt: now, tags: map[string]any{}, typ: "Default"}
	if email != "" {
		i.tags["email"] = email
	}
	f.identities[i.id] = i
	if !expiresAt.IsZero() {
		f.newEnrollment(i.id, expiresAt.UTC())
	}
	return i.id
}

// Enroll does what `ziti edge enroll` does with the identity's ott token:
// the enrollment becomes a certificate authenticator.
func (f *Controller) Enroll(identityID string) {
	f.t.Helper()
	f.enroll(f.t, identityID)
}

func (f *Controller) enroll(t testing.TB, identityID string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.enrollmentOf(identityID, "ott")
	if e == nil || !f.now().Before(e.expiresAt) {
		t.Fatalf("zitifake: identity %s has no valid ott enrollment to enroll with", identityID)
	}
	delete(f.enrollments, e.id)
	now := f.stamp()
	aid := f.newID("")
	f.authenticators[aid] = &fAuthenticator{id: aid, identityID: identityID, method: "cert", fingerprint: certFingerprint([]byte(e.token)), createdAt: now, updatedAt: now}
}

// AddAPISessions logs the (enrolled) identity in n times with its
// certificate, as its SDK would.
func (f *Controller) AddAPISessions(identityID string, n int) {
	f.t.Helper()
	f.addSessions(f.t, identityID, n)
}

func (f *Controller) addSessions(t testing.TB, identityID string, n int) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.authenticatorOf(identityID)
	if a == nil {
		t.Fatalf("zitifake: identity %s has no authenticator to log in with", identityID)
	}
	f.connect(identityID, a.id, n)
}

// AddAPISessionsVia opens n API sessions for the identity through another
// authenticator (one the fake doesn't know, such as a password login), so
// that a reset must end them itself.
func (f *Controller) AddAPISessionsVia(identityID, authenticatorID string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.connect(identityID, authenticatorID, n)
}

// Identity is what the fake holds about one identity, for tests to check
// the outcome of what idcon did.
type Identity struct {
	ID, Name, Email string
	// Enrollment is the outstanding one-time token, nil if none.
	Enrollment *Enrollment
	// Authenticators counts the identity's credentials; APISessions its
	// sessions.
	Authenticators, APISessions int
}

// Enrollment is an outstanding one-time token.
type Enrollment struct {
	ID, JWT   string
	ExpiresAt time.Time
}

// IdentityByName returns the identity with this name; ok is false if there
// is none.
func (f *Controller) IdentityByName(name string) (id Identity, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, i := range f.identities {
		if i.name != name {
			continue
		}
		id = Identity{ID: i.id, Name: i.name}
		id.Email, _ = i.tags["email"].(string)
		if e := f.enrollmentOf(i.id, "ott"); e != nil {
			id.Enrollment = &Enrollment{ID: e.id, JWT: e.jwt, ExpiresAt: e.expiresAt}
		}
		for _, a := range f.authenticators {
			if a.identityID == i.id {
				id.Authenticators++
			}
		}
		for _, s := range f.apiSessions {
			if s.identityID == i.id {
				id.APISessions++
			}
		}
		return id, true
	}
	return Identity{}, false
}

// FailNext makes the fake answer the next request to method and path (the
// part after /edge/management/v1, e.g. "GET", "/identities") with an error
// of this status, worded as the controller words it.
func (f *Controller) FailNext(method, path string, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext[method+" "+path] = status
}

// RateLimit makes the fake answer the next n reads with 429 RATE_LIMITED.
func (f *Controller) RateLimit(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rateLimited = n
}

// RequireMFA enrols TOTP for the admin (Username) and makes its logins
// need a code (on), or not; it returns the TOTP secret (TOTPCode makes
// its codes) and the recovery codes.
func (f *Controller) RequireMFA(on bool) (secret string, recovery []string) {
	return f.EnrollTOTP(f.Username, on)
}

// SetPassword changes the admin password the fake accepts.
func (f *Controller) SetPassword(pw string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.password = pw
	for _, a := range f.authenticators {
		if a.identityID == f.adminID && a.method == "updb" {
			a.password = pw
		}
	}
}

// ExpireAdminSessions forgets every admin session, as a controller does
// when they time out.
func (f *Controller) ExpireAdminSessions() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, s := range f.apiSessions {
		if i := f.identities[s.identityID]; i != nil && i.isAdmin {
			delete(f.apiSessions, k)
		}
	}
	for k, s := range f.oidcSessions {
		if i := f.identities[s.identityID]; i != nil && i.isAdmin {
			delete(f.oidcSessions, k)
		}
	}
}

// ClientCertFiles issues an admin client certificate from a client CA the
// fake trusts and writes it and its key as PEM files, for method=cert
// logins. Call it before a client connects.
func (f *Controller) ClientCertFiles() (certFile, keyFile string) {
	f.t.Helper()
	ca, caKey := NewCA(f.t, "fake controller client CA")
	leaf, key := NewLeaf(f.t, ca, caKey, "idcon-admin", true)
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	f.clientCAs.AddCert(ca)
	f.adminFP = certFingerprint(leaf.Raw)
	f.mu.Unlock()
	return writeFile(f.t, f.dir, "admin-cert.pem", PEM(leaf)),
		writeFile(f.t, f.dir, "admin-key.pem", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
}

// Writes returns "METHOD /path?query BODY" of every write to the API so
// far (logins left out), in order, bodies as sent.
func (f *Controller) Writes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.writes)
}

// Requests returns "METHOD /path?query" of every request so far, in order.
func (f *Controller) Requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func (f *Controller) connect(identityID, authenticatorID string, n int) {
	for range n {
		now := f.stamp()
		sid := f.newID("sess")
		f.apiSessions[sid] = &fAPISession{id: sid, identityID: identityID, authenticatorID: authenticatorID, token: rand.Text(), createdAt: now, updatedAt: now}
	}
}

// stamp is the time of a write: the clock, but never the same as the
// previous write's, as a real clock would move between requests.
func (f *Controller) stamp() time.Time {
	t := f.now()
	if !t.After(f.last) {
		t = f.last.Add(time.Microsecond)
	}
	f.last = t
	return t
}

// newID makes an id of the controller's short shape ("7IraO.p9RP"),
// unique and growing with seq so that ordering by id is creation order.
func (f *Controller) newID(prefix string) string {
	f.seq++
	_ = prefix
	return fmt.Sprintf("%05d%s", f.seq, strings.ReplaceAll(rand.Text()[:5], "A", "."))
}

// newLongID is the 22-character shape of ids made by POST /enrollments and
// by a updb POST /authenticators.
func (f *Controller) newLongID() string {
	f.seq++
	return fmt.Sprintf("%06d%s", f.seq, rand.Text()[:16])
}

// newUUID is the shape of enrollment tokens (the JWT's jti).
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (f *Controller) enrollmentOf(identityID, method string) *fEnrollment {
	for _, e := range f.enrollments {
		if e.identityID == identityID && e.method == method {
			return e
		}
	}
	return nil
}

func (f *Controller) authenticatorOf(identityID string) *fAuthenticator {
	if as := f.authenticatorsOf(identityID); len(as) > 0 {
		return as[0]
	}
	return nil
}

// authenticatorsOf lists the identity's authenticators, oldest first.
func (f *Controller) authenticatorsOf(identityID string) []*fAuthenticator {
	var out []*fAuthenticator
	for _, a := range f.authenticators {
		if a.identityID == identityID {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b *fAuthenticator) int { return a.createdAt.Compare(b.createdAt) })
	return out
}

// issueJWT makes an enrollment JWT as a controller does: signed with the
// TLS server key, kid the certificate's SHA-1, jti the token.
func (f *Controller) issueJWT(identityID, token, method string, exp time.Time) string {
	signing := f.unsignedJWT(identityID, token, method, exp)
	sig, err := jwt.SigningMethodRS256.Sign(signing, f.key)
	if err != nil {
		f.t.Errorf("zitifake: sign JWT: %v", err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// unsignedJWT is the header and claims of an enrollment JWT, encoded: what
// its signature signs.
func (f *Controller) unsignedJWT(identityID, token, method string, exp time.Time) string {
	addr := f.srv.Listener.Addr().String()
	// Header and claims as recorded (jwt-ott.txt), in that order: no iat.
	header, _ := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{"RS256", certFingerprint(f.leaf.Raw), "JWT"})
	claims, _ := json.Marshal(struct {
		Iss   string   `json:"iss"`
		Sub   string   `json:"sub"`
		Aud   []string `json:"aud"`
		Exp   int64    `json:"exp"`
		Jti   string   `json:"jti"`
		Em    string   `json:"em"`
		Ctrls []string `json:"ctrls"`
	}{"https://" + addr, identityID, []string{""}, exp.Unix(), token, method, []string{"tls:" + addr}})
	enc := base64.RawURLEncoding
	return enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
}

// newEnrollment creates an ott enrollment (caller holds mu).
func (f *Controller) newEnrollment(identityID string, expiresAt time.Time) *fEnrollment {
	return f.newEnrollmentOf(identityID, "ott", f.newID(""), expiresAt)
}

// newEnrollmentOf creates an enrollment of a method with a given id.
// Enrollment records carry zero timestamps on a real controller.
func (f *Controller) newEnrollmentOf(identityID, method, id string, expiresAt time.Time) *fEnrollment {
	e := &fEnrollment{id: id, identityID: identityID, method: method, token: newUUID(), expiresAt: expiresAt}
	e.jwt = f.issueJWT(identityID, e.token, method, expiresAt)
	f.enrollments[e.id] = e
	return e
}

// addAdmin makes an admin identity with a updb authenticator (caller holds
// mu, or Start).
func (f *Controller) addAdmin(name, username, password string, isDefault bool) string {
	now := f.stamp()
	i := &fIdentity{id: f.newID(""), name: name, createdAt: now, updatedAt: now, tags: map[string]any{}, typ: "Default", isAdmin: true, isDefaultAdmin: isDefault}
	f.identities[i.id] = i
	aid := f.newLongID()
	f.authenticators[aid] = &fAuthenticator{id: aid, identityID: i.id, method: "updb", username: username, password: password, createdAt: now, updatedAt: now}
	return i.id
}

// certFingerprint is the controller's fingerprint of a certificate: the
// SHA-1 of its DER, in hex.
func certFingerprint(der []byte) string {
	sum := sha1.Sum(der)
	return hex.EncodeToString(sum[:])
}

// SetEnrollmentJWT replaces the JWT of the named identity's outstanding
// one-time token with jwt (a token a real controller issued, say, to test
// what is done with one of its size); it reports whether there was one.
func (f *Controller) SetEnrollmentJWT(name, jwt string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, i := range f.identities {
		if i.name != name {
			continue
		}
		if e := f.enrollmentOf(i.id, "ott"); e != nil {
			e.jwt = jwt
			return true
		}
	}
	return false
}
