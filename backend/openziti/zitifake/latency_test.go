package zitifake

import (
	"net/http"
	"testing"
	"time"
)

// The modelled cost of a request is the recorded median of its kind
// (figures copied by hand from testdata/latency-v2.0.3.json), in
// proportion to the rows answered between the one-row and the full page.
// (limit=1 still answers one row, and costs what was recorded for it.)
func TestLatencyCostAsRecorded(t *testing.T) {
	l := RecordedLatency()
	near := func(what string, got time.Duration, wantMS float64) {
		t.Helper()
		if ms := float64(got) / float64(time.Millisecond); ms < wantMS-0.02 || ms > wantMS+0.02 {
			t.Errorf("%s: %.3f ms, want %.2f ms", what, ms, wantMS)
		}
	}
	near("500 identities", l.Cost(http.MethodGet, "/identities", "sort by name asc", 500), 140.09)
	near("1 identity", l.Cost(http.MethodGet, "/identities", "", 1), 0.61)
	near("an identity by id", l.Cost(http.MethodGet, "/identities/abc", "", 0), 0.61)
	near("200 identities by id", l.Cost(http.MethodGet, "/identities", `id in ["a", "b"]`, 200), 34.7)
	near("500 enrollments", l.Cost(http.MethodGet, "/enrollments", "sort by id asc", 500), 46.29)
	near("500 authenticators", l.Cost(http.MethodGet, "/authenticators", "", 500), 67.46)
	near("250 authenticators", l.Cost(http.MethodGet, "/authenticators", "", 250), 0.59+(67.46-0.59)*249/499)
	if d := l.Cost(http.MethodPost, "/identities", "", 0); d != 0 {
		t.Errorf("a write costs %v; writes were not measured, so nothing is modelled", d)
	}
	if l.InFlight != 4 || l.Speedup != 1.52 {
		t.Errorf("recorded %d in flight ×%.2f, want 4 ×1.52", l.InFlight, l.Speedup)
	}
}

// Several requests under way share the controller: four take 4/1.52 of
// their cost each, so together they are answered 1.52 times as fast as
// one after another, as recorded; one alone takes its cost.
func TestLatencyStretchedWhenShared(t *testing.T) {
	d := 100 * time.Millisecond
	for _, c := range []struct {
		n    int
		want time.Duration
	}{{1, d}, {2, time.Duration(float64(d) * 2 / 1.52)}, {4, time.Duration(float64(d) * 4 / 1.52)}} {
		if got := stretched(d, c.n, 1.52); got != c.want {
			t.Errorf("%d under way: %v each, want %v", c.n, got, c.want)
		}
		if c.n > 1 {
			if rate := float64(c.n) * float64(d) / float64(stretched(d, c.n, 1.52)); rate < 1.519 || rate > 1.521 {
				t.Errorf("%d under way are answered ×%.3f as fast as one after another, want ×1.52", c.n, rate)
			}
		}
	}
}
