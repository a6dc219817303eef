package model

import (
	"testing"
	"time"
)

// FuzzParseExpiry checks that no input makes the expiry parser panic, and
// that whatever it accepts is a UTC time a policy can judge.
func FuzzParseExpiry(f *testing.F) {
	for _, s := range []string{"2026-12-31", "+7d", "+36h", "+90s", "2026-12-01T10:00:00+02:00", "", "+", "+99999999999999999999d", "9999-12-31", "0000-01-01", "+1\x00d", "2026-02-29"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseExpiry(s, now, time.UTC)
		if err != nil {
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("ParseExpiry(%q) returned a non-UTC time %v", s, got)
		}
		_ = ExpiryPolicy{}.Validate(now, got)
	})
}
