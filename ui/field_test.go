package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// passwordEnteredMsg stands for the message a sign-in dialog would send.
type passwordEnteredMsg struct{ password string }

// TestFieldDialogMasksASecret: a Secret field never draws what is typed,
// and enter sends the value as typed; an empty one is refused in words
// and nothing is sent.
func TestFieldDialogMasksASecret(t *testing.T) {
	s := &session{opts: Options{}.withDefaults()}
	s.styles = newStyles(true, true)
	d := newFieldDialog(s, fieldDialogSpec{Name: "Sign in", Title: "Sign in to ctrl.example.org",
		Field: fieldSpec{Label: "Password", Secret: true, Check: required("the password")},
		Hint:  func() string { return "" }, Request: func(v string, _ bool) tea.Msg { return passwordEnteredMsg{v} },
		Progress: func(string, int) string { return "Signing in…" }, SubmitHelp: "sign in"})
	d.SetSize(50, 20)
	if cmd := d.Update(keyMsg("enter")); cmd != nil {
		t.Fatalf("an empty password was sent: %v", cmd())
	}
	if !strings.Contains(ansi.Strip(d.View()), "Type the password.") {
		t.Fatalf("no refusal:\n%s", ansi.Strip(d.View()))
	}
	for _, r := range "hunter2" {
		d.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	if v := ansi.Strip(d.View()); strings.Contains(v, "hunter2") || !strings.Contains(v, "*******") {
		t.Fatalf("the password shows:\n%s", v)
	}
	cmd := d.Update(keyMsg("enter"))
	if cmd == nil || cmd() != (passwordEnteredMsg{"hunter2"}) {
		t.Fatal("enter did not send the password")
	}
}

func TestDigitsCheck(t *testing.T) {
	check := digits(6)
	for in, ok := range map[string]bool{"123456": true, " 012345 ": true, "12345": false, "1234567": false, "12a456": false, "": false} {
		if _, err := check(in); (err == nil) != ok {
			t.Errorf("digits(6)(%q): %v", in, err)
		}
	}
}
