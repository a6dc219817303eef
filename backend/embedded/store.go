// Package embedded is idcon's default backend: a real, offline enrollment
// authority kept in one SQLite file. Each network has its own ES256 token
// signing key and a small CA for client certificates, so the whole
// lifecycle (issue, enroll, connect, reset) works without any server.
//
// Several processes may share the file (a console, a CLI reset, `connect`
// heartbeats): it runs in WAL mode, waits up to busyTimeout for a lock and
// makes every change in a BEGIN IMMEDIATE transaction, so writers queue
// instead of failing half way.
package embedded

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/embedded/walvfs"
	"github.com/idcon/idcon/model"
)

var _ backend.Backend = (*Store)(nil)

// busyTimeout is how long a call waits for another process's write lock
// before giving up as unavailable.
const busyTimeout = 5 * time.Second

// Options configures a Store.
type Options struct {
	Now    func() time.Time // clock; nil means time.Now
	Policy model.ExpiryPolicy
	// ExitAfterClose says the process exits right after Close, as a
	// one-shot command does. Close then still waits for a bulk run's last
	// checkpoint and empties the log, but leaves the connections to the
	// process's exit instead of closing them one by one, and a bulk run
	// keeps its cache to the end instead of giving it back: after a bulk
	// reset of 100,000 that was 0.3-0.4 s of freeing memory the exit
	// frees at once. The file is then as a clean close leaves it, but
	// for the -shm index and an empty -wal beside it, which SQLite uses
	// as they are on the next open.
	ExitAfterClose bool
}

// Store is an enrollment authority kept in one SQLite file. It is safe for
// concurrent use, also by several processes sharing the file.
type Store struct {
	db     *sql.DB
	path   string
	now    func() time.Time
	policy model.ExpiryPolicy
	texts  textCounts // the trigram index's counts, kept while it is unchanged
	// beforeBulkWrite, set only by tests, runs between a bulk batch's read
	// and its transaction: where another process's change makes it stale.
	beforeBulkWrite func(batch int)
	// bulkLogLimit and bulkBatchCap, set only by tests, replace the
	// log's growth between a bulk run's checkpoints (walKeeper.limit, in
	// bytes) and cap its batches' size.
	bulkLogLimit int64
	bulkBatchCap int
	// bulkCacheStart, set only by tests, replaces the size a bulk run's
	// cache starts at (bulkCachePages), and bulkCacheSized is told each
	// size the cache is given.
	bulkCacheStart int
	bulkCacheSized func(pages int)
	// upkeep is a bulk run's background syncs of the log (walKeeper),
	// and copyBack the copy of the log into the file and the giving back
	// of the bulk connection's cache, left running after the run
	// returned (see BulkApply). Close waits for both; a change that
	// retires tokens waits for copyBack, whose reads would make its own
	// truncation of the log give up.
	upkeep, copyBack sync.WaitGroup
	// unjournaled is set on CreateDemo's store, whose file no other
	// process knows yet: seeding writes it without a journal.
	unjournaled bool
	// exitAfterClose: see Options.ExitAfterClose.
	exitAfterClose bool
}

// mmapSize is how much of the database file is read through a memory
// mapping (SQLite's default cap, SQLITE_MAX_MMAP_SIZE).
const mmapSize = 0x7fff0000

