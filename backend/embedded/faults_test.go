package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// The faults an admin's database can meet: another process holding the
// write lock, a full disk, a file that can't be written. Each must end in
// one clear message and leave the database exactly as it was.

// faultStore is a store holding one enrolled identity with two sessions:
// a reset of it touches every table (token, certificate, sessions,
// identity), so a half-applied one would show.
func faultStore(t *testing.T) (*Store, string, model.Identity) {
	t.Helper()
	s, clock, n := testStore(t)
	tok := mustCreate(t, s, n.ID, "laptop-alice", t0.Add(7*day))
	fx := &fixture{s: s, clock: clock}
	fx.Enroll(t, n.ID, tok.Identity.ID)
	fx.Connect(t, n.ID, tok.Identity.ID, 2)
	x := mustGet(t, s, n.ID, tok.Identity.ID)
	if x.State(clock.Now()) != model.StateEnrolled || x.ActiveSessions != 2 {
		t.Fatalf("setup: %+v", x)
	}
	return s, n.ID, x
}

// rawDB opens the store's file the way another program would: a plain
// connection with no busy timeout of its own.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// snapshot is every row of every table, in a stable order: what "nothing
// changed" compares.
func snapshot(t *testing.T, path string) string {
	t.Helper()
	db := rawDB(t, path)
	var b strings.Builder
	for _, table := range []string{"networks", "identities", "tokens", "certificates", "sessions"} {
		rows, err := db.Query(`SELECT * FROM ` + table + ` ORDER BY rowid`)
		if err != nil {
			t.Fatalf("snapshot %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %v\n", table, vals)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return b.String()
}

// integrityOK fails the test unless SQLite finds the file sound.
func integrityOK(t *testing.T, path string) {
	t.Helper()
	var res string
	if err := rawDB(t, path).QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check: %q, %v", res, err)
	}
}

// holdWriteLock takes the database's write lock from another connection,
// as another idcon process in the middle of a change would, and returns
// the function that lets it go.
func holdWriteLock(t *testing.T, path string) (release func()) {
	t.Helper()
	conn, err := rawDB(t, path).Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), `BEGIN IMMEDIATE`); err != nil {
		t.Fatalf("BEGIN IMMEDIATE: %v", err)
	}
	// Write something, so the lock holder really has a change under way.
	if _, err := conn.ExecContext(context.Background(), `UPDATE networks SET demo_seeded = demo_seeded`); err != nil {
		t.Fatal(err)
	}
	done := false
	release = func() {
		if !done {
			done = true
			if _, err := conn.ExecContext(context.Background(), `ROLLBACK`); err != nil {
				t.Errorf("ROLLBACK: %v", err)
			}
			conn.Close()
		}
	}
	t.Cleanup(release)
	return release
}

// TestMutationWaitsForAnotherWriter: while another process holds the write
// lock a reset waits (SQLite's busy handler retries with growing sleeps)
// instead of failing, changes nothing meanwhile, and goes through once the
// lock is released.
func TestMutationWaitsForAnotherWriter(t *testing.T) {
	s, net, x := faultStore(t)
	before := snapshot(t, s.Path())
	release := holdWriteLock(t, s.Path())

	type result struct {
		tok backend.Token
		err error
	}
	done := make(chan result, 1)
	go func() {
		tok, err := s.ResetEnrollment(context.Background(), net, x.ID, x.Revision, t0.Add(7*day))
		done <- result{tok, err}
	}()
	// Longer than a blink: the reset must still be waiting, and the
	// database unchanged (readers aren't blocked by the writer in WAL).
	select {
	case r := <-done:
		t.Fatalf("the reset finished while another process held the write lock: %+v", r)
	case <-time.After(300 * time.Millisecond):
	}
	if got, err := s.Identity(t.Context(), net, x.ID); err != nil || got.Revision != x.Revision || got.ActiveSessions != 2 {
		t.Fatalf("while waiting the identity reads %+v, %v; want it untouched", got, err)
	}
	release()
	r := <-done
	if r.err != nil {
		t.Fatalf("the reset failed after the lock was released: %v", r.err)
	}
	if r.tok.SessionsDropped != 2 || r.tok.Identity.HasCredential || r.tok.Identity.Enrollment == nil {
		t.Errorf("after the wait the reset returned %+v", r.tok)
	}
	if snapshot(t, s.Path()) == before {
		t.Error("the reset reported success but the database is unchanged")
	}
	integrityOK(t, s.Path())
}

