package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/key"
	"github.com/charmbracelet/x/ansi"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

func demoHarness(t *testing.T) (*harness, *fakeBackend) {
	fb := demoBackend()
	return newHarness(t, testOptions(fb), 100, 30), fb
}

// enabledKeys lists the help keys the screen offers now.
func enabledKeys(km interface{ ShortHelp() []key.Binding }) []string {
	var out []string
	for _, b := range km.ShortHelp() {
		if b.Enabled() {
			out = append(out, b.Help().Key)
		}
	}
	return out
}

func TestEditOffersTheActionsOfEachState(t *testing.T) {
	cases := []struct {
		name    string
		state   model.State
		keys    []string
		buttons []string
	}{
		{"laptop-alice", model.StateEnrolled, []string{"r", "y", "esc"}, []string{"Reset enrollment (r)"}},
		{"tablet-carol", model.StateExpired, []string{"i", "y", "esc"}, []string{"Reissue enrollment (i)"}},
		{"phone-bob", model.StatePending, []string{"m", "j", "c", "d", "y", "esc"},
			[]string{"Delete enrollment (d)", "Send registration email (m)", "Download JWT (j)", "Show QR code (c)"}},
		{"printer-dave", model.StateNone, []string{"y", "esc"}, nil},
	}
	for _, c := range cases {
		t.Run(string(c.state), func(t *testing.T) {
			hs, fb := demoHarness(t)
			hs.openByName(c.name)
			v := hs.edit()
			if got := enabledKeys(v); !slices.Equal(got, c.keys) {
				t.Fatalf("keys %v, want %v", got, c.keys)
			}
			screen := hs.screen()
			if !strings.Contains(screen, "State         "+string(c.state)) {
				t.Fatalf("state word missing:\n%s", screen)
			}
			for _, b := range c.buttons {
				if !strings.Contains(screen, b) {
					t.Fatalf("button %q missing:\n%s", b, screen)
				}
			}
			// Every action key not offered does nothing.
			for _, k := range []string{"r", "i", "d", "m", "j", "c"} {
				if slices.Contains(c.keys, k) {
					continue
				}
				hs.press(k)
				if hs.app.dialog != nil || len(hs.app.toasts.items) > 0 {
					t.Fatalf("disabled key %s opened something", k)
				}
			}
			if len(fb.mutations()) != 0 {
				t.Fatalf("mutations: %v", fb.mutations())
			}
		})
	}
}

func TestEditButtonsTakeFocusAndEnter(t *testing.T) {
	hs := mailHarness(t) // every delivery possible
	hs.openByName("phone-bob")
	v := hs.edit()
	// The focus starts on the first delivery (Send registration email).
	hs.press("tab")
	if v.actions[v.focus] != model.ActionJWT {
		t.Fatalf("focus on %s after tab, want jwt", v.actions[v.focus])
	}
	hs.press("tab", "tab")
	if v.actions[v.focus] != model.ActionDelete {
		t.Fatalf("focus on %s after wrapping forward, want delete", v.actions[v.focus])
	}
	hs.press("shift+tab")
	if v.actions[v.focus] != model.ActionQR {
		t.Fatalf("focus on %s after wrapping back, want qr", v.actions[v.focus])
	}
	hs.press("tab") // → delete
	hs.press("enter")
	if _, ok := hs.app.dialog.(*confirmDialog); !ok {
		t.Fatalf("enter on Delete opened %T, want the confirmation", hs.app.dialog)
	}
	hs.press("esc")
	hs.press("esc")
	hs.list()
}

func TestResetFlowWithCalendar(t *testing.T) {
	hs, fb := demoHarness(t)
	hs.openByName("laptop-alice")
	hs.press("r")
	p, ok := hs.app.dialog.(*datePicker)
	if !ok {
		t.Fatalf("r opened %T, want the date picker", hs.app.dialog)
	}
	// Default: today + 7 days.
	if got := p.sel.Format("2006-01-02"); got != "2026-06-09" {
		t.Fatalf("default date %s, want 2026-06-09", got)
	}
	hs.press("right", "enter")
	c, ok := hs.app.dialog.(*confirmDialog)
	if !ok {
		t.Fatalf("submit opened %T, want the confirmation", hs.app.dialog)
	}
	if c.focus != 1 || c.buttons[1] != "Cancel" {
		t.Fatalf("focus on %q, want Cancel", c.buttons[c.focus])
	}
	screen := ansi.Strip(c.View())
	for _, want := range []string{"drops the moment you confirm", "laptop-alice has 2 active sessions right now", "10 Jun 2026 23:59"} {
		if !strings.Contains(flat(screen), want) {
			t.Fatalf("confirmation lacks %q:\n%s", want, screen)
		}
	}
	if len(fb.mutations()) != 0 {
		t.Fatal("reset before confirming")
	}
	hs.press("y")
	if got := fb.mutations(); !slices.Equal(got, []string{"Reset id-alice rev=1"}) {
		t.Fatalf("mutations %v", got)
	}
	v := hs.edit()
	loadsBefore := len(fb.callsWith("Identity id-alice"))
	// The view shows the new token at once, from the returned identity.
	if v.ident.State(testNow) != model.StatePending || !slices.Equal(enabledKeys(v), []string{"m", "j", "c", "d", "y", "esc"}) {
		t.Fatalf("after reset: state %s keys %v", v.ident.State(testNow), enabledKeys(v))
	}
	if len(fb.callsWith("Identity id-alice")) != loadsBefore {
		t.Fatal("the view reloaded instead of using the returned identity")
	}
	want := "Enrollment reset for laptop-alice: 2 sessions dropped, token expires 10 Jun 2026"
	if len(hs.app.toasts.items) != 1 || hs.app.toasts.items[0].text != want {
		t.Fatalf("toasts %+v, want %q", hs.app.toasts.items, want)
	}
	// The toast goes away by itself.
	hs.fireTimers()
	if len(hs.app.toasts.items) != 0 {
		t.Fatal("toast did not expire")
	}
}