// Open opens the database at path, creating it (mode 0600, its directory
// 0700) if missing, and brings its schema up to date.
func Open(path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, backend.Invalid("no database path given: pass the path of an idcon database file")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, backend.Invalid("can't resolve the database path %q: %v", path, err)
	}
	if err := prepareFile(abs); err != nil {
		return nil, err
	}
	// The file: URI lets a path hold '?' or '#'; _txlock makes every
	// read-write transaction BEGIN IMMEDIATE (read-only ones stay deferred).
	q := url.Values{
		"_txlock": {"immediate"},
		// secure_delete: a retired token's JWT (a secret) is overwritten
		// with zeros, not left in the file's free space.
		// mmap_size: pages are read from the file's mapping instead of
		// being copied into each connection's page cache. A connection's
		// first scan of a part of the file it hasn't read (the first
		// filter typed over 1,000,000 identities reads 6,500 names'
		// index entries) spent most of its time allocating and faulting
		// in that cache: the page of "al" took 11-14 ms of CPU the first
		// time in a process, 2.4-3.3 ms mapped. Writes still go through
		// write(), as SQLite does by default; SQLite caps the size at
		// what it was built for (2 GB).
		"_pragma": {fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()), "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)", "secure_delete(1)", fmt.Sprintf("mmap_size(%d)", mmapSize)},
		"_dqs":    {"0"},
	}
	if walvfs.Register() == nil {
		q["vfs"] = []string{walvfs.Name}
	}
	dsn := "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, backend.Unavailable("can't open the database %s: %v", abs, err)
	}
	// WAL lets readers run beside the one writer; a few connections are
	// enough for a console, its background loads and an SSH server.
	db.SetMaxOpenConns(6)
	db.SetMaxIdleConns(6)
	s := &Store{db: db, path: abs, now: opts.Now, policy: opts.Policy, exitAfterClose: opts.ExitAfterClose}
	if s.now == nil {
		s.now = time.Now
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*busyTimeout)
	defer cancel()
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// prepareFile checks that path can hold a database and creates it with
// mode 0600 if missing, so the file never exists with looser permissions:
// it holds the networks' signing keys and unused tokens.
func prepareFile(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return backend.Invalid("%s is a directory, not a database file: give a file path such as %s", path, filepath.Join(path, "idcon.db"))
	case err == nil && !fi.Mode().IsRegular():
		return backend.Invalid("%s is not a regular file: give the path of an idcon database file", path)
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return backend.Unavailable("can't create the directory for the database %s: %v", path, err)
		}
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil && !errors.Is(err, fs.ErrExist) { // another process may have just made it
			return backend.Unavailable("can't create the database %s: %v", path, err)
		}
		if f != nil {
			return f.Close()
		}
		return nil
	case err != nil:
		return backend.Unavailable("can't read the database %s: %v", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return backend.Unavailable("can't open the database %s: permission denied; check the file's owner and mode", path)
		}
		return backend.Unavailable("can't open the database %s: %v", path, err)
	}
	defer f.Close()
	head := make([]byte, 16)
	n, err := io.ReadFull(f, head)
	if n == 0 && (err == io.EOF) {
		return nil // empty: a new database
	}
	if err != nil || !bytes.Equal(head, []byte("SQLite format 3\x00")) {
		return backend.Invalid("%s is not an idcon database (not an SQLite file): give another path, or move the file away", path)
	}
	return nil
}

// Close releases the database.
func (s *Store) Close() error {
	s.upkeep.Wait()   // a bulk run's background syncs (see walKeeper)
	s.copyBack.Wait() // a bulk run's last checkpoint (see BulkApply)
	if s.exitAfterClose {
		// The log emptied, as the last connection's close would: no page
		// of it (a retired token's among them) outlives the process.
		s.forgetRetired()
		return nil
	}
	if err := s.db.Close(); err != nil {
		return backend.Unavailable("closing the database %s: %v", s.path, err)
	}
	return nil
}

// Path is the database file's absolute path.
func (s *Store) Path() string { return s.path }

// querier is what both a transaction and the database offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// write runs fn in a BEGIN IMMEDIATE transaction and commits it if fn
// succeeds. now is read once the write lock is held, so the state fn sees
// and the times it writes agree even if another process wrote just before.
func (s *Store) write(ctx context.Context, what string, fn func(tx *sql.Tx, now time.Time) error) error {
	if err := ctx.Err(); err != nil {
		return cancelled(what, err)
	}
	return s.writeOn(ctx, s.db, what, fn)
}

// writeOn is write's transaction, begun on db (the pool or one of its
// connections).
func (s *Store) writeOn(ctx context.Context, db interface {
	BeginTx(context.Context, *sql.TxOptions) (*sql.Tx, error)
}, what string, fn func(tx *sql.Tx, now time.Time) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(ctx, what, err)
	}
	defer tx.Rollback()
	if err := fn(tx, s.now()); err != nil {
		return s.fail(ctx, what, err)
	}
	if err := tx.Commit(); err != nil {
		return s.fail(ctx, what, err)
	}
	return nil
}

