package embedded

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// TestOpenCreatesPrivateFile: a new database and its directory are
// readable by their owner only, and so are SQLite's side files.
func TestOpenCreatesPrivateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "idcon")
	path := filepath.Join(dir, "idcon.db")
	s := openStore(t, path, nil)
	if _, err := s.CreateNetwork(t.Context(), "demo"); err != nil { // a write, so the WAL exists
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, path + "-wal": 0o600, dir: 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
	if s.Path() != path {
		t.Errorf("Path() = %s, want %s", s.Path(), path)
	}
}

// TestOpenRefusesWhatIsNotADatabase: each bad path gets a clear, classed
// error, and nothing is written to it.
func TestOpenRefusesWhatIsNotADatabase(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("shopping list: milk, eggs, and more text than a header"), 0o600); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "other.db")
	db, err := sql.Open("sqlite", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE recipes (name TEXT)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	newer := filepath.Join(dir, "newer.db")
	s := openStore(t, newer, nil)
	s.Close()
	db, err = sql.Open("sqlite", newer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	cases := []struct {
		name, path string
		class      error
		phrase     string
	}{
		{"a directory", dir, backend.ErrInvalid, "is a directory"},
		{"no path", "", backend.ErrInvalid, "no database path"},
		{"a text file", text, backend.ErrInvalid, "not an idcon database"},
		{"another program's database", foreign, backend.ErrInvalid, "another program"},
		{"a newer idcon's database", newer, backend.ErrInvalid, "upgrade idcon"},
	}
	for _, c := range cases {
		s, err := Open(c.path, Options{})
		if err == nil {
			s.Close()
		}
		wantRefused(t, c.name, err, c.class, nil, c.phrase)
	}
	if b, _ := os.ReadFile(text); string(b) != "shopping list: milk, eggs, and more text than a header" {
		t.Errorf("Open changed a text file")
	}
	if os.Geteuid() != 0 { // root reads anything
		locked := filepath.Join(dir, "locked.db")
		s := openStore(t, locked, nil)
		s.Close()
		if err := os.Chmod(locked, 0); err != nil {
			t.Fatal(err)
		}
		_, err := Open(locked, Options{})
		wantRefused(t, "an unreadable file", err, backend.ErrUnavailable, nil, "permission denied")
	}
}

// TestReopenKeepsEverything: what one Store wrote, the next one reads,
// tokens and keys included.
func TestReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idcon.db")
	clock := newFakeClock(t0)
	s := openStore(t, path, clock)
	n, err := s.CreateNetwork(t.Context(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	tok := mustCreate(t, s, n.ID, "laptop-alice", clock.Now().Add(day))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, path, clock)
	got, err := s.NetworkByName(t.Context(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != n.ID || got.SigningKey != n.SigningKey || got.Identities != 1 {
		t.Errorf("reopened network %+v, want %+v with 1 identity", got, n)
	}
	jwt, err := s.TokenJWT(t.Context(), n.ID, tok.Identity.ID)
	if err != nil || jwt != tok.JWT {
		t.Errorf("reopened TokenJWT: %v (same token: %v)", err, jwt == tok.JWT)
	}
	if _, err := EnrollToDir(t.Context(), s, tok.JWT, t.TempDir()); err != nil {
		t.Errorf("enroll after reopening: %v", err)
	}
}

// TestTwoProcessesShareTheFile: two Stores on one file (as a console and a
// CLI would be) write at once without "database is locked" failures, and a
// race for the same identity has exactly one winner.
func TestTwoProcessesShareTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idcon.db")
	clock := newFakeClock(t0)
	a, b := openStore(t, path, clock), openStore(t, path, clock)
	n, err := a.CreateNetwork(t.Context(), "demo")
	if err != nil {
		t.Fatal(err)
	}

	const each = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*each)
	for w, s := range []*Store{a, b} {
		for i := range each {
			wg.Go(func() {
				_, err := s.CreateIdentity(t.Context(), n.ID, model.NewIdentity{
					Name: fmt.Sprintf("device-%d-%d", w, i), ExpiresAt: clock.Now().Add(day),
				})
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent create: %v", err)
		}
	}
	p, err := b.Identities(t.Context(), n.ID, model.ListQuery{Limit: 1})
	if err != nil || p.Total != 2*each {
		t.Errorf("after concurrent creates: total %d, %v; want %d", p.Total, err, 2*each)
	}

	// Both reset the same enrolled identity with the revision they saw.
	tok := mustCreate(t, a, n.ID, "laptop-alice", clock.Now().Add(day))
	if _, err := EnrollToDir(t.Context(), a, tok.JWT, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if err := b.AddSessions(t.Context(), n.ID, tok.Identity.ID, 2); err != nil {
		t.Fatal(err)
	}
	x := mustGet(t, b, n.ID, tok.Identity.ID)
	results := make(chan error, 2)
	for _, s := range []*Store{a, b} {
		wg.Go(func() {
			_, err := s.ResetEnrollment(t.Context(), n.ID, x.ID, x.Revision, clock.Now().Add(day))
			results <- err
		})
	}
	wg.Wait()
	close(results)
	var ok, conflicts int
	for err := range results {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, backend.ErrConflict):
			conflicts++
		default:
			t.Errorf("racing reset: %v", err)
		}
	}
	if ok != 1 || conflicts != 1 {
		t.Errorf("racing resets: %d succeeded, %d conflicts; want 1 and 1", ok, conflicts)
	}
	if got := mustGet(t, a, n.ID, x.ID); got.Revision != x.Revision+1 || got.ActiveSessions != 0 {
		t.Errorf("after racing resets: revision %d, %d sessions; want %d and 0", got.Revision, got.ActiveSessions, x.Revision+1)
	}
}
