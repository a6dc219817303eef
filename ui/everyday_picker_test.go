package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/idcon/idcon/model"
)

func fortyNetworks() *fakeBackend {
	fb := newFakeBackend(testNow)
	for i := 1; i <= 40; i++ {
		// IDs hold text no name does: a filter on them would match hidden text.
		fb.addNetwork(model.Network{ID: fmt.Sprintf("uuid-%02d-f5bb", i), Name: fmt.Sprintf("network-%02d", i)})
	}
	return fb
}

// shown lists the network names the picker draws, in order.
func shownNetworks(hs *harness) []string {
	var out []string
	for _, l := range strings.Split(hs.screen(), "\n") {
		if i := strings.Index(l, "network-"); i >= 0 {
			out = append(out, l[i:i+len("network-00")])
		}
	}
	return out
}

func cursorNetwork(t *testing.T, hs *harness) string {
	t.Helper()
	for _, l := range strings.Split(hs.screen(), "\n") {
		if i := strings.Index(l, "› network-"); i >= 0 {
			return l[i+len("› ") : i+len("› network-00")]
		}
	}
	t.Fatalf("no cursor row on the screen:\n%s", hs.screen())
	return ""
}

// TestPickerScrollsLikeAList: with 40 networks in 24 rows the cursor never
// leaves the screen, every network can be reached and drawn, and
// home/end/pgup/pgdn work as in the list.
func TestPickerScrollsLikeAList(t *testing.T) {
	hs := newHarness(t, testOptions(fortyNetworks()), 80, 24)
	if _, ok := hs.app.top().(*networksScreen); !ok {
		t.Fatalf("top is %T, want the picker", hs.app.top())
	}
	seen := map[string]bool{}
	for i := 1; i <= 40; i++ {
		want := fmt.Sprintf("network-%02d", i)
		if got := cursorNetwork(t, hs); got != want {
			t.Fatalf("after %d × ↓ the cursor is on %s, want %s:\n%s", i-1, got, want, hs.screen())
		}
		for _, n := range shownNetworks(hs) {
			seen[n] = true
		}
		hs.press("down")
	}
	if len(seen) != 40 {
		t.Fatalf("%d of the 40 networks were ever drawn", len(seen))
	}
	hs.press("home")
	if got := cursorNetwork(t, hs); got != "network-01" {
		t.Fatalf("home: cursor on %s", got)
	}
	hs.press("pgdown")
	page := len(shownNetworks(hs))
	if got, want := cursorNetwork(t, hs), fmt.Sprintf("network-%02d", 1+page); got != want {
		t.Fatalf("pgdn with %d rows a page: cursor on %s, want %s", page, got, want)
	}
	hs.press("pgup")
	if got := cursorNetwork(t, hs); got != "network-01" {
		t.Fatalf("pgup: cursor on %s", got)
	}
	hs.press("end")
	if got := cursorNetwork(t, hs); got != "network-40" {
		t.Fatalf("end: cursor on %s", got)
	}
}

// TestPickerFiltersOnWhatItShows: the filter matches names, not the IDs
// that aren't drawn.
func TestPickerFiltersOnWhatItShows(t *testing.T) {
	hs := newHarness(t, testOptions(fortyNetworks()), 100, 30)
	hs.press("/")
	hs.typeText("f5bb")
	if got := shownNetworks(hs); len(got) != 0 {
		t.Fatalf("the filter f5bb, in no name, shows %v", got)
	}
	hs.press("esc", "/")
	hs.typeText("work-3")
	if got := shownNetworks(hs); len(got) != 10 || got[0] != "network-30" {
		t.Fatalf("the filter work-3 shows %v, want network-30 to network-39", got)
	}
}

// TestPickerShowsNetworksCreatedMeanwhile: the picker opened from a list
// shows a network created since the console started.
func TestPickerShowsNetworksCreatedMeanwhile(t *testing.T) {
	fb := demoBackend()
	fb.addNetwork(model.Network{ID: "net-lab", Name: "Lab"})
	hs := newHarness(t, testOptions(fb), 100, 30)
	hs.press("enter") // Acme production
	hs.list()
	fb.addNetwork(model.Network{ID: "net-new", Name: "network-new"})
	hs.timers = nil
	hs.press("n")
	hs.fireTimers()
	if !strings.Contains(hs.screen(), "network-new") {
		t.Fatalf("the picker doesn't show the network created meanwhile:\n%s", hs.screen())
	}
}
