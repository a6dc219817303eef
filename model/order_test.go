package model

import (
	"slices"
	"strings"
	"testing"
)

// TestNameKeySortsNaturally: names sort as people read them: numbers by
// value (build-2 before build-10), case and accents ignored.
func TestNameKeySortsNaturally(t *testing.T) {
	want := []string{
		"alice", "Álvaro", "build", "build-2", "Build-3", "build-10", "build-10a", "build-11",
		"émile", "Emily", "file9.txt", "file10.txt", "v1.2", "v1.10", "Zoë", "zz-007", "zz-8",
	}
	got := slices.Clone(want)
	// Reverse, then sort: an order kept only by accident can't pass.
	slices.Reverse(got)
	slices.SortStableFunc(got, func(a, b string) int { return strings.Compare(NameKey(a), NameKey(b)) })
	if !slices.Equal(got, want) {
		t.Fatalf("sorted by NameKey:\n got %q\nwant %q", got, want)
	}
}

// TestNameKeyIsStableAndDistinct: the key of a name doesn't depend on
// anything else, and names that differ other than in case, accents or
// leading zeros get different keys.
func TestNameKeyIsStableAndDistinct(t *testing.T) {
	same := [][2]string{{"Build-2", "build-2"}, {"Émile", "emile"}, {"x-002", "x-2"}}
	for _, p := range same {
		if NameKey(p[0]) != NameKey(p[1]) {
			t.Errorf("NameKey(%q) %q != NameKey(%q) %q", p[0], NameKey(p[0]), p[1], NameKey(p[1]))
		}
	}
	differ := [][2]string{{"build-2", "build-20"}, {"a b", "ab"}, {"x1y", "x1 y"}, {"1", "01a"}}
	for _, p := range differ {
		if NameKey(p[0]) == NameKey(p[1]) {
			t.Errorf("NameKey(%q) == NameKey(%q): %q", p[0], p[1], NameKey(p[0]))
		}
	}
}

// TestNameKeyEncoding: the key written out, as the doc comment promises:
// each run of digits is its length in two digits, then the digits without
// leading zeros (lengths past 99 stay 99).
func TestNameKeyEncoding(t *testing.T) {
	hundred := strings.Repeat("7", 100)
	for _, c := range []struct{ in, want string }{
		{"build-2", "build-012"},
		{"build-10", "build-0210"},
		{"build-007", "build-017"},
		{"build-0", "build-010"},
		{"v123456789", "v09123456789"},
		{"v1234567890", "v101234567890"},
		{"n" + hundred, "n99" + hundred},
		{"Éclair 3", "eclair 013"},
	} {
		if got := NameKey(c.in); got != c.want {
			t.Errorf("NameKey(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