// writeRetiring is write for a change that retires tokens: once it is
// committed, the WAL's older copies of the changed pages, which still hold
// the retired JWTs, are checkpointed away (see forgetRetired).
func (s *Store) writeRetiring(ctx context.Context, what string, fn func(tx *sql.Tx, now time.Time) error) error {
	if err := s.write(ctx, what, fn); err != nil {
		return err
	}
	// A bulk run's copy of the log may still run (see BulkApply): the
	// truncation, which gives up if another connection so much as reads,
	// waits for it.
	s.copyBack.Wait()
	s.forgetRetired()
	return nil
}

// forgetRetired truncates the WAL after a change that retired tokens.
// secure_delete zeroes a retired JWT in the pages the change wrote, but the
// WAL keeps the earlier copies of those pages until it is checkpointed and
// reset. This never waits: if another connection is reading or writing, the
// checkpoint gives up at once and the WAL is left for the next retirement,
// or the last Close, to clear.
func (s *Store) forgetRetired() {
	ctx, cancel := context.WithTimeout(context.Background(), busyTimeout)
	defer cancel()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA busy_timeout = 0`); err != nil {
		return
	}
	conn.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`) //nolint:errcheck // best effort, see above
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA busy_timeout = %d`, busyTimeout.Milliseconds())); err != nil {
		// Don't hand a connection that would never wait back to the pool.
		conn.Raw(func(any) error { return driver.ErrBadConn }) //nolint:errcheck
	}
}

// read runs fn in a read-only (deferred) transaction: one consistent
// snapshot, even for a page and its total.
func (s *Store) read(ctx context.Context, what string, fn func(tx *sql.Tx, now time.Time) error) error {
	if err := ctx.Err(); err != nil {
		return cancelled(what, err)
	}
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return s.fail(ctx, what, err)
	}
	defer tx.Rollback()
	if err := fn(tx, s.now()); err != nil {
		return s.fail(ctx, what, err)
	}
	return nil
}

func cancelled(what string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &classedError{kinds: []error{backend.ErrUnavailable, err}, msg: what + ": timed out"}
	}
	return &classedError{kinds: []error{backend.ErrUnavailable, err}, msg: what + ": cancelled"}
}

// fail classes an error from the database: classed errors pass through,
// the context ending and lock timeouts are unavailability, and anything
// else is reported as the database failing.
func (s *Store) fail(ctx context.Context, what string, err error) error {
	if backend.Kind(err) != nil {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return cancelled(what, err)
	}
	if ctx.Err() != nil {
		return cancelled(what, ctx.Err())
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return backend.Unavailable("%s: the database %s stayed locked by another idcon process for %s; try again", what, s.path, busyTimeout)
		case sqlite3.SQLITE_INTERRUPT:
			return backend.Unavailable("%s: cancelled", what)
		case sqlite3.SQLITE_NOTADB:
			return backend.Invalid("%s: %s is not an idcon database", what, s.path)
		case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN:
			return backend.Unavailable("%s: can't write the database %s: check the file's and its directory's owner and mode", what, s.path)
		case sqlite3.SQLITE_FULL:
			// The transaction was rolled back whole: say so, since a full
			// disk makes admins fear a damaged file.
			return backend.Unavailable("%s: the disk holding the database %s is full: free some space and try again (nothing was changed)", what, s.path)
		}
	}
	return backend.Unavailable("%s: database %s: %v", what, s.path, err)
}

// classedError is an error in a backend class (and possibly also in one of
// this package's own classes, such as ErrTokenUsed).
type classedError struct {
	kinds []error
	msg   string
}

func (e *classedError) Error() string   { return e.msg }
func (e *classedError) Unwrap() []error { return e.kinds }

func classed(kind, reason error, format string, args ...any) error {
	return &classedError{kinds: []error{kind, reason}, msg: fmt.Sprintf(format, args...)}
}

// Times are kept as Unix nanoseconds; zero and NULL mean "never".
func unixNano(t time.Time) int64 { return t.UnixNano() }

func fromNano(n int64) time.Time { return time.Unix(0, n).UTC() }

func fromNullNano(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromNano(n.Int64)
}
