package ui

import (
	"slices"
	"strings"
	"testing"

	"github.com/idcon/idcon/model"
)

// addBehindTheBack adds an identity to a network of the fake as another
// process (the CLI) would: nothing tells the console.
func (f *fakeBackend) addBehindTheBack(network string, id model.Identity) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id.NetworkID, id.Revision = network, 1
	f.ids[network] = append(f.ids[network], id)
	slices.SortFunc(f.ids[network], func(a, b model.Identity) int { return strings.Compare(a.Name, b.Name) })
}

// sidebarCount is the identity count the sidebar shows, read off the
// screen.
func sidebarCount(hs *harness) string {
	for _, l := range strings.Split(hs.screen(), "\n") {
		side, _, _ := strings.Cut(l, "│")
		if strings.Contains(side, "identit") {
			return strings.TrimSpace(side)
		}
	}
	return ""
}

// TestOpenListStaysCurrent: an identity another process creates appears
// in the open list at the next poll (one poll interval: 1 s on a local
// database), and the sidebar's count agrees with the header's.
func TestOpenListStaysCurrent(t *testing.T) {
	hs, fb := demoHarness(t)
	if got := sidebarCount(hs); got != "25 identities" || !strings.Contains(hs.screen(), "of 25") {
		t.Fatalf("sidebar %q; screen:\n%s", got, hs.screen())
	}
	fb.addBehindTheBack("net-acme", model.Identity{ID: "id-aa", Name: "aaa-first", CreatedAt: testNow,
		Enrollment: &model.Enrollment{ID: "e", CreatedAt: testNow, ExpiresAt: testNow.Add(days(3))}})
	hs.fireTimers()
	s := hs.screen()
	if !strings.Contains(s, "aaa-first") || !strings.Contains(s, "of 26") {
		t.Fatalf("the identity created elsewhere is not in the open list after a poll:\n%s", s)
	}
	if got := sidebarCount(hs); got != "26 identities" {
		t.Fatalf("the sidebar says %q while the header says 26:\n%s", got, s)
	}
}

// TestCtrlRRefreshesEveryScreen: ctrl+r asks the backend again at once on
// the list, Edit Identity and the network picker.
func TestCtrlRRefreshesEveryScreen(t *testing.T) {
	fb := demoBackend()
	fb.addNetwork(model.Network{ID: "net-lab", Name: "Lab"})
	opts := testOptions(fb)
	opts.PollInterval = -1 // no polling: only ctrl+r asks
	hs := newHarness(t, opts, 100, 30)
	nets := len(fb.callsWith("Networks"))
	hs.press("ctrl+r")
	if len(fb.callsWith("Networks")) == nets {
		t.Fatal("ctrl+r on the picker did not ask for the networks")
	}
	hs.press("enter") // Acme production
	pages := len(fb.callsWith("Identities"))
	fb.addBehindTheBack("net-acme", model.Identity{ID: "id-aa", Name: "aaa-first"})
	hs.press("ctrl+r")
	if len(fb.callsWith("Identities")) == pages || !strings.Contains(hs.screen(), "aaa-first") {
		t.Fatalf("ctrl+r on the list did not refetch the page:\n%s", hs.screen())
	}
	hs.openByName("phone-bob")
	loads := len(fb.callsWith("Identity id-bob"))
	hs.press("ctrl+r")
	if len(fb.callsWith("Identity id-bob")) == loads {
		t.Fatal("ctrl+r on Edit Identity did not reload the identity")
	}
	hs.press("?")
	if !strings.Contains(flat(hs.screen()), "ctrl+r refresh") {
		t.Fatalf("the full help doesn't list ctrl+r:\n%s", hs.screen())
	}
}
