package openziti

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/idcon/idcon/backend"
)

// FetchCA fetches the controller's own CA bundle from its EST endpoint
// (/.well-known/est/cacerts, a base64 PKCS#7 certs-only bundle) for the admin
// to pin. The first contact can't verify the controller (that is what the
// bundle is for), so FetchCA checks the bundle against the certificate the
// controller presented instead: the bundle must verify it for this address.
// It returns the bundle as PEM and the SHA-256 fingerprint of the root that
// verifies it (AB:CD:... as openssl prints it), which the admin compares
// with one obtained out of band before pinning.
func FetchCA(ctx context.Context, controller string) (pemBundle []byte, fingerprintSHA256 string, err error) {
	base, _, err := controllerBase(controller)
	if err != nil {
		return nil, "", err
	}
	if !strings.HasPrefix(base, "https://") {
		return nil, "", backend.Invalid("controller %q is plain HTTP: there is no certificate to pin", controller)
	}
	var presented []*x509.Certificate
	client := &http.Client{
		Timeout: DefaultTimeout,
		Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment,
			TLSClientConfig: &tls.Config{
				MinVersion: tls.VersionTLS12,
				// Trust on first use: the bundle is verified against the
				// presented chain below, and the admin confirms its
				// fingerprint before it is pinned.
				InsecureSkipVerify: true,
				VerifyConnection: func(cs tls.ConnectionState) error {
					presented = cs.PeerCertificates
					return nil
				},
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	host := strings.TrimSuffix(base, apiPath)

	// The spec puts the endpoint under the API's base path; controllers
	// also serve it at the root.
	var body []byte
	for _, u := range []string{base + "/.well-known/est/cacerts", host + "/.well-known/est/cacerts"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, "", backend.Invalid("can't build the request: %v", err)
		}
		req.Header.Set("Accept", "application/pkcs7-mime")
		resp, err := client.Do(req)
		if err != nil {
			return nil, "", classifyTransport(ctx, err, DefaultTimeout)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return nil, "", backend.Unavailable("reading the controller's CA bundle: %v", err)
		}
		if resp.StatusCode == http.StatusNotFound {
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return nil, "", decodeAPIError(resp.StatusCode, b, true).classify("send its CA bundle")
		}
		body = b
		break
	}
	if body == nil {
		return nil, "", backend.NotFound("the controller has no CA bundle at /.well-known/est/cacerts: is %s an OpenZiti controller?", host)
	}
	certs, err := parseCACerts(body)
	if err != nil {
		return nil, "", backend.Unavailable("the controller's CA bundle can't be read: %v", err)
	}
	if len(presented) == 0 {
		return nil, "", backend.Unavailable("the controller presented no certificate")
	}
	// The bundle is a chain, not a set of anchors: a real controller's
	// holds an intermediate and the root. Only its self-signed
	// certificates are roots; the rest are intermediates, so the chain ends
	// at the root (whose fingerprint the controller's CA file has).
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	nroots := 0
	for _, c := range certs {
		if isSelfSigned(c) {
			roots.AddCert(c)
			nroots++
		} else {
			inter.AddCert(c)
		}
	}
	if nroots == 0 {
		return nil, "", backend.Unavailable("the controller's CA bundle holds no root (self-signed) certificate: don't pin it")
	}
	for _, c := range presented[1:] {
		inter.AddCert(c)
	}
	hu, err := url.Parse(host)
	if err != nil {
		return nil, "", backend.Invalid("controller %q is not an address", controller)
	}
	chains, err := presented[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: hu.Hostname(), CurrentTime: time.Now()})
	if err != nil {
		return nil, "", backend.Unavailable("the CA bundle the controller sent does not verify its own certificate (%v): don't pin it", err)
	}
	root := chains[0][len(chains[0])-1]
	var out bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return out.Bytes(), Fingerprint(root), nil
}

// isSelfSigned reports whether c is a root: issued by itself, and its
// signature verifies with its own key.
func isSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil
}

// BundleFingerprints lists the SHA-256 fingerprints of every certificate
// in a PEM bundle FetchCA returned, so that an admin may pin by the root's
// (what `openssl x509 -fingerprint -sha256` prints for the controller's
// CA file) or an intermediate's.
func BundleFingerprints(pemBundle []byte) []string {
	var out []string
	for rest := pemBundle; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return out
		}
		if c, err := x509.ParseCertificate(b.Bytes); err == nil {
			out = append(out, Fingerprint(c))
		}
	}
}

// Fingerprint is a certificate's SHA-256 fingerprint as openssl prints it.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	var b strings.Builder
	for i, x := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", x)
	}
	return b.String()
}

// PKCS#7 (RFC 2315) structures, as much of them as a certs-only bundle uses.
var (
	oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
)

type pkcs7ContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type pkcs7SignedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	ContentInfo      asn1.RawValue
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      asn1.RawValue
}

// parseCACerts reads a base64 (or raw DER) PKCS#7 certs-only bundle.
func parseCACerts(body []byte) ([]*x509.Certificate, error) {
	der := body
	clean := bytes.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, body)
	if d, err := base64.StdEncoding.DecodeString(string(clean)); err == nil {
		der = d
	}
	var ci pkcs7ContentInfo
	if rest, err := asn1.Unmarshal(der, &ci); err != nil {
		return nil, fmt.Errorf("not PKCS#7: %v", err)
	} else if len(rest) > 0 {
		return nil, fmt.Errorf("not PKCS#7: %d trailing bytes", len(rest))
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, fmt.Errorf("PKCS#7 content is %v, not signed data", ci.ContentType)
	}
	var sd pkcs7SignedData
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, fmt.Errorf("PKCS#7 signed data: %v", err)
	}
	certs, err := x509.ParseCertificates(sd.Certificates.Bytes)
	if err != nil {
		return nil, fmt.Errorf("PKCS#7 certificates: %v", err)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("the bundle holds no certificate")
	}
	return certs, nil
}
