package ui

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/idcon/idcon/backend"
)

// The demo network's 25 identities: 22 enrolled holding 24 sessions
// (laptop-alice 2, the wide one 1, server-01..20 i%3 each), and one
// pending, one expired, one with neither.
const (
	demoEnrolled = 22
	demoSessions = 24
)

// dialogText is the open dialog's words in one line.
func dialogText(hs *harness) string {
	hs.t.Helper()
	if hs.app.dialog == nil {
		hs.t.Fatalf("no dialog is open:\n%s", hs.screen())
	}
	return flat(ansi.Strip(hs.app.dialog.View()))
}

func TestBulkMarks(t *testing.T) {
	hs, fb := demoHarness(t)
	l := hs.list()
	hs.press("space")
	if !strings.Contains(hs.screen(), "1 marked") || l.cursor != 1 {
		t.Fatalf("space: cursor %d, screen:\n%s", l.cursor, hs.screen())
	}
	first := l.pages[0].items[0]
	if !strings.Contains(hs.screen(), " ✓"+first.Name) {
		t.Fatalf("the marked row shows no mark:\n%s", hs.screen())
	}
	hs.press("space") // marks the second and moves on
	hs.press("up", "space")
	if got := l.marks.count(l.total); got != 1 || l.marks.has(l.pages[0].items[1].ID) {
		t.Fatalf("space on a marked row: %d marked", got)
	}
	// Marks made one by one survive a new filter...
	hs.press("/")
	hs.typeText("server")
	hs.press("enter")
	if !strings.Contains(hs.screen(), "1 marked") || !l.marks.has(first.ID) {
		t.Fatalf("a filter dropped a mark made one by one:\n%s", hs.screen())
	}
	hs.press("esc") // clears the filter first
	if l.filter != "" || !l.marks.has(first.ID) {
		t.Fatalf("the first esc: filter %q, mark kept %v; want the filter cleared and the mark kept", l.filter, l.marks.has(first.ID))
	}
	hs.press("esc")
	if l.marks.any(l.total) || strings.Contains(hs.screen(), "marked") {
		t.Fatalf("esc left marks:\n%s", hs.screen())
	}
	hs.press("/")
	hs.typeText("server")
	hs.press("enter")

	// ...while "all matching" belongs to its filter.
	calls := len(fb.callsWith("Identities"))
	hs.press("a")
	if !strings.Contains(hs.screen(), "20 marked (all matching)") {
		t.Fatalf("a with the filter server:\n%s", hs.screen())
	}
	if len(fb.callsWith("Identities")) != calls {
		t.Fatal("marking all loaded identities: it must be symbolic")
	}
	hs.press("space")
	if !strings.Contains(hs.screen(), "19 marked") {
		t.Fatalf("space after a should unmark one:\n%s", hs.screen())
	}
	sel := l.marks.selection()
	if !sel.All || sel.Filter != "server" || len(sel.Except) != 1 || len(sel.IDs) != 0 {
		t.Fatalf("selection %+v", sel)
	}
	hs.press("/", "backspace", "enter")
	if l.marks.any(l.total) {
		t.Fatal("a new filter kept the marks of the old one")
	}
}

func TestBulkMarkAllIsSymbolic(t *testing.T) {
	hs, fb := syntheticHarness(t, 103482, 100, 29)
	l := hs.list()
	before := len(fb.calls)
	hs.press("a")
	hs.press("j", "space", "pgdown", "space")
	if len(fb.calls) != before+1 { // the page pgdown reached; nothing for the marks
		t.Fatalf("%d backend calls for marking", len(fb.calls)-before)
	}
	if !strings.Contains(hs.screen(), "103,480 marked") || len(l.marks.except) != 2 || l.marks.ids != nil {
		t.Fatalf("marks: %+v\n%s", l.marks, hs.screen())
	}
}

