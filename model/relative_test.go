package model

import (
	"strings"
	"testing"
	"time"
)

var testNowRel = time.Date(2026, 6, 2, 10, 0, 0, 0, time.UTC)

// TestRelativeReadsAsTyped: an expiry typed as +N<unit> reads back as "in N
// <units>" when shown a moment later (the tokens are cut to the second and
// displayed milliseconds to seconds after they were made), as people read
// it; the words for the past are never those for the future.
func TestRelativeReadsAsTyped(t *testing.T) {
	now := time.Date(2026, 6, 2, 10, 0, 0, 0, time.UTC)
	cases := []struct{ typed, want string }{
		{"+60s", "in 1 minute"},
		{"+3d", "in 3 days"},
		{"+2d", "in 2 days"},
		{"+7d", "in 7 days"},
		{"+59d", "in 59 days"},
		{"+36h", "in 36 hours"},
		{"+1h", "in 1 hour"},
		{"+47h", "in 47 hours"},
		{"+5m", "in 5 minutes"},
		{"+59m", "in 59 minutes"},
	}
	for _, c := range cases {
		exp, err := ParseExpiry(c.typed, now, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		for _, later := range []time.Duration{0, 300 * time.Millisecond, 999 * time.Millisecond, 2 * time.Second} {
			if got := Relative(exp, now.Add(later)); got != c.want {
				t.Errorf("%s shown %v later reads %q, want %q", c.typed, later, got, c.want)
			}
		}
	}
}

// TestRelativeCountsCalendarDays: a token expiring at the end of the day a
// week ahead expires "in 7 days" however late in the day it is now, counted
// in the clock's zone.
func TestRelativeCountsCalendarDays(t *testing.T) {
	zone := time.FixedZone("CEST", 2*60*60)
	for _, hour := range []int{0, 9, 15, 23} {
		now := time.Date(2026, 6, 2, hour, 30, 0, 0, zone)
		exp := EndOfDay(now.AddDate(0, 0, 7), zone)
		if got := Relative(exp, now); got != "in 7 days" {
			t.Errorf("end of 9 Jun seen at %02d:30 on 2 Jun reads %q, want in 7 days", hour, got)
		}
		if got := Relative(now, exp.In(zone)); got != "7 days ago" {
			t.Errorf("2 Jun %02d:30 seen at the end of 9 Jun reads %q, want 7 days ago", hour, got)
		}
	}
}

func TestRelativeNeverSaysThePastForTheFuture(t *testing.T) {
	if got := Relative(testNowRel.Add(20*time.Second), testNowRel); got != "in 20 seconds" {
		t.Errorf("20 s ahead reads %q, want in 20 seconds", got)
	}
	if got := Relative(testNowRel.Add(-20*time.Second), testNowRel); got != "20 seconds ago" {
		t.Errorf("20 s back reads %q, want 20 seconds ago", got)
	}
	now := time.Date(2026, 6, 2, 10, 0, 0, 0, time.UTC)
	for d := time.Second; d < 800*24*time.Hour; d = d*5/4 + time.Second {
		fut, past := Relative(now.Add(d), now), Relative(now.Add(-d), now)
		if !strings.HasPrefix(fut, "in ") || strings.Contains(fut, "ago") {
			t.Errorf("%v ahead reads %q: not the future's words", d, fut)
		}
		if !strings.HasSuffix(past, " ago") || strings.HasPrefix(past, "in ") {
			t.Errorf("%v back reads %q: not the past's words", d, past)
		}
	}
}
