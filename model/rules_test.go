package model

import (
	"errors"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // America/New_York without relying on the machine's zoneinfo
)

// The expiry rules with every number written out, so a change to a
// constant or a comparison shows here rather than being carried along.

func TestParseExpiryWestOfUTC(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ in, want string }{
		{"2026-12-31", "2027-01-01T04:59:59Z"},                // EST, UTC-5: the end of the day is the next day in UTC
		{"2026-07-04", "2026-07-05T03:59:59Z"},                // EDT, UTC-4
		{"2026-03-08", "2026-03-09T03:59:59Z"},                // the day clocks go forward ends in EDT
		{"2026-11-01", "2026-11-02T04:59:59Z"},                // the day clocks go back ends in EST
		{"2026-12-01T10:00:00+02:00", "2026-12-01T08:00:00Z"}, // an explicit offset beats the zone
	}
	for _, c := range cases {
		got, err := ParseExpiry(c.in, now, ny)
		if err != nil {
			t.Errorf("ParseExpiry(%q, New York): %v", c.in, err)
			continue
		}
		if s := got.Format(time.RFC3339); s != c.want || got.Location() != time.UTC {
			t.Errorf("ParseExpiry(%q, New York) = %s (%v), want %s in UTC", c.in, s, got.Location(), c.want)
		}
	}
	// nil means UTC.
	if got, err := ParseExpiry("2026-12-31", now, nil); err != nil || got.Format(time.RFC3339) != "2026-12-31T23:59:59Z" {
		t.Errorf("ParseExpiry with no zone = %v, %v; want 2026-12-31T23:59:59Z", got, err)
	}
}

func TestParseExpiryRelativeNumbers(t *testing.T) {
	// now is 2026-11-26T12:00:00Z.
	cases := map[string]string{
		"+7d":      "2026-12-03T12:00:00Z",
		"+1d":      "2026-11-27T12:00:00Z",
		"+36h":     "2026-11-28T00:00:00Z",
		"+90m":     "2026-11-26T13:30:00Z",
		"+90s":     "2026-11-26T12:01:30Z",
		"+36500d":  "2126-11-02T12:00:00Z", // 100 years of 365 days: the longest accepted
		"+876000h": "2126-11-02T12:00:00Z",
	}
	for in, want := range cases {
		got, err := ParseExpiry(in, now, time.UTC)
		if err != nil {
			t.Errorf("ParseExpiry(%q): %v", in, err)
			continue
		}
		if s := got.Format(time.RFC3339); s != want {
			t.Errorf("ParseExpiry(%q) = %s, want %s", in, s, want)
		}
	}
	// Sub-second parts of now are dropped: expiries are whole seconds.
	odd := time.Date(2026, 11, 26, 12, 0, 0, 750_000_000, time.UTC)
	if got, _ := ParseExpiry("+1s", odd, time.UTC); got.Format(time.RFC3339Nano) != "2026-11-26T12:00:01Z" {
		t.Errorf("ParseExpiry(+1s) at 12:00:00.75 = %s, want 2026-11-26T12:00:01Z", got.Format(time.RFC3339Nano))
	}
	for _, bad := range []string{"-7d", "-1s", "+36501d", "+876001h", "+52560001m", "+3153600001s", "7d", "+7D", "+ 7d", "+7 d"} {
		if got, err := ParseExpiry(bad, now, time.UTC); err == nil {
			t.Errorf("ParseExpiry(%q) = %v, want it refused", bad, got)
		} else if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), bad[:2]) {
			t.Errorf("ParseExpiry(%q): error %q is not one line naming the input", bad, err)
		}
	}
}

