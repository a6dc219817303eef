package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/idcon/idcon/delivery"
	"github.com/idcon/idcon/model"
)

// TestGolden draws every screen and dialog at 100×30 and at the smallest
// size, 80×24, without colours (so the files don't depend on the terminal's
// palette), from fixed data and a fixed clock. Refresh with -update.
// A golden scene: the backend it starts from, what the admin does, and the
// options it runs with (nil: testOptions).
type goldenScene struct {
	name string
	fb   func() *fakeBackend
	do   func(hs *harness)
	opts func(*Options)
}

// goldenSizes are the terminals every scene is drawn in: the smallest the
// console draws in, a common one and a roomy one.
var goldenSizes = [][2]int{{100, 30}, {80, 24}, {120, 40}}

// TestGolden draws every screen and dialog at 80×24 (the smallest size),
// 100×30 and 120×40, without colours (so the files don't depend on the
// terminal's palette), from fixed data and a fixed clock. Refresh with
// -update. The refactors of ui/ keep these files byte-identical.
func TestGolden(t *testing.T) {
	scenes := append(goldenScenes(), moreGoldenScenes()...)
	for _, size := range goldenSizes {
		for _, sc := range scenes {
			t.Run(fmt.Sprintf("%s_%dx%d", sc.name, size[0], size[1]), func(t *testing.T) {
				opts := testOptions(sc.fb())
				if sc.opts != nil {
					sc.opts(&opts)
				}
				hs := newHarness(t, opts, size[0], size[1])
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

// goldenDeliveries are the deliveries' settings: a folder and a mail
// server that exist only in the goldens (nothing is written or sent while
// drawing them).
func goldenDeliveries(o *Options) {
	o.Downloads = "/srv/idcon/downloads"
	o.SMTP = delivery.SMTPConfig{Host: "smtp.example.org", From: "idcon@example.org"}
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