func TestBulkResetConfirmsTotalsAndSummarizes(t *testing.T) {
	hs, fb := demoHarness(t)
	hs.press("a", "r")
	if _, ok := hs.app.dialog.(*datePicker); !ok || !strings.Contains(hs.screen(), "Reset enrollment of 25 marked identities") {
		t.Fatalf("r with marks: no date picker:\n%s", hs.screen())
	}
	hs.press("enter")
	screen := dialogText(hs)
	for _, want := range []string{
		"Reset enrollment of 22 identities?",
		"Sessions that will drop: 24.",
		"Skipped: 3 identities whose state doesn't allow it (1 pending, 1 expired, 1 none).",
		"The new tokens will expire 9 Jun 2026 23:59.",
		"[ Cancel ]",
	} {
		if !strings.Contains(screen, want) {
			t.Fatalf("confirmation lacks %q:\n%s", want, hs.screen())
		}
	}
	if len(fb.mutations()) != 0 {
		t.Fatal("something changed before the confirmation")
	}
	hs.press("y")
	screen = dialogText(hs)
	for _, want := range []string{"Reset enrollment: done", "Reset 22 of 22 identities: 24 sessions dropped.",
		"Skipped 3 identities", "new tokens are not kept here"} {
		if !strings.Contains(screen, want) {
			t.Fatalf("summary lacks %q:\n%s", want, hs.screen())
		}
	}
	if n := len(fb.callsWith("Reset")); n != demoEnrolled {
		t.Fatalf("%d resets, want %d", n, demoEnrolled)
	}
	for _, x := range fb.ids["net-acme"] {
		if x.HasCredential {
			t.Errorf("%s still holds a credential", x.Name)
		}
	}
	hs.press("enter")
	if hs.app.dialog != nil || hs.app.bulk.active() || hs.list().marks.any(hs.list().total) {
		t.Fatal("closing the summary left the dialog, the flow or the marks")
	}
	if !strings.Contains(flat(hs.screen()), "server-01 pending") {
		t.Fatalf("the list was not refreshed:\n%s", hs.screen())
	}
}

// picky refuses the reset of some identities, as a backend would when
// another admin got there first.
type picky struct {
	*fakeBackend
	refuse map[string]error
}

func (p *picky) ResetEnrollment(ctx context.Context, network, id string, rev int64, exp time.Time) (backend.Token, error) {
	if err := p.refuse[id]; err != nil {
		return backend.Token{}, err
	}
	return p.fakeBackend.ResetEnrollment(ctx, network, id, rev, exp)
}

func TestBulkSummaryListsFailures(t *testing.T) {
	fb := demoBackend()
	opts := testOptions(fb)
	opts.Backend = &picky{fakeBackend: fb, refuse: map[string]error{
		"id-srv03": backend.Conflict("server-03 changed since you loaded it: reload and try again"),
		"id-alice": backend.NotFound("laptop-alice was deleted meanwhile"),
	}}
	hs := newHarness(t, opts, 100, 30)
	hs.press("a", "r", "enter", "y")
	screen := dialogText(hs)
	for _, want := range []string{"Reset 20 of 22 identities", "Failed 2, left as they were:",
		"laptop-alice: laptop-alice was deleted meanwhile", "server-03: server-03 changed since you loaded it"} {
		if !strings.Contains(screen, want) {
			t.Fatalf("summary lacks %q:\n%s", want, hs.screen())
		}
	}
	for _, x := range fb.ids["net-acme"] {
		if (x.ID == "id-srv03" || x.ID == "id-alice") != x.HasCredential {
			t.Errorf("%s: credential %v after the run", x.Name, x.HasCredential)
		}
	}
}

// TestBulkStopsWhenForbidden: a refusal that every identity would get
// stops the run at once instead of failing each.
func TestBulkStopsWhenForbidden(t *testing.T) {
	fb := demoBackend()
	opts := testOptions(fb)
	opts.Backend = &picky{fakeBackend: fb, refuse: map[string]error{"id-srv01": backend.Forbidden("viewers can't reset")}}
	hs := newHarness(t, opts, 100, 30)
	hs.press("a", "r", "enter", "y")
	screen := dialogText(hs)
	// laptop-alice comes first in name order, then printer... server-01.
	for _, want := range []string{"Reset enrollment: stopped", "Reset 1 of 22 identities",
		"Not allowed: viewers can't reset", "21 identities were not started"} {
		if !strings.Contains(screen, want) {
			t.Fatalf("summary lacks %q:\n%s", want, hs.screen())
		}
	}
	if n := len(fb.callsWith("Reset")); n != 1 {
		t.Fatalf("%d resets went through, want 1 (the one before the refusal)", n)
	}
}

