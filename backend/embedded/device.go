package embedded

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// The files of an enrolled device's directory.
const (
	certFile = "cert.pem"
	keyFile  = "key.pem"
	caFile   = "ca.pem"
)

// EnrollToDir is the device's side of enrollment: it reads the token,
// makes a P-256 key locally (the private key never leaves the device),
// has the authority sign a certificate for it and writes outDir/key.pem
// (0600), cert.pem and ca.pem. It refuses to overwrite an existing key.pem,
// and leaves nothing behind if enrollment fails.
func EnrollToDir(ctx context.Context, s *Store, jwtText string, outDir string) (Enrolled, error) {
	claims, err := ParseToken(jwtText)
	if err != nil {
		return Enrolled{}, classed(backend.ErrInvalid, ErrNotAToken, "%v", err)
	}
	if outDir == "" {
		return Enrolled{}, backend.Invalid("no directory given for the credential: name one, e.g. ./identity")
	}
	if err := os.MkdirAll(outDir, 0o700); err != nil {
		return Enrolled{}, backend.Invalid("can't create the credential directory %s: %v", outDir, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Enrolled{}, fmt.Errorf("making a key: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Enrolled{}, fmt.Errorf("encoding the key: %w", err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: claims.Subject}}, key)
	if err != nil {
		return Enrolled{}, fmt.Errorf("making the certificate request: %w", err)
	}

	// The key is written first, exclusively: an existing credential is never
	// overwritten, and the token is not spent if the key can't be saved.
	keyPath := filepath.Join(outDir, keyFile)
	kf, err := os.OpenFile(keyPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return Enrolled{}, backend.Conflict("%s already exists: this directory holds a credential; enroll into another directory or move it away", keyPath)
	}
	if err != nil {
		return Enrolled{}, backend.Invalid("can't write %s: %v", keyPath, err)
	}
	_, werr := kf.Write(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	werr = cmp.Or(werr, kf.Close()) // both run; the first error is the one said
	if werr != nil {
		os.Remove(keyPath)
		return Enrolled{}, backend.Invalid("can't write %s: %v", keyPath, werr)
	}

	out, err := s.Enroll(ctx, jwtText, csr)
	if err != nil {
		os.Remove(keyPath)
		return Enrolled{}, err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{certFile, out.CertPEM}, {caFile, out.CAPEM}} {
		if err := os.WriteFile(filepath.Join(outDir, f.name), f.data, 0o644); err != nil {
			// The token is spent: say so, so the admin resets rather than
			// the user retrying.
			return out, backend.Unavailable("enrolled %s, but can't write %s: %v; fix the directory and ask the admin to reset the enrollment",
				out.IdentityName, filepath.Join(outDir, f.name), err)
		}
	}
	return out, nil
}

// Session is an active connection of an enrolled device.
type Session struct {
	ID       string
	Identity model.Identity
}

// ErrSessionDropped is wrapped by Heartbeat's error when the session is
// gone: a reset ended it.
var ErrSessionDropped = errors.New("session dropped: the enrollment was reset")

// ErrCredentialRefused is wrapped by Connect's error when the credential
// is not (or no longer) accepted.
var ErrCredentialRefused = errors.New("credential refused")

// Connect loads the credential enrolled into dir, checks that its
// certificate chains to its network's CA and is not revoked, and records
// an active session for its identity.
func (s *Store) Connect(ctx context.Context, dir string) (Session, error) {
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, certFile), filepath.Join(dir, keyFile))
	if err != nil {
		return Session{}, backend.Invalid("can't load the credential in %s: %v; enroll first with a token", dir, err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return Session{}, backend.Invalid("the certificate in %s is malformed: %v", dir, err)
		}
	}
	serial := leaf.SerialNumber.Text(16)
	var out Session
	err = s.write(ctx, "connecting", func(tx *sql.Tx, now time.Time) error {
		var networkID string
		var revoked sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT i.network_id, c.revoked_at FROM certificates c JOIN identities i ON i.id = c.identity_id
			WHERE c.serial = ? AND c.identity_id = ?`, serial, leaf.Subject.CommonName).Scan(&networkID, &revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return classed(backend.ErrForbidden, ErrCredentialRefused, "the certificate in %s was not issued by this idcon: enroll again with a token", dir)
		}
		if err != nil {
			return err
		}
		n, err := networkByID(ctx, tx, networkID)
		if err != nil {
			return err
		}
		roots := x509.NewCertPool()
		roots.AddCert(n.caCert)
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			return classed(backend.ErrForbidden, ErrCredentialRefused, "the certificate in %s is not valid for network %s: %v", dir, n.name, err)
		}
		if revoked.Valid {
			return classed(backend.ErrForbidden, ErrCredentialRefused,
				"the certificate in %s was revoked on %s (the enrollment was reset): enroll again with the new token",
				dir, fromNano(revoked.Int64).Format("2006-01-02 15:04 MST"))
		}
		id := uuid.NewString()
		if err := addSession(ctx, tx, leaf.Subject.CommonName, id, serial, now); err != nil {
			return err
		}
		out.ID = id
		out.Identity, err = identityByID(ctx, tx, networkID, leaf.Subject.CommonName)
		return err
	})
	return out, err
}

func addSession(ctx context.Context, tx *sql.Tx, identityID, sessionID, certSerial string, now time.Time) error {
	var serial any
	if certSerial != "" {
		serial = certSerial
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, identity_id, cert_serial, started_at, last_seen) VALUES (?, ?, ?, ?, ?)`,
		sessionID, identityID, serial, unixNano(now), unixNano(now)); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE identities SET active_sessions = active_sessions + 1 WHERE id = ?`, identityID)
	return err
}

// Heartbeat records that the session is alive. If the session is gone
// because a reset dropped it, the error wraps ErrSessionDropped.
func (s *Store) Heartbeat(ctx context.Context, sessionID string) error {
	return s.write(ctx, "recording a heartbeat", func(tx *sql.Tx, now time.Time) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen = ? WHERE id = ?`, unixNano(now), sessionID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			return classed(backend.ErrNotFound, ErrSessionDropped, "%v", ErrSessionDropped)
		}
		return nil
	})
}

// Disconnect ends a session. Ending one that is already gone is not an
// error.
func (s *Store) Disconnect(ctx context.Context, sessionID string) error {
	return s.write(ctx, "disconnecting", func(tx *sql.Tx, _ time.Time) error {
		var identityID string
		err := tx.QueryRowContext(ctx, `DELETE FROM sessions WHERE id = ? RETURNING identity_id`, sessionID).Scan(&identityID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE identities SET active_sessions = active_sessions - 1 WHERE id = ? AND active_sessions > 0`, identityID)
		return err
	})
}

// AddSessions records n active sessions for an enrolled identity without a
// device: a fixture for tests and demos.
func (s *Store) AddSessions(ctx context.Context, network, id string, n int) error {
	if n <= 0 {
		return backend.Invalid("can't add %d sessions: give a positive number", n)
	}
	return s.write(ctx, "adding sessions", func(tx *sql.Tx, now time.Time) error {
		x, err := identityByID(ctx, tx, network, id)
		if err != nil {
			return err
		}
		if st := x.State(now); st != model.StateEnrolled {
			return backend.Conflict("%s is %s: only an enrolled identity can have sessions", x.Name, st)
		}
		for range n {
			if err := addSession(ctx, tx, id, uuid.NewString(), "", now); err != nil {
				return err
			}
		}
		return nil
	})
}
