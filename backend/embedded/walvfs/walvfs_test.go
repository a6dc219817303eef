package walvfs_test

import (
	"bufio"
	"bytes"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/idcon/idcon/backend/embedded/walvfs"
)

// open opens path in WAL mode, through the layer when layered, else
// through SQLite's own unix VFS (the oracle's way in).
func open(t testing.TB, path string, layered bool, pragmas ...string) *sql.DB {
	t.Helper()
	if err := walvfs.Register(); err != nil {
		t.Fatal(err)
	}
	q := url.Values{"_pragma": append([]string{"journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(5000)"}, pragmas...)}
	if layered {
		q.Set("vfs", walvfs.Name)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// row is the text stored for key i: a few KB, so that rows fill pages.
func row(i, rev int) string {
	return fmt.Sprintf("%d/%d:", i, rev) + strings.Repeat(strconv.Itoa(i%10), 1500)
}

func exec1(t testing.TB, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// check reads every row through db and compares it with want (key ->
// revision).
func check(t *testing.T, db *sql.DB, want map[int]int, when string) {
	t.Helper()
	rows, err := db.Query(`SELECT k, v FROM t`)
	if err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	defer rows.Close()
	got := 0
	for rows.Next() {
		var k int
		var v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		rev, ok := want[k]
		if !ok || v != row(k, rev) {
			t.Fatalf("%s: row %d reads %.20q…, want revision %d (present %v)", when, k, v, rev, ok)
		}
		got++
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	if got != len(want) {
		t.Fatalf("%s: %d rows, want %d", when, got, len(want))
	}
}

// A reader that doesn't go through the layer sees every commit of a
// writer that does, in full, the moment the commit returns: large
// commits, from a page cache that holds them and from a small one that
// spills frames mid-transaction (and rewrites them in place), a
// transaction rolled back (after spilling), and the log started over
// after checkpoints.
func TestEveryCommitIsInTheFileWhenItReturns(t *testing.T) {
	for _, cache := range []string{"cache_size(20)", "cache_size(-65536)"} {
		t.Run(cache, func(t *testing.T) { everyCommit(t, cache) })
	}
}

func everyCommit(t *testing.T, cache string) {
	path := filepath.Join(t.TempDir(), "a.db")
	w := open(t, path, true, cache)
	r := open(t, path, false)
	exec1(t, w, `CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)`)
	exec1(t, w, `CREATE INDEX t_v ON t (v)`)
	want := map[int]int{}
	for round := range 12 {
		tx, err := w.Begin()
		if err != nil {
			t.Fatal(err)
		}
		// Rows added, and rows of earlier rounds changed, so that pages
		// spilled earlier in the transaction are written again.
		changes := map[int]int{}
		for i := range 300 {
			k := round*300 + i
			if _, err := tx.Exec(`INSERT INTO t (k, v) VALUES (?, ?)`, k, row(k, 0)); err != nil {
				t.Fatal(err)
			}
			changes[k] = 0
			if old := (round-1)*300 + i; round > 0 && i%3 == 0 {
				rev, ok := want[old]
				if !ok {
					continue // its round was rolled back
				}
				rev++
				if _, err := tx.Exec(`UPDATE t SET v = ? WHERE k = ?`, row(old, rev), old); err != nil {
					t.Fatal(err)
				}
				changes[old] = rev
			}
		}
		if round%4 == 3 {
			if err := tx.Rollback(); err != nil {
				t.Fatal(err)
			}
		} else {
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			for k, rev := range changes {
				want[k] = rev
			}
		}
		check(t, r, want, fmt.Sprintf("after round %d", round))
		if round%5 == 4 {
			exec1(t, w, `PRAGMA wal_checkpoint(RESTART)`)
		}
	}
	var ok string
	if err := r.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %q, %v", ok, err)
	}
}

// writeCalls is the process's write system calls so far (the kernel's
// count, /proc/self/io's syscw).
func writeCalls(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Skipf("no /proc/self/io to count write calls with: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscw: "); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Skip("/proc/self/io has no syscw")
	return 0
}

// A commit of about 1,000 pages takes SQLite 2,000 write calls to the
// log (a header and a page each), and the layer a few dozen.
func TestACommitIsAFewWrites(t *testing.T) {
	calls := func(layered bool) int {
		path := filepath.Join(t.TempDir(), "a.db")
		db := open(t, path, layered, "wal_autocheckpoint(0)", "cache_size(-65536)") // nothing spills before the commit
		exec1(t, db, `CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)`)
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		for k := range 2000 {
			if _, err := tx.Exec(`INSERT INTO t (k, v) VALUES (?, ?)`, k, row(k, 0)); err != nil {
				t.Fatal(err)
			}
		}
		before := writeCalls(t)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		return writeCalls(t) - before
	}
	plain, layered := calls(false), calls(true)
	t.Logf("write calls for the commit: %d through the unix VFS, %d through the layer", plain, layered)
	if plain < 1500 {
		t.Fatalf("the unix VFS took %d write calls: the count doesn't see pwrite, or the commit is smaller than meant", plain)
	}
	if layered > plain/20 {
		t.Fatalf("the layer took %d write calls, the unix VFS %d: it gathers too little", layered, plain)
	}
}

// helperEnv makes the test binary a child that writes through the layer
// (see TestHelperProcess).
const helperEnv = "WALVFS_HELPER"

// TestHelperProcess is the child of the crash tests: it commits numbered
// rows through the layer, one transaction each, printing each number
// once its commit has returned, and ends without closing anything. With
// a file size limit (RLIMIT_FSIZE) it goes on until a commit fails.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("the crash tests' child; runs only as one")
	}
	path := os.Getenv("WALVFS_DB")
	if mode == "limit" {
		// A write past RLIMIT_FSIZE raises SIGXFSZ, which would kill the
		// child before the write returns its error.
		signal.Ignore(syscall.SIGXFSZ)
		lim := &syscall.Rlimit{Cur: 3 << 20, Max: 3 << 20}
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, lim); err != nil {
			fmt.Println("setrlimit:", err)
			os.Exit(3)
		}
	}
	db := open(t, path, true, "wal_autocheckpoint(0)")
	out := bufio.NewWriter(os.Stdout)
	for k := 0; ; k++ {
		tx, err := db.Begin()
		if err == nil {
			for j := range 20 {
				if _, err = tx.Exec(`INSERT INTO t (k, v) VALUES (?, ?)`, k*20+j, row(k*20+j, 0)); err != nil {
					break
				}
			}
			if err == nil {
				err = tx.Commit()
			} else {
				tx.Rollback()
			}
		}
		if err != nil {
			fmt.Fprintf(out, "failed %v\n", err)
			out.Flush()
			os.Exit(0) // as a crash: nothing closed, nothing flushed
		}
		fmt.Fprintf(out, "%d\n", k)
		out.Flush()
		if mode == "exit" && k == 40 {
			os.Exit(0)
		}
	}
}

