package embedded

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// kind is the model.Network.Kind of every network this backend serves.
const kind = "embedded"

// caValidity is how long a network's CA certificate is valid.
const caValidity = 20 * 365 * 24 * time.Hour

// network is a network row with its keys parsed.
type network struct {
	id, name, issuer, keyID string
	publicKeyPEM            string
	key                     *ecdsa.PrivateKey // signs enrollment tokens
	caKey                   *ecdsa.PrivateKey // signs client certificates
	caCert                  *x509.Certificate
}

func (n *network) model(identities int) model.Network {
	return model.Network{ID: n.id, Name: n.name, Kind: kind, Identities: identities, SigningKey: n.publicKeyPEM}
}

// newNetwork makes a network's keys and CA certificate.
func newNetwork(name string, now time.Time) (*network, []byte, error) {
	id := uuid.NewString()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(pub)
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	short := strings.ReplaceAll(id, "-", "")[:12]
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "idcon network " + short + " CA", Organization: []string{"idcon"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return &network{
		id:   id,
		name: name,
		// Short, so tokens stay small enough for a QR code.
		issuer:       "https://" + short + ".idcon.local",
		keyID:        hex.EncodeToString(sum[:8]),
		publicKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
		key:          key,
		caKey:        caKey,
		caCert:       cert,
	}, der, nil
}

func randomSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// CreateNetwork makes a network with its own token signing key and CA. A
// name already taken is a conflict.
func (s *Store) CreateNetwork(ctx context.Context, name string) (model.Network, error) {
	if err := model.ValidateName(name); err != nil {
		return model.Network{}, backend.Invalid("network name: %v", err)
	}
	var out model.Network
	err := s.write(ctx, "creating network "+quote(name), func(tx *sql.Tx, now time.Time) error {
		n, err := s.insertNetwork(ctx, tx, name, now)
		if err != nil {
			return err
		}
		out = n.model(0)
		return nil
	})
	return out, err
}

func (s *Store) insertNetwork(ctx context.Context, tx *sql.Tx, name string, now time.Time) (*network, error) {
	var taken int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM networks WHERE name = ?`, name).Scan(&taken); err != nil {
		return nil, err
	}
	if taken > 0 {
		return nil, backend.Conflict("a network named %q already exists: choose another name", name)
	}
	n, caDER, err := newNetwork(name, now)
	if err != nil {
		return nil, fmt.Errorf("making the network's keys: %w", err)
	}
	key, err := x509.MarshalPKCS8PrivateKey(n.key)
	if err != nil {
		return nil, err
	}
	caKey, err := x509.MarshalPKCS8PrivateKey(n.caKey)
	if err != nil {
		return nil, err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO networks
		(id, name, issuer, key_id, signing_key, public_key, ca_key, ca_cert, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		n.id, n.name, n.issuer, n.keyID, key, n.publicKeyPEM, caKey, caDER, unixNano(now))
	return n, err
}

const networkColumns = `id, name, issuer, key_id, public_key, signing_key, ca_key, ca_cert`

func scanNetwork(row interface{ Scan(...any) error }) (*network, error) {
	var (
		n                  network
		key, caKey, caCert []byte
	)
	if err := row.Scan(&n.id, &n.name, &n.issuer, &n.keyID, &n.publicKeyPEM, &key, &caKey, &caCert); err != nil {
		return nil, err
	}
	var err error
	if n.key, err = parseECKey(key); err != nil {
		return nil, fmt.Errorf("network %s's signing key: %w", n.name, err)
	}
	if n.caKey, err = parseECKey(caKey); err != nil {
		return nil, fmt.Errorf("network %s's CA key: %w", n.name, err)
	}
	if n.caCert, err = x509.ParseCertificate(caCert); err != nil {
		return nil, fmt.Errorf("network %s's CA certificate: %w", n.name, err)
	}
	return &n, nil
}

func parseECKey(der []byte) (*ecdsa.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an ECDSA key")
	}
	return ec, nil
}

// networkByID loads a network with its keys; an unknown ID is not found.
func networkByID(ctx context.Context, q querier, id string) (*network, error) {
	n, err := scanNetwork(q.QueryRowContext(ctx, `SELECT `+networkColumns+` FROM networks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, noNetwork(id)
	}
	return n, err
}

// networkName loads just a network's name, checking that it exists.
func networkName(ctx context.Context, q querier, id string) (string, error) {
	var name string
	err := q.QueryRowContext(ctx, `SELECT name FROM networks WHERE id = ?`, id).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", noNetwork(id)
	}
	return name, err
}

func noNetwork(id string) error {
	return backend.NotFound("no network with ID %q: list the networks with `idcon network list`", id)
}

// NetworkByName returns the network with exactly this name.
func (s *Store) NetworkByName(ctx context.Context, name string) (model.Network, error) {
	var out model.Network
	err := s.read(ctx, "looking up network "+quote(name), func(tx *sql.Tx, _ time.Time) error {
		var err error
		out, err = networkWithCount(ctx, tx, `WHERE name = ?`, name)
		if errors.Is(err, sql.ErrNoRows) {
			return backend.NotFound("no network named %q: list the networks with `idcon network list`", name)
		}
		return err
	})
	return out, err
}

func networkWithCount(ctx context.Context, q querier, where string, arg any) (model.Network, error) {
	var (
		n     model.Network
		count int
	)
	err := q.QueryRowContext(ctx, `SELECT id, name, public_key, identities FROM networks `+where, arg).
		Scan(&n.ID, &n.Name, &n.SigningKey, &count)
	n.Kind, n.Identities = kind, count
	return n, err
}

// Networks lists every network, by name, with its identity count and the
// public key that verifies its tokens.
func (s *Store) Networks(ctx context.Context) ([]model.Network, error) {
	var out []model.Network
	err := s.read(ctx, "listing networks", func(tx *sql.Tx, _ time.Time) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, name, public_key, identities FROM networks ORDER BY name, id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			n := model.Network{Kind: kind}
			if err := rows.Scan(&n.ID, &n.Name, &n.SigningKey, &n.Identities); err != nil {
				return err
			}
			out = append(out, n)
		}
		return rows.Err()
	})
	return out, err
}

// quote names something in a message: quoted, so odd characters show.
func quote(s string) string { return fmt.Sprintf("%q", s) }
