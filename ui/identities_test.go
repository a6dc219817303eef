package ui

import (
	"strings"
	"testing"

	"github.com/idcon/idcon/model"
)

func syntheticHarness(t *testing.T, n, w, h int) (*harness, *fakeBackend) {
	fb := demoBackend()
	fb.synthetic = n
	return newHarness(t, testOptions(fb), w, h), fb
}

func TestListFetchesOnePageAtATime(t *testing.T) {
	// 29 rows: breadcrumbs, status, header and 25 identities a page.
	hs, fb := syntheticHarness(t, 103482, 100, 29)
	l := hs.list()
	if l.pageSize != 25 {
		t.Fatalf("page size %d, want 25", l.pageSize)
	}
	got := fb.callsWith("Identities")
	want := []string{
		`Identities net-acme filter="" state="" offset=0 limit=25`,
		`Identities net-acme filter="" state="" offset=25 limit=25`, // prefetch
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(hs.screen(), "1–25 of 103,482") {
		t.Fatalf("no position line:\n%s", hs.screen())
	}

	hs.press("j", "j", "down")
	if l.cursor != 3 {
		t.Fatalf("cursor %d after j j down, want 3", l.cursor)
	}
	hs.press("k")
	if l.cursor != 2 {
		t.Fatalf("cursor %d after k, want 2", l.cursor)
	}
	hs.press("pgdown")
	if l.cursor != 27 || !strings.Contains(hs.screen(), "26–50 of 103,482") {
		t.Fatalf("cursor %d after pgdown, want 27; screen:\n%s", l.cursor, hs.screen())
	}
	// The page was prefetched; the next one is asked for now.
	if last := fb.callsWith("Identities"); !strings.HasSuffix(last[len(last)-1], "offset=50 limit=25") {
		t.Fatalf("last request %q, want the prefetch of offset 50", last[len(last)-1])
	}
	hs.press("end")
	if l.cursor != 103481 {
		t.Fatalf("cursor %d after end, want 103481", l.cursor)
	}
	last := fb.callsWith("Identities")
	if !strings.HasSuffix(last[len(last)-1], "offset=103475 limit=25") {
		t.Fatalf("last request %q, want the page of the last identity", last[len(last)-1])
	}
	if !strings.Contains(hs.screen(), "103,476–103,482 of 103,482") || !strings.Contains(hs.screen(), "› device-103481") {
		t.Fatalf("last page not shown:\n%s", hs.screen())
	}
	hs.press("home")
	if l.cursor != 0 || !strings.Contains(hs.screen(), "› device-000000") {
		t.Fatalf("cursor %d after home", l.cursor)
	}
	hs.press("pgup")
	if l.cursor != 0 {
		t.Fatalf("cursor %d after pgup at the top", l.cursor)
	}
	for _, c := range fb.callsWith("Identities") {
		if !strings.HasSuffix(c, "limit=25") {
			t.Fatalf("request %q asks for more than a page", c)
		}
	}
	if len(l.pages) > 2*keepPages+1 {
		t.Fatalf("%d pages kept, want at most %d", len(l.pages), 2*keepPages+1)
	}
}

func TestListKeysWorkWhileLoading(t *testing.T) {
	hs, _ := syntheticHarness(t, 1000, 100, 29)
	l := hs.list()
	// An answer that hasn't come: the page is asked for but not there.
	l.resetQuery()
	l.total = 1000
	cmd := l.ensurePage()
	if cmd == nil || !l.Busy() {
		t.Fatal("no page request after the query was reset")
	}
	hs.press("j", "j")
	if l.cursor != 2 {
		t.Fatalf("cursor %d while loading, want 2", l.cursor)
	}
	if !strings.Contains(hs.screen(), "loading…") {
		t.Fatalf("no loading indicator:\n%s", hs.screen())
	}
	hs.run(cmd)
	if l.Busy() || !strings.Contains(hs.screen(), "› device-000002") {
		t.Fatalf("page not shown after it came:\n%s", hs.screen())
	}
}

func TestListFilterIsDebouncedAndStaleResultsDropped(t *testing.T) {
	hs := newHarness(t, testOptions(demoBackend()), 100, 30)
	fb := hs.app.s.opts.Backend.(*fakeBackend)
	l := hs.list()
	before := len(fb.callsWith("Identities"))
	hs.timers = nil // the list's poll: this test is about the filter's debounce
	hs.press("/")
	if !l.Typing() {
		t.Fatal("/ did not start the filter")
	}
	hs.typeText("alq")
	hs.press("backspace")
	if n := len(fb.callsWith("Identities")); n != before {
		t.Fatalf("%d requests while typing, want none before the debounce", n-before)
	}
	if len(hs.timers) != 4 {
		t.Fatalf("%d debounce timers, want one per change (4)", len(hs.timers))
	}
	hs.fireTimers()
	got := fb.callsWith("Identities")[before:]
	if len(got) != 1 || !strings.Contains(got[0], `filter="al"`) {
		t.Fatalf("requests after the debounce: %q, want one for \"al\"", got)
	}
	if l.total != 1 || !strings.Contains(hs.screen(), "laptop-alice") || strings.Contains(hs.screen(), "phone-bob") {
		t.Fatalf("filtered list wrong (total %d):\n%s", l.total, hs.screen())
	}

	// An answer for an older query never overwrites the newer one.
	old := l.gen
	hs.press("esc") // clears the filter: a new query
	if l.gen == old {
		t.Fatal("clearing the filter did not start a new query")
	}
	hs.send(pageLoadedMsg{gen: old, offset: 0, page: model.Page{Total: 999}})
	if l.total == 999 {
		t.Fatal("a stale page answer was applied")
	}
	if l.total != 25 {
		t.Fatalf("total %d after clearing the filter, want 25", l.total)
	}
}

func TestListStateFilterCycles(t *testing.T) {
	hs := newHarness(t, testOptions(demoBackend()), 100, 30)
	fb := hs.app.s.opts.Backend.(*fakeBackend)
	l := hs.list()
	want := []struct {
		state model.State
		total int
		shows string
	}{
		{model.StateEnrolled, 22, "state: enrolled"},
		{model.StatePending, 1, "state: pending"},
		{model.StateExpired, 1, "state: expired"},
		{model.StateNone, 1, "state: none"},
		{"", 25, "state: all"},
	}
	for _, w := range want {
		hs.press("s")
		if l.state != w.state || l.total != w.total || !strings.Contains(hs.screen(), w.shows) {
			t.Fatalf("after s: state %q total %d, want %q %d; screen:\n%s", l.state, l.total, w.state, w.total, hs.screen())
		}
		calls := fb.callsWith("Identities")
		if !strings.Contains(calls[len(calls)-1], `state="`+string(w.state)+`"`) {
			t.Fatalf("last request %q, want state %q", calls[len(calls)-1], w.state)
		}
		for _, id := range l.pages[0].items {
			if w.state != "" && id.State(testNow) != w.state {
				t.Fatalf("%s (%s) listed under state %s", id.Name, id.State(testNow), w.state)
			}
		}
	}
}

func TestListAlignsWideCharacters(t *testing.T) {
	hs := newHarness(t, testOptions(demoBackend()), 100, 30)
	var wide, plain string
	for _, line := range strings.Split(hs.screen(), "\n") {
		if strings.Contains(line, "ワークステーション") {
			wide = line
		}
		if strings.Contains(line, "server-01") {
			plain = line
		}
	}
	// "enrolled" starts in the same terminal column on both rows.
	col := func(s string) int { return cellIndex(s, "enrolled") }
	if wide == "" || plain == "" || col(wide) != col(plain) {
		t.Fatalf("state column misaligned:\n%s\n%s", wide, plain)
	}
}
