package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/backend/openziti/zitifake"
)

// clusterHome writes a config naming nodes of a fake cluster under
// controllers: (all of them when none is given) and returns a runner for
// the CLI with the admin's password in its environment.
func clusterHome(t *testing.T, cl *zitifake.Cluster, nodes ...int) func(args ...string) runResult {
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
	}
}

// TestClusterWithoutQuorumCLI: two of three nodes down and no leader:
// `enrollment reset X --yes` exits non-zero within its deadline with the
// one no-leader line; `identity list` still answers from the live node.
func TestClusterWithoutQuorumCLI(t *testing.T) {
	cl := zitifake.StartCluster(t, 3)
	idcon := clusterHome(t, cl)
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
