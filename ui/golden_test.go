package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/idcon/idcon/model"
)

// TestGolden draws every screen and dialog at 100×30 and at the smallest
// size, 80×24, without colours (so the files don't depend on the terminal's
// palette), from fixed data and a fixed clock. Refresh with -update.
func TestGolden(t *testing.T) {
	scenes := []struct {
		name string
		fb   func() *fakeBackend
		do   func(hs *harness)
	}{
		{"picker", pickerBackend, func(hs *harness) {}},
		{"picker_refused", pickerBackend, func(hs *harness) { hs.press("down", "enter") }},
		{"list", demoBackend, func(hs *harness) {}},
		{"list_filtered", demoBackend, func(hs *harness) { hs.press("/"); hs.typeText("example"); hs.fireTimers(); hs.press("enter", "s") }},
		{"list_large", func() *fakeBackend { fb := demoBackend(); fb.synthetic = 103482; return fb },
			func(hs *harness) { hs.press("pgdown", "j") }},
		{"edit_enrolled", demoBackend, func(hs *harness) { hs.openByName("laptop-alice") }},
		{"edit_pending", demoBackend, func(hs *harness) { hs.openByName("phone-bob"); hs.press("tab") }},
		{"edit_expired", demoBackend, func(hs *harness) { hs.openByName("tablet-carol") }},
		{"edit_none", demoBackend, func(hs *harness) { hs.openByName("printer-dave") }},
		{"datepicker_reset", demoBackend, func(hs *harness) { hs.openByName("laptop-alice"); hs.press("r") }},
		{"datepicker_reissue", demoBackend, func(hs *harness) { hs.openByName("tablet-carol"); hs.press("i", "pgdown") }},
		{"datepicker_typed", demoBackend, func(hs *harness) {
			hs.openByName("tablet-carol")
			hs.press("i", "2")
			hs.typeText("025-01-01")
			hs.press("enter")
		}},
		{"datepicker_refused", demoBackend, func(hs *harness) { hs.openByName("laptop-alice"); hs.press("r", "t", "left", "enter") }},
		{"confirm_reset", demoBackend, func(hs *harness) { hs.openByName("laptop-alice"); hs.press("r", "enter") }},
		{"confirm_delete", demoBackend, func(hs *harness) { hs.openByName("phone-bob"); hs.press("d") }},
		{"toast_reset", demoBackend, func(hs *harness) { hs.openByName("laptop-alice"); hs.press("r", "enter", "y") }},
		{"help_full", demoBackend, func(hs *harness) { hs.press("?") }},
	}
	for _, size := range [][2]int{{100, 30}, {80, 24}} {
		for _, sc := range scenes {
			t.Run(fmt.Sprintf("%s_%dx%d", sc.name, size[0], size[1]), func(t *testing.T) {
				hs := newHarness(t, testOptions(sc.fb()), size[0], size[1])
				sc.do(hs)
				checkFrame(t, hs, size[0], size[1])
				golden.RequireEqual(t, hs.screen())
			})
		}
	}
	t.Run("too_small_70x20", func(t *testing.T) {
		hs := newHarness(t, testOptions(demoBackend()), 70, 20)
		checkFrame(t, hs, 70, 20)
		golden.RequireEqual(t, hs.screen())
	})
}

func pickerBackend() *fakeBackend {
	fb := demoBackend()
	fb.addNetwork(model.Network{ID: "net-stage", Name: "Staging", Status: "provisioning"})
	fb.addNetwork(model.Network{ID: "net-lab", Name: "Lab"}, model.Identity{ID: "id-x", Name: "probe"})
	return fb
}

// checkFrame: the view fills the terminal exactly, never wider.
func checkFrame(t *testing.T, hs *harness, w, h int) {
	t.Helper()
	lines := strings.Split(hs.app.View().Content, "\n")
	if len(lines) != h {
		t.Fatalf("%d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if got := ansi.StringWidth(l); got > w {
			t.Fatalf("line %d is %d cells wide, more than %d: %q", i, got, w, ansi.Strip(l))
		}
	}
}
