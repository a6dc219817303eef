package e2e

import (
	"testing"
	"time"
)

// consoleEnv is a demo database of its own, with a second network so the
// console opens on the network picker.
func consoleEnv(t *testing.T) Env {
	t.Helper()
	e := Env{Home: t.TempDir(), Vars: []string{"TZ=UTC"}}
	MustRun(t, e, "--demo", "demo")
	MustRun(t, e, "--demo", "network", "create", "lab")
	return e
}

// firstIn returns an identity of the demo network in the given state.
func firstIn(t *testing.T, e Env, state string) identity {
	t.Helper()
	type page struct {
		Items []identity `json:"items"`
		Total int        `json:"total"`
	}
	p := decode[page](t, MustRun(t, e, "--demo", "identity", "list", "--network", "demo", "--state", state, "--limit", "1", "--json"))
	if len(p.Items) == 0 {
		t.Fatalf("the demo network has no %s identity", state)
	}
	return p.Items[0]
}

func showDemo(t *testing.T, e Env, name string) identity {
	t.Helper()
	return decode[identity](t, MustRun(t, e, "--demo", "identity", "show", name, "--network", "demo", "--json"))
}

// openIdentity starts the console, picks the demo network, filters the
// list down to name and opens it.
func openIdentity(t *testing.T, e Env, name string) *Term {
	t.Helper()
	term := StartTerm(t, e, 100, 30, "--demo")
	term.WaitFor(10*time.Second, "demo", "lab") // the picker: two networks, none used before
	term.Type("demo")
	term.Send("Enter")
	term.WaitFor(10*time.Second, "of 40")
	term.Send("/")
	term.Type(name)
	term.WaitFor(5*time.Second, "1–1 of 1")
	term.Send("Enter") // keeps the filter and leaves the filter field
	term.WaitFor(5*time.Second, "enter open")
	term.Send("Enter")
	term.WaitFor(5*time.Second, "Enrollment", "ID ")
	return term
}

// TestConsoleResetFlow: an admin resets an enrolled identity with a typed
// date, confirms, sees the notice and the delivery actions at once, and
// the database agrees.
func TestConsoleResetFlow(t *testing.T) {
	t.Parallel()
	e := consoleEnv(t)
	before := firstIn(t, e, "enrolled")
	term := openIdentity(t, e, before.Name)
	term.WaitFor(5*time.Second, "Reset enrollment (r)")

	// esc in the date picker changes nothing.
	term.Send("r")
	term.WaitFor(5*time.Second, "Date enrollment expires")
	term.Send("Escape")
	term.WaitGone(5*time.Second, "Date enrollment expires")
	if got := showDemo(t, e, before.Name); !sameJSON(got, before) {
		t.Fatalf("esc in the date picker changed the identity: %+v, was %+v", got, before)
	}

	date := time.Now().UTC().AddDate(0, 0, 20).Format("2006-01-02")
	term.Send("r")
	term.WaitFor(5*time.Second, "Date enrollment expires")
	term.Type(date) // typing a digit starts the typed entry at once
	term.WaitFor(5*time.Second, date)
	term.Send("Enter")
	term.WaitFor(5*time.Second, "drops the", "Cancel") // the warning, focus on Cancel
	term.Send("y")
	term.WaitFor(10*time.Second, "Enrollment reset for", "Download JWT (j)", "Show QR code (c)", "Send registration email (m)")

	after := showDemo(t, e, before.Name)
	if after.State != "pending" || after.ExpiresAt == nil || *after.ExpiresAt != date+"T23:59:59Z" {
		t.Errorf("after reset: state %s, expires %v; want pending, %sT23:59:59Z", after.State, deref(after.ExpiresAt), date)
	}
	if after.ActiveSessions != 0 || after.Revision <= before.Revision {
		t.Errorf("after reset: %d sessions, revision %d (was %d)", after.ActiveSessions, after.Revision, before.Revision)
	}
}

// TestConsoleReissueFlow: an expired token is reissued with a relative
// typed date; no confirmation is needed because nothing in use changes.
func TestConsoleReissueFlow(t *testing.T) {
	t.Parallel()
	e := consoleEnv(t)
	before := firstIn(t, e, "expired")
	term := openIdentity(t, e, before.Name)
	term.WaitFor(5*time.Second, "Reissue enrollment (i)", "expired")
	term.Send("i")
	term.WaitFor(5*time.Second, "Date enrollment expires")
	term.Type("+10d")
	term.Send("Enter")
	term.WaitFor(10*time.Second, "Enrollment reissued for", "Download JWT (j)")

	after := showDemo(t, e, before.Name)
	exp, err := time.Parse(time.RFC3339, deref(after.ExpiresAt))
	if after.State != "pending" || err != nil {
		t.Fatalf("after reissue: state %s, expires %q", after.State, deref(after.ExpiresAt))
	}
	if d := time.Until(exp); d < 9*24*time.Hour || d > 10*24*time.Hour+time.Minute {
		t.Errorf("after reissue the token expires in %v, want about 10 days", d)
	}
}

// TestConsoleDeleteFlow: deleting an unused token asks with No focused;
// n keeps it, y deletes it.
func TestConsoleDeleteFlow(t *testing.T) {
	t.Parallel()
	e := consoleEnv(t)
	before := firstIn(t, e, "pending")
	term := openIdentity(t, e, before.Name)
	term.WaitFor(5*time.Second, "Delete enrollment (d)")

	term.Send("d")
	term.WaitFor(5*time.Second, "irreversible")
	term.Send("n")
	term.WaitGone(5*time.Second, "irreversible")
	if got := showDemo(t, e, before.Name); !sameJSON(got, before) {
		t.Fatalf("n in the delete confirmation changed the identity: %+v", got)
	}

	term.Send("d")
	term.WaitFor(5*time.Second, "irreversible")
	term.Send("y")
	term.WaitFor(10*time.Second, "Enrollment deleted for")
	if got := showDemo(t, e, before.Name); got.State != "none" || got.ExpiresAt != nil {
		t.Errorf("after delete: state %s, expires %v; want none and no token", got.State, deref(got.ExpiresAt))
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

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
