package embedded

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

const day = 24 * time.Hour

var t0 = time.Date(2030, 6, 1, 9, 30, 15, 0, time.UTC)

// testStore opens a fresh store on a real file with a fake clock and one
// network named demo.
func testStore(t *testing.T) (*Store, *fakeClock, model.Network) {
	t.Helper()
	clock := newFakeClock(t0)
	s := openStore(t, filepath.Join(t.TempDir(), "idcon.db"), clock)
	n, err := s.CreateNetwork(t.Context(), "demo")
	if err != nil {
		t.Fatalf("CreateNetwork: %v", err)
	}
	return s, clock, n
}

func mustCreate(t *testing.T, s *Store, net, name string, expires time.Time) backend.Token {
	t.Helper()
	tok, err := s.CreateIdentity(t.Context(), net, model.NewIdentity{Name: name, ExpiresAt: expires})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return tok
}

func mustGet(t *testing.T, s *Store, net, id string) model.Identity {
	t.Helper()
	x, err := s.Identity(t.Context(), net, id)
	if err != nil {
		t.Fatalf("Identity(%s): %v", id, err)
	}
	return x
}

// wantRefused fails unless err is of the backend class and the reason and
// its message contains phrase.
func wantRefused(t *testing.T, step string, err error, class, reason error, phrase string) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s: succeeded, want it refused (%v)", step, reason)
	case !errors.Is(err, class):
		t.Errorf("%s: %q is not of class %v", step, err, class)
	case reason != nil && !errors.Is(err, reason):
		t.Errorf("%s: %q does not wrap %v", step, err, reason)
	case !strings.Contains(err.Error(), phrase):
		t.Errorf("%s: %q does not say %q", step, err, phrase)
	}
}

