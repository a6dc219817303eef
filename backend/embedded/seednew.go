package embedded

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// ErrDatabaseExists is CreateDemo's error when path names a file already
// (or one appeared while it worked): nothing there was touched, and the
// caller seeds into it the ordinary way.
var ErrDatabaseExists = errors.New("the database file exists")

// CreateDemo makes a new database at path holding the demo network name
// with n identities, as Open and SeedDemo would, but faster: it builds the
// file under a hidden name beside path, which no other process knows,
// without a journal (each page is written once, where WAL mode writes
// every page of the seed to the WAL and then copies it into the file:
// 1,000,000 identities took 46 s that way and 33 s this way), then syncs
// it and links it in at path, which must not exist. If anything fails, or
// ctx ends, the hidden file is removed and path is left as it was: a
// seed never leaves half a database. A hidden file that a killed run
// left behind is removed by the next run for the same path (one being
// built is locked and kept). When path exists, or appears before the
// link, the error is ErrDatabaseExists and nothing was changed.
func CreateDemo(ctx context.Context, path string, opts Options, name string, n int) (model.Network, error) {
	if path == "" {
		return model.Network{}, backend.Invalid("no database path given: pass the path of an idcon database file")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return model.Network{}, backend.Invalid("can't resolve the database path %q: %v", path, err)
	}
	if _, err := os.Lstat(abs); err == nil {
		return model.Network{}, ErrDatabaseExists
	} else if !errors.Is(err, fs.ErrNotExist) {
		return model.Network{}, backend.Unavailable("can't read the database %s: %v", abs, err)
	}
	var suffix [6]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return model.Network{}, backend.Unavailable("making the database %s: %v", abs, err)
	}
	dir, base := filepath.Dir(abs), filepath.Base(abs)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return model.Network{}, backend.Unavailable("can't create the directory for the database %s: %v", abs, err)
	}
	removeStaleDemoFiles(dir, base)
	tmp := filepath.Join(dir, demoPrefix(base)+hex.EncodeToString(suffix[:]))
	// The hidden file is locked while it is built, so that a later run
	// can tell one left by a killed process (removeStaleDemoFiles) from
	// one being built.
	lock, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return model.Network{}, backend.Unavailable("can't create the database %s: %v", abs, err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		os.Remove(tmp)
		return model.Network{}, backend.Unavailable("can't create the database %s: %v", abs, err)
	}
	built := false
	defer func() {
		if !built {
			removeDatabaseFiles(tmp)
		}
	}()
	s, err := Open(tmp, opts)
	if err != nil {
		return model.Network{}, err
	}
	s.unjournaled = true
	nw, err := s.SeedDemo(ctx, name, n)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return model.Network{}, err
	}
	if err := ctx.Err(); err != nil {
		return model.Network{}, cancelled("making the demo database", err)
	}
	// The file is whole once it is synced: SQLite wrote it without a
	// journal and without syncing (unjournaled).
	if err := syncFile(tmp); err != nil {
		return model.Network{}, backend.Unavailable("writing the database %s: %v", abs, err)
	}
	for _, sfx := range []string{"-wal", "-journal"} {
		if fi, err := os.Stat(tmp + sfx); err == nil && fi.Size() > 0 {
			return model.Network{}, backend.Unavailable("making the database %s: SQLite left a %s file behind", abs, sfx)
		}
	}
	if beforeDemoLink != nil {
		beforeDemoLink(abs)
	}
	// A link, not a rename: it fails if path has appeared since, where a
	// rename would replace what is there.
	if err := os.Link(tmp, abs); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return model.Network{}, ErrDatabaseExists
		}
		return model.Network{}, backend.Unavailable("can't create the database %s: %v", abs, err)
	}
	built = true
	removeDatabaseFiles(tmp)
	if d, err := os.Open(dir); err == nil {
		d.Sync() //nolint:errcheck // the file itself is synced; the directory's entry is best effort
		d.Close()
	}
	return nw, nil
}

// beforeDemoLink, set only by tests, runs before CreateDemo links its file
// in: where another process could create the same path.
var beforeDemoLink func(path string)

// demoPrefix is the start of the name of CreateDemo's hidden file for the
// database named base; 12 hex digits follow.
func demoPrefix(base string) string { return "." + base + ".new-" }

// removeStaleDemoFiles removes the hidden files of CreateDemo runs for
// the database base in dir that ended without removing them (a process
// killed half way): those no process holds locked. Best effort: what it
// can't remove is left.
func removeStaleDemoFiles(dir, base string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := demoPrefix(base)
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || len(rest) != 12 || strings.Trim(rest, "0123456789abcdef") != "" || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			removeDatabaseFiles(path) // unlocked: its process is gone
		}
		f.Close()
	}
}

// removeDatabaseFiles removes a database file and SQLite's files beside it.
func removeDatabaseFiles(path string) {
	for _, sfx := range []string{"", "-wal", "-shm", "-journal"} {
		os.Remove(path + sfx)
	}
}