func TestValidateAtTheLimits(t *testing.T) {
	// now is 2026-11-26T12:00:00Z; 365 days later is 2027-11-26T12:00:00Z.
	p := ExpiryPolicy{}
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		expiry string
		want   error
	}{
		{"2026-11-26T12:00:00Z", ErrExpiryPast},
		{"2026-11-26T11:59:59Z", ErrExpiryPast},
		{"2026-11-26T12:00:01Z", nil},
		{"2027-11-26T12:00:00Z", nil},
		{"2027-11-26T12:00:01Z", ErrExpiryTooFar},
		{"2028-11-26T12:00:00Z", ErrExpiryTooFar},
	}
	for _, c := range cases {
		err := p.Validate(now, at(c.expiry))
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("Validate(now, %s) = %v, want %v", c.expiry, err, c.want)
		}
	}
	if got := p.Latest(now).Format(time.RFC3339); got != "2027-11-26T12:00:00Z" {
		t.Errorf("Latest = %s, want 2027-11-26T12:00:00Z", got)
	}
	err := p.Validate(now, at("2027-11-26T12:00:01Z"))
	if err == nil || err.Error() != "expiry is too far ahead: 2027-11-26 is more than 365 days ahead; choose an earlier date" {
		t.Errorf("too far: %v", err)
	}
	err = p.Validate(now, at("2026-11-26T11:00:00Z"))
	if err == nil || err.Error() != "expiry is not in the future: 2026-11-26T11:00:00Z has passed; choose a later date" {
		t.Errorf("past: %v", err)
	}
	// A configured maximum of 48 hours: 2026-11-28T12:00:00Z is the last.
	short := ExpiryPolicy{Max: 48 * time.Hour}
	if err := short.Validate(now, at("2026-11-28T12:00:00Z")); err != nil {
		t.Errorf("48h policy refused its limit: %v", err)
	}
	if err := short.Validate(now, at("2026-11-28T12:00:01Z")); !errors.Is(err, ErrExpiryTooFar) || !strings.Contains(err.Error(), "more than 2 days ahead") {
		t.Errorf("48h policy, a second more: %v", err)
	}
	// Zero or negative means the default.
	if got := (ExpiryPolicy{Max: -time.Hour}).Latest(now).Format(time.RFC3339); got != "2027-11-26T12:00:00Z" {
		t.Errorf("negative Max: Latest = %s, want the 365-day default", got)
	}
}

func TestHumanDuration(t *testing.T) {
	cases := map[time.Duration]string{
		365 * 24 * time.Hour: "365 days",
		48 * time.Hour:       "2 days",
		47 * time.Hour:       "47 hours",
		2 * time.Hour:        "2 hours",
		119 * time.Minute:    "119 minutes",
		2 * time.Minute:      "2 minutes",
		119 * time.Second:    "119 seconds",
	}
	for d, want := range cases {
		if got := HumanDuration(d); got != want {
			t.Errorf("HumanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestEndOfDay(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	// 03:00 UTC on the 27th is still the 26th in New York.
	got := EndOfDay(time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC), ny)
	if s := got.Format(time.RFC3339); s != "2026-11-27T04:59:59Z" || got.Location() != time.UTC {
		t.Errorf("EndOfDay = %s (%v), want 2026-11-27T04:59:59Z", s, got.Location())
	}
}

func TestActionMutatesAndTitle(t *testing.T) {
	cases := []struct {
		a       Action
		mutates bool
		title   string
	}{
		{ActionReset, true, "Reset enrollment"},
		{ActionReissue, true, "Reissue enrollment"},
		{ActionDelete, true, "Delete enrollment"},
		{ActionEmail, false, "Send registration email"},
		{ActionJWT, false, "Download JWT"},
		{ActionQR, false, "Show QR code"},
		{Action("rename"), false, "rename"},
	}
	for _, c := range cases {
		if got := c.a.Mutates(); got != c.mutates {
			t.Errorf("%s.Mutates() = %v, want %v", c.a, got, c.mutates)
		}
		if got := c.a.Title(); got != c.title {
			t.Errorf("%s.Title() = %q, want %q", c.a, got, c.title)
		}
	}
}
