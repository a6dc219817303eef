package openziti

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
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
	if !bytes.Equal(got, f.CAPEM) {
		t.Errorf("FetchCA returned\n%s\nwant the fake's CA\n%s", got, f.CAPEM)
	}
	if want := Fingerprint(f.CA); fp != want || len(fp) != 95 {
		t.Errorf("fingerprint %s, want %s", fp, want)
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