// TestLifecycleEndToEnd drives one identity through the whole lifecycle
// with real tokens, keys, certificates and sessions, and checks that every
// superseded token is refused with its own reason.
func TestLifecycleEndToEnd(t *testing.T) {
	s, clock, n := testStore(t)
	ctx := t.Context()

	// create → pending
	t1, err := s.CreateIdentity(ctx, n.ID, model.NewIdentity{
		Name: "laptop-alice", Email: "alice.ng@example.org", Attributes: []string{"staff"}, ExpiresAt: t0.Add(7 * day),
	})
	if err != nil {
		t.Fatal(err)
	}
	id := t1.Identity.ID
	if st := t1.Identity.State(clock.Now()); st != model.StatePending || t1.Identity.Revision != 1 {
		t.Fatalf("created: state %s revision %d, want pending revision 1", st, t1.Identity.Revision)
	}

	// pending → enrolled, through a device directory
	dev1 := filepath.Join(t.TempDir(), "alice-laptop")
	enr, err := EnrollToDir(ctx, s, t1.JWT, dev1)
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}
	if enr.IdentityID != id || enr.IdentityName != "laptop-alice" || enr.NetworkID != n.ID || enr.NetworkName != "demo" {
		t.Errorf("enroll returned %+v", enr)
	}
	checkDeviceDir(t, dev1)
	x := mustGet(t, s, n.ID, id)
	switch {
	case x.State(clock.Now()) != model.StateEnrolled:
		t.Fatalf("after enroll: state %s", x.State(clock.Now()))
	case !x.HasCredential || x.Enrollment != nil || !x.EnrolledAt.Equal(clock.Now()) || x.Revision != 2:
		t.Errorf("after enroll: credential %v, enrollment %v, enrolled at %s, revision %d", x.HasCredential, x.Enrollment, x.EnrolledAt, x.Revision)
	}
	// The token is spent: a second device can't use it, and is left with
	// no key.
	dev2 := filepath.Join(t.TempDir(), "second")
	_, err = EnrollToDir(ctx, s, t1.JWT, dev2)
	wantRefused(t, "second use of the token", err, backend.ErrConflict, ErrTokenUsed, "this token was already used")
	if _, err := os.Stat(filepath.Join(dev2, keyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused enroll left %s behind", keyFile)
	}
	// EnrollToDir never overwrites a credential.
	_, err = EnrollToDir(ctx, s, t1.JWT, dev1)
	wantRefused(t, "enroll into a directory holding a key", err, backend.ErrConflict, nil, "already exists")

	// enrolled → a session
	sess, err := s.Connect(ctx, dev1)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	if sess.Identity.ID != id || sess.Identity.ActiveSessions != 1 {
		t.Errorf("connect: session of %s with %d sessions", sess.Identity.ID, sess.Identity.ActiveSessions)
	}
	clock.Advance(time.Minute)
	if err := s.Heartbeat(ctx, sess.ID); err != nil {
		t.Errorf("heartbeat: %v", err)
	}
	if x := mustGet(t, s, n.ID, id); x.Revision != 2 {
		t.Errorf("a session changed the revision to %d", x.Revision)
	}

	// reset: the session is dropped, the certificate revoked
	t2, err := s.ResetEnrollment(ctx, n.ID, id, 2, clock.Now().Add(7*day))
	if err != nil {
		t.Fatalf("reset: %v", err)
	}
	if t2.SessionsDropped != 1 || t2.Identity.ActiveSessions != 0 || t2.Identity.HasCredential || t2.Identity.Revision != 3 {
		t.Errorf("reset: dropped %d, identity %+v", t2.SessionsDropped, t2.Identity)
	}
	err = s.Heartbeat(ctx, sess.ID)
	if !errors.Is(err, ErrSessionDropped) {
		t.Errorf("heartbeat after reset: %v, want ErrSessionDropped", err)
	}
	_, err = s.Connect(ctx, dev1)
	wantRefused(t, "connect with the reset credential", err, backend.ErrForbidden, ErrCredentialRefused, "revoked")
	_, err = EnrollToDir(ctx, s, t1.JWT, t.TempDir())
	wantRefused(t, "the first token after a reset", err, backend.ErrConflict, ErrTokenUsed, "this token was already used")

	// the reset token expires unused
	clock.Advance(8 * day)
	_, err = EnrollToDir(ctx, s, t2.JWT, t.TempDir())
	wantRefused(t, "an expired token", err, backend.ErrConflict, ErrTokenExpired, "this token expired on "+t2.ExpiresAt.Format("2006-01-02"))
	if x := mustGet(t, s, n.ID, id); x.State(clock.Now()) != model.StateExpired || x.Revision != 3 {
		t.Errorf("a refused enroll changed the identity: %s, revision %d", x.State(clock.Now()), x.Revision)
	}

	// reissue: the expired token is replaced
	t3, err := s.ReissueEnrollment(ctx, n.ID, id, 3, clock.Now().Add(day))
	if err != nil {
		t.Fatalf("reissue: %v", err)
	}
	_, err = EnrollToDir(ctx, s, t2.JWT, t.TempDir())
	wantRefused(t, "a reissued token", err, backend.ErrConflict, ErrTokenReplaced, "this token was replaced by a newer one")
	dev3 := filepath.Join(t.TempDir(), "new-laptop")
	if _, err := EnrollToDir(ctx, s, t3.JWT, dev3); err != nil {
		t.Fatalf("enroll with the reissued token: %v", err)
	}
	_, err = EnrollToDir(ctx, s, t3.JWT, t.TempDir())
	wantRefused(t, "second use of the reissued token", err, backend.ErrConflict, ErrTokenUsed, "this token was already used")
	if _, err := s.Connect(ctx, dev3); err != nil {
		t.Errorf("connect with the new credential: %v", err)
	}
	_, err = s.Connect(ctx, dev1)
	wantRefused(t, "connect with the old credential", err, backend.ErrForbidden, ErrCredentialRefused, "revoked")

	// reset again, then delete the token
	x = mustGet(t, s, n.ID, id)
	t4, err := s.ResetEnrollment(ctx, n.ID, id, x.Revision, clock.Now().Add(day))
	if err != nil {
		t.Fatalf("second reset: %v", err)
	}
	if t4.SessionsDropped != 1 {
		t.Errorf("second reset dropped %d sessions, want 1", t4.SessionsDropped)
	}
	if t4.JWT == t3.JWT || t4.Identity.Enrollment.ID == t3.Identity.Enrollment.ID {
		t.Errorf("reset reused the previous token or its ID")
	}
	if _, err := s.DeleteEnrollment(ctx, n.ID, id, t4.Identity.Revision); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = EnrollToDir(ctx, s, t4.JWT, t.TempDir())
	wantRefused(t, "a deleted token", err, backend.ErrConflict, ErrTokenDeleted, "this token was deleted")
	_, err = s.TokenJWT(ctx, n.ID, id)
	wantRefused(t, "TokenJWT after delete", err, backend.ErrConflict, nil, "has no token")
}

