package delivery

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// The limits of delivery's inputs, each tested on both sides of the line.

func TestSMTPPortLimits(t *testing.T) {
	env := func(port string) func(string) string {
		return func(k string) string {
			if k == EnvSMTPPort {
				return port
			}
			return ""
		}
	}
	for port, ok := range map[string]bool{"0": false, "1": true, "587": true, "65535": true, "65536": false, "-1": false} {
		got, err := SMTPFromEnv(SMTPConfig{}, env(port))
		if ok && (err != nil || got.Port == 0) {
			t.Errorf("%s=%s refused: %v", EnvSMTPPort, port, err)
		}
		if !ok && !errors.Is(err, ErrSMTPConfig) {
			t.Errorf("%s=%s: %v, want refused", EnvSMTPPort, port, err)
		}
	}
	base := SMTPConfig{Host: "smtp.example.org", From: "idcon@example.org"}
	for port, ok := range map[int]bool{-1: false, 0: true, 1: true, 65535: true, 65536: false} {
		c := base
		c.Port = port
		if err := c.Validate(); (err == nil) != ok {
			t.Errorf("Validate with port %d: %v, want ok=%v", port, err, ok)
		}
	}
}

func TestSMTPConfigString(t *testing.T) {
	c := SMTPConfig{Host: "smtp.example.org", Port: 2525, TLS: TLSStartTLS, From: "idcon@example.org"}
	if got, want := c.String(), "smtp smtp.example.org:2525 tls=starttls from=idcon@example.org"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	c.Username, c.Password = "admin", "s3cret"
	if got, want := c.String(), "smtp smtp.example.org:2525 tls=starttls from=idcon@example.org user=admin password=[hidden]"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestSendAlreadyCanceled: a context cancelled before Send says cancelled,
// one past its deadline says it timed out.
func TestSendAlreadyCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	c := SMTPConfig{Host: "127.0.0.1", Port: 1, TLS: TLSNone, From: "idcon@example.org"}
	err := Send(ctx, c, testRegistration(t, "alice@example.org"))
	if err == nil || err.Error() != "sending the email was cancelled" {
		t.Errorf("Send with a cancelled context: %v, want it cancelled", err)
	}
	ctx, cancel = context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	err = Send(ctx, c, testRegistration(t, "alice@example.org"))
	if err == nil || err.Error() != "the SMTP server 127.0.0.1:1 did not answer in time" {
		t.Errorf("Send past its deadline: %v, want it timed out", err)
	}
}

func TestQRPNGScaleLimits(t *testing.T) {
	t.Parallel() // a server or decoder process each: they overlap (make mutate runs the package per mutant)
	for scale, ok := range map[int]bool{0: false, 1: true, 64: true, 65: false} {
		_, err := QRPNG("eyJhbGciOiJFUzI1NiJ9.e30.sig", scale)
		if (err == nil) != ok {
			t.Errorf("QRPNG scale %d: %v, want ok=%v", scale, err, ok)
		}
	}
}

// TestQRLevelAndQuietZone: the sizes follow from the QR specification's
// byte-mode capacities (ISO/IEC 18004 table 7): level M when the code plus
// a 4-module quiet zone fits 80 columns, else level L, and a 2-module quiet
// zone when even that doesn't fit. A version-v code is 17+4v modules.
func TestQRLevelAndQuietZone(t *testing.T) {
	cases := []struct {
		bytes, modules, quiet int
	}{
		// M v7 (122 bytes), 45 modules; L would be v6 (134 bytes, 41).
		{120, 45, 4},
		// M needs v14 (73 modules, too wide with 4+4), so L: v12 (367 bytes), 65 modules.
		{350, 65, 4},
		// M v16 is too wide, L v14 (458 bytes) is 73: 73+8 > 80, so a 2-module zone.
		{450, 73, 2},
	}
	for _, c := range cases {
		q, err := QR(strings.Repeat("a", c.bytes))
		if err != nil {
			t.Fatal(err)
		}
		if q.Modules != c.modules || q.QuietZone != c.quiet || q.Width != c.modules+2*c.quiet || q.Height != (q.Width+1)/2 {
			t.Errorf("QR of %d bytes: %d modules, quiet zone %d, %dx%d; want %d modules, quiet zone %d, width %d",
				c.bytes, q.Modules, q.QuietZone, q.Width, q.Height, c.modules, c.quiet, c.modules+2*c.quiet)
		}
	}
}

func TestSafeFileNameLength(t *testing.T) {
	// The stem is cut to at most maxFileStem (120) bytes, never inside a
	// character.
	cases := map[string]string{
		strings.Repeat("a", 120):      strings.Repeat("a", 120) + ".jwt",
		strings.Repeat("a", 121):      strings.Repeat("a", 120) + ".jwt",
		strings.Repeat("é", 60):       strings.Repeat("é", 60) + ".jwt", // 120 bytes
		strings.Repeat("é", 61):       strings.Repeat("é", 60) + ".jwt",
		"a" + strings.Repeat("é", 60): "a" + strings.Repeat("é", 59) + ".jwt", // 121 bytes: the last é goes whole
	}
	for in, want := range cases {
		if got := SafeFileName(in); got != want {
			t.Errorf("SafeFileName(%d bytes) = %q (%d bytes), want %d bytes", len(in), got, len(got), len(want))
		}
	}
}

func TestSendErrorKindNames(t *testing.T) {
	cases := map[SendErrorKind]string{
		KindOther:       "other",
		KindDropped:     "dropped",
		-1:              "kind(-1)",
		KindDropped + 1: "kind(10)",
	}
	for k, want := range cases {
		if got := k.String(); got != want {
			t.Errorf("SendErrorKind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}
