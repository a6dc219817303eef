package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/charmbracelet/x/ansi"
)

// TestFullHelpListsEveryKey: ? lists every key of the list, the bulk ones
// before anything is marked, esc and what it clears, and ctrl+c.
func TestFullHelpListsEveryKey(t *testing.T) {
	hs, _ := demoHarness(t)
	hs.press("?")
	s := flat(hs.screen())
	for _, want := range []string{"space mark", "a mark all", "r reset marked", "i reissue marked",
		"esc clear filter, marks, back", "ctrl+c quit", "/ filter", "s state filter", "ctrl+r refresh"} {
		if !strings.Contains(s, want) {
			t.Errorf("the list's full help lacks %q:\n%s", want, hs.screen())
		}
	}
	hs.press("?")
	hs.openByName("laptop-alice")
	hs.press("?")
	if s := flat(hs.screen()); !strings.Contains(s, "ctrl+c quit") || !strings.Contains(s, "esc back") {
		t.Errorf("Edit Identity's full help lacks ctrl+c or esc:\n%s", hs.screen())
	}
}

// TestToastsKeepPathsWhole: a notification holding a path longer than the
// toast is wide breaks it at its slashes, never inside a folder's name.
func TestToastsKeepPathsWhole(t *testing.T) {
	hs, _ := demoHarness(t)
	path := "/home/someone/Downloads/enrollment-tokens-for-the-lab/2026-06-02/laptop-alice.jwt"
	hs.run(hs.app.toasts.add("Token of laptop-alice saved to "+path, toastDone))
	lines := strings.Split(hs.screen(), "\n")
	for _, part := range strings.Split(strings.Trim(path, "/"), "/") {
		found := false
		for _, l := range lines {
			if strings.Contains(l, part) {
				found = true
			}
		}
		if !found {
			t.Errorf("the toast broke %q across lines:\n%s", part, hs.screen())
		}
	}
}

// TestToastsNeverCoverADialog: a notification that comes while a dialog
// is open leaves every line of the dialog readable.
func TestToastsNeverCoverADialog(t *testing.T) {
	for _, size := range [][2]int{{100, 30}, {80, 24}} {
		hs := newHarness(t, testOptions(demoBackend()), size[0], size[1])
		hs.openByName("laptop-alice")
		hs.press("r")
		for range 3 {
			hs.run(hs.app.toasts.add("laptop-alice was changed by bob meanwhile: this is a long note to make the toast tall", toastNote))
		}
		screen := hs.screen()
		for _, l := range strings.Split(stripBox(hs.app.dialog.View()), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.Contains(screen, l) {
				t.Errorf("%dx%d: the dialog's line %q is covered:\n%s", size[0], size[1], l, screen)
			}
		}
	}
}

func stripBox(s string) string { return ansi.Strip(s) }

// TestWrapWordsKeepsEveryCharacter: the toast's wrapping keeps lines
// within the width and loses or adds no character but the spaces it turns
// into line breaks.
func TestWrapWordsKeepsEveryCharacter(t *testing.T) {
	for _, s := range []string{
		"Token of laptop-alice saved to /home/someone/Downloads/enrollment-tokens-for-the-lab/2026-06-02/laptop-alice.jwt and copied",
		"aVeryLongWordWithoutAnySlashAtAllThatMustBeCutSomewhere and more",
		"short words only, nothing long at all in this sentence here",
		"ワークステーション-7/ワークステーション-8/ワークステーション-9",
	} {
		for _, w := range []int{10, 17, 46} {
			got := wrapWords(s, w)
			for _, l := range strings.Split(got, "\n") {
				if ansi.StringWidth(l) > w {
					t.Errorf("wrapWords(%q, %d): line %q is wider", s, w, l)
				}
			}
			if strings.ReplaceAll(strings.ReplaceAll(got, "\n", ""), " ", "") != strings.ReplaceAll(s, " ", "") {
				t.Errorf("wrapWords(%q, %d) changed the text:\n%s", s, w, got)
			}
		}
	}
}

// TestClipboardWordsFollowTheTerminal: "copied to the clipboard" only
// where the terminal is known to take OSC 52 (by its answer to XTVERSION
// or its TERM); elsewhere the token is "sent to your terminal's
// clipboard", which may or may not keep it.
func TestClipboardWordsFollowTheTerminal(t *testing.T) {
	cases := []struct {
		term, version, want string
	}{
		{"", "", "sent to your terminal's clipboard"},
		{"xterm-256color", "", "sent to your terminal's clipboard"},
		{"", "kitty(0.35.2)", "copied to the clipboard"},
		{"xterm-256color", "WezTerm 20240203-110809-5046fc22", "copied to the clipboard"},
		{"xterm-kitty", "", "copied to the clipboard"},
		{"foot", "", "copied to the clipboard"},
		{"", "tmux 3.4", "copied to the clipboard"},
		{"", "VTE(7600)", "sent to your terminal's clipboard"},
	}
	for _, c := range cases {
		w := newStoreWorld(t)
		opts := w.options(nil)
		opts.Downloads = t.TempDir()
		opts.Terminal = func(k string) string {
			if k == "TERM" {
				return c.term
			}
			return ""
		}
		hs := newHarness(t, opts, 100, 30)
		if c.version != "" {
			hs.send(tea.TerminalVersionMsg{Name: c.version})
		}
		hs.openByName("laptop-alice")
		hs.press("j")
		if s := flat(stripBox(hs.app.dialog.View())); !strings.Contains(s, c.want) {
			t.Errorf("TERM %q, XTVERSION %q: the dialog says %q, want %q", c.term, c.version, s, c.want)
		}
		hs.press("enter")
		if got := lastToast(t, hs).text; !strings.HasSuffix(got, "and "+c.want) {
			t.Errorf("TERM %q, XTVERSION %q: toast %q, want it to end %q", c.term, c.version, got, c.want)
		}
	}
}

// TestEmailSaysUpFrontThatSMTPIsNotSetUp: without a mail server the Edit
// Identity screen says so next to Send registration email, before the
// admin presses it, and the focus starts on the next delivery.
func TestEmailSaysUpFrontThatSMTPIsNotSetUp(t *testing.T) {
	hs, _ := demoHarness(t) // testOptions sets no SMTP
	hs.openByName("phone-bob")
	var row string
	for _, l := range strings.Split(hs.screen(), "\n") {
		if strings.Contains(l, "Send registration email (m)") {
			row = l
		}
	}
	if !strings.Contains(row, "no mail server set up") {
		t.Fatalf("the email button doesn't say SMTP isn't set up: %q\n%s", row, hs.screen())
	}
	if got := focusedButton(t, hs); got != "Download JWT (j)" {
		t.Fatalf("the focus starts on %q, want Download JWT (j) while email can't be sent", got)
	}
	hs.press("m")
	if hs.app.dialog != nil {
		t.Fatalf("m opened %T, asking for an address that can't be mailed to", hs.app.dialog)
	}
	if !strings.Contains(lastToast(t, hs).text, "not set up") {
		t.Fatalf("m: %q", lastToast(t, hs).text)
	}
}