func checkDeviceDir(t *testing.T, dir string) {
	t.Helper()
	for name, mode := range map[string]os.FileMode{keyFile: 0o600, certFile: 0o644, caFile: 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("device directory: %v", err)
			continue
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s has mode %v, want %v", name, fi.Mode().Perm(), mode)
		}
	}
	if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm() != 0o700 {
		t.Errorf("device directory has mode %v, want 0700", fi.Mode().Perm())
	}
	// The certificate chains to the CA written beside it.
	certPEM, _ := os.ReadFile(filepath.Join(dir, certFile))
	caPEM, _ := os.ReadFile(filepath.Join(dir, caFile))
	cb, _ := pem.Decode(certPEM)
	if cb == nil {
		t.Fatalf("%s holds no PEM", certFile)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("%s holds no certificate", caFile)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: cert.NotBefore.Add(time.Hour), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("the certificate doesn't chain to ca.pem: %v", err)
	}
}

// TestEnrollRefusesGarbage: anything that isn't one of this store's tokens
// is refused as such, and nothing is written.
func TestEnrollRefusesGarbage(t *testing.T) {
	s, clock, n := testStore(t)
	ctx := t.Context()
	tok := mustCreate(t, s, n.ID, "phone-bob", clock.Now().Add(day))
	parts := strings.Split(tok.JWT, ".")
	// The same claims, re-signed by another network's key.
	other, _, otherNet := testStore(t)
	foreign := mustCreate(t, other, otherNet.ID, "phone-bob", clock.Now().Add(day))

	hs256, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": tok.Identity.ID, "em": "ott"}).SignedString([]byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	flipped := []byte(parts[2])
	flipped[10] ^= 1
	cases := []struct {
		name, jwt string
		class     error
		phrase    string
	}{
		{"empty", "", backend.ErrInvalid, "not an idcon enrollment token"},
		{"words", "hello world", backend.ErrInvalid, "not an idcon enrollment token"},
		{"three dots of nothing", "..", backend.ErrInvalid, "not an idcon enrollment token"},
		{"HS256", hs256, backend.ErrInvalid, "not an idcon enrollment token"},
		{"bad signature", parts[0] + "." + parts[1] + "." + string(flipped), backend.ErrInvalid, "signature"},
		{"claims of another token", parts[0] + "." + strings.Split(foreign.JWT, ".")[1] + "." + parts[2], backend.ErrInvalid, "signature"},
		{"another database's token", foreign.JWT, backend.ErrNotFound, "network this database doesn't hold"},
		{"huge", strings.Repeat("a", 10_000), backend.ErrInvalid, "not an idcon enrollment token"},
	}
	for _, c := range cases {
		dir := t.TempDir()
		_, err := EnrollToDir(ctx, s, c.jwt, dir)
		wantRefused(t, c.name, err, c.class, ErrNotAToken, c.phrase)
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%s: enroll left %d files behind", c.name, len(entries))
		}
	}
	if x := mustGet(t, s, n.ID, tok.Identity.ID); x.State(clock.Now()) != model.StatePending || x.Revision != 1 {
		t.Errorf("refused tokens changed the identity")
	}
	// A malformed CSR is refused too.
	_, err = s.Enroll(ctx, tok.JWT, []byte("not a csr"))
	wantRefused(t, "malformed CSR", err, backend.ErrInvalid, nil, "certificate request")
}

