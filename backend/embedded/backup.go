package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/idcon/idcon/backend"
)

// Backup writes a consistent copy of the database to path with SQLite's
// VACUUM INTO, online: it reads one snapshot of the file (WAL lets writers,
// a bulk action among them, go on meanwhile), so the copy is the database
// as one moment left it. The copy is written to a new file (mode 0600)
// beside path, checked (quick_check), synced, then renamed over path, so a
// failed backup leaves no half copy and never harms the file it would have
// replaced. An existing path is refused unless overwrite is set, and then
// only a regular file is replaced; the database itself never is.
func (s *Store) Backup(ctx context.Context, path string, overwrite bool) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return backend.Invalid("can't resolve the backup path %q: %v", path, err)
	}
	if fi, err := os.Lstat(abs); err == nil {
		switch {
		case !fi.Mode().IsRegular():
			return backend.Invalid("%s exists and is not a regular file (%s): choose another backup path", abs, kindOf(fi.Mode()))
		case sameFile(abs, s.path):
			return backend.Invalid("%s is the database itself: choose another backup path", abs)
		case !overwrite:
			return backend.Conflict("%s exists: pass --force to replace it, or choose another path", abs)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return backend.Unavailable("can't check the backup path %s: %v", abs, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".part-*")
	if err != nil {
		return backend.Unavailable("can't write the backup in %s: %v", filepath.Dir(abs), err)
	}
	tmpPath := tmp.Name()
	_ = tmp.Close() // empty: VACUUM INTO fills an empty file
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(tmpPath)
		}
	}()
	if _, err := s.db.ExecContext(ctx, "VACUUM INTO ?", tmpPath); err != nil {
		return backend.Unavailable("the backup failed: %v", err)
	}
	if err := quickCheck(ctx, tmpPath); err != nil {
		return err
	}
	if err := syncFile(tmpPath); err != nil {
		return backend.Unavailable("can't sync the backup: %v", err)
	}
	if err := os.Rename(tmpPath, abs); err != nil {
		return backend.Unavailable("can't put the backup at %s: %v", abs, err)
	}
	ok = true
	if d, err := os.Open(filepath.Dir(abs)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

func quickCheck(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return backend.Unavailable("can't open the backup to check it: %v", err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&res); err != nil {
		return backend.Unavailable("can't check the backup: %v", err)
	}
	if res != "ok" {
		return backend.Unavailable("the backup failed its check (%s): the database may be damaged; run idcon with the original and see docs/OPERATING.md", res)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	return f.Sync()
}

func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m.IsDir():
		return "a folder"
	case m&(fs.ModeDevice|fs.ModeCharDevice) != 0:
		return "a device"
	}
	return fmt.Sprintf("mode %v", m.Type())
}
