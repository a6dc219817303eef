package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/backend/openziti/zitifake"
)

// TestConsoleOnControllerNetwork drives the real console in a terminal
// against a controller network beside an embedded one: the picker shows
// both; on the controller's network the admin filters to an identity,
// opens it and resets it with a typed date, then reissues an expired token
// and deletes an unused one, and the controller's state agrees each time.
func TestConsoleOnControllerNetwork(t *testing.T) {
	t.Parallel()
	e := newCtrlEnv(t, nil, nil)
	term := e.openInConsole(t, 100, 30)

	// open finds one identity, in the state given, through the filter and
	// opens it.
	open := func(name, state string) {
		t.Helper()
		term.Send("/")
		term.Send("C-u") // the filter may still hold the last name
		term.Type(name)
		term.Send("Enter") // done filtering
		term.WaitFor(5*time.Second, "enter open", "1–1 of 1")
		waitRow(t, term, 10*time.Second, name, state)
		term.Send("Enter")
		term.WaitFor(10*time.Second, "Enrollment", "ID ", name)
	}

	// Reset the enrolled identity with a typed relative date.
	open("laptop-alice", "enrolled")
	term.WaitFor(5*time.Second, "Reset enrollment (r)")
	term.Send("r")
	term.WaitFor(5*time.Second, "Date enrollment expires")
	term.Type("+30d")
	term.Send("Enter")
	term.WaitFor(5*time.Second, "drops the", "Cancel") // the warning, focus on Cancel
	term.Send("y")
	term.WaitFor(10*time.Second, "Enrollment reset for", "Download JWT (j)")
	alice := e.fakeIdentity(t, "laptop-alice")
	if alice.Enrollment == nil || alice.Authenticators != 0 || alice.APISessions != 0 {
		t.Fatalf("after the reset the controller holds %+v", alice)
	}
	if d := time.Until(alice.Enrollment.ExpiresAt); d < 29*24*time.Hour || d > 30*24*time.Hour+time.Minute {
		t.Errorf("the reset token expires in %v, want about 30 days", d)
	}

	// Reissue the expired one: no confirmation, nothing in use changes.
	term.Send("Escape")
	term.WaitFor(5*time.Second, "s state filter") // back on the list
	open("phone-bob", "expired")
	term.WaitFor(5*time.Second, "Reissue enrollment (i)")
	term.Send("i")
	term.WaitFor(5*time.Second, "Date enrollment expires")
	term.Type("+10d")
	term.Send("Enter")
	term.WaitFor(10*time.Second, "Enrollment reissued for")
	bob := e.fakeIdentity(t, "phone-bob")
	if bob.Enrollment == nil {
		t.Fatalf("after the reissue the controller holds %+v", bob)
	}
	if d := time.Until(bob.Enrollment.ExpiresAt); d < 9*24*time.Hour || d > 10*24*time.Hour+time.Minute {
		t.Errorf("the reissued token expires in %v, want about 10 days", d)
	}

	// Delete the pending one's token, confirmed.
	term.Send("Escape")
	term.WaitFor(5*time.Second, "s state filter")
	open("sso-carol", "pending")
	term.WaitFor(5*time.Second, "Delete enrollment (d)")
	term.Send("d")
	term.WaitFor(5*time.Second, "irreversible")
	term.Send("y")
	term.WaitFor(10*time.Second, "Enrollment deleted for")
	if carol := e.fakeIdentity(t, "sso-carol"); carol.Enrollment != nil {
		t.Errorf("after the delete the controller still holds %+v", carol.Enrollment)
	}
	// The CLI reads the same through the controller.
	if got := decode[identity](t, e.mustRun(t, "identity", "show", "sso-carol", "--network", "ctrl", "--json")); got.State != "none" {
		t.Errorf("identity show after the console's delete: %+v", got)
	}

	term.Send("q")
	deadline := time.Now().Add(5 * time.Second)
	for !term.Exited() {
		if time.Now().After(deadline) {
			t.Fatalf("q did not quit:\n%s", term.Screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestConsoleWarnsAboutPlainHTTP: a controller reached over plain HTTP on
// loopback opens, and the console says it is plain HTTP in a note.
func TestConsoleWarnsAboutPlainHTTP(t *testing.T) {
	t.Parallel()
	e := newCtrlEnv(t, []zitifake.Option{zitifake.PlainHTTP()}, func(c *ctrlEntry) { c.ca = "" })
	e.seed(t)
	term := StartTerm(t, e.Env, 100, 30, "--config", e.config)
	term.WaitFor(10*time.Second, "office", "ctrl", "5 identities", "plain HTTP")
}

// waitRow polls the screen until one line holds every part (a list row:
// the name and its state), so that a row left from an earlier filter
// isn't taken for the new one.
func waitRow(t *testing.T, term *Term, d time.Duration, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		s := term.Screen()
		for _, line := range strings.Split(s, "\n") {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(line, p)
			}
			if all {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line of the screen showed %q within %v; it shows:\n%s", parts, d, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
