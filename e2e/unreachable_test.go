package e2e

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// closedPort returns a loopback port nothing listens on (it was free a
// moment ago and is closed again).
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// TestConsoleControllerUnreachable runs the console with two controller
// networks: "down", at a loopback port nothing listens on, and "ctrl",
// which answers until the test stops it. The picker says "down" is
// unreachable; on "ctrl" the list loads, and once the controller is gone
// the list says "controller unreachable, retrying in Ns", counts down,
// tries again after growing waits, keeps answering keys, and ctrl+c ends
// it at once.
func TestConsoleControllerUnreachable(t *testing.T) {
	t.Parallel()
	e := newCtrlEnv(t, nil, nil)
	e.seed(t)
	down := ctrlEntry{controller: fmt.Sprintf("http://127.0.0.1:%d", closedPort(t)), username: "admin", passwordEnv: "IDCON_CTRL_PASSWORD"}
	up := ctrlEntry{controller: e.fake.URL, ca: e.fake.CAFile, username: e.fake.Username, passwordEnv: "IDCON_CTRL_PASSWORD"}
	if err := os.WriteFile(e.config, []byte("networks:\n"+down.yaml("down")+up.yaml("ctrl")), 0o600); err != nil {
		t.Fatal(err)
	}
	term := StartTerm(t, e.Env, 120, 30, "--config", e.config)

	// The picker: "down" shows why it can't be opened.
	screen := term.WaitFor(10*time.Second, "office", "ctrl", "down")
	if !strings.Contains(screen, "(controller unre") {
		t.Errorf("the picker doesn't say the controller is unreachable:\n%s", screen)
	}
	term.Send("/")
	term.Type("down")
	term.Send("Enter", "Enter")
	term.WaitFor(5*time.Second, "can't be opened", "controller unreachable")

	// Open "ctrl" while its controller answers.
	term.Send("/")
	term.Send("C-u")
	term.Type("ctrl")
	term.Send("Enter", "Enter")
	term.WaitFor(10*time.Second, "laptop-alice", "of 5")

	// The controller goes away; a new query finds it gone.
	e.fake.Close()
	term.Send("s") // state filter: enrolled
	term.WaitFor(20*time.Second, "controller unreachable, retrying in 2s")
	term.WaitFor(5*time.Second, "controller unreachable, retrying in 1s") // it counts down
	term.WaitFor(5*time.Second, "controller unreachable, retrying in 4s") // tried again, waits longer
	term.WaitFor(8*time.Second, "controller unreachable, retrying in 8s") // and longer

	// Keys are answered meanwhile.
	term.Send("?")
	term.WaitFor(5*time.Second, "close help")
	term.Send("?")
	term.WaitGone(5*time.Second, "close help")
	term.Send("s") // next state: a new query, refused at once, the countdown goes on
	term.WaitFor(5*time.Second, "state: pending", "controller unreachable, retrying in")

	term.Send("C-c")
	deadline := time.Now().Add(10 * time.Second)
	for !term.Exited() {
		if time.Now().After(deadline) {
			t.Fatalf("ctrl+c did not end the console while the controller was unreachable:\n%s", term.Screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
