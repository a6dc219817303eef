package ui

import (
	"strings"
	"testing"

	"github.com/idcon/idcon/model"
)

// helpLine is the bottom line of the screen: the key help.
func helpLine(hs *harness) string {
	lines := strings.Split(hs.screen(), "\n")
	return lines[len(lines)-1]
}

// TestSmallestTerminalKeepsEssentialKeys: at 80×24, the documented
// minimum, the help line of every screen keeps "? more keys" and how to
// quit, the date picker keeps "enter submit" and "esc cancel", and names
// get the room before emails.
func TestSmallestTerminalKeepsEssentialKeys(t *testing.T) {
	fb := demoBackend()
	long := "workstation-of-the-engineering-lead"
	fb.ids["net-acme"] = append(fb.ids["net-acme"], model.Identity{ID: "id-long", NetworkID: "net-acme", Name: long,
		Email: "lead@example.org", HasCredential: true, EnrolledAt: testNow.Add(-days(2)), Revision: 1})
	hs := newHarness(t, testOptions(fb), 80, 24)
	check := func(where string, want ...string) {
		t.Helper()
		line := helpLine(hs)
		for _, w := range want {
			if !strings.Contains(line, w) {
				t.Errorf("%s at 80×24: the help line lacks %q: %q", where, w, line)
			}
		}
	}
	check("the list", "? more keys", "q quit", "enter open")
	hs.press("space")
	check("the list with a mark", "? more keys", "q quit")

	hs.press("/")
	hs.typeText("workstation")
	hs.press("enter")
	row := ""
	for _, l := range strings.Split(hs.screen(), "\n") {
		if strings.Contains(l, "workstation") {
			row = l
		}
	}
	if !strings.Contains(row, long[:22]) {
		t.Errorf("at 80×24 the name column shows too little of %q: %q", long, row)
	}

	hs.press("enter") // Edit Identity
	check("Edit Identity", "? more keys", "q quit", "esc back")
	hs.press("r")
	check("the date picker", "enter submit", "esc cancel", "ctrl+c quit")
	hs.press("enter")
	check("the confirmation", "y reset", "n/esc cancel", "ctrl+c quit")
}