func TestBulkNothingToDo(t *testing.T) {
	hs, fb := demoHarness(t)
	hs.openByName("phone-bob")
	hs.press("esc")
	l := hs.list()
	hs.press("space", "r", "enter")
	if !strings.Contains(dialogText(hs), "None of the 1 marked identity is enrolled") {
		t.Fatalf("no notice for a selection with nothing to reset:\n%s", hs.screen())
	}
	hs.press("y", "esc")
	if hs.app.dialog != nil || hs.app.bulk.active() || len(fb.mutations()) != 0 || !l.marks.any(l.total) {
		t.Fatal("closing the notice: the flow should end with nothing changed and the marks kept")
	}
}

func TestBulkReissueMarked(t *testing.T) {
	hs, fb := demoHarness(t)
	hs.openByName("tablet-carol")
	hs.press("esc")
	hs.press("space", "i", "enter")
	if !strings.Contains(dialogText(hs), "Reissue enrollment of 1 identity?") {
		t.Fatalf("reissue confirmation:\n%s", hs.screen())
	}
	hs.press("y")
	if got := fb.callsWith("Reissue"); len(got) != 1 || !strings.HasPrefix(got[0], "Reissue id-carol") {
		t.Fatalf("reissues: %v", got)
	}
	if !strings.Contains(dialogText(hs), "Reissued 1 of 1 identity.") {
		t.Fatalf("summary:\n%s", hs.screen())
	}
}

// gated lets a test step through a bulk run one reset at a time.
type gated struct {
	*fakeBackend
	started chan string
	proceed chan struct{}
}

func (g *gated) ResetEnrollment(ctx context.Context, network, id string, rev int64, exp time.Time) (backend.Token, error) {
	g.started <- id
	<-g.proceed
	return g.fakeBackend.ResetEnrollment(ctx, network, id, rev, exp)
}

// TestBulkProgressAndCancel: progress shows the count, rate and time left;
// cancelling lets the reset under way finish and starts no other.
func TestBulkProgressAndCancel(t *testing.T) {
	fb := demoBackend()
	g := &gated{fakeBackend: fb, started: make(chan string), proceed: make(chan struct{})}
	opts := testOptions(fb)
	opts.Backend = g
	var mu sync.Mutex
	now := testNow
	opts.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	hs := newHarness(t, opts, 100, 30)
	hs.press("a", "r", "enter")

	// y: the run starts in the background, as the program would run it.
	_, cmd := hs.app.Update(keyMsg("y"))
	_, cmd = hs.app.Update(cmd()) // the confirmation's answer
	cmds := cmd().(tea.BatchMsg)
	finished := make(chan tea.Msg, 1)
	go func() { finished <- cmds[0]() }()
	for range 3 {
		<-g.started
		g.proceed <- struct{}{}
	}
	fourth := <-g.started // under way, not yet done
	mu.Lock()
	now = testNow.Add(time.Second)
	mu.Unlock()
	// The progress so far (the harness would wait for the next one).
	hs.app.Update(cmds[1]())
	screen := dialogText(hs)
	if !strings.Contains(screen, "3 of 22 · 3 a second · about 6s left") || !strings.Contains(screen, "3 reset, 5 sessions dropped") {
		t.Fatalf("progress:\n%s", hs.screen())
	}
	hs.press("c")
	if !strings.Contains(hs.screen(), "Cancelling") {
		t.Fatalf("no cancelling note:\n%s", hs.screen())
	}
	g.proceed <- struct{}{}
	select {
	case msg := <-finished:
		hs.send(msg)
	case id := <-g.started:
		t.Fatalf("a reset (%s) started after the cancel", id)
	}
	screen = dialogText(hs)
	for _, want := range []string{"Reset enrollment: cancelled", "Reset 4 of 22 identities",
		"Cancelled: 18 identities were not started, left as they were."} {
		if !strings.Contains(screen, want) {
			t.Fatalf("summary lacks %q:\n%s", want, hs.screen())
		}
	}
	reset := 0
	for _, x := range fb.ids["net-acme"] {
		if x.Enrollment != nil && x.Enrollment.ID == "enr-new" {
			reset++
		}
	}
	if reset != 4 || len(fb.callsWith("Reset")) != 4 {
		t.Fatalf("%d identities reset (%d calls), want 4; the fourth was %s", reset, len(fb.callsWith("Reset")), fourth)
	}
}
