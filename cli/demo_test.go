package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestDemoMakesANewFileThenTopsItUp: idcon demo builds a database that
// isn't there yet (private, alone in its folder), tops it up when run
// again, and refuses a file that isn't a database, leaving it as it was.
func TestDemoMakesANewFileThenTopsItUp(t *testing.T) {
	home := t.TempDir()
	dir := filepath.Join(t.TempDir(), "new")
	db := filepath.Join(dir, "idcon.db")
	r := runCLI(t, home, nil, nil, "--db", db, "demo", "--identities", "30")
	if r.code != exitOK || !strings.Contains(r.stdout, "ready with 30 identities") {
		t.Fatalf("idcon demo into a new file: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"idcon.db"}) {
		t.Errorf("the folder holds %q; want the database alone", names)
	}
	if fi, err := os.Stat(db); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the database's mode: %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	r = runCLI(t, home, nil, nil, "--db", db, "demo", "--identities", "45")
	if r.code != exitOK || !strings.Contains(r.stdout, "ready with 45 identities") {
		t.Fatalf("idcon demo topping up: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, home, nil, nil, "--db", db, "identity", "list", "--network", "demo", "--limit", "100")
	if r.code != exitOK || strings.Count(r.stdout, "\n") < 45 {
		t.Errorf("identity list after the top-up: exit %d, %d lines\n%s", r.code, strings.Count(r.stdout, "\n"), r.stderr)
	}
	notes := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notes, []byte("my notes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, home, nil, nil, "--db", notes, "demo", "--identities", "10")
	if r.code == exitOK || !strings.Contains(r.stderr, "not an idcon database") {
		t.Errorf("idcon demo on a text file: exit %d\n%s", r.code, r.stderr)
	}
	if b, err := os.ReadFile(notes); err != nil || string(b) != "my notes\n" {
		t.Errorf("the text file now holds %q, %v", b, err)
	}
}
