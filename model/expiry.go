package model

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultMaxExpiry is how far ahead a token may expire unless configured otherwise.
const DefaultMaxExpiry = 365 * 24 * time.Hour

// ErrExpiryPast and ErrExpiryTooFar are the two ways a well-formed expiry can be refused.
var (
	ErrExpiryPast   = errors.New("expiry is not in the future")
	ErrExpiryTooFar = errors.New("expiry is too far ahead")
)

// ExpiryPolicy says how far ahead a token may expire.
type ExpiryPolicy struct {
	Max time.Duration // zero means DefaultMaxExpiry
}

func (p ExpiryPolicy) max() time.Duration {
	if p.Max <= 0 {
		return DefaultMaxExpiry
	}
	return p.Max
}

// Latest is the latest expiry the policy allows at time now.
func (p ExpiryPolicy) Latest(now time.Time) time.Time { return now.Add(p.max()) }

// Validate checks that expiry t is after now and at most the maximum ahead.
// Its errors wrap ErrExpiryPast or ErrExpiryTooFar and say what to do.
func (p ExpiryPolicy) Validate(now, t time.Time) error {
	if !t.After(now) {
		return fmt.Errorf("%w: %s has passed; choose a later date", ErrExpiryPast, t.Format(time.RFC3339))
	}
	if t.After(p.Latest(now)) {
		return fmt.Errorf("%w: %s is more than %s ahead; choose an earlier date",
			ErrExpiryTooFar, t.Format("2006-01-02"), HumanDuration(p.max()))
	}
	return nil
}

// EndOfDay is 23:59:59 of the calendar day of t in loc, in UTC.
func EndOfDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 23, 59, 59, 0, loc).UTC()
}

// ParseExpiry reads an expiry as an admin types it: a calendar date
// (2026-12-31, meaning the end of that day in loc), an RFC 3339 time, or a
// time relative to now (+7d, +36h, +90m, +90s). The result is in UTC. It does
// not apply a policy; call ExpiryPolicy.Validate for that.
func ParseExpiry(s string, now time.Time, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("no expiry given: use a date like 2026-12-31, or +7d")
	}
	if loc == nil {
		loc = time.UTC
	}
	if s[0] == '+' {
		return parseRelative(s, now)
	}
	if d, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		return EndOfDay(d, loc), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date: use YYYY-MM-DD, an RFC 3339 time, or +7d / +36h / +90s", s)
}

func parseRelative(s string, now time.Time) (time.Time, error) {
	bad := fmt.Errorf("%q is not a relative time: use +7d, +36h, +90m or +90s", s)
	if len(s) < 3 {
		return time.Time{}, bad
	}
	unit := s[len(s)-1]
	n, err := strconv.ParseInt(s[1:len(s)-1], 10, 64)
	if err != nil || n <= 0 || strings.ContainsAny(s[1:len(s)-1], "+-") {
		return time.Time{}, bad
	}
	var per time.Duration
	switch unit {
	case 'd':
		per = 24 * time.Hour
	case 'h':
		per = time.Hour
	case 'm':
		per = time.Minute
	case 's':
		per = time.Second
	default:
		return time.Time{}, bad
	}
	const maxDays = 100 * 365
	if n > int64(maxDays*24*time.Hour/per) {
		return time.Time{}, fmt.Errorf("%q is too far ahead", s)
	}
	return now.Add(time.Duration(n) * per).UTC().Truncate(time.Second), nil
}

// HumanDuration says a duration in the largest whole unit: "365 days", "36 hours".
func HumanDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", int(d/time.Hour))
	case d >= 2*time.Minute:
		return fmt.Sprintf("%d minutes", int(d/time.Minute))
	}
	return fmt.Sprintf("%d seconds", int(d/time.Second))
}
