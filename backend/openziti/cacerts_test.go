package openziti

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/openziti/zitifake"
	"github.com/idcon/idcon/model"
)

func TestFetchCAThenPin(t *testing.T) {
	f := newFake(t)
	got, fp, err := FetchCA(t.Context(), f.URL)
	if err != nil {
		t.Fatalf("FetchCA: %v", err)
	}
	// The bundle is the chain the controller sent: intermediate and root.
	if !bytes.Contains(got, f.CAPEM) || !bytes.Contains(got, zitifake.PEM(f.Intermediate)) {
		t.Errorf("FetchCA returned\n%s\nwant the fake's intermediate and root", got)
	}
	// The fingerprint is the root's, as openssl prints it for the CA file
	// the controller's admin hands out (an oracle of its own).
	if want := opensslFingerprint(t, f.CAFile); fp != want {
		t.Errorf("fingerprint %s, want the root's %s (openssl)", fp, want)
	}
	// Pinning what FetchCA returned is enough to talk to the controller.
	cfg := configFor(f)
	cfg.PinnedCA = got
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Identities(t.Context(), c.NetworkID(), model.ListQuery{}); err != nil {
		t.Fatalf("with the fetched CA pinned: %v", err)
	}
}

func TestFetchCARefusesABundleThatDoesNotVerifyTheController(t *testing.T) {
	f := newFake(t)
	other, _ := zitifake.NewCA(t, "someone else's CA")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(base64.StdEncoding.EncodeToString(zitifake.PKCS7CertsOnly(t, other))))
	}))
	srv.TLS = f.TLSConfig() // the fake's certificate, but another CA in the bundle
	srv.StartTLS()
	defer srv.Close()
	_, _, err := FetchCA(t.Context(), srv.URL)
	mustErr(t, "mismatched bundle", err, backend.ErrUnavailable, "does not verify", "don't pin it")

	_, _, err = FetchCA(t.Context(), "http://127.0.0.1:1")
	if !errors.Is(err, backend.ErrInvalid) {
		t.Errorf("FetchCA over plain HTTP: %v, want invalid", err)
	}
}

func TestParseCACerts(t *testing.T) {
	a, _ := zitifake.NewCA(t, "a")
	b, _ := zitifake.NewCA(t, "b")
	der := zitifake.PKCS7CertsOnly(t, a, b)
	for name, body := range map[string][]byte{
		"base64 with line breaks": wrap64(base64.StdEncoding.EncodeToString(der)),
		"raw DER":                 der,
	} {
		certs, err := parseCACerts(body)
		if err != nil || len(certs) != 2 || !certs[0].Equal(a) || !certs[1].Equal(b) {
			t.Errorf("%s: %d certs, %v", name, len(certs), err)
		}
	}
	for name, body := range map[string][]byte{
		"not PKCS#7":   []byte("hello"),
		"a PEM file":   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Raw}),
		"empty bundle": zitifake.PKCS7CertsOnly(t),
	} {
		if _, err := parseCACerts(body); err == nil {
			t.Errorf("%s: parsed, want an error", name)
		}
	}
}

func wrap64(s string) []byte {
	var b bytes.Buffer
	for len(s) > 64 {
		b.WriteString(s[:64] + "\n")
		s = s[64:]
	}
	b.WriteString(s + "\n")
	return b.Bytes()
}

// opensslFingerprint is what `openssl x509 -fingerprint -sha256` prints for
// the certificate in file.
func opensslFingerprint(t *testing.T, file string) string {
	t.Helper()
	out, err := exec.Command("openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", file).Output()
	if err != nil {
		t.Skipf("openssl: %v", err)
	}
	_, fp, ok := strings.Cut(strings.TrimSpace(string(out)), "=")
	if !ok {
		t.Fatalf("openssl printed %q", out)
	}
	return fp
}

// The recorded bundle of a real controller: its self-signed certificate is
// the root (the fingerprint its README gives for the CA file), the other
// the intermediate.
func TestRecordedBundleIsAChain(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "openziti", "real-v2.0.3", "est-cacerts.p7b.b64"))
	if err != nil {
		t.Skipf("no recordings: %v", err)
	}
	certs, err := parseCACerts(raw)
	if err != nil || len(certs) != 2 {
		t.Fatalf("parse: %d certificates, %v", len(certs), err)
	}
	const root = "BD:77:82:4E:78:C9:24:55:69:8A:B8:8F:E3:E7:DF:D7:B9:5D:B8:0A:D4:C9:E5:E6:74:47:C2:74:46:9A:59:DB"
	const inter = "C8:F9:39:56:08:7E:7F:1C:53:EA:CC:AB:D5:79:C9:DC:7D:6A:B4:84:C2:B6:A7:18:E5:7F:F2:02:64:DB:C8:15"
	for _, c := range certs {
		fp := Fingerprint(c)
		if want := fp == root; isSelfSigned(c) != want {
			t.Errorf("%s (%s): self-signed %v, want %v", c.Subject, fp, isSelfSigned(c), want)
		}
		if fp != root && fp != inter {
			t.Errorf("unexpected certificate %s", fp)
		}
	}
}
