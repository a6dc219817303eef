package sshserver_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/audit"
	"github.com/idcon/idcon/sshserver"
)

func withGrace(d time.Duration) serverOption {
	return func(c *sshserver.Config, _ *world) { c.ShutdownGrace = d }
}

// TestShutdownGraceLetsConsolesFinish: on SIGTERM (the context cancelled)
// every open console (real ssh clients in tmux) is told the server is
// stopping and goes on working through the grace period: alice's reset
// made after the notice is done and audited; the server waits for carol,
// who is still open, and stops as soon as the last console has left, well
// before a grace period of a minute is out.
func TestShutdownGraceLetsConsolesFinish(t *testing.T) {
	s := startServer(t, withGrace(time.Minute))
	x := newTmux(t)
	x.start("a", 120, 30, nil, s.sshArgs(s.alice, "-tt")...)
	x.start("c", 120, 30, nil, s.sshArgs(s.carol, "-tt")...)
	x.waitFor("a", "identities=3")
	x.waitFor("c", "identities=3")

	s.cancel() // as SIGTERM does in `idcon serve`
	for _, w := range []string{"a", "c"} {
		x.waitFor(w, "the server is stopping: finish what you are doing")
	}
	waitUntil(t, "the listener to close", func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+s.port)
		if err == nil {
			c.Close()
		}
		return err != nil
	})

	x.keys("a", "r") // a change made inside the grace period goes through
	x.waitFor("a", "reset=ok")
	x.keys("a", "q")
	waitUntil(t, "alice's console to end", func() bool { d, _ := x.dead("a"); return d })
	if strings.Contains(x.screen("a"), "idcon: the server is shutting down") {
		t.Error("alice left on her own, but was told the server ended her console")
	}
	select {
	case err := <-s.served:
		t.Fatalf("the server stopped (%v) while carol's console was open in the grace period", err)
	case <-time.After(500 * time.Millisecond):
	}
	if d, _ := x.dead("c"); d {
		t.Fatal("carol's console was closed inside the grace period")
	}
	x.keys("c", "q")
	if err := s.stop(); err != nil { // well before the minute: no console is left
		t.Fatalf("ListenAndServe: %v", err)
	}
	es := s.auditEntries()
	if len(es) != 1 || es[0].Action != audit.ActionReset || es[0].Result != "ok" || es[0].Actor.Name != "alice" {
		t.Fatalf("alice's reset in the grace period is not in the audit log as done: %+v", es)
	}
	after, _ := s.w.store.Identity(context.Background(), s.w.net.ID, s.w.erin.ID)
	if after.Revision == s.w.erin.Revision {
		t.Fatal("alice's reset in the grace period was not made")
	}
}

// TestShutdownGraceEndsConsolesThatStay: a console still open when the
// grace period is out is closed, saying why, and the server stops.
func TestShutdownGraceEndsConsolesThatStay(t *testing.T) {
	s := startServer(t, withGrace(time.Second))
	x := newTmux(t)
	x.start("c", 120, 30, nil, s.sshArgs(s.carol, "-tt")...)
	x.waitFor("c", "identities=3")
	s.cancel()
	x.waitFor("c", "the server is stopping")
	if err := s.stop(); err != nil {
		t.Fatalf("ListenAndServe: %v", err)
	}
	x.waitFor("c", "idcon: the server is shutting down")
	waitUntil(t, "carol's console to end", func() bool { d, _ := x.dead("c"); return d })
	if !strings.Contains(s.logs.String(), "grace_s=1") {
		t.Errorf("the log does not give the grace period:\n%s", s.logs.String())
	}
}

func TestDefaultShutdownGraceIsTenSeconds(t *testing.T) {
	if sshserver.DefaultShutdownGrace != 10*time.Second {
		t.Fatalf("DefaultShutdownGrace = %s; the issue and docs/SSH.md say 10s", sshserver.DefaultShutdownGrace)
	}
}
