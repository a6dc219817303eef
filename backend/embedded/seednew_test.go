package embedded

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/idcon/idcon/model"
)

// dirNames is the names in dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// TestCreateDemoIsSeedDemoInANewFile: a database CreateDemo builds holds
// what Open and SeedDemo make (the same schema, the same lists in every
// order, state and filter), is sound, private (0600), in WAL mode once
// opened, takes changes and a top-up, and leaves no other file behind;
// whether the seed goes through the indexes or rebuilds them.
func TestCreateDemoIsSeedDemoInANewFile(t *testing.T) {
	saved := demoRebuildAt
	t.Cleanup(func() { demoRebuildAt = saved })
	for _, at := range []int{1 << 30, 100} {
		demoRebuildAt = at
		clock := newFakeClock(t0)
		ref := openStore(t, filepath.Join(t.TempDir(), "idcon.db"), clock)
		refNet, err := ref.SeedDemo(t.Context(), "demo", 700)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "sub")
		path := filepath.Join(dir, "idcon.db")
		nw, err := CreateDemo(t.Context(), path, Options{Now: clock.Now}, "demo", 700)
		if err != nil {
			t.Fatalf("CreateDemo: %v", err)
		}
		if nw.Identities != 700 || nw.Name != "demo" {
			t.Fatalf("CreateDemo made %q with %d identities; want demo with 700", nw.Name, nw.Identities)
		}
		if got := dirNames(t, dir); !slices.Equal(got, []string{"idcon.db"}) {
			t.Errorf("the directory holds %q; want the database alone", got)
		}
		for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
			if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
				t.Errorf("%s: mode %v, %v; want %v", p, fi.Mode().Perm(), err, want)
			}
		}
		s := openStore(t, path, clock)
		var mode string
		if err := s.db.QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("journal_mode %q, %v; want wal", mode, err)
		}
		if p, r := schemaOf(t, ref), schemaOf(t, s); !slices.Equal(p, r) {
			t.Errorf("the schema differs from a seeded store's:\n%q\n%q", r, p)
		}
		for _, q := range []model.ListQuery{
			{}, {Sort: model.SortExpires}, {Sort: model.SortCreated, Desc: true}, {Sort: model.SortSessions}, {Sort: model.SortState},
			{State: model.StatePending}, {State: model.StateExpired}, {State: model.StateEnrolled, Sort: model.SortSessions},
			{Filter: "ali"}, {Filter: "a"}, {Filter: "it-ops"}, {Filter: "printer-1"},
		} {
			if want, got := listAll(t, ref, refNet.ID, q), listAll(t, s, nw.ID, q); !slices.Equal(want, got) || len(got) == 0 {
				t.Errorf("%+v: %d identities in the new file, %d seeded in place (or none)", q, len(got), len(want))
			}
		}
		var ok string
		if err := s.db.QueryRowContext(t.Context(), `PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
			t.Errorf("integrity_check: %q, %v", ok, err)
		}
		if _, err := s.db.ExecContext(t.Context(), `INSERT INTO identities_text (identities_text, rank) VALUES ('integrity-check', 1)`); err != nil {
			t.Errorf("the text index does not match the identities: %v", err)
		}
		// It takes changes: a pending identity's token deleted, and a top-up.
		page, err := s.Identities(t.Context(), nw.ID, model.ListQuery{State: model.StatePending, Limit: 1})
		if err != nil || len(page.Items) != 1 {
			t.Fatalf("a pending identity: %v, %v", page.Items, err)
		}
		if _, err := s.DeleteEnrollment(t.Context(), nw.ID, page.Items[0].ID, page.Items[0].Revision); err != nil {
			t.Errorf("DeleteEnrollment on the new file: %v", err)
		}
		if more, err := s.SeedDemo(t.Context(), "demo", 900); err != nil || more.Identities != 900 {
			t.Errorf("topping the new file up to 900: %d identities, %v", more.Identities, err)
		}
	}
}

// TestCreateDemoLeavesWhatIsThere: a path that names something already (a
// file, a dangling link) is ErrDatabaseExists, left exactly as it was,
// with nothing added beside it.
func TestCreateDemoLeavesWhatIsThere(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "notes.db")
	if err := os.WriteFile(file, []byte("my notes"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "gone.db")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{file, link} {
		if _, err := CreateDemo(t.Context(), p, Options{}, "demo", 50); !errors.Is(err, ErrDatabaseExists) {
			t.Errorf("CreateDemo(%s): %v; want ErrDatabaseExists", p, err)
		}
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "my notes" {
		t.Errorf("the file holds %q, %v", b, err)
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"gone.db", "notes.db"}) {
		t.Errorf("the directory holds %q", got)
	}
}

// TestCreateDemoWhenTheFileAppears: a file another process makes at the
// path while the demo is built is kept as it is, and the built file is
// removed.
func TestCreateDemoWhenTheFileAppears(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "idcon.db")
	beforeDemoLink = func(p string) {
		if p != path {
			t.Errorf("about to link %s; want %s", p, path)
		}
		if err := os.WriteFile(path, []byte("theirs"), 0o600); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(func() { beforeDemoLink = nil })
	if _, err := CreateDemo(t.Context(), path, Options{}, "demo", 50); !errors.Is(err, ErrDatabaseExists) {
		t.Fatalf("CreateDemo: %v; want ErrDatabaseExists", err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "theirs" {
		t.Errorf("the file holds %q, %v; want theirs", b, err)
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"idcon.db"}) {
		t.Errorf("the directory holds %q", got)
	}
}

// TestCreateDemoStoppedLeavesNothing: a seed stopped half way (its context
// ended after the rows went in), or refused, leaves no file at all.
func TestCreateDemoStoppedLeavesNothing(t *testing.T) {
	saved, savedAt := seedStep, demoRebuildAt
	t.Cleanup(func() { seedStep, demoRebuildAt = saved, savedAt })
	demoRebuildAt = 100 // so that steps follow the rows
	dir := t.TempDir()
	path := filepath.Join(dir, "idcon.db")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	steps := 0
	seedStep = func(step string) {
		steps++
		if step == "rows" {
			cancel()
		}
	}
	if _, err := CreateDemo(ctx, path, Options{}, "demo", 500); err == nil {
		t.Fatal("CreateDemo stopped after its rows: no error")
	}
	if steps == 0 {
		t.Fatal("the seed never reached its rows: the test stopped nothing")
	}
	seedStep = saved
	if _, err := CreateDemo(t.Context(), path, Options{}, "demo", maxDemo+1); err == nil {
		t.Fatal("CreateDemo of too many identities: no error")
	}
	if got := dirNames(t, dir); len(got) != 0 {
		t.Errorf("the directory holds %q; want nothing", got)
	}
}

// TestCreateDemoRemovesWhatAKilledRunLeft: the hidden files of a run that
// was killed (no lock held on them) are removed by the next run for the
// same path; one that a run still holds locked, and files that only look
// alike, are kept.
func TestCreateDemoRemovesWhatAKilledRunLeft(t *testing.T) {
	dir := t.TempDir()
	write := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("half a database"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write(".idcon.db.new-0123456789ab")
	write(".idcon.db.new-0123456789ab-wal")
	live := write(".idcon.db.new-ba9876543210")
	f, err := os.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	write(".idcon.db.new-notes")
	write(".other.db.new-0123456789ab")
	if _, err := CreateDemo(t.Context(), filepath.Join(dir, "idcon.db"), Options{}, "demo", 20); err != nil {
		t.Fatal(err)
	}
	want := []string{".idcon.db.new-ba9876543210", ".idcon.db.new-notes", ".other.db.new-0123456789ab", "idcon.db"}
	if got := dirNames(t, dir); !slices.Equal(got, want) {
		t.Errorf("the directory holds %q; want %q", got, want)
	}
}
