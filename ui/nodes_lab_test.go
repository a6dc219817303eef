package ui

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/backend/openziti"
	"github.com/idcon/idcon/backend/openziti/zitilab"
	"github.com/idcon/idcon/model"
)

// TestLabConsoleOnTheRealClusterFailsOver: the console open on node 1 of
// the real cluster (the only node its config names) keeps working after
// node 1 is killed with SIGKILL: the next action (a create, then a reload
// of the list) succeeds through node 2 or 3, the sidebar shows node 1
// down, and shows it back after ha.sh restarts it.
func TestLabConsoleOnTheRealClusterFailsOver(t *testing.T) {
	cl := zitilab.RequireCluster(t)
	cl.Restore(t)
	c, err := openziti.New(openziti.Config{Name: "ha", Controller: cl.Nodes[0].URL, CAFile: cl.CAFile(), Username: cl.Username, Password: cl.Password})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	clusters := NewClusters()
	clusters.Add(c)
	opts := Options{Backend: c, Location: testLoc, Policy: model.ExpiryPolicy{Max: 90 * 24 * time.Hour}, NoColor: true, Clusters: clusters, PollInterval: -1}
	hs := newHarness(t, opts, 100, 30)
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
		t.Fatalf("all up: the sidebar shows\n%s", s)
	}

	cl.Kill(t, "ctrl1")
	killed := time.Now()
	name := "haidc-ui-" + time.Now().Format("150405")
	tok, err := c.CreateIdentity(ctx, c.NetworkID(), model.NewIdentity{Name: name, ExpiresAt: time.Now().Add(24 * time.Hour)})
	if err != nil {
		t.Fatalf("create with ctrl1 killed: %v", err)
	}
	t.Logf("create through the next node %s after the kill", time.Since(killed).Round(time.Millisecond))
	t.Cleanup(func() { deleteLabIdentity(t, cl, tok.Identity.ID) })
	hs.press("ctrl+r")
	if s := hs.screen(); !strings.Contains(s, name) {
		t.Errorf("ctrl1 killed: the reload doesn't list %s:\n%s", name, s)
	}
	hs.fireTimers()
	if sb := sidebar(); !strings.Contains(sb, "ctrl1 down\n") || strings.Contains(sb, "› ctrl1") {
		t.Errorf("ctrl1 killed: the sidebar shows\n%s", sb)
	}
	t.Logf("after the kill:\n%s", sidebar())

	started := time.Now()
	cl.Start(t, "ctrl1")
	back := false
	for time.Since(started) < 90*time.Second {
		hs.fireTimers()
		if sb := sidebar(); strings.Contains(sb, "NODES\n") && !strings.Contains(sb, " down") {
			back = true
			break
		}
		time.Sleep(time.Second)
	}
	if !back {
		t.Errorf("ctrl1 restarted: the sidebar still shows\n%s", sidebar())
	} else {
		t.Logf("ctrl1 shown back %s after ha.sh start began", time.Since(started).Round(time.Millisecond))
	}
}

// deleteLabIdentity removes an identity the test made, through ctrl3's
// API directly (idcon deletes no identities).
func deleteLabIdentity(t *testing.T, cl zitilab.Cluster, id string) {
	pem, err := os.ReadFile(cl.CAFile())
	if err != nil {
		t.Error(err)
		return
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := cl.Nodes[2].URL + "/edge/management/v1"
	body, _ := json.Marshal(map[string]string{"username": cl.Username, "password": cl.Password})
	resp, err := hc.Post(base+"/authenticate?method=password", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return
	}
	var out struct{ Data struct{ Token string } }
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodDelete, base+"/identities/"+id, nil)
	req.Header.Set("zt-session", out.Data.Token)
	if resp, err := hc.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("delete %s: %v %v", id, err, resp)
	} else {
		resp.Body.Close()
	}
}