// TestMutationGivesUpOnAStuckLock: when the lock is held past the call's
// deadline the reset fails as unavailable, saying why, and nothing at all
// has changed; when it is held past the busy timeout (a process stuck
// mid-change) the message names the database and says to try again.
func TestMutationGivesUpOnAStuckLock(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the 5 s busy timeout: not in -short runs (make mutate)")
	}
	s, net, x := faultStore(t)
	before := snapshot(t, s.Path())
	holdWriteLock(t, s.Path())

	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	_, err := s.ResetEnrollment(ctx, net, x.ID, x.Revision, t0.Add(7*day))
	if !errors.Is(err, backend.ErrUnavailable) {
		t.Fatalf("reset under a held lock past its deadline: %v; want unavailable", err)
	}
	if !strings.Contains(err.Error(), "resetting") || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("message %q doesn't say what timed out", err)
	}

	// No deadline of its own: the busy timeout decides.
	_, err = s.ResetEnrollment(context.Background(), net, x.ID, x.Revision, t0.Add(7*day))
	if !errors.Is(err, backend.ErrUnavailable) {
		t.Fatalf("reset under a lock held past the busy timeout: %v; want unavailable", err)
	}
	for _, want := range []string{s.Path(), "locked by another idcon process", "try again"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q doesn't say %q", err, want)
		}
	}
	if after := snapshot(t, s.Path()); after != before {
		t.Errorf("a failed reset changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestDiskFullIsClearAndChangesNothing fills the "disk" for real: SQLite
// is told the file may not grow (PRAGMA max_page_count), so writing the
// next page fails with SQLITE_FULL exactly as on a full file system. The
// admin reads what is wrong and what to do; the database is unchanged and
// sound, and works again once there is room.
func TestDiskFullIsClearAndChangesNothing(t *testing.T) {
	s, net, x := faultStore(t)
	// One connection, so the limit applies to every call of the store.
	s.db.SetMaxOpenConns(1)
	s.db.SetMaxIdleConns(1)
	var pages int
	if err := s.db.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, s.Path())

	// Attributes big enough to need new pages.
	attrs := make([]string, 200)
	for i := range attrs {
		attrs[i] = fmt.Sprintf("#attribute-%03d-%s", i, strings.Repeat("x", 80))
	}
	_, err := s.CreateIdentity(t.Context(), net, model.NewIdentity{Name: "phone-bob", Attributes: attrs, ExpiresAt: t0.Add(7 * day)})
	if !errors.Is(err, backend.ErrUnavailable) {
		t.Fatalf("create on a full disk: %v; want unavailable", err)
	}
	for _, want := range []string{"full", "free some space", s.Path()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q doesn't say %q", err, want)
		}
	}
	if after := snapshot(t, s.Path()); after != before {
		t.Errorf("a failed create changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if _, err := s.IdentityByName(t.Context(), net, "phone-bob"); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("after the failed create phone-bob: %v; want not found", err)
	}
	integrityOK(t, s.Path())

	// Room again: the same request succeeds, and the enrolled identity
	// was never touched.
	if _, err := s.db.Exec(`PRAGMA max_page_count = 1073741823`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateIdentity(t.Context(), net, model.NewIdentity{Name: "phone-bob", Attributes: attrs, ExpiresAt: t0.Add(7 * day)}); err != nil {
		t.Fatalf("create once there is room: %v", err)
	}
	if got := mustGet(t, s, net, x.ID); got.Revision != x.Revision || got.ActiveSessions != 2 {
		t.Errorf("the enrolled identity changed: %+v", got)
	}
	integrityOK(t, s.Path())
}

// TestReadOnlyDatabaseIsClearAndChangesNothing: a database that can't be
// written (a read-only mount, a file of another user: here the
// connection is made read-only with PRAGMA query_only, since the tests run
// as root, whom file modes don't stop) refuses a reset with a message
// saying what to check, and the file is unchanged and sound.
func TestReadOnlyDatabaseIsClearAndChangesNothing(t *testing.T) {
	s, net, x := faultStore(t)
	s.db.SetMaxOpenConns(1)
	s.db.SetMaxIdleConns(1)
	if _, err := s.db.Exec(`PRAGMA query_only = 1`); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, s.Path())
	_, err := s.ResetEnrollment(t.Context(), net, x.ID, x.Revision, t0.Add(7*day))
	if !errors.Is(err, backend.ErrUnavailable) {
		t.Fatalf("reset of a read-only database: %v; want unavailable", err)
	}
	for _, want := range []string{"can't write the database", s.Path(), "owner and mode"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q doesn't say %q", err, want)
		}
	}
	// Reading still works: the console can still show the network.
	if got, err := s.Identity(t.Context(), net, x.ID); err != nil || got.Revision != x.Revision {
		t.Errorf("reading a read-only database: %+v, %v", got, err)
	}
	if after := snapshot(t, s.Path()); after != before {
		t.Errorf("a refused reset changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	integrityOK(t, filepath.Clean(s.Path()))
}
