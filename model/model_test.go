package model

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func TestStateDerivation(t *testing.T) {
	future := &Enrollment{ID: "e", ExpiresAt: now.Add(time.Hour)}
	past := &Enrollment{ID: "e", ExpiresAt: now.Add(-time.Hour)}
	atNow := &Enrollment{ID: "e", ExpiresAt: now}
	cases := []struct {
		name string
		id   Identity
		want State
	}{
		{"credential only", Identity{HasCredential: true}, StateEnrolled},
		{"valid token", Identity{Enrollment: future}, StatePending},
		{"expired token", Identity{Enrollment: past}, StateExpired},
		{"token expiring this instant", Identity{Enrollment: atNow}, StateExpired},
		{"nothing", Identity{}, StateNone},
		{"a credential beside a token: the credential decides", Identity{HasCredential: true, Enrollment: future}, StateEnrolled},
	}
	for _, c := range cases {
		if got := c.id.State(now); got != c.want {
			t.Errorf("%s: State = %s, want %s", c.name, got, c.want)
		}
	}
}

func TestActionsPerState(t *testing.T) {
	want := map[State][]Action{
		StateEnrolled: {ActionReset},
		StateExpired:  {ActionReissue},
		StatePending:  {ActionDelete, ActionEmail, ActionJWT, ActionQR},
		StateNone:     nil,
	}
	all := []Action{ActionReset, ActionReissue, ActionDelete, ActionEmail, ActionJWT, ActionQR}
	for s, acts := range want {
		got := Actions(s)
		if len(got) != len(acts) {
			t.Fatalf("%s: Actions = %v, want %v", s, got, acts)
		}
		for _, a := range all {
			in := false
			for _, w := range acts {
				in = in || w == a
			}
			if Allows(s, a) != in {
				t.Errorf("Allows(%s, %s) = %v, want %v", s, a, !in, in)
			}
		}
	}
}

func TestParseState(t *testing.T) {
	for _, s := range States {
		if got, ok := ParseState(string(s)); !ok || got != s {
			t.Errorf("ParseState(%q) = %q, %v", s, got, ok)
		}
	}
	if _, ok := ParseState("Enrolled"); ok {
		t.Error("ParseState accepted a wrongly cased state")
	}
}

func TestParseExpiry(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		berlin = time.FixedZone("CET", 3600)
	}
	cases := []struct {
		in   string
		loc  *time.Location
		want time.Time
	}{
		{"2026-12-31", time.UTC, time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"2026-12-31", berlin, time.Date(2026, 12, 31, 22, 59, 59, 0, time.UTC)},
		{"2026-12-01T10:00:00+02:00", time.UTC, time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)},
		{"+7d", time.UTC, now.Add(7 * 24 * time.Hour)},
		{"+36h", time.UTC, now.Add(36 * time.Hour)},
		{"+90s", time.UTC, now.Add(90 * time.Second)},
		{"+15m", time.UTC, now.Add(15 * time.Minute)},
		{"  +1d ", time.UTC, now.Add(24 * time.Hour)},
	}
	for _, c := range cases {
		got, err := ParseExpiry(c.in, now, c.loc)
		if err != nil {
			t.Errorf("ParseExpiry(%q): %v", c.in, err)
			continue
		}
		if !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("ParseExpiry(%q) = %v, want %v in UTC", c.in, got, c.want)
		}
	}
	for _, bad := range []string{"", "tomorrow", "2026-13-01", "2026-02-30", "+", "+d", "+7", "+7w", "+-7d", "+0d", "++7d", "+99999999999d", "31/12/2026"} {
		if _, err := ParseExpiry(bad, now, time.UTC); err == nil {
			t.Errorf("ParseExpiry(%q) accepted bad input", bad)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseExpiry(%q) error spans lines: %q", bad, err)
		}
	}
}

func TestExpiryPolicy(t *testing.T) {
	p := ExpiryPolicy{}
	if err := p.Validate(now, now.Add(time.Hour)); err != nil {
		t.Errorf("an hour ahead refused: %v", err)
	}
	if err := p.Validate(now, now.Add(DefaultMaxExpiry)); err != nil {
		t.Errorf("exactly the maximum refused: %v", err)
	}
	if err := p.Validate(now, now); !errors.Is(err, ErrExpiryPast) {
		t.Errorf("now accepted or wrong error: %v", err)
	}
	if err := p.Validate(now, now.Add(-time.Second)); !errors.Is(err, ErrExpiryPast) {
		t.Errorf("past accepted or wrong error: %v", err)
	}
	if err := p.Validate(now, now.Add(DefaultMaxExpiry+time.Second)); !errors.Is(err, ErrExpiryTooFar) {
		t.Errorf("beyond the maximum accepted or wrong error: %v", err)
	}
	short := ExpiryPolicy{Max: 48 * time.Hour}
	err := short.Validate(now, now.Add(72*time.Hour))
	if !errors.Is(err, ErrExpiryTooFar) || !strings.Contains(err.Error(), "2 days") {
		t.Errorf("configured maximum not applied or not said: %v", err)
	}
}

func TestRelative(t *testing.T) {
	cases := map[time.Duration]string{
		3 * 24 * time.Hour:        "in 3 days",
		-3 * 24 * time.Hour:       "3 days ago",
		5 * time.Hour:             "in 5 hours",
		-90 * time.Minute:         "2 hours ago", // rounded to the nearest hour
		-80 * time.Minute:         "1 hour ago",
		20 * time.Second:          "in 20 seconds", // never "just now": that is the past
		24 * time.Hour:            "in 24 hours",
		-400 * 24 * time.Hour:     "13 months ago",
		3 * 365 * 24 * time.Hour:  "in 3 years",
		-59 * time.Minute:         "59 minutes ago",
		time.Minute + time.Second: "in 1 minute",
	}
	for d, want := range cases {
		if got := Relative(now.Add(d), now); got != want {
			t.Errorf("Relative(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestValidateNameAndEmail(t *testing.T) {
	for _, ok := range []string{"laptop-alice", "Zoë's phone", "日本-1", strings.Repeat("a", MaxNameLen)} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "   ", "a\x1b[2Jb", "tab\there", "rtl\u202eevil", strings.Repeat("a", MaxNameLen+1), "bad\xffutf8"} {
		if err := ValidateName(bad); err == nil {
			t.Errorf("ValidateName(%q) accepted it", bad)
		}
	}
	for _, ok := range []string{"", "alice@example.org", "a.b+c@sub.example.org"} {
		if err := ValidateEmail(ok); err != nil {
			t.Errorf("ValidateEmail(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"alice", "Alice <alice@example.org>", "a@b@c", "alice@example.org, bob@example.org", " alice@example.org"} {
		if err := ValidateEmail(bad); err == nil {
			t.Errorf("ValidateEmail(%q) accepted it", bad)
		}
	}
}