// TestTokenShape: tokens are small ES256 JWTs with the OpenZiti-style
// claims, verifiable with the network's published signing key.
func TestTokenShape(t *testing.T) {
	s, clock, n := testStore(t)
	ctx := t.Context()
	expires := clock.Now().Add(30 * day).Truncate(time.Second)
	tok, err := s.CreateIdentity(ctx, n.ID, model.NewIdentity{
		Name: "build-runner-with-a-rather-long-name-17", Email: "ci-bots@builds.example.org", ExpiresAt: expires,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(tok.JWT) >= 450 {
		t.Errorf("the token is %d bytes, want under 450", len(tok.JWT))
	}
	parts := strings.Split(tok.JWT, ".")
	if len(parts) != 3 {
		t.Fatalf("the token has %d parts", len(parts))
	}
	var hdr map[string]any
	decodePart(t, parts[0], &hdr)
	if hdr["alg"] != "ES256" || hdr["typ"] != "JWT" || len(hdr["kid"].(string)) != 16 {
		t.Errorf("header %v, want alg ES256, typ JWT and a 16-hex-digit kid", hdr)
	}
	var claims map[string]any
	decodePart(t, parts[1], &claims)
	iss, _ := claims["iss"].(string)
	switch {
	case claims["sub"] != tok.Identity.ID:
		t.Errorf("sub %v, want the identity ID %s", claims["sub"], tok.Identity.ID)
	case claims["jti"] != tok.Identity.Enrollment.ID:
		t.Errorf("jti %v, want the enrollment ID %s", claims["jti"], tok.Identity.Enrollment.ID)
	case claims["em"] != "ott":
		t.Errorf("em %v, want ott", claims["em"])
	case !strings.HasPrefix(iss, "https://") || len(iss) > 40:
		t.Errorf("iss %q, want a short https URL", iss)
	case claims["exp"] != float64(expires.Unix()) || claims["iat"] != float64(clock.Now().Unix()):
		t.Errorf("iat %v exp %v, want %d and %d", claims["iat"], claims["exp"], clock.Now().Unix(), expires.Unix())
	}

	// It verifies with the key Networks publishes, and no other.
	nets, err := s.Networks(ctx)
	if err != nil || len(nets) != 1 {
		t.Fatalf("Networks: %v, %v", nets, err)
	}
	if nets[0].Identities != 1 || nets[0].Kind != "embedded" || nets[0].Name != "demo" {
		t.Errorf("Networks()[0] = %+v", nets[0])
	}
	block, _ := pem.Decode([]byte(nets[0].SigningKey))
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("SigningKey is not a PEM public key: %q", nets[0].SigningKey)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	keyFunc := func(*jwt.Token) (any, error) { return pub, nil }
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"ES256"}), jwt.WithTimeFunc(clock.Now))
	if _, err := parser.Parse(tok.JWT, keyFunc); err != nil {
		t.Errorf("the token doesn't verify with the network's SigningKey: %v", err)
	}
	_, _, other := testStore(t)
	if other.SigningKey == nets[0].SigningKey {
		t.Errorf("two networks share a signing key")
	}

	// ParseToken reads the same without verifying.
	c, err := ParseToken(" " + tok.JWT + "\n")
	if err != nil {
		t.Fatalf("ParseToken: %v", err)
	}
	if c.Subject != tok.Identity.ID || c.ID != tok.Identity.Enrollment.ID || c.Method != "ott" || c.Issuer != iss ||
		c.KeyID != hdr["kid"] || !c.ExpiresAt.Equal(expires) || !c.IssuedAt.Equal(clock.Now()) {
		t.Errorf("ParseToken = %+v", c)
	}
}

