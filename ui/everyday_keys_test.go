package ui

import (
	"strings"
	"testing"

	"github.com/idcon/idcon/delivery"
	"github.com/idcon/idcon/model"
)

// mailHarness is the demo with a mail server set up, so that every
// delivery can be made.
func mailHarness(t *testing.T) *harness {
	opts := testOptions(demoBackend())
	opts.SMTP = delivery.SMTPConfig{Host: "smtp.example.org", From: "idcon@example.org"}
	return newHarness(t, opts, 100, 30)
}

// focusedButton is the label of the button the Edit Identity screen marks
// with "›", read off the screen.
func focusedButton(t *testing.T, hs *harness) string {
	t.Helper()
	for _, l := range strings.Split(hs.screen(), "\n") {
		if i := strings.Index(l, "› ["); i >= 0 {
			return strings.TrimSpace(strings.Trim(strings.TrimSpace(l[i+len("› "):]), "[]"))
		}
	}
	t.Fatalf("no focused button on the screen:\n%s", hs.screen())
	return ""
}

// TestEditFocusStartsOnASafeAction: a pending identity opens with the focus
// on its first delivery, never on Delete enrollment; after a reset the
// focus is on the first delivery too; ↑/↓ move between the stacked buttons.
func TestEditFocusStartsOnASafeAction(t *testing.T) {
	hs := mailHarness(t)
	hs.openByName("phone-bob") // pending
	if got := focusedButton(t, hs); got != "Send registration email (m)" {
		t.Fatalf("a pending identity opened with the focus on %q, want Send registration email (m)", got)
	}
	hs.press("down")
	if got := focusedButton(t, hs); got != "Download JWT (j)" {
		t.Fatalf("↓ moved the focus to %q, want Download JWT (j)", got)
	}
	hs.press("down", "up", "up")
	if got := focusedButton(t, hs); got != "Send registration email (m)" {
		t.Fatalf("↓ ↑ ↑ left the focus on %q, want Send registration email (m)", got)
	}
	hs.press("up")
	if got := focusedButton(t, hs); got != "Delete enrollment (d)" {
		t.Fatalf("↑ from the first delivery left the focus on %q, want Delete enrollment (d)", got)
	}
	hs.press("esc")

	hs.openByName("laptop-alice") // enrolled: reset
	hs.press("r", "enter")        // default date
	hs.press("y")
	if !strings.Contains(flat(hs.screen()), "Enrollment reset for laptop-alice") {
		t.Fatalf("no reset notice:\n%s", hs.screen())
	}
	if got := focusedButton(t, hs); got != "Send registration email (m)" {
		t.Fatalf("after a reset the focus is on %q, want the first delivery, Send registration email (m)", got)
	}
}

// TestQIsNoQuitKeyInDialogs: in the date picker and the confirmations q
// does nothing; esc closes them; outside them q quits.
func TestQIsNoQuitKeyInDialogs(t *testing.T) {
	hs, fb := demoHarness(t)
	hs.openByName("laptop-alice")
	hs.press("r")
	if _, ok := hs.app.dialog.(*datePicker); !ok {
		t.Fatalf("r opened %T, want the date picker", hs.app.dialog)
	}
	hs.press("q")
	if hs.quit {
		t.Fatal("q in the date picker quit the console")
	}
	if _, ok := hs.app.dialog.(*datePicker); !ok {
		t.Fatalf("q in the date picker left %T open, want the date picker", hs.app.dialog)
	}
	if strings.Contains(hs.screen(), "q quit") {
		t.Fatalf("the date picker's help offers q quit:\n%s", hs.screen())
	}
	hs.press("enter") // to the confirmation
	if _, ok := hs.app.dialog.(*confirmDialog); !ok {
		t.Fatalf("enter opened %T, want the confirmation", hs.app.dialog)
	}
	hs.press("q")
	if hs.quit || hs.app.dialog == nil {
		t.Fatalf("q in the confirmation: quit %v, dialog %T", hs.quit, hs.app.dialog)
	}
	hs.press("esc")
	if hs.app.dialog != nil || len(fb.mutations()) != 0 {
		t.Fatalf("esc left %T open, mutations %v", hs.app.dialog, fb.mutations())
	}
	hs.press("q")
	if !hs.quit {
		t.Fatal("q on Edit Identity did not quit")
	}
}

// TestListEscClearsFilterThenMarksThenGoesBack: esc in the list clears an
// applied filter first (so / starts afresh), then the marks, then goes back
// to the network picker; "No identities match" says how to clear.
func TestListEscClearsFilterThenMarksThenGoesBack(t *testing.T) {
	fb := demoBackend()
	fb.addNetwork(model.Network{ID: "net-lab", Name: "Lab"}, model.Identity{ID: "id-x", Name: "probe"})
	hs := newHarness(t, testOptions(fb), 100, 30)
	hs.press("/")
	hs.typeText("Acme")
	hs.press("enter", "enter") // the picker's filter, then open Acme production
	l := hs.list()
	hs.press("space") // marks the first identity
	hs.press("/")
	hs.typeText("zzz")
	hs.press("enter")
	if l.total != 0 {
		t.Fatalf("filter zzz matches %d, want 0", l.total)
	}
	if s := flat(hs.screen()); !strings.Contains(s, "No identities match") || !strings.Contains(s, "esc") {
		t.Fatalf("the empty list doesn't say how to clear the filter:\n%s", hs.screen())
	}
	hs.press("esc")
	if l.filter != "" || l.total != 25 {
		t.Fatalf("esc left filter %q, %d shown; want no filter and 25", l.filter, l.total)
	}
	if !strings.Contains(hs.screen(), "1 marked") {
		t.Fatalf("esc cleared the marks along with the filter:\n%s", hs.screen())
	}
	hs.press("/")
	hs.typeText("bob")
	hs.press("enter")
	if l.filter != "bob" || l.total != 1 {
		t.Fatalf("/ after esc: filter %q (%d shown), want \"bob\" alone", l.filter, l.total)
	}
	hs.press("esc", "s", "s") // state: pending
	if l.state != model.StatePending {
		t.Fatalf("state %q, want pending", l.state)
	}
	hs.press("esc")
	if l.state != "" || l.filter != "" || !strings.Contains(hs.screen(), "1 marked") {
		t.Fatalf("esc after a state filter: state %q filter %q:\n%s", l.state, l.filter, hs.screen())
	}
	hs.press("esc")
	if strings.Contains(hs.screen(), "marked") {
		t.Fatalf("the second esc left the marks:\n%s", hs.screen())
	}
	hs.press("esc")
	if _, ok := hs.app.top().(*networksScreen); !ok {
		t.Fatalf("esc with nothing to clear left %T on top, want the network picker", hs.app.top())
	}
}
