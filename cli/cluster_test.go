package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/audit"
	"github.com/idcon/idcon/backend/openziti/zitifake"
)

// clusterHome writes a config naming nodes of a fake cluster under
// controllers: (all of them when none is given) and returns a runner for
// the CLI with the admin's password in its environment.
func clusterHome(t *testing.T, cl *zitifake.Cluster, nodes ...int) (func(args ...string) runResult, string) {
	t.Helper()
	home := t.TempDir()
	cfgPath := filepath.Join(home, "config.yaml")
	if len(nodes) == 0 {
		for i := range cl.Nodes {
			nodes = append(nodes, i)
		}
	}
	var urls []string
	for _, i := range nodes {
		urls = append(urls, cl.Nodes[i].URL)
	}
	cfg := fmt.Sprintf("networks:\n  - name: ha\n    controllers: [%s]\n    ca: %s\n    username: %s\n    passwordEnv: IDCON_HA_PASSWORD\n",
		strings.Join(urls, ", "), cl.CAFile, cl.Username)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return func(args ...string) runResult {
		var out, errOut bytes.Buffer
		env := environment{
			stdout: &out, stderr: &errOut, stdin: strings.NewReader(""),
			getenv: func(k string) string {
				switch k {
				case "HOME":
					return home
				case "XDG_DATA_HOME":
					return filepath.Join(home, "data")
				case "IDCON_HA_PASSWORD":
					return cl.Password
				}
				return ""
			},
			now:     time.Now,
			console: func(context.Context, ConsoleEnv) error { return failf("no console in this test") },
		}
		code := run(context.Background(), append([]string{"--config", cfgPath}, args...), env)
		return runResult{code: code, stdout: out.String(), stderr: errOut.String()}
	}, home
}

