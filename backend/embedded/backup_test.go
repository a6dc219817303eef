package embedded

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// allNames lists every identity name of network id, page by page.
func allNames(t *testing.T, s *Store, id string) []string {
	t.Helper()
	var names []string
	for off := 0; ; off += 500 {
		p, err := s.Identities(context.Background(), id, model.ListQuery{Offset: off, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range p.Items {
			names = append(names, x.Name)
		}
		if off+500 >= p.Total {
			return names
		}
	}
}

// TestBackupWhileABulkRuns: a copy made with Backup while another handle
// on the file (as another process would) is resetting every enrolled
// identity in batches is a whole database: SQLite's own integrity and
// foreign key checks pass on it, it opens as a Store and lists every
// identity of the original, and it is mode 0600.
func TestBackupWhileABulkRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 6,000 identities")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "idcon.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	n, err := s.SeedDemo(ctx, "demo", 6000)
	if err != nil {
		t.Fatal(err)
	}
	want := allNames(t, s, n.ID)

	bulk, err := Open(path, Options{}) // the other process
	if err != nil {
		t.Fatal(err)
	}
	defer bulk.Close()
	var done atomic.Int64
	started := make(chan struct{})
	finished := make(chan error, 1)
	go func() {
		first := true
		finished <- bulk.BulkApply(ctx, n.ID, backend.Selection{All: true}, model.ActionReset, time.Now().Add(72*time.Hour),
			func(r backend.BulkResult) bool {
				if r.Err == nil {
					done.Add(1)
				}
				if first {
					first = false
					close(started)
				}
				return true
			})
	}()
	<-started
	copyPath := filepath.Join(dir, "backup", "copy.db")
	if err := os.MkdirAll(filepath.Dir(copyPath), 0o700); err != nil {
		t.Fatal(err)
	}
	at := done.Load()
	if err := s.Backup(ctx, copyPath, false); err != nil {
		t.Fatalf("Backup during the bulk: %v", err)
	}
	if err := <-finished; err != nil {
		t.Fatalf("the bulk beside the backup: %v", err)
	}
	t.Logf("the backup began after %d resets and the bulk made %d in all", at, done.Load())
	if entries, _ := os.ReadDir(filepath.Dir(copyPath)); len(entries) != 1 {
		t.Errorf("the backup left files beside the copy: %v", entries)
	}

	fi, err := os.Stat(copyPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("the copy is %v, want 0600", fi.Mode().Perm())
	}
	raw, err := sql.Open("sqlite", "file:"+copyPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var check string
	if err := raw.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check of the copy: %q %v", check, err)
	}
	rows, err := raw.Query("PRAGMA foreign_key_check")
	if err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Error("foreign_key_check of the copy found rows")
	}
	rows.Close()
	raw.Close()

	c, err := Open(copyPath, Options{})
	if err != nil {
		t.Fatalf("the copy doesn't open: %v", err)
	}
	defer c.Close()
	got := allNames(t, c, n.ID)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("the copy lists %d identities, the original %d", len(got), len(want))
	}
}

// TestBackupRefusals: an existing file is kept unless overwrite is asked,
// and then only a regular file is replaced (never a symlink, a folder or a
// device); the database itself is never the target.
func TestBackupRefusals(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(filepath.Join(dir, "idcon.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.CreateNetwork(ctx, "office"); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(dir, "old.db")
	if err := os.WriteFile(existing, []byte("yesterday's"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(ctx, existing, false); !errors.Is(err, backend.ErrConflict) {
		t.Errorf("over an existing file without overwrite: %v", err)
	}
	if b, _ := os.ReadFile(existing); string(b) != "yesterday's" {
		t.Error("the existing file was changed")
	}
	if err := s.Backup(ctx, existing, true); err != nil {
		t.Errorf("over an existing regular file with overwrite: %v", err)
	}
	if c, err := Open(existing, Options{}); err != nil {
		t.Errorf("the overwritten copy doesn't open: %v", err)
	} else {
		c.Close()
	}
	link := filepath.Join(dir, "link.db")
	if err := os.Symlink(filepath.Join(dir, "elsewhere"), link); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]string{"a symlink": link, "a folder": dir, "a device": "/dev/null", "the database": filepath.Join(dir, "idcon.db")} {
		if err := s.Backup(ctx, p, true); err == nil {
			t.Errorf("overwrote %s (%s)", name, p)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "elsewhere")); err == nil {
		t.Error("the backup followed the symlink")
	}
	if err := s.Backup(ctx, filepath.Join(dir, "no", "such", "dir", "x.db"), false); err == nil {
		t.Error("a backup into a missing folder succeeded")
	}
}
