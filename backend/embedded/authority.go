package embedded

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/idcon/idcon/backend"
)

// certValidity is how long a client certificate is valid; resets revoke
// it sooner.
const certValidity = 365 * 24 * time.Hour

// Enrolled is what a device receives when it enrolls.
type Enrolled struct {
	NetworkID, NetworkName, IdentityID, IdentityName string
	CertPEM, CAPEM                                   []byte
}

// Enroll is the authority's side of enrollment: it verifies the token
// (signature with its network's key, chosen by kid; that it is the
// identity's current token, unused and unexpired), signs the CSR with the
// network's CA and consumes the token, so the identity becomes enrolled.
// Each refusal wraps a backend class and one of ErrNotAToken,
// ErrTokenReplaced, ErrTokenUsed, ErrTokenDeleted or ErrTokenExpired.
func (s *Store) Enroll(ctx context.Context, jwtText string, csrDER []byte) (Enrolled, error) {
	claims, err := ParseToken(jwtText)
	if err != nil {
		return Enrolled{}, classed(backend.ErrInvalid, ErrNotAToken, "%v", err)
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return Enrolled{}, backend.Invalid("the certificate request is malformed: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return Enrolled{}, backend.Invalid("the certificate request's signature is wrong: %v", err)
	}
	switch k := csr.PublicKey.(type) {
	case *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return Enrolled{}, backend.Invalid("the certificate request holds a %T key: use an ECDSA (P-256) or Ed25519 key", k)
	}

	var out Enrolled
	err = s.writeRetiring(ctx, "enrolling", func(tx *sql.Tx, now time.Time) error {
		n, err := scanNetwork(tx.QueryRowContext(ctx, `SELECT `+networkColumns+` FROM networks WHERE key_id = ?`, claims.KeyID))
		if errors.Is(err, sql.ErrNoRows) {
			return classed(backend.ErrNotFound, ErrNotAToken,
				"this token was issued by a network this database doesn't hold (key %s): enroll against the idcon that issued it", claims.KeyID)
		}
		if err != nil {
			return err
		}
		if err := n.verifyToken(jwtText); err != nil {
			return classed(backend.ErrInvalid, ErrNotAToken, "%v: its signature doesn't verify with network %s's key", ErrNotAToken, n.name)
		}
		if claims.Issuer != n.issuer {
			return classed(backend.ErrInvalid, ErrNotAToken, "%v: issued by %s, not by network %s", ErrNotAToken, claims.Issuer, n.name)
		}
		var (
			identityID, status string
			expires            int64
			ended              sql.NullInt64
		)
		err = tx.QueryRowContext(ctx, `SELECT t.identity_id, t.status, t.expires_at, t.ended_at
			FROM tokens t JOIN identities i ON i.id = t.identity_id
			WHERE t.id = ? AND i.network_id = ?`, claims.ID, n.id).Scan(&identityID, &status, &expires, &ended)
		if errors.Is(err, sql.ErrNoRows) {
			return classed(backend.ErrNotFound, ErrNotAToken, "%v: network %s has no record of it", ErrNotAToken, n.name)
		}
		if err != nil {
			return err
		}
		if identityID != claims.Subject {
			return classed(backend.ErrInvalid, ErrNotAToken, "%v: it names another identity than it was issued to", ErrNotAToken)
		}
		when := func(ns int64) string { return fromNano(ns).Format("2006-01-02 15:04 MST") }
		switch {
		case status == "replaced":
			return classed(backend.ErrConflict, ErrTokenReplaced,
				"this token was replaced by a newer one on %s: ask the admin for the current token", when(ended.Int64))
		case status == "used":
			return classed(backend.ErrConflict, ErrTokenUsed,
				"this token was already used (on %s): a token enrolls one device once; ask the admin to reset the enrollment", when(ended.Int64))
		case status == "deleted":
			return classed(backend.ErrConflict, ErrTokenDeleted,
				"this token was deleted on %s: it can't be used to enroll; ask the admin", when(ended.Int64))
		case !now.Before(fromNano(expires)):
			return classed(backend.ErrConflict, ErrTokenExpired,
				"this token expired on %s: ask the admin to reissue it", when(expires))
		}
		x, err := identityByID(ctx, tx, n.id, identityID)
		if err != nil {
			return err
		}
		if x.Enrollment == nil || x.Enrollment.ID != claims.ID {
			return classed(backend.ErrConflict, ErrTokenReplaced, "this token was replaced by a newer one: ask the admin for the current token")
		}

		serial, err := randomSerial()
		if err != nil {
			return err
		}
		notAfter := now.Add(certValidity)
		if notAfter.After(n.caCert.NotAfter) {
			notAfter = n.caCert.NotAfter
		}
		tmpl := &x509.Certificate{
			SerialNumber: serial,
			Subject:      pkix.Name{CommonName: x.ID, Organization: []string{"idcon"}, OrganizationalUnit: []string{n.id}},
			NotBefore:    now.Add(-time.Minute),
			NotAfter:     notAfter,
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, n.caCert, csr.PublicKey, n.caKey)
		if err != nil {
			return fmt.Errorf("signing the certificate: %w", err)
		}
		// One credential at a time: anything older is revoked.
		if _, err := tx.ExecContext(ctx, `UPDATE certificates SET revoked_at = ? WHERE identity_id = ? AND revoked_at IS NULL`,
			unixNano(now), x.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO certificates (serial, identity_id, issued_at, not_after) VALUES (?, ?, ?, ?)`,
			serial.Text(16), x.ID, unixNano(now), unixNano(notAfter)); err != nil {
			return err
		}
		if err := retireToken(ctx, tx, x, "used", now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE identities SET has_credential = 1, enrolled_at = ?, revision = revision + 1
			WHERE id = ?`, unixNano(now), x.ID); err != nil {
			return err
		}
		out = Enrolled{
			NetworkID: n.id, NetworkName: n.name, IdentityID: x.ID, IdentityName: x.Name,
			CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			CAPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: n.caCert.Raw}),
		}
		return nil
	})
	return out, err
}
