package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/idcon/idcon/model"
)

// changed is what another session's access.Backend publishes after it
// changed id; the harness delivers it as the wait on Options.Changes would.
func changed(id, by string) changeMsg {
	return changeMsg{change: Change{Network: "net-acme", IdentityID: id, By: by}, ok: true}
}

// otherAdminResets resets laptop-alice behind the console's back.
func otherAdminResets(t *testing.T, fb *fakeBackend) {
	t.Helper()
	alice, _ := fb.Identity(context.Background(), "net-acme", "id-alice")
	if _, err := fb.ResetEnrollment(context.Background(), "net-acme", "id-alice", alice.Revision, testNow.Add(days(3))); err != nil {
		t.Fatal(err)
	}
}

func dialogWords(hs *harness) string {
	hs.t.Helper()
	if hs.app.dialog == nil {
		hs.t.Fatalf("no dialog is open:\n%s", hs.screen())
	}
	return flat(ansi.Strip(hs.app.dialog.View()))
}

func TestChangeByAnotherSessionReloadsTheOpenIdentity(t *testing.T) {
	hs, fb := demoHarness(t)
	hs.openByName("laptop-alice")
	hs.timers = nil // the poll: this test is about the changes of other sessions
	otherAdminResets(t, fb)
	loads := len(fb.callsWith("Identity id-alice"))

	hs.send(changed("id-alice", "bob"))
	if len(fb.callsWith("Identity id-alice")) != loads {
		t.Fatal("reloaded before the burst delay")
	}
	hs.fireTimers()
	if n := len(fb.callsWith("Identity id-alice")) - loads; n != 1 {
		t.Fatalf("%d reloads for one change, want 1", n)
	}
	v := hs.edit()
	if st := v.ident.State(testNow); st != model.StatePending {
		t.Fatalf("the view shows %s after another admin's reset", st)
	}
	screen := hs.screen()
	if !strings.Contains(screen, "State         pending") || strings.Contains(screen, "reloading") {
		t.Fatalf("screen after the change:\n%s", screen)
	}
	if v.Busy() {
		t.Fatal("a live reload turned the spinner on")
	}
}

func TestChangesElsewhereAreIgnored(t *testing.T) {
	hs, fb := demoHarness(t)
	hs.openByName("laptop-alice")
	hs.timers = nil
	before := len(fb.calls)
	hs.send(changeMsg{change: Change{Network: "net-other", IdentityID: "id-x"}, ok: true})
	hs.send(changed("id-bob", "bob")) // another identity of this network: only the list, which is not in view
	hs.fireTimers()
	if len(fb.calls) != before {
		t.Fatalf("calls for changes elsewhere: %v", fb.calls[before:])
	}
}

func TestChangeRefetchesTheListPage(t *testing.T) {
	hs, fb := demoHarness(t)
	ctx := context.Background()
	bob, _ := fb.Identity(ctx, "net-acme", "id-bob")
	if _, err := fb.DeleteEnrollment(ctx, "net-acme", "id-bob", bob.Revision); err != nil {
		t.Fatal(err)
	}
	pages := len(fb.callsWith("Identities"))
	hs.timers = nil // the list's poll: this test is about the changes of other sessions
	// A burst (a bulk action in another session) is one refetch.
	hs.send(changed("id-bob", "bob"))
	hs.send(changed("id-carol", "bob"))
	hs.send(changeMsg{change: Change{}, ok: true})
	hs.fireTimers()
	if n := len(fb.callsWith("Identities")) - pages; n != 1 {
		t.Fatalf("%d page requests for a burst of changes, want 1", n)
	}
	var row string
	for _, l := range strings.Split(hs.screen(), "\n") {
		if strings.Contains(l, "phone-bob") {
			row = l
		}
	}
	if !strings.Contains(row, "none") {
		t.Fatalf("phone-bob's row after the change: %q\n%s", row, hs.screen())
	}
}

func TestConfirmationOnAChangedIdentitySaysSo(t *testing.T) {
	hs, fb := demoHarness(t)
	hs.openByName("phone-bob")
	hs.timers = nil
	hs.press("d")
	if !strings.Contains(dialogWords(hs), "Delete enrollment of phone-bob?") {
		t.Fatalf("no delete confirmation:\n%s", hs.screen())
	}
	fb.bump("net-acme", "id-bob") // bob's sessions changed meanwhile
	hs.send(changed("id-bob", "alice"))
	hs.fireTimers()
	want := "phone-bob was changed by alice meanwhile: press esc and look again."
	if got := dialogWords(hs); !strings.Contains(got, want) || !strings.Contains(got, "Delete enrollment of phone-bob?") {
		t.Fatalf("dialog after the change: %q, want it to say %q", got, want)
	}
	// Confirming does nothing now; esc closes and shows the new state.
	hs.press("y", "enter")
	if len(fb.mutations()) != 0 {
		t.Fatalf("acted on a stale identity: %v", fb.mutations())
	}
	if keys := enabledKeys(hs.app.dialog); len(keys) != 1 || keys[0] != "esc" {
		t.Fatalf("keys of the stale dialog: %v", keys)
	}
	hs.press("esc")
	if hs.app.dialog != nil || hs.app.action.active() {
		t.Fatal("esc did not close the stale dialog")
	}
	if hs.edit().ident.ActiveSessions != 1 {
		t.Fatal("the view does not show the new state")
	}
}