// child runs the helper in mode on path and returns the transactions it
// said were committed, and its last line.
func child(t *testing.T, mode, path string) (committed int, last string) {
	t.Helper()
	seed := open(t, path, false)
	exec1(t, seed, `CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)`)
	seed.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "WALVFS_DB="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v: %s %s", err, out, stderr.String())
	}
	lines := strings.Fields(strings.TrimSpace(string(out)))
	committed = -1
	for i, l := range lines {
		if l == "failed" {
			last = strings.Join(lines[i:], " ")
			break
		}
		if n, err := strconv.Atoi(l); err == nil {
			committed = n
		}
	}
	return committed + 1, last
}

// recovered opens what a child left through the unix VFS (SQLite
// recovers the log) and returns how many whole transactions it holds.
func recovered(t *testing.T, path string) int {
	t.Helper()
	db := open(t, path, false)
	var ok string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %q, %v", ok, err)
	}
	var n, maxK int
	if err := db.QueryRow(`SELECT count(*), coalesce(max(k), -1) FROM t`).Scan(&n, &maxK); err != nil {
		t.Fatal(err)
	}
	if n%20 != 0 || n != maxK+1 {
		t.Fatalf("%d rows up to %d: a transaction was recovered in part", n, maxK)
	}
	return n / 20
}

// A process that ends right after a commit returned, without closing
// the database, leaves every commit it made in the file.
func TestACrashKeepsEveryCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.db")
	committed, _ := child(t, "exit", path)
	if committed != 41 {
		t.Fatalf("the child committed %d transactions, want 41", committed)
	}
	if got := recovered(t, path); got != committed {
		t.Fatalf("%d transactions in the file after the child ended, it had committed %d", got, committed)
	}
}

// A commit whose frames can't be written (the file may not grow past the
// process's limit) fails, and the file holds exactly the commits that
// succeeded before it.
func TestAFailedWriteFailsTheCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.db")
	committed, last := child(t, "limit", path)
	if last == "" {
		t.Fatal("the child never failed a commit")
	}
	t.Logf("the child committed %d transactions, then: %s", committed, last)
	if committed < 5 {
		t.Fatalf("only %d commits under a 3 MB limit", committed)
	}
	if got := recovered(t, path); got != committed {
		t.Fatalf("%d transactions in the file, the child had committed %d", got, committed)
	}
}

// Commits of every size from one page to a few buffers' worth, one after
// another, so that a commit frame falls at every place in the layer's
// buffer (its end among them): a reader through the unix VFS sees each
// in full when it returns. (A commit frame whose page no longer fitted
// in the buffer after its header was once left unwritten: the reader
// got a short read at the 28-row commit.)
func TestCommitsOfEverySize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.db")
	w := open(t, path, true, "wal_autocheckpoint(0)", "cache_size(-65536)")
	r := open(t, path, false)
	exec1(t, w, `CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)`)
	k := 0
	for size := 1; size <= 90; size++ {
		tx, err := w.Begin()
		if err != nil {
			t.Fatal(err)
		}
		// A row of about 3 KB takes a page of its own: size rows, about
		// size pages, plus the pages of the table's B-tree above them.
		for range size {
			v := row(k, 0) + strings.Repeat("x", 1500)
			if _, err := tx.Exec(`INSERT INTO t (k, v) VALUES (?, ?)`, k, v); err != nil {
				t.Fatal(err)
			}
			k++
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		var n int
		var sum int64
		if err := r.QueryRow(`SELECT count(*), sum(length(v)) FROM t`).Scan(&n, &sum); err != nil {
			t.Fatalf("after the commit of %d rows: %v", size, err)
		}
		var wantSum int64
		for i := range k {
			wantSum += int64(len(row(i, 0)) + 1500)
		}
		if n != k || sum != wantSum {
			t.Fatalf("after the commit of %d rows: the reader sees %d rows of %d bytes, want %d of %d", size, n, sum, k, wantSum)
		}
	}
	var ok string
	if err := r.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %q, %v", ok, err)
	}
}
