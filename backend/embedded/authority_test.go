package embedded

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// The enrollment authority's promises, each checked against an attacker
// who knows what a legitimate party knows: a copy of a certificate, a
// token, or even the network's signing key.

// readCert parses the certificate in a device directory.
func readCert(t *testing.T, dir string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, certFile))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s holds no PEM", certFile)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// writeCredential writes a certificate and its key as a device directory.
func writeCredential(t *testing.T, der []byte, key *ecdsa.PrivateKey) string {
	t.Helper()
	dir := t.TempDir()
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, certFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, keyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestConnectRefusesAForgedCertificate: whoever holds a copy of a device's
// cert.pem knows its serial and CN; a certificate they make with those,
// self-signed or signed by another network's CA, must not connect.
func TestConnectRefusesAForgedCertificate(t *testing.T) {
	s, clock, n := testStore(t)
	ctx := t.Context()
	tok := mustCreate(t, s, n.ID, "laptop-alice", clock.Now().Add(day))
	dev := filepath.Join(t.TempDir(), "alice")
	if _, err := EnrollToDir(ctx, s, tok.JWT, dev); err != nil {
		t.Fatal(err)
	}
	real := readCert(t, dev)

	// The forger's template copies everything the real certificate shows.
	forge := func(parent *x509.Certificate, parentKey *ecdsa.PrivateKey) string {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: real.SerialNumber,
			Subject:      real.Subject,
			NotBefore:    real.NotBefore,
			NotAfter:     real.NotAfter,
			KeyUsage:     real.KeyUsage,
			ExtKeyUsage:  real.ExtKeyUsage,
		}
		signer := any(key)
		if parent == nil {
			parent = tmpl // self-signed
		} else {
			signer = parentKey
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
		if err != nil {
			t.Fatal(err)
		}
		return writeCredential(t, der, key)
	}
	other, _, otherNet := testStore(t)
	on, err := networkByID(ctx, other.db, otherNet.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The same subject and issuer name as the real CA, but a key of the
	// forger's own.
	fakeCAKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rn, err := networkByID(ctx, s.db, n.ID)
	if err != nil {
		t.Fatal(err)
	}
	fakeCATmpl := *rn.caCert
	fakeCATmpl.PublicKey = &fakeCAKey.PublicKey
	fakeCADER, err := x509.CreateCertificate(rand.Reader, &fakeCATmpl, &fakeCATmpl, &fakeCAKey.PublicKey, fakeCAKey)
	if err != nil {
		t.Fatal(err)
	}
	fakeCA, err := x509.ParseCertificate(fakeCADER)
	if err != nil {
		t.Fatal(err)
	}

	for name, dir := range map[string]string{
		"self-signed, same serial and CN":          forge(nil, nil),
		"signed by another network's CA":           forge(on.caCert, on.caKey),
		"signed by a look-alike of the network CA": forge(fakeCA, fakeCAKey),
	} {
		_, err := s.Connect(ctx, dir)
		wantRefused(t, name, err, backend.ErrForbidden, ErrCredentialRefused, "is not valid for network demo")
	}
	if x := mustGet(t, s, n.ID, tok.Identity.ID); x.ActiveSessions != 0 {
		t.Errorf("forged certificates opened %d sessions", x.ActiveSessions)
	}
	// The real one still connects.
	if _, err := s.Connect(ctx, dev); err != nil {
		t.Errorf("the real credential: %v", err)
	}
}

// TestEnrollRefusesTokensSignedWithTheNetworkKey: even a token that
// verifies with the network's key is refused unless it is exactly the
// token issued: same identity, same issuer.
func TestEnrollRefusesTokensSignedWithTheNetworkKey(t *testing.T) {
	s, clock, n := testStore(t)
	ctx := t.Context()
	alice := mustCreate(t, s, n.ID, "laptop-alice", clock.Now().Add(day))
	bob := mustCreate(t, s, n.ID, "phone-bob", clock.Now().Add(day))
	nw, err := networkByID(ctx, s.db, n.ID)
	if err != nil {
		t.Fatal(err)
	}
	now, exp := clock.Now(), alice.ExpiresAt

	// Alice's token ID, naming Bob.
	otherSubject, err := nw.sign(bob.Identity.ID, alice.Identity.Enrollment.ID, now, exp)
	if err != nil {
		t.Fatal(err)
	}
	// Alice's token ID and identity, from another issuer.
	elsewhere := *nw
	elsewhere.issuer = "https://elsewhere.example.org"
	otherIssuer, err := elsewhere.sign(alice.Identity.ID, alice.Identity.Enrollment.ID, now, exp)
	if err != nil {
		t.Fatal(err)
	}
	// Sanity: both verify with the network's key, so only the claims
	// checks can refuse them.
	for _, tok := range []string{otherSubject, otherIssuer} {
		if err := nw.verifyToken(tok); err != nil {
			t.Fatalf("test token doesn't verify: %v", err)
		}
	}
	_, err = EnrollToDir(ctx, s, otherSubject, t.TempDir())
	wantRefused(t, "token naming another identity", err, backend.ErrInvalid, ErrNotAToken, "it names another identity than it was issued to")
	_, err = EnrollToDir(ctx, s, otherIssuer, t.TempDir())
	wantRefused(t, "token of another issuer", err, backend.ErrInvalid, ErrNotAToken, "issued by https://elsewhere.example.org, not by network demo")

	for _, id := range []string{alice.Identity.ID, bob.Identity.ID} {
		if x := mustGet(t, s, n.ID, id); x.State(clock.Now()) != model.StatePending || x.HasCredential || x.Revision != 1 {
			t.Errorf("%s changed: %s, credential %v, revision %d", x.Name, x.State(clock.Now()), x.HasCredential, x.Revision)
		}
	}
	// The real tokens still work.
	for _, tok := range []string{alice.JWT, bob.JWT} {
		if _, err := EnrollToDir(ctx, s, tok, t.TempDir()); err != nil {
			t.Errorf("a real token: %v", err)
		}
	}
}

// TestEnrollAtTheExpiryInstant: a token is valid strictly before its
// expiry. At the instant itself State says expired, and Enroll agrees.
func TestEnrollAtTheExpiryInstant(t *testing.T) {
	expires := time.Date(2030, 6, 2, 9, 30, 15, 0, time.UTC) // t0 + 1 day
	cases := []struct {
		at      time.Time
		state   model.State
		enrolls bool
	}{
		{time.Date(2030, 6, 2, 9, 30, 14, 999_999_999, time.UTC), model.StatePending, true},
		{time.Date(2030, 6, 2, 9, 30, 15, 0, time.UTC), model.StateExpired, false},
		{time.Date(2030, 6, 2, 9, 30, 15, 1, time.UTC), model.StateExpired, false},
	}
	for _, c := range cases {
		s, clock, n := testStore(t)
		tok := mustCreate(t, s, n.ID, "laptop-alice", expires)
		clock.Advance(c.at.Sub(clock.Now()))
		if !clock.Now().Equal(c.at) {
			t.Fatalf("clock at %v, want %v", clock.Now(), c.at)
		}
		x := mustGet(t, s, n.ID, tok.Identity.ID)
		if st := x.State(clock.Now()); st != c.state {
			t.Errorf("at %s: State = %s, want %s", c.at.Format(time.RFC3339Nano), st, c.state)
		}
		_, err := EnrollToDir(t.Context(), s, tok.JWT, t.TempDir())
		switch {
		case c.enrolls && err != nil:
			t.Errorf("at %s: enroll refused: %v", c.at.Format(time.RFC3339Nano), err)
		case !c.enrolls:
			wantRefused(t, "enroll at "+c.at.Format(time.RFC3339Nano), err, backend.ErrConflict, ErrTokenExpired, "this token expired on 2030-06-02 09:30 UTC")
		}
		// The listing's state filter agrees too.
		page, err := s.Identities(t.Context(), n.ID, model.ListQuery{State: c.state})
		if err != nil {
			t.Fatal(err)
		}
		if want := 1; c.enrolls {
			want = 0 // enrolled now, no longer pending
			if page.Total != want {
				t.Errorf("at %s: %d identities listed as %s after enrolling", c.at.Format(time.RFC3339Nano), page.Total, c.state)
			}
		} else if page.Total != want {
			t.Errorf("at %s: %d identities listed as %s, want %d", c.at.Format(time.RFC3339Nano), page.Total, c.state, want)
		}
	}
}

// TestResetLeavesOtherCredentialsAlone: resetting one identity revokes its
// certificates and drops its sessions, and nobody else's.
func TestResetLeavesOtherCredentialsAlone(t *testing.T) {
	s, clock, n := testStore(t)
	ctx := t.Context()
	a := mustCreate(t, s, n.ID, "laptop-alice", clock.Now().Add(day))
	b := mustCreate(t, s, n.ID, "phone-bob", clock.Now().Add(day))
	devA, devB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	for dev, tok := range map[string]string{devA: a.JWT, devB: b.JWT} {
		if _, err := EnrollToDir(ctx, s, tok, dev); err != nil {
			t.Fatal(err)
		}
	}
	sessA, err := s.Connect(ctx, devA)
	if err != nil {
		t.Fatal(err)
	}
	sessB, err := s.Connect(ctx, devB)
	if err != nil {
		t.Fatal(err)
	}
	x := mustGet(t, s, n.ID, a.Identity.ID)
	reset, err := s.ResetEnrollment(ctx, n.ID, x.ID, x.Revision, clock.Now().Add(day))
	if err != nil {
		t.Fatal(err)
	}
	if reset.SessionsDropped != 1 {
		t.Errorf("reset dropped %d sessions, want 1 (alice's only)", reset.SessionsDropped)
	}
	if err := s.Heartbeat(ctx, sessA.ID); err == nil {
		t.Error("alice's session survived her reset")
	}
	_, err = s.Connect(ctx, devA)
	wantRefused(t, "alice after reset", err, backend.ErrForbidden, ErrCredentialRefused, "revoked")

	if err := s.Heartbeat(ctx, sessB.ID); err != nil {
		t.Errorf("bob's session was dropped by alice's reset: %v", err)
	}
	if _, err := s.Connect(ctx, devB); err != nil {
		t.Errorf("bob's credential was refused after alice's reset: %v", err)
	}
	y := mustGet(t, s, n.ID, b.Identity.ID)
	if y.State(clock.Now()) != model.StateEnrolled || !y.HasCredential || y.ActiveSessions != 2 || y.Revision != 2 {
		t.Errorf("bob after alice's reset: %s, credential %v, %d sessions, revision %d; want enrolled, true, 2, 2",
			y.State(clock.Now()), y.HasCredential, y.ActiveSessions, y.Revision)
	}
}

// TestRetiredTokensLeaveTheFile: a token's JWT is a secret kept only while
// it can still enroll; once used, replaced or deleted, its bytes are gone
// from the database file itself, not just from the rows SQL can read.
func TestRetiredTokensLeaveTheFile(t *testing.T) {
	dbPath, clock, s, n := storeWithNeighbours(t)
	ctx := t.Context()
	retired := map[string]string{}
	// used
	used := mustCreate(t, s, n.ID, "used", clock.Now().Add(day))
	if _, err := EnrollToDir(ctx, s, used.JWT, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	retired["used"] = used.JWT
	// deleted
	del := mustCreate(t, s, n.ID, "deleted", clock.Now().Add(day))
	if _, err := s.DeleteEnrollment(ctx, n.ID, del.Identity.ID, del.Identity.Revision); err != nil {
		t.Fatal(err)
	}
	retired["deleted"] = del.JWT
	// replaced by a reset (the enrolled identity's token is replaced)
	x := mustGet(t, s, n.ID, used.Identity.ID)
	reset, err := s.ResetEnrollment(ctx, n.ID, x.ID, x.Revision, clock.Now().Add(2*day))
	if err != nil {
		t.Fatal(err)
	}
	// replaced by a reissue
	exp := mustCreate(t, s, n.ID, "expired", clock.Now().Add(time.Hour))
	clock.Advance(2 * time.Hour)
	reissued, err := s.ReissueEnrollment(ctx, n.ID, exp.Identity.ID, exp.Identity.Revision, clock.Now().Add(day))
	if err != nil {
		t.Fatal(err)
	}
	retired["replaced by reissue"] = exp.JWT
	// and the reset's token replaced by a second reset, once enrolled
	if _, err := EnrollToDir(ctx, s, reset.JWT, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	retired["used after a reset"] = reset.JWT
	current := map[string]string{"reissued": reissued.JWT}

	// While the store is open (another process may copy the files at any
	// time), and after it is closed.
	checkFiles(t, "open", dbPath, current, retired)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, "closed", dbPath, current, retired)
}

// storeWithNeighbours opens a store in a file with a network of 40
// identities whose current tokens share the pages of the tokens a test
// retires, so SQLite updates those pages in place rather than rebuilding
// them.
func storeWithNeighbours(t *testing.T) (string, *fakeClock, *Store, model.Network) {
	t.Helper()
	dbPath := filepath.Join(t.TempDir(), "idcon.db")
	clock := newFakeClock(t0)
	s, err := Open(dbPath, Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.CreateNetwork(t.Context(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		mustCreate(t, s, n.ID, fmt.Sprintf("neighbour-%02d", i), clock.Now().Add(30*day))
	}
	return dbPath, clock, s, n
}

// checkFiles reads the database's files byte by byte (the main file, its
// WAL and any journal) and fails if a retired token's signature is there.
func checkFiles(t *testing.T, when, dbPath string, current, retired map[string]string) {
	t.Helper()
	var file []byte
	for _, suffix := range []string{"", "-wal", "-journal"} {
		b, err := os.ReadFile(dbPath + suffix)
		if err == nil {
			file = append(file, b...)
		} else if !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	// Sanity: the search works, a current token is found.
	for name, jwt := range current {
		if !bytes.Contains(file, []byte(jwt)) {
			t.Fatalf("%s: the %s token isn't in the files: the search is broken", when, name)
		}
	}
	// The header is the same in every token of a network; the claims (they
	// hold the jti) and the signature are each token's own.
	for name, jwt := range retired {
		parts := strings.Split(jwt, ".")
		for i, part := range map[int]string{1: "claims", 2: "signature"} {
			if bytes.Contains(file, []byte(parts[i])) {
				t.Errorf("%s: the %s token's %s is still in the database files", when, name, part)
			}
		}
	}
}

// TestBulkRetiredTokensLeaveTheFile: the bulk path replaces tokens with
// statements of its own, so it is held to the same rule: a token replaced
// by a bulk reissue (whether a bulk reset or a single create made it)
// leaves the database file.
func TestBulkRetiredTokensLeaveTheFile(t *testing.T) {
	dbPath, clock, s, n := storeWithNeighbours(t)
	ctx := t.Context()
	retired := map[string]string{}
	for i := range 3 {
		c := mustCreate(t, s, n.ID, fmt.Sprintf("enrolled-%d", i), clock.Now().Add(day))
		if _, err := EnrollToDir(ctx, s, c.JWT, t.TempDir()); err != nil {
			t.Fatal(err)
		}
		c = mustCreate(t, s, n.ID, fmt.Sprintf("unused-%d", i), clock.Now().Add(time.Hour))
		retired["created for unused-"+fmt.Sprint(i)] = c.JWT
	}
	// A bulk reset of the enrolled ones, with tokens that expire unused.
	if err := s.BulkApply(ctx, n.ID, backend.Selection{All: true, State: model.StateEnrolled}, model.ActionReset,
		clock.Now().Add(time.Hour), func(r backend.BulkResult) bool {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			retired["bulk reset of "+r.Identity.Name] = r.Token.JWT
			return true
		}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)
	// A bulk reissue of every expired token replaces all six.
	current := map[string]string{}
	if err := s.BulkApply(ctx, n.ID, backend.Selection{All: true, State: model.StateExpired}, model.ActionReissue,
		clock.Now().Add(day), func(r backend.BulkResult) bool {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			current["reissue of "+r.Identity.Name] = r.Token.JWT
			return true
		}); err != nil {
		t.Fatal(err)
	}
	if len(retired) != 6 || len(current) != 6 {
		t.Fatalf("%d retired and %d current tokens, want 6 and 6: %v, %v", len(retired), len(current), keys(retired), keys(current))
	}
	checkFiles(t, "open", dbPath, current, retired)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, "closed", dbPath, current, retired)
}

func keys(m map[string]string) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	return k
}

// TestExitAfterCloseEmptiesTheLog: with ExitAfterClose, Close leaves the
// connections to the process's exit but still empties the log, as the last
// connection's close would. A token retired while another connection read
// (so the retirement's own checkpoint gave up, and its JWT stayed in the
// log) is gone from the files once Close returns, and the file opens again
// with the change in it.
func TestExitAfterCloseEmptiesTheLog(t *testing.T) {
	ctx := t.Context()
	dbPath := filepath.Join(t.TempDir(), "idcon.db")
	clock := newFakeClock(t0)
	s, err := Open(dbPath, Options{Now: clock.Now, ExitAfterClose: true})
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.CreateNetwork(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	current := map[string]string{"neighbour": mustCreate(t, s, n.ID, "neighbour", clock.Now().Add(30*day)).JWT}
	old := mustCreate(t, s, n.ID, "unused", clock.Now().Add(time.Hour))
	rtx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var k int
	if err := rtx.QueryRowContext(ctx, `SELECT count(*) FROM identities`).Scan(&k); err != nil {
		t.Fatal(err)
	}
	x := mustGet(t, s, n.ID, old.Identity.ID)
	if _, err := s.DeleteEnrollment(ctx, n.ID, x.ID, x.Revision); err != nil {
		t.Fatal(err)
	}
	rtx.Rollback()
	if b, err := os.ReadFile(dbPath + "-wal"); err != nil || !bytes.Contains(b, []byte(strings.Split(old.JWT, ".")[2])) {
		t.Fatalf("the retired token is not in the log before Close (%v): the test's premise, a checkpoint that gave up, does not hold", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, "closed for exit", dbPath, current, map[string]string{"deleted from unused": old.JWT})
	if fi, err := os.Stat(dbPath + "-wal"); err == nil && fi.Size() != 0 {
		t.Errorf("the log holds %d bytes after Close; want it emptied", fi.Size())
	}
	again := openStore(t, dbPath, clock)
	if got := mustGet(t, again, n.ID, x.ID); got.Enrollment != nil {
		t.Errorf("after Close and a new Open, unused has the enrollment %+v; want it deleted", got.Enrollment)
	}
}

// TestRetiringRightAfterABulkRunLeavesTheFile: a bulk run that retired no
// token copies the log back after it returns; a token retired right after
// it, while that copy may still run, must still leave the files.
func TestRetiringRightAfterABulkRunLeavesTheFile(t *testing.T) {
	dbPath, clock, s, n := storeWithNeighbours(t)
	ctx := t.Context()
	for i := range 3 {
		c := mustCreate(t, s, n.ID, fmt.Sprintf("enrolled-%d", i), clock.Now().Add(day))
		if _, err := EnrollToDir(ctx, s, c.JWT, t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	current := map[string]string{}
	if err := s.BulkApply(ctx, n.ID, backend.Selection{All: true, State: model.StateEnrolled}, model.ActionReset,
		clock.Now().Add(day), func(r backend.BulkResult) bool {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			current[r.Identity.Name] = r.Token.JWT
			return true
		}); err != nil {
		t.Fatal(err)
	}
	old := mustCreate(t, s, n.ID, "unused", clock.Now().Add(time.Hour))
	x := mustGet(t, s, n.ID, old.Identity.ID)
	if _, err := s.DeleteEnrollment(ctx, n.ID, x.ID, x.Revision); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, "open", dbPath, current, map[string]string{"deleted from unused": old.JWT})
}