// TestPollCatchesChangesFromOtherProcesses: the CLI in another terminal
// publishes nothing; the poll reloads the open identity, and the date
// picker opened on its old state says so.
func TestPollCatchesChangesFromOtherProcesses(t *testing.T) {
	hs, fb := demoHarness(t)
	hs.openByName("laptop-alice")
	hs.timers = nil
	hs.press("r")
	if _, ok := hs.app.dialog.(*datePicker); !ok {
		t.Fatalf("no date picker:\n%s", hs.screen())
	}
	hs.send(pollMsg{}) // the poll timer, unchanged identity: nothing to say
	if _, ok := hs.app.dialog.(*datePicker); !ok {
		t.Fatalf("an unchanged identity made the dialog stale:\n%s", hs.screen())
	}
	otherAdminResets(t, fb)
	hs.send(pollMsg{})
	want := "laptop-alice was changed meanwhile: press esc and look again."
	if got := dialogWords(hs); !strings.Contains(got, want) {
		t.Fatalf("date picker after the change: %q, want %q", got, want)
	}
	hs.press("enter")
	if _, ok := hs.app.dialog.(*staleDialog); !ok || len(fb.mutations()) != 1 {
		t.Fatalf("enter went on with a stale identity: %v", fb.mutations())
	}
	hs.press("esc")
	if st := hs.edit().ident.State(testNow); st != model.StatePending {
		t.Fatalf("the view shows %s", st)
	}
}

// TestPollRunsOnlyWhileAnIdentityIsOpen: the list sets no timer; Edit
// Identity sets one at a time; a failing poll says so once.
func TestPollRunsOnlyWhileAnIdentityIsOpen(t *testing.T) {
	hs, fb := demoHarness(t)
	for _, m := range hs.timers {
		if _, ok := m.(pollMsg); ok {
			t.Fatal("the list polls")
		}
	}
	hs.openByName("laptop-alice")
	polls := func() int {
		n := 0
		for _, m := range hs.timers {
			if _, ok := m.(pollMsg); ok {
				n++
			}
		}
		return n
	}
	if polls() != 1 {
		t.Fatalf("%d poll timers with Edit Identity open, want 1", polls())
	}
	hs.press("tab", "tab")
	if polls() != 1 {
		t.Fatalf("%d poll timers after keys, want still 1", polls())
	}
	hs.timers = nil
	fb.mu.Lock()
	fb.ids["net-acme"] = fb.ids["net-acme"][1:] // alice is gone
	fb.mu.Unlock()
	hs.send(pollMsg{})
	hs.send(pollMsg{})
	if len(hs.app.toasts.items) != 1 || !strings.HasPrefix(hs.app.toasts.items[0].text, "Not found") {
		t.Fatalf("toasts after two failing polls: %+v", hs.app.toasts.items)
	}
	hs.press("esc")
	hs.timers = nil
	hs.send(pollMsg{})
	if polls() != 0 {
		t.Fatal("the poll goes on after Edit Identity closed")
	}
}

// TestChangesArriveThroughTheChannel runs the real program: a change sent
// on Options.Changes reloads the open identity with no key pressed.
func TestChangesArriveThroughTheChannel(t *testing.T) {
	fb := demoBackend()
	changes := make(chan Change)
	opts := testOptions(fb)
	opts.Changes = changes
	opts.PollInterval = -1 // only the channel
	var seen = make(chan string, 64)
	filter := func(m tea.Model, msg tea.Msg) tea.Msg {
		if a, ok := m.(*App); ok {
			state := ""
			if v := a.editing(); v != nil {
				state = string(v.ident.State(testNow))
			} else if a.network.ID != "" {
				state = "list"
			}
			select {
			case seen <- state:
			default:
			}
		}
		return msg
	}
	tm := teatest.NewTestModel(t, New(opts), teatest.WithInitialTermSize(100, 30),
		teatest.WithProgramOptions(tea.WithFilter(filter)))
	waitState := func(want model.State) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case s := <-seen:
				if s == string(want) {
					return
				}
			case <-time.After(20 * time.Millisecond):
				tm.Send(liveProbe{}) // something to filter
			case <-deadline:
				t.Fatalf("the view never showed %s", want)
			}
		}
	}
	waitState("list")
	tm.Send(openIdentityMsg{identity: model.Identity{ID: "id-alice", Name: "laptop-alice"}})
	waitState(model.StateEnrolled)
	otherAdminResets(t, fb)
	changes <- Change{Network: "", IdentityID: "id-alice", By: "bob"}
	waitState(model.StatePending)
	close(changes)
	tm.Send(tea.QuitMsg{})
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

type liveProbe struct{}
