package ui

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

func TestDescribeErr(t *testing.T) {
	cases := map[error]string{
		backend.NotFound("no identity x"):  "Not found: no identity x. It may have been deleted; go back and reload.",
		backend.Forbidden("read-only"):     "Not allowed: read-only.",
		backend.Invalid("bad expiry"):      "Refused: bad expiry.",
		context.DeadlineExceeded:           "The backend did not answer in time; try again.",
		errors.New("disk on fire"):         "Error: disk on fire",
		backend.Conflict("revision moved"): "Someone else changed this identity (revision moved); reloaded it: check it and try again.",
	}
	for err, want := range cases {
		if got := describeErr(err); got != want {
			t.Errorf("describeErr(%v) = %q, want %q", err, got, want)
		}
	}
}

func TestQuitKeys(t *testing.T) {
	hs, _ := demoHarness(t)
	hs.press("/")
	hs.press("q")
	if hs.quit || hs.list().input.Value() != "q" {
		t.Fatalf("q in the filter: quit %v value %q", hs.quit, hs.list().input.Value())
	}
	hs.press("ctrl+c")
	if !hs.quit {
		t.Fatal("ctrl+c did not quit while typing")
	}
	hs, _ = demoHarness(t)
	hs.press("q")
	if !hs.quit {
		t.Fatal("q did not quit")
	}
}

func TestNetworkPicker(t *testing.T) {
	fb := demoBackend()
	fb.addNetwork(model.Network{ID: "net-stage", Name: "Staging", Status: "provisioning"})
	fb.addNetwork(model.Network{ID: "net-lab", Name: "Lab"}, model.Identity{ID: "id-x", Name: "probe"})
	opts := testOptions(fb)
	opts.StateFile = filepath.Join(t.TempDir(), "state", "idcon.json")
	hs := newHarness(t, opts, 100, 30)
	if _, ok := hs.app.top().(*networksScreen); !ok {
		t.Fatalf("several networks, none used before: top is %T, want the picker", hs.app.top())
	}
	hs.press("down", "enter")
	if !strings.Contains(hs.screen(), "Staging can't be opened: provisioning.") {
		t.Fatalf("no reason shown:\n%s", hs.screen())
	}
	hs.press("/")
	hs.typeText("la")
	hs.press("enter", "enter")
	l := hs.list()
	if l.network.ID != "net-lab" {
		t.Fatalf("opened %s, want net-lab", l.network.ID)
	}
	info, err := os.Stat(opts.StateFile)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", info, err)
	}
	// n opens the picker from anywhere; esc returns.
	hs.openByName("probe")
	hs.press("n")
	if _, ok := hs.app.top().(*networksScreen); !ok {
		t.Fatalf("n opened %T", hs.app.top())
	}
	hs.press("esc")
	hs.edit()

	// Next run: the remembered network opens at once.
	hs2 := newHarness(t, opts, 100, 30)
	if l := hs2.list(); l.network.ID != "net-lab" {
		t.Fatalf("remembered network not opened: %s", l.network.ID)
	}
}

func TestOneNetworkOpensDirectly(t *testing.T) {
	hs, _ := demoHarness(t)
	if hs.list().network.ID != "net-acme" {
		t.Fatal("the only network was not opened")
	}
}

func TestTooSmallTerminal(t *testing.T) {
	hs, _ := demoHarness(t)
	hs.send(tea.WindowSizeMsg{Width: 70, Height: 20})
	if !strings.Contains(hs.screen(), "terminal is 70×20; idcon needs at least 80×24") {
		t.Fatalf("screen:\n%s", hs.screen())
	}
	hs.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	if !strings.Contains(hs.screen(), "Identities") {
		t.Fatal("did not recover at 80×24")
	}
}

func TestBackgroundColorRebuildsStyles(t *testing.T) {
	fb := demoBackend()
	opts := testOptions(fb)
	opts.NoColor = false
	hs := newHarness(t, opts, 100, 30)
	dark := hs.app.View().Content
	hs.send(tea.BackgroundColorMsg{Color: lightGray{}})
	if hs.app.isDark {
		t.Fatal("a light background was taken for dark")
	}
	if light := hs.app.View().Content; light == dark {
		t.Fatal("styles did not change with the background")
	}
}

type lightGray struct{}

func (lightGray) RGBA() (r, g, b, a uint32) { return 0xeeee, 0xeeee, 0xeeee, 0xffff }
