package model

import (
	"math"
	"strconv"
	"time"
)

// Relative says how far t is from now in words, rounded as people read it:
// "in 3 days", "3 days ago", "in 36 hours", "in 1 minute", "now".
//
// The words for the future ("in …") and the past ("… ago") are never the
// same. Below two days each unit is rounded to the nearest, so a token made
// with +3d or +60s and shown a moment later still reads "in 3 days" and "in
// 1 minute". From two days on it counts calendar days in now's location, so
// the end of the day a week ahead is "in 7 days" whatever the time now;
// pass now in the zone the admin reads dates in.
func Relative(t, now time.Time) string {
	d := t.Sub(now).Abs()
	future := t.After(now)
	var n int
	var unit string
	switch {
	case d < 500*time.Millisecond:
		return "now"
	case rounded(d, time.Second) < 45:
		n, unit = rounded(d, time.Second), "second"
	case rounded(d, time.Minute) < 60:
		n, unit = rounded(d, time.Minute), "minute"
	case rounded(d, time.Hour) < 48:
		n, unit = rounded(d, time.Hour), "hour"
	default:
		days := calendarDays(t, now)
		if !future {
			days = -days
		}
		days = max(days, 2) // 47.5 hours, across one midnight only
		switch {
		case days < 60:
			n, unit = days, "day"
		case days < 730:
			n, unit = int(math.Round(float64(days)/30.4375)), "month"
		default:
			n, unit = int(math.Round(float64(days)/365.25)), "year"
		}
	}
	s := plural(n, unit)
	if future {
		return "in " + s
	}
	return s + " ago"
}

// rounded is d in whole units, to the nearest.
func rounded(d, unit time.Duration) int { return int(d.Round(unit) / unit) }

// calendarDays is how many midnights lie from now to t (negative when t is
// earlier), counted in now's location.
func calendarDays(t, now time.Time) int {
	loc := now.Location()
	ty, tm, td := t.In(loc).Date()
	ny, nm, nd := now.Date()
	// Noon UTC of each civil date: whole days apart, whatever DST does.
	a := time.Date(ty, tm, td, 12, 0, 0, 0, time.UTC)
	b := time.Date(ny, nm, nd, 12, 0, 0, 0, time.UTC)
	return int(a.Sub(b) / (24 * time.Hour))
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