func TestResetConfirmationCancels(t *testing.T) {
	for _, keys := range [][]string{{"n"}, {"esc"}, {"enter"}, {"left", "right", "enter"}} {
		hs, fb := demoHarness(t)
		hs.openByName("laptop-alice")
		hs.press("r", "enter")
		hs.press(keys...)
		if hs.app.dialog != nil || len(fb.mutations()) != 0 {
			t.Fatalf("%v: dialog %T, mutations %v", keys, hs.app.dialog, fb.mutations())
		}
		if hs.edit().ident.State(testNow) != model.StateEnrolled {
			t.Fatalf("%v: state changed", keys)
		}
	}
	// Moving the focus to the confirming button and pressing enter confirms.
	hs, fb := demoHarness(t)
	hs.openByName("laptop-alice")
	hs.press("r", "enter", "left", "enter")
	if len(fb.mutations()) != 1 {
		t.Fatalf("left enter: mutations %v", fb.mutations())
	}
}

func TestEscInDatePickerChangesNothing(t *testing.T) {
	for _, action := range []string{"r", "i"} {
		hs, fb := demoHarness(t)
		name := map[string]string{"r": "laptop-alice", "i": "tablet-carol"}[action]
		hs.openByName(name)
		before := hs.edit().ident
		hs.press(action, "right", "pgdown", "esc")
		if hs.app.dialog != nil {
			t.Fatalf("%s: esc left %T open", action, hs.app.dialog)
		}
		if m := fb.mutations(); len(m) != 0 {
			t.Fatalf("%s: mutations after esc: %v", action, m)
		}
		after := hs.edit().ident
		if after.Revision != before.Revision || after.State(testNow) != before.State(testNow) {
			t.Fatalf("%s: identity changed", action)
		}
	}
}

func TestReissueWithTypedDate(t *testing.T) {
	hs, fb := demoHarness(t)
	hs.openByName("tablet-carol")
	hs.press("i")
	p := hs.app.dialog.(*datePicker)
	if !strings.Contains(hs.screen(), "The token expired 20 May 2026 12:00 (13 days ago).") {
		t.Fatalf("expired date not shown:\n%s", hs.screen())
	}
	// The first digit starts the typed entry and is its first character.
	hs.press("2")
	if !p.typing || p.input.Value() != "2" || !p.input.Focused() {
		t.Fatalf("typing %v value %q", p.typing, p.input.Value())
	}
	if !hs.app.typing() {
		t.Fatal("global single-letter keys still active while typing")
	}
	hs.typeText("026-07-01")
	hs.press("enter")
	if got := fb.mutations(); !slices.Equal(got, []string{"Reissue id-carol rev=1"}) {
		t.Fatalf("mutations %v (reissue asks no confirmation)", got)
	}
	v := hs.edit()
	wantExp := model.EndOfDay(time.Date(2026, 7, 1, 12, 0, 0, 0, testLoc), testLoc)
	if v.ident.Enrollment == nil || !v.ident.Enrollment.ExpiresAt.Equal(wantExp) {
		t.Fatalf("expiry %v, want %v", v.ident.Enrollment, wantExp)
	}
	if v.ident.State(testNow) != model.StatePending {
		t.Fatalf("state %s after reissue", v.ident.State(testNow))
	}
	if !strings.Contains(hs.app.toasts.items[0].text, "Enrollment reissued for tablet-carol: token expires 1 Jul 2026") {
		t.Fatalf("toast %q", hs.app.toasts.items[0].text)
	}
}

