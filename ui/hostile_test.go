package ui

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"

	"github.com/idcon/idcon/model"
)

// The console draws names, emails and attributes that come from a
// backend: a controller anyone with its admin API can write to, or a
// database file someone tampered with. None of their bytes may act on
// the admin's terminal, and none may push the table out of line.

// hostileNames are the attacks of the hardening issue: OSC 52 (write the
// admin's clipboard), clear screen, an OSC 8 hyperlink, a right-to-left
// override and a 10,000-character name, with 8-bit C1 forms and a title
// change besides. Each keeps a visible word so the row can be found.
var hostileNames = []string{
	"clip\x1b]52;c;ZXZpbA==\x07board",
	"wipe\x1b[2J\x1b[Hscreen",
	"\x1b]8;;http://x\x07link\x1b]8;;\x07",
	"rtl-\u202egpj.exe",
	"long-" + strings.Repeat("W", 10000),
	"title\x1b]0;pwned\x07set",
	"c1\u009b2J\u009d0;pwned\u009cbits",
	"raw\x9b2J\x90q\x9cbytes",
	"zero\u200b\u200d\u2066width\ufeff",
}

// sgr matches the Select Graphic Rendition sequences the console's own
// styles emit: the only escapes allowed on screen.
var sgr = regexp.MustCompile("\x1b\\[[0-9;:]*m")

// unsafeOnTerminal lists what in s, once the console's own SGR styling is
// removed, could act on a terminal: any escape, control, C1 code, invalid
// UTF-8, bidirectional control or invisible formatting character.
func unsafeOnTerminal(s string) []string {
	s = sgr.ReplaceAllString(s, "")
	var bad []string
	if !utf8.ValidString(s) {
		bad = append(bad, "invalid UTF-8")
	}
	for i, r := range s {
		switch {
		case r == '\n':
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f,
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f,
			r >= 0x200b && r <= 0x200d, r == 0x2060, r == 0xfeff, r == utf8.RuneError && !strings.HasPrefix(s[i:], "\ufffd"):
			lo, hi := max(0, i-20), min(len(s), i+20)
			bad = append(bad, fmt.Sprintf("%U at byte %d in %q", r, i, s[lo:hi]))
		}
	}
	return bad
}

// hostileBackend holds a network with a hostile name whose identities
// have the hostile names and emails, in every state, beside a plain
// network (so the picker shows).
func hostileBackend() *fakeBackend {
	fb := newFakeBackend(testNow)
	enr := &model.Enrollment{ID: "enr", CreatedAt: testNow.Add(-days(1)), ExpiresAt: testNow.Add(days(5))}
	var ids []model.Identity
	for i, name := range hostileNames {
		x := model.Identity{ID: fmt.Sprintf("id-%02d", i), Name: name, CreatedAt: testNow.Add(-days(10)),
			Email:      "x\x1b]52;c;ZXZpbA==\x07@example.org",
			Attributes: []string{"#a\x1b[31m", "\u202e#b"}}
		if i%2 == 0 {
			x.Enrollment = enr // pending
		} else {
			x.HasCredential, x.EnrolledAt, x.ActiveSessions = true, testNow.Add(-days(2)), 2 // enrolled
		}
		ids = append(ids, x)
	}
	fb.addNetwork(model.Network{ID: "net-evil", Name: "prod\x1b]0;pwned\x07\u202elab", Kind: "openziti"}, ids...)
	fb.addNetwork(model.Network{ID: "net-lab", Name: "Lab", Kind: "openziti"}, model.Identity{ID: "id-x", Name: "probe"})
	return fb
}

// checkSafeFrame fails the test if the frame could act on the terminal or
// doesn't fill exactly w×h cells.
func checkSafeFrame(t *testing.T, where, frame string, w, h int) {
	t.Helper()
	if bad := unsafeOnTerminal(frame); len(bad) > 0 {
		t.Errorf("%s: the screen holds what a terminal would act on:\n%s", where, strings.Join(bad, "\n"))
	}
	lines := strings.Split(frame, "\n")
	if len(lines) != h {
		t.Errorf("%s: %d lines, want %d", where, len(lines), h)
	}
	for i, l := range lines {
		if cw := ansi.StringWidth(l); cw > w {
			t.Errorf("%s: line %d is %d cells wide (terminal %d): %q", where, i+1, cw, w, ansi.Strip(l))
		}
	}
}

