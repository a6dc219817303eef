package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDemoStopsAtCtrlC: ctrl+c (a real SIGINT to the real binary) stops
// idcon demo half way, whether it builds a new database (its hidden file
// is removed: nothing is left in the folder) or tops one up (the
// database is as it was), each saying so in one line.
func TestDemoStopsAtCtrlC(t *testing.T) {
	// started waits until the seed is under way: the file it writes is there.
	started := func(p *Proc, path string) {
		Eventually(t, 60*time.Second, "the seed under way", func() bool {
			matches, _ := filepath.Glob(path)
			return len(matches) > 0 || func() bool { _, ok := p.Wait(0); return ok }()
		})
		if _, ok := p.Wait(0); ok {
			t.Fatalf("idcon demo ended before the test stopped it: %s", p.Stderr())
		}
	}
	stop := func(p *Proc) string {
		t.Helper()
		if err := p.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		code, ok := p.Wait(30 * time.Second)
		if !ok {
			t.Fatal("idcon demo still running 30 s after ctrl+c")
		}
		if code == 0 || strings.Count(p.Stderr(), "\n") != 1 {
			t.Errorf("idcon demo after ctrl+c: exit %d, stderr %q; want a failure in one line", code, p.Stderr())
		}
		return p.Stderr()
	}

	t.Run("new database", func(t *testing.T) {
		e := NewDB(t)
		p := Start(t, e, "demo", "--identities", "1000000")
		started(p, filepath.Join(filepath.Dir(e.DB), ".idcon.db.new-*"))
		if msg := stop(p); !strings.Contains(msg, "was not created") {
			t.Errorf("stderr %q; want it to say the database was not created", msg)
		}
		if entries, err := os.ReadDir(filepath.Dir(e.DB)); err != nil || len(entries) != 0 {
			t.Errorf("the folder holds %v (%v); want nothing", entries, err)
		}
	})
	t.Run("top-up", func(t *testing.T) {
		e := NewDB(t)
		MustRun(t, e, "demo", "--identities", "10")
		p := Start(t, e, "demo", "--identities", "1000000")
		started(p, e.DB+"-wal")
		if msg := stop(p); !strings.Contains(msg, "before the demo network was topped up") {
			t.Errorf("stderr %q; want it to say the network was not topped up", msg)
		}
		r := MustRun(t, e, "identity", "list", "--network", "demo", "--limit", "100")
		if n := strings.Count(r.Stdout, "\n"); n < 10 || n > 12 {
			t.Errorf("after the stopped top-up, the list has %d lines; want the 10 identities (and a header):\n%s", n, r.Stdout)
		}
	})
}