func TestTypedRelativeDateAndRefusals(t *testing.T) {
	hs, fb := demoHarness(t)
	hs.openByName("laptop-alice")
	hs.press("r", "+")
	p := hs.app.dialog.(*datePicker)
	hs.typeText("400d")
	hs.press("enter")
	if !strings.Contains(p.err, "too far ahead") || hs.app.dialog != p {
		t.Fatalf("err %q, dialog %T", p.err, hs.app.dialog)
	}
	for range 4 {
		hs.press("backspace")
	}
	hs.typeText("bad")
	hs.press("enter")
	if !strings.Contains(p.err, "not a relative time") {
		t.Fatalf("err %q", p.err)
	}
	hs.press("esc") // back to the calendar, not out of the dialog
	if p.typing || hs.app.dialog != p {
		t.Fatal("esc while typing should return to the calendar")
	}
	hs.press("+")
	hs.typeText("7d")
	hs.press("enter")
	c, ok := hs.app.dialog.(*confirmDialog)
	if !ok {
		t.Fatalf("valid +7d opened %T", hs.app.dialog)
	}
	if !strings.Contains(strings.Join(c.body, " "), "9 Jun 2026 12:00") {
		t.Fatalf("confirmation body %q, want the +7d time", c.body)
	}
	if len(fb.mutations()) != 0 {
		t.Fatal("mutation before confirming")
	}
}

func TestDeleteConfirmation(t *testing.T) {
	hs, fb := demoHarness(t)
	hs.openByName("phone-bob")
	hs.press("d")
	c := hs.app.dialog.(*confirmDialog)
	if c.buttons != [2]string{"Yes", "No"} || c.focus != 1 {
		t.Fatalf("buttons %v focus %d, want No focused", c.buttons, c.focus)
	}
	if f := flat(ansi.Strip(c.View())); !strings.Contains(f, "irreversible") || !strings.Contains(f, "can't be re-enrolled from the console") {
		t.Fatalf("delete warning missing:\n%s", hs.screen())
	}
	hs.press("y")
	if got := fb.mutations(); !slices.Equal(got, []string{"Delete id-bob rev=1"}) {
		t.Fatalf("mutations %v", got)
	}
	v := hs.edit()
	if v.ident.State(testNow) != model.StateNone || !slices.Equal(enabledKeys(v), []string{"y", "esc"}) {
		t.Fatalf("after delete: state %s keys %v", v.ident.State(testNow), enabledKeys(v))
	}
}

func TestConflictReloadsTheIdentity(t *testing.T) {
	hs, fb := demoHarness(t)
	hs.openByName("laptop-alice")
	hs.press("r", "enter")
	fb.bump("net-acme", "id-alice") // another admin acts meanwhile
	hs.press("y")
	if got := fb.mutations(); !slices.Equal(got, []string{"Reset id-alice rev=1"}) {
		t.Fatalf("mutations %v", got)
	}
	v := hs.edit()
	if v.ident.Revision != 2 || v.ident.ActiveSessions != 3 {
		t.Fatalf("not reloaded: revision %d sessions %d", v.ident.Revision, v.ident.ActiveSessions)
	}
	if v.ident.State(testNow) != model.StateEnrolled {
		t.Fatal("state changed locally after a conflict")
	}
	var texts []string
	for _, x := range hs.app.toasts.items {
		texts = append(texts, x.text)
	}
	all := strings.Join(texts, "\n")
	if !strings.Contains(all, "Someone else changed this identity") || !strings.Contains(all, "laptop-alice was reloaded") {
		t.Fatalf("toasts %q", texts)
	}
}

func TestErrorLeavesStateUnchanged(t *testing.T) {
	hs, fb := demoHarness(t)
	hs.openByName("laptop-alice")
	before := hs.edit().ident
	fb.failNext = backend.Unavailable("controller down")
	hs.press("r", "enter", "y")
	v := hs.edit()
	if v.ident.Revision != before.Revision || v.ident.State(testNow) != model.StateEnrolled || v.busy != "" {
		t.Fatalf("identity or busy state changed after an error: %+v busy %q", v.ident, v.busy)
	}
	if len(hs.app.toasts.items) != 1 || hs.app.toasts.items[0].kind != toastProblem ||
		hs.app.toasts.items[0].text != "The backend is unavailable (controller down); try again later." {
		t.Fatalf("toasts %+v", hs.app.toasts.items)
	}
	if !slices.Equal(enabledKeys(v), []string{"r", "y", "esc"}) {
		t.Fatalf("keys %v after the error", enabledKeys(v))
	}
}

func TestKeysAnsweredWhileAMutationRuns(t *testing.T) {
	hs, fb := demoHarness(t)
	hs.openByName("laptop-alice")
	hs.press("r", "enter")
	// Confirm, but hold the backend call instead of running it.
	_, cmd := hs.app.Update(keyMsg("y"))
	_, cmd = hs.app.Update(cmd()) // confirmedMsg: the call starts
	v := hs.edit()
	if v.busy == "" || !hs.app.busy() || !strings.Contains(hs.screen(), "Resetting enrollment…") {
		t.Fatalf("no progress shown:\n%s", hs.screen())
	}
	hs.press("r") // disabled while busy
	if hs.app.dialog != nil {
		t.Fatal("a second reset started while the first runs")
	}
	hs.press("?")
	if !hs.app.help.ShowAll {
		t.Fatal("? not answered while busy")
	}
	hs.run(cmd)
	if len(fb.mutations()) != 1 || v.busy != "" {
		t.Fatalf("mutations %v busy %q", fb.mutations(), v.busy)
	}
}
