package embedded

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzParseToken: no input makes the token parser panic; whatever it
// accepts has every claim Enroll relies on, and whatever it refuses is
// refused as not a token.
func FuzzParseToken(f *testing.F) {
	clock := newFakeClock(t0)
	n, _, err := newNetwork("fuzz", clock.Now())
	if err != nil {
		f.Fatal(err)
	}
	good, err := n.sign("0b6f3c1e-5d2a-4c8e-9f10-2a3b4c5d6e7f", "jti-1", clock.Now(), clock.Now().Add(time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(good, ".")
	for _, s := range []string{
		good, "", ".", "..", "...", "a.b.c", parts[0] + "..", "." + parts[1] + ".",
		parts[0] + "." + parts[1], good + ".", " " + good + "\n", strings.ToUpper(good),
		"eyJhbGciOiJub25lIn0.e30.", "eyJhbGciOiJFUzI1NiJ9.bnVsbA.AA", "eyJhbGciOiJFUzI1NiJ9.W10.AA",
		"eyJhbGciOiJFUzI1NiIsImtpZCI6MX0.eyJleHAiOiJ4In0.AA", "\x00.\x00.\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseToken(s)
		if err != nil {
			if !errors.Is(err, ErrNotAToken) {
				t.Fatalf("ParseToken(%q) refused it without ErrNotAToken: %v", s, err)
			}
			return
		}
		if c.Issuer == "" || c.Subject == "" || c.ID == "" || c.KeyID == "" || c.Method != "ott" || c.ExpiresAt.IsZero() {
			t.Fatalf("ParseToken(%q) accepted incomplete claims %+v", s, c)
		}
	})
}
