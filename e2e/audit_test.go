package e2e

import (
	"os/user"
	"testing"
	"time"
)

// TestLocalConsoleIsAudited: a reset in the local console is audited as the
// local OS user, admin, via "local", like the CLI's own changes.
func TestLocalConsoleIsAudited(t *testing.T) {
	t.Parallel()
	s := &served{t: t, env: Env{Home: t.TempDir(), Vars: []string{"TZ=UTC"}}}
	s.home = s.env.Home
	seedOffice(t, s.env)
	term := StartTerm(t, s.env, 100, 30)
	term.WaitFor(10*time.Second, "laptop-alice", "phone-bob")
	openFirst(term)
	term.Send("r")
	term.WaitFor(5*time.Second, "Date enrollment expires")
	term.Type("+3d")
	term.Send("Enter")
	term.WaitFor(5*time.Second, "drops the")
	term.Send("y")
	term.WaitFor(10*time.Second, "Enrollment reset for")

	me := "unknown"
	if u, err := user.Current(); err == nil {
		me = u.Username
	}
	resets := s.auditOf("reset")
	if len(resets) != 1 || resets[0].Actor.Name != me || resets[0].Actor.Via != "local" ||
		resets[0].Actor.Role != "admin" || resets[0].Actor.Fingerprint != "" || resets[0].Identity.Name != "laptop-alice" {
		t.Fatalf("the local console's reset is audited as %+v; want %s, local, admin", resets, me)
	}
	if creates := s.auditOf("create"); len(creates) != 2 || creates[0].Actor.Via != "local" {
		t.Fatalf("the CLI's creates are audited as %+v", creates)
	}
}