// TestHostileNamesNeverReachTheTerminal renders the network picker, the
// identities list, Edit Identity, the reset confirmation and its
// notification with every hostile name, in colour and without, and finds
// nothing but the console's own styling; the list's columns stay aligned.
func TestHostileNamesNeverReachTheTerminal(t *testing.T) {
	const w, h = 120, 30
	for _, noColor := range []bool{true, false} {
		t.Run(fmt.Sprintf("NoColor=%v", noColor), func(t *testing.T) {
			fb := hostileBackend()
			opts := testOptions(fb)
			opts.NoColor = noColor
			hs := newHarness(t, opts, w, h)
			checkSafeFrame(t, "network picker", hs.app.View().Content, w, h)
			if !strings.Contains(hs.screen(), "prodlab") {
				t.Fatalf("the picker doesn't show the cleaned network name:\n%s", hs.screen())
			}
			hs.press("enter") // the hostile network is first
			l := hs.list()
			if l.total != len(hostileNames) {
				t.Fatalf("list shows %d identities, want %d:\n%s", l.total, len(hostileNames), hs.screen())
			}
			frame := hs.app.View().Content
			checkSafeFrame(t, "identities list", frame, w, h)
			screen := hs.screen()
			for _, word := range []string{"clipboard", "wipescreen", "link", "rtl-gpj.exe", "long-WWW", "titleset", "c1bits", "zerowidth"} {
				if !strings.Contains(screen, word) {
					t.Errorf("the list lacks %q (the cleaned name):\n%s", word, screen)
				}
			}
			checkColumns(t, screen)

			// Edit Identity of each, and a reset of the enrolled ones: the
			// confirmation and the notification name them too.
			opened := map[string]bool{}
			for i := range hostileNames {
				l := hs.list()
				l.cursor = i
				hs.press("enter")
				v := hs.edit()
				opened[v.ident.Name] = true
				checkSafeFrame(t, fmt.Sprintf("Edit Identity of %q", v.ident.Name), hs.app.View().Content, w, h)
				if v.ident.HasCredential {
					hs.press("r", "enter")
					checkSafeFrame(t, fmt.Sprintf("reset confirmation of %q", v.ident.Name), hs.app.View().Content, w, h)
					hs.press("y")
					if !strings.Contains(flat(hs.screen()), "Enrollment reset for") {
						t.Errorf("no notification after resetting %q:\n%s", v.ident.Name, hs.screen())
					}
					checkSafeFrame(t, fmt.Sprintf("reset notification of %q", v.ident.Name), hs.app.View().Content, w, h)
					hs.fireTimers()
				}
				hs.press("esc")
			}
			if len(opened) != len(hostileNames) {
				t.Errorf("opened %d distinct identities, want %d", len(opened), len(hostileNames))
			}
		})
	}
}

// checkColumns checks that in every row of the list the columns start at
// the same cell as in the header: no name, however long or wide, and no
// removed escape shifts them.
func checkColumns(t *testing.T, screen string) {
	t.Helper()
	var header string
	var rows []string
	for _, line := range strings.Split(screen, "\n") {
		switch {
		case strings.Contains(line, "Name") && strings.Contains(line, "State") && strings.Contains(line, "Sessions"):
			header = line
		case strings.Contains(line, "pending") || strings.Contains(line, "enrolled"):
			rows = append(rows, line)
		}
	}
	if header == "" || len(rows) != len(hostileNames) {
		t.Fatalf("found header %q and %d rows, want %d:\n%s", header, len(rows), len(hostileNames), screen)
	}
	stateCol := cellIndex(header, "State")
	border := cellIndex(header, "│")
	for _, r := range rows {
		col := cellIndex(r, "pending")
		if col < 0 {
			col = cellIndex(r, "enrolled")
		}
		if col != stateCol {
			t.Errorf("state at cell %d, header's at %d:\n%s\n%s", col, stateCol, header, r)
		}
		if b := cellIndex(r, "│"); b != border {
			t.Errorf("sidebar border at cell %d, want %d: %q", b, border, r)
		}
		if w := ansi.StringWidth(r); w != ansi.StringWidth(rows[0]) && strings.TrimRight(r, " ") == r {
			t.Errorf("row is %d cells wide, the first %d: %q", w, ansi.StringWidth(rows[0]), r)
		}
	}
}

// TestUnsafeOnTerminalCatchesTheAttacks keeps the checker above honest:
// every hostile name but the merely long one is caught raw, and the
// console's own styling is not.
func TestUnsafeOnTerminalCatchesTheAttacks(t *testing.T) {
	for _, name := range hostileNames {
		if strings.HasPrefix(name, "long-") {
			continue
		}
		if len(unsafeOnTerminal("row "+name+" end")) == 0 {
			t.Errorf("the checker misses %q", name)
		}
	}
	if bad := unsafeOnTerminal("\x1b[1;38;2;10;20;30mbold\x1b[m\n\x1b[7mrev\x1b[0m"); len(bad) > 0 {
		t.Errorf("the checker flags SGR styling: %v", bad)
	}
}
