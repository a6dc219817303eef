package model

import (
	"testing"
	"time"
)

// Seeds of FuzzParseExpiry: the ones it must accept and the ones it must
// refuse (checked on every run, not only that they don't panic).
var (
	expiryAccepted = []string{"2026-12-31", "+7d", "+36h", "+90s", "+15m", "2026-12-01T10:00:00+02:00", "9999-12-31", "0000-01-01", "2028-02-29", " +1d "}
	expiryRefused  = []string{"", "+", "-7d", "+-7d", "++7d", "+0d", "+7", "+d", "+7w", "tomorrow", "31/12/2026",
		"2026-13-01", "2026-02-29", "2026-02-30", "+99999999999999999999d", "+99999999999d", "+1\x00d", "+١d"}
)

// FuzzParseExpiry checks that no input makes the expiry parser panic, that
// whatever it accepts is a UTC time a policy can judge, and
// that the seeds are accepted or refused as listed.
func FuzzParseExpiry(f *testing.F) {
	refused := map[string]bool{}
	for _, s := range expiryAccepted {
		f.Add(s)
	}
	for _, s := range expiryRefused {
		refused[s] = true
		f.Add(s)
	}
	accepted := map[string]bool{}
	for _, s := range expiryAccepted {
		accepted[s] = true
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseExpiry(s, now, time.UTC)
		switch {
		case refused[s] && err == nil:
			t.Fatalf("ParseExpiry(%q) = %v, want it refused", s, got)
		case accepted[s] && err != nil:
			t.Fatalf("ParseExpiry(%q): %v, want it accepted", s, err)
		case err != nil:
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("ParseExpiry(%q) returned a non-UTC time %v", s, got)
		}
		_ = ExpiryPolicy{}.Validate(now, got)
	})
}
