package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/backend/openziti"
	"github.com/idcon/idcon/backend/openziti/zitifake"
	"github.com/idcon/idcon/model"
)

// TestConsoleShowsClusterNodes: the console open on a cluster network
// through node 1 keeps working when node 1 dies (the next reload is
// answered by another node), shows node 1 down and the node in use in the
// sidebar, says so in a toast, and shows node 1 back after its restart.
func TestConsoleShowsClusterNodes(t *testing.T) {
	cl := zitifake.StartCluster(t, 3)
	cl.CreateIdentity("ha-dave", "", time.Now().Add(time.Hour))
	c, err := openziti.New(openziti.Config{Name: "ha", Controller: cl.URL, PinnedCA: cl.CAPEM, Username: cl.Username, Password: cl.Password, Now: cl.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	clusters := NewClusters()
	clusters.Add(c)
	opts := Options{Backend: c, Now: cl.Now, Location: testLoc, Policy: model.ExpiryPolicy{Max: 90 * 24 * time.Hour}, NoColor: true, Clusters: clusters, PollInterval: -1}
	hs := newHarness(t, opts, 100, 30)
	if !strings.Contains(hs.screen(), "ha-dave") {
		t.Fatalf("the list doesn't show the identity:\n%s", hs.screen())
	}
	sidebar := func() string {
		var b strings.Builder
		for _, l := range strings.Split(hs.screen(), "\n") {
			if len([]rune(l)) > sidebarWidth {
				l = string([]rune(l)[:sidebarWidth])
			}
			b.WriteString(strings.TrimSpace(strings.Trim(l, "│ ")) + "\n")
		}
		return b.String()
	}
	hs.fireTimers()
	if s := sidebar(); !strings.Contains(s, "NODES\n› ctrl1\nctrl2\nctrl3\n") {
		t.Errorf("all up: the sidebar shows\n%s", s)
	}

	cl.Nodes[0].Stop()
	hs.press("ctrl+r")
	if s := hs.screen(); !strings.Contains(s, "ha-dave") || strings.Contains(s, "unreachable") {
		t.Errorf("node 1 down: the reload failed:\n%s", s)
	}
	hs.fireTimers()
	s := hs.screen()
	if sb := sidebar(); !strings.Contains(sb, "NODES\nctrl1 down\n› ctrl2\nctrl3\n") {
		t.Errorf("node 1 down: the sidebar shows\n%s", sb)
	}
	if !strings.Contains(s, "node ctrl1 is down: calls go to") {
		t.Errorf("node 1 down: no toast says so:\n%s", s)
	}

	cl.Nodes[0].Start()
	hs.fireTimers()
	if sb := sidebar(); !strings.Contains(sb, "NODES\nctrl1\n› ctrl2\nctrl3\n") {
		t.Errorf("node 1 back: the sidebar shows\n%s", sb)
	}
	if s := hs.screen(); !strings.Contains(s, "node ctrl1 is back") {
		t.Errorf("node 1 back: no toast says so:\n%s", s)
	}
}
