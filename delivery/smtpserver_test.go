package delivery

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/idcon/idcon/delivery/smtptest"
)

// The SMTP tests run against a real SMTP server process: aiosmtpd, from
// Debian's python3-aiosmtpd, started by smtptest (shared with the console's
// and the CLI's tests).

// smtpServer is a running smtptest server.
type smtpServer struct{ *smtptest.Server }

// startSMTPServer starts the server (with auth "user:password" when auth is
// set) and stops it when the test ends.
func startSMTPServer(t *testing.T, auth string) *smtpServer {
	t.Helper()
	return &smtpServer{smtptest.Start(t, smtptest.Options{Auth: auth})}
}

// startTLSSMTPServer starts the server with TLS ("implicit" or "starttls")
// and a freshly made self-signed certificate for 127.0.0.1, which no
// client trusts.
func startTLSSMTPServer(t *testing.T, mode string) *smtpServer {
	t.Helper()
	certFile, keyFile := selfSignedCert(t)
	return &smtpServer{smtptest.Start(t, smtptest.Options{TLS: mode, CertFile: certFile, KeyFile: keyFile})}
}

func selfSignedCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// Config is an SMTPConfig pointing at the server, without TLS (a loopback
// server; TLS is not what these tests are about).
func (s *smtpServer) Config() SMTPConfig {
	return SMTPConfig{Host: "127.0.0.1", Port: s.Port, TLS: TLSNone, From: "idcon <idcon@example.org>"}
}

// closedPort returns a loopback port with nothing listening.
func closedPort(t *testing.T) int { return smtptest.ClosedPort(t) }

// silentServer accepts connections and never says a word, like a server
// that hangs; it closes them when the test ends.
func silentServer(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().(*net.TCPAddr).Port
}