func decodePart(t *testing.T, part string, v any) {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		t.Fatalf("token part is not base64url: %v", err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("token part is not JSON: %v", err)
	}
}

// TestRefusalMessages: a refusal says what is wrong and what to do.
func TestRefusalMessages(t *testing.T) {
	s, clock, n := testStore(t)
	ctx := t.Context()
	tok := mustCreate(t, s, n.ID, "laptop-alice", clock.Now().Add(day))
	id := tok.Identity.ID

	_, err := s.ResetEnrollment(ctx, n.ID, id, 1, clock.Now().Add(day))
	wantRefused(t, "reset on pending", err, backend.ErrConflict, nil,
		"laptop-alice is pending: reset needs an enrolled identity; delete the token or wait for it to expire")
	_, err = s.DeleteEnrollment(ctx, n.ID, id, 7)
	wantRefused(t, "stale revision", err, backend.ErrConflict, nil,
		"laptop-alice changed since you loaded it (revision 7, now 1): reload and try again")
	_, err = s.IdentityByName(ctx, n.ID, "x")
	wantRefused(t, "unknown name", err, backend.ErrNotFound, nil,
		"no identity named \"x\" in network demo: check the name with `idcon identity list`")
	_, err = s.Identity(ctx, n.ID, "x")
	wantRefused(t, "unknown ID", err, backend.ErrNotFound, nil, "no identity with ID \"x\" in network demo")
	_, err = s.Identities(ctx, "nope", model.ListQuery{})
	wantRefused(t, "unknown network", err, backend.ErrNotFound, nil, "no network with ID \"nope\"")
	_, err = s.NetworkByName(ctx, "nope")
	wantRefused(t, "unknown network name", err, backend.ErrNotFound, nil, "no network named \"nope\"")
	_, err = s.CreateNetwork(ctx, "demo")
	wantRefused(t, "duplicate network", err, backend.ErrConflict, nil, "a network named \"demo\" already exists")
	_, err = s.CreateIdentity(ctx, n.ID, model.NewIdentity{Name: "laptop-alice", ExpiresAt: clock.Now().Add(day)})
	wantRefused(t, "duplicate identity", err, backend.ErrConflict, nil, "an identity named \"laptop-alice\" already exists in network demo")
	_, err = s.CreateIdentity(ctx, n.ID, model.NewIdentity{Name: "b", ExpiresAt: clock.Now().Add(2 * model.DefaultMaxExpiry)})
	wantRefused(t, "expiry too far", err, backend.ErrInvalid, model.ErrExpiryTooFar, "choose an earlier date")
	_, err = s.CreateIdentity(ctx, n.ID, model.NewIdentity{Name: "b", Attributes: []string{"ok", "bad\x07"}, ExpiresAt: clock.Now().Add(day)})
	wantRefused(t, "attribute with a control character", err, backend.ErrInvalid, nil, "control character")
	err = s.AddSessions(ctx, n.ID, id, 1)
	wantRefused(t, "sessions for a pending identity", err, backend.ErrConflict, nil, "only an enrolled identity")
	_, err = s.Connect(ctx, t.TempDir())
	wantRefused(t, "connect without a credential", err, backend.ErrInvalid, nil, "enroll first")

	// A policy with a shorter maximum is applied.
	s2, err := Open(filepath.Join(t.TempDir(), "short.db"), Options{Now: clock.Now, Policy: model.ExpiryPolicy{Max: 2 * day}})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	n2, err := s2.CreateNetwork(ctx, "short")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s2.CreateIdentity(ctx, n2.ID, model.NewIdentity{Name: "a", ExpiresAt: clock.Now().Add(3 * day)})
	wantRefused(t, "expiry beyond a 2-day policy", err, backend.ErrInvalid, model.ErrExpiryTooFar, "2 days")

	// A call that runs out of time is unavailable.
	dead, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel()
	_, err = s.Identities(dead, n.ID, model.ListQuery{})
	wantRefused(t, "past deadline", err, backend.ErrUnavailable, context.DeadlineExceeded, "timed out")
}
