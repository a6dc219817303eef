package ui

import (
	"slices"
	"strings"
	"testing"

	"github.com/idcon/idcon/model"
)

// listedOrder is the names on the list's first page, in order.
func listedOrder(l *identitiesScreen) []string {
	var out []string
	for _, id := range l.pages[0].items {
		out = append(out, id.Name)
	}
	return out
}

// lastList is the last Identities call the backend saw.
func lastList(t *testing.T, fb *fakeBackend) string {
	t.Helper()
	calls := fb.callsWith("Identities")
	if len(calls) == 0 {
		t.Fatal("no Identities call")
	}
	return calls[len(calls)-1]
}

// TestSortReverse: O reverses the order the list is in, asked of the
// backend (Desc), the header's arrow turning from ▲ to ▼ and the status
// line saying so; O again puts it back. Sessions, whose own order is the
// most first, point down until reversed.
func TestSortReverse(t *testing.T) {
	fb := demoBackend()
	hs := newHarness(t, testOptions(fb), 100, 30)
	asc := listedOrder(hs.list())
	if !strings.Contains(hs.screen(), "Name▲") {
		t.Fatalf("by name the header has no ▲:\n%s", hs.screen())
	}
	hs.press("O")
	l := hs.list()
	if !strings.HasSuffix(lastList(t, fb), " desc") {
		t.Errorf("O asked %q, want the reverse order", lastList(t, fb))
	}
	want := slices.Clone(asc)
	slices.Reverse(want)
	if got := listedOrder(l); !slices.Equal(got, want) {
		t.Errorf("O: the rows are %v, want %v", got, want)
	}
	if s := hs.screen(); !strings.Contains(s, "Name▼") || !strings.Contains(s, "by name, Z to A") {
		t.Errorf("O: the header doesn't say ▼ and the order:\n%s", s)
	}
	hs.press("O")
	if s := hs.screen(); !strings.Contains(s, "Name▲") || strings.Contains(s, "Z to A") || strings.HasSuffix(lastList(t, fb), " desc") {
		t.Errorf("O again: not back in name order (%q):\n%s", lastList(t, fb), s)
	}
	if got := listedOrder(hs.list()); !slices.Equal(got, asc) {
		t.Errorf("O again: the rows are %v, want %v", got, asc)
	}

	// The reverse is kept as o moves on.
	hs.press("O", "o", "o")
	if s := hs.screen(); !strings.Contains(s, "Expires▼") || !strings.Contains(s, "by expiry, latest first") || !strings.HasSuffix(lastList(t, fb), "sort=expires desc") {
		t.Errorf("O then o o: not by expiry reversed (%q):\n%s", lastList(t, fb), s)
	}
	hs.press("O", "o")
	if s := hs.screen(); !strings.Contains(s, "▼Sessions") || !strings.Contains(s, "by sessions, most first") {
		t.Errorf("by sessions: want ▼ and the most first:\n%s", s)
	}
	hs.press("O")
	if s := hs.screen(); !strings.Contains(s, "▲Sessions") || !strings.Contains(s, "by sessions, fewest first") {
		t.Errorf("by sessions reversed: want ▲ and the fewest first:\n%s", s)
	}
	hs.press("?")
	if !strings.Contains(hs.screen(), "O") || !strings.Contains(hs.screen(), "reverse order") {
		t.Errorf("? lacks O:\n%s", hs.screen())
	}
}

// TestSortCreatedNewestFirst: o reaches the creation order after sessions,
// and O shows the newest identities first.
func TestSortCreatedNewestFirst(t *testing.T) {
	fb := demoBackend()
	hs := newHarness(t, testOptions(fb), 100, 30)
	hs.press("o", "o", "o", "o")
	if s := hs.screen(); !strings.Contains(s, "by creation, oldest first") || !strings.HasSuffix(lastList(t, fb), "sort=created") {
		t.Errorf("o ×4: not by creation (%q):\n%s", lastList(t, fb), s)
	}
	hs.press("O")
	if s := hs.screen(); !strings.Contains(s, "by creation, newest first") || !strings.HasSuffix(lastList(t, fb), "sort=created desc") {
		t.Errorf("O: not the newest first (%q):\n%s", lastList(t, fb), s)
	}
	hs.press("O", "o")
	if s := hs.screen(); !strings.Contains(s, "Name▲") || strings.Contains(s, "by creation") {
		t.Errorf("o after created: not back to name:\n%s", s)
	}
}

// TestSortKeptPerNetwork: the order and its direction stay with the
// network: back in the picker and into another network the list is by
// name; back in the first, by expiry reversed again, asked so at once.
func TestSortKeptPerNetwork(t *testing.T) {
	fb := demoBackend()
	fb.addNetwork(model.Network{ID: "net-lab", Name: "Lab", Kind: "fake"}, demoIdentities()[:3]...)
	hs := newHarness(t, testOptions(fb), 100, 30)
	open := func(name string) *identitiesScreen {
		t.Helper()
		if _, ok := hs.app.top().(*networksScreen); !ok {
			t.Fatalf("top is %T, want the picker", hs.app.top())
		}
		hs.press("/")
		hs.typeText(name)
		hs.press("enter", "enter")
		return hs.list()
	}
	l := open("Acme")
	hs.press("o", "o", "O")
	if l.sort != model.SortExpires || !l.desc {
		t.Fatalf("Acme: sort %q desc %v, want expires reversed", l.sort, l.desc)
	}
	hs.press("esc")
	l = open("Lab")
	if l.network.ID != "net-lab" || l.sort != model.SortName && l.sort != "" || l.desc {
		t.Fatalf("Lab (%s): sort %q desc %v, want by name", l.network.ID, l.sort, l.desc)
	}
	hs.press("O")
	hs.press("esc")
	l = open("Acme")
	if l.network.ID != "net-acme" || l.sort != model.SortExpires || !l.desc || !strings.HasSuffix(lastList(t, fb), "sort=expires desc") {
		t.Fatalf("Acme again: sort %q desc %v, asked %q; want expires reversed", l.sort, l.desc, lastList(t, fb))
	}
	if !strings.Contains(hs.screen(), "Expires▼") {
		t.Errorf("Acme again: the header has no Expires▼:\n%s", hs.screen())
	}
	hs.press("esc")
	if l = open("Lab"); l.sort != model.SortName && l.sort != "" || !l.desc {
		t.Errorf("Lab again: sort %q desc %v, want by name reversed", l.sort, l.desc)
	}
}