// TestClusterWithoutQuorumCLI: two of three nodes down and no leader:
// `enrollment reset X --yes` exits non-zero within its deadline with the
// one no-leader line; `identity list` still answers from the live node.
func TestClusterWithoutQuorumCLI(t *testing.T) {
	cl := zitifake.StartCluster(t, 3)
	idcon, _ := clusterHome(t, cl)
	id := cl.CreateIdentity("ha-carol", "", time.Now().Add(time.Hour))
	cl.Enroll(id)
	cl.Nodes[0].Stop()
	cl.Nodes[1].Stop()
	cl.LoseQuorum(true)
	start := time.Now()
	r := idcon("enrollment", "reset", "ha-carol", "--network", "ha", "--expires", "+7d", "--yes")
	took := time.Since(start)
	if r.code == exitOK {
		t.Fatalf("reset without quorum exited 0:\n%s%s", r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "no leader") || !strings.Contains(lines[0], "1 of 3 nodes answer") {
		t.Errorf("reset without quorum says %q, want one line naming the missing leader and 1 of 3 nodes answering", r.stderr)
	}
	if took > 15*time.Second {
		t.Errorf("the reset took %s, past its deadline", took)
	}
	r = idcon("identity", "list", "--network", "ha")
	if r.code != exitOK || !strings.Contains(r.stdout, "ha-carol") {
		t.Errorf("identity list without quorum: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestClusterBulkResetWhoseNodeIsKilledIsExactlyOnce: `enrollment reset
// --all` of 1,000 identities on a fake cluster whose node in use dies
// part way (after applying a re-enroll, before answering it): every
// identity is re-enrolled exactly once, the output file holds one token
// per identity and each is the identity's one outstanding enrollment, and
// the summary and the audit log agree with the controller.
func TestClusterBulkResetWhoseNodeIsKilledIsExactlyOnce(t *testing.T) {
	const n = 1000
	cl := zitifake.StartCluster(t, 3)
	idcon, home := clusterHome(t, cl, 0) // node 1 only: the others come from /controllers
	specs := make([]zitifake.Seeded, n)
	for i := range specs {
		specs[i] = zitifake.Seeded{Name: fmt.Sprintf("ha-bulk-%04d", i), Certs: 1}
	}
	ids := cl.Seed(specs)
	reEnrolls := func() []string {
		var out []string
		for _, w := range cl.Writes() {
			if strings.HasPrefix(w, "POST /edge/management/v1/authenticators/") && strings.Contains(w, "/re-enroll") {
				out = append(out, strings.Fields(w)[1])
			}
		}
		return out
	}
	// Kill node 1 once a third of the run is done, during a re-enroll.
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		deadline := time.Now().Add(5 * time.Minute)
		for len(reEnrolls()) < n/3 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		cl.Nodes[0].KillDuring("POST /authenticators/")
	}()
	out := filepath.Join(t.TempDir(), "tokens.jsonl")
	r := idcon("enrollment", "reset", "--all", "--filter", "ha-bulk-", "--network", "ha", "--expires", "+7d", "--yes", "-o", out, "--json")
	<-killed
	if cl.Nodes[0].Up() {
		t.Fatal("node 1 was never killed: the test proves nothing")
	}
	if r.code != exitOK {
		t.Fatalf("bulk reset: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Every identity re-enrolled exactly once (one authenticator each).
	re := reEnrolls()
	seen := map[string]int{}
	for _, p := range re {
		seen[p]++
	}
	if len(re) != n || len(seen) != n {
		t.Errorf("%d re-enrolls applied over %d authenticators, want %d once each", len(re), len(seen), n)
	}

	// The file: one token per identity, each its outstanding enrollment.
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	byName := map[string]string{}
	for _, l := range lines {
		var tok bulkTokenJSON
		if err := json.Unmarshal([]byte(l), &tok); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if _, dup := byName[tok.Identity]; dup {
			t.Errorf("%s has two tokens in the file", tok.Identity)
		}
		byName[tok.Identity] = tok.JWT
	}
	if len(lines) != n || len(byName) != n {
		t.Errorf("the file holds %d lines for %d identities, want %d", len(lines), len(byName), n)
	}
	for i, id := range ids {
		name := specs[i].Name
		x, ok := cl.IdentityByName(name)
		if !ok || x.ID != id || x.Enrollment == nil {
			t.Errorf("%s: no outstanding enrollment on the controller", name)
			continue
		}
		if byName[name] != x.Enrollment.JWT {
			t.Errorf("%s: the file's token is not its outstanding enrollment", name)
		}
	}

	// The summary and the audit log agree with the controller.
	var rep bulkReport
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &rep); err != nil {
		t.Fatalf("summary %q: %v", r.stdout, err)
	}
	if rep.Done != n || rep.Failed != 0 || rep.Stopped {
		t.Errorf("summary %+v, want %d done, none failed", rep, n)
	}
	logData, err := os.ReadFile(filepath.Join(home, "data", "idcon", "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	audited := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(string(logData)), "\n") {
		var e audit.Entry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		if e.Network.Name == "ha" && strings.Contains(e.Action, "reset") && e.Result == "ok" {
			audited[e.Identity.Name]++
		}
	}
	for _, s := range specs {
		if audited[s.Name] != 1 {
			t.Errorf("%s: %d audited resets, want 1", s.Name, audited[s.Name])
			break
		}
	}
	if len(audited) != n {
		t.Errorf("the audit log records resets of %d identities, want %d", len(audited), n)
	}
}

// TestClusterNextRunStartsWithNodeOneDown: a config naming node 1 only;
// the first command learns the cluster's nodes, and the next command,
// started while node 1 is down, answers through another node.
func TestClusterNextRunStartsWithNodeOneDown(t *testing.T) {
	cl := zitifake.StartCluster(t, 3)
	idcon, _ := clusterHome(t, cl, 0)
	cl.CreateIdentity("ha-dora", "", time.Now().Add(time.Hour))
	if r := idcon("identity", "list", "--network", "ha"); r.code != exitOK || !strings.Contains(r.stdout, "ha-dora") {
		t.Fatalf("list with every node up: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	cl.Nodes[0].Stop()
	if r := idcon("identity", "list", "--network", "ha"); r.code != exitOK || !strings.Contains(r.stdout, "ha-dora") {
		t.Errorf("the next run, node 1 down from its start: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
