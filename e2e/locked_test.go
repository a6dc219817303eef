package e2e

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestCLIWaitsForALockedDatabase: while another program holds the
// database's write lock, a change from the CLI waits instead of failing,
// and goes through once the lock is released; a lock held longer than the
// busy timeout ends the command with one line naming the file and saying
// to try again, with nothing changed.
func TestCLIWaitsForALockedDatabase(t *testing.T) {
	t.Parallel()
	e := NewDB(t)
	MustRun(t, e, "network", "create", "office")
	MustRun(t, e, "identity", "create", "phone-bob", "--expires", "+7d")
	MustRun(t, e, "identity", "create", "tablet-dave", "--expires", "+7d")
	db := openRaw(t, e.DB)

	hold := func() (release func()) {
		t.Helper()
		conn, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(context.Background(), `BEGIN IMMEDIATE`); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(context.Background(), `UPDATE networks SET demo_seeded = demo_seeded`); err != nil {
			t.Fatal(err)
		}
		return func() {
			if _, err := conn.ExecContext(context.Background(), `ROLLBACK`); err != nil {
				t.Error(err)
			}
			conn.Close()
		}
	}

	release := hold()
	p := Start(t, e, "enrollment", "delete", "phone-bob", "--yes")
	time.Sleep(300 * time.Millisecond) // longer than a blink
	if p.Exited() {
		release()
		t.Fatalf("the delete ended while the database was locked:\nstdout: %s\nstderr: %s", p.Stdout(), p.Stderr())
	}
	release()
	if code, ok := p.Wait(30 * time.Second); !ok || code != 0 {
		t.Fatalf("after the lock was released the delete ended %d (%v):\nstdout: %s\nstderr: %s", code, ok, p.Stdout(), p.Stderr())
	}
	if s := decode[identity](t, MustRun(t, e, "identity", "show", "phone-bob", "--json")).State; s != "none" {
		t.Errorf("phone-bob is %s after the delete, want none", s)
	}

	release = hold()
	defer func() { release() }()
	r := Run(t, e, "enrollment", "delete", "tablet-dave", "--yes")
	if r.Code != 1 || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
		t.Fatalf("a delete under a lock that isn't released: want exit 1 and one line:\n%s", r)
	}
	for _, want := range []string{e.DB, "locked by another idcon process", "try again"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("the error doesn't say %q: %s", want, r.Stderr)
		}
	}
	release()
	release = func() {}
	if s := decode[identity](t, MustRun(t, e, "identity", "show", "tablet-dave", "--json")).State; s != "pending" {
		t.Errorf("tablet-dave is %s after the refused delete, want pending", s)
	}
}
