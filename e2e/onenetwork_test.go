package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/backend/openziti/zitifake"
)

// A command naming one network with --network reaches that network's
// backend only: the other controllers of the config file are neither
// logged in to nor asked for a password (a username without passwordEnv
// would otherwise stop a piped run, or prompt on a terminal, for a network
// the admin didn't name).
func TestNetworkFlagReachesThatNetworkOnly(t *testing.T) {
	named := zitifake.Start(t, zitifake.AdminUnlisted())
	other := zitifake.Start(t, zitifake.AdminUnlisted())
	named.CreateIdentity("laptop-alice", "", named.Now().Add(48*time.Hour))
	home := t.TempDir()
	cfg := filepath.Join(home, "idcon.yaml")
	body := "networks:\n" +
		"  - name: named\n    controller: " + named.URL + "\n    ca: " + named.CAFile + "\n    username: " + named.Username + "\n    passwordEnv: NAMED_PW\n" +
		"  - name: other\n    controller: " + other.URL + "\n    ca: " + other.CAFile + "\n    username: " + other.Username + "\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	env := Env{DB: filepath.Join(t.TempDir(), "idcon.db"), Home: home, Vars: []string{"TZ=UTC", "NAMED_PW=" + named.Password}}
	MustRun(t, env, "network", "create", "office")
	MustRun(t, env, "identity", "create", "desk-bob", "--network", "office")

	for _, args := range [][]string{
		{"identity", "list", "--network", "named"},
		{"identity", "show", "laptop-alice", "--network", "named"},
		{"identity", "list", "--network", "office"},
		{"enrollment", "jwt", "desk-bob", "--network", "office", "-o", filepath.Join(t.TempDir(), "bob.jwt")},
	} {
		r := Run(t, env, append([]string{"--config", cfg}, args...)...)
		if r.Code != 0 || strings.Contains(r.Stderr, "other") {
			t.Errorf("%s: want exit 0 and nothing about network other:\n%s", strings.Join(args, " "), r)
		}
	}
	// On a terminal, where a password can be asked, none is: the list
	// comes and the program ends without a key pressed.
	pt := StartPty(t, env, 100, 20, plainAnswers, "--config", cfg, "identity", "list", "--network", "office")
	pt.WaitExit(10 * time.Second)
	if out := pt.Output(); !strings.Contains(out, "desk-bob") || strings.Contains(out, "Password") {
		t.Errorf("listing office on a terminal: want desk-bob listed and no password asked:\n%s", out)
	}
	if reqs := other.Requests(); len(reqs) != 0 {
		t.Errorf("commands naming another network sent %d requests to controller other: %q", len(reqs), reqs)
	}
	if reqs := named.Requests(); len(reqs) == 0 {
		t.Error("controller named got no request: the test proves nothing")
	}
	// Without --network, or naming no network there is, every network is
	// asked, as before: the list names them all.
	r := Run(t, env, "--config", cfg, "identity", "list", "--network", "nowhere")
	if r.Code == 0 || !strings.Contains(r.Stderr, "named") || !strings.Contains(r.Stderr, "office") {
		t.Errorf("--network nowhere: want an error listing the networks:\n%s", r)
	}
}
