package ui

import (
	"strings"
	"testing"
)

// TestWarningsShowAsNotes: what the configuration warns about is shown
// when the console opens, as a note that goes away in its time.
func TestWarningsShowAsNotes(t *testing.T) {
	opts := testOptions(demoBackend())
	opts.Warnings = []string{"plain HTTP to 127.0.0.1"}
	hs := newHarness(t, opts, 100, 30)
	if s := hs.screen(); !strings.Contains(s, "plain HTTP to 127.0.0.1") || !strings.Contains(s, "Note") {
		t.Fatalf("the console opened without the warning as a note:\n%s", s)
	}
	hs.fireTimers()
	if s := hs.screen(); strings.Contains(s, "plain HTTP") {
		t.Errorf("the warning stayed after its time:\n%s", s)
	}
}
