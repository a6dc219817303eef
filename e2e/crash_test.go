package e2e

import (
	"bufio"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// identityRow is what the database holds about one identity and what
// hangs off it: compared before and after, it says whether the identity
// was touched.
type identityRow struct {
	name                                       string
	revision                                   int64
	hasCredential                              bool
	enrolledAt, tokenCreatedAt, tokenExpiresAt sql.NullInt64
	tokenID                                    sql.NullString
	activeSessions                             int
	sessions                                   int      // rows in sessions
	tokens                                     []string // "id status hasJWT", oldest first
}

// identityRows reads every identity of the file, with its sessions and
// tokens, in one read transaction.
func identityRows(t *testing.T, db *sql.DB) map[string]*identityRow {
	t.Helper()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	out := map[string]*identityRow{}
	rows, err := tx.Query(`SELECT id, name, revision, has_credential, enrolled_at, token_id, token_created_at, token_expires_at, active_sessions FROM identities`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		r := &identityRow{}
		if err := rows.Scan(&id, &r.name, &r.revision, &r.hasCredential, &r.enrolledAt, &r.tokenID, &r.tokenCreatedAt, &r.tokenExpiresAt, &r.activeSessions); err != nil {
			t.Fatal(err)
		}
		out[id] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	rows, err = tx.Query(`SELECT identity_id, count(*) FROM sessions GROUP BY identity_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		out[id].sessions = n
	}
	rows.Close()
	rows, err = tx.Query(`SELECT identity_id, id, status, jwt IS NOT NULL FROM tokens ORDER BY created_at, id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, tok, status string
		var hasJWT bool
		if err := rows.Scan(&id, &tok, &status, &hasJWT); err != nil {
			t.Fatal(err)
		}
		out[id].tokens = append(out[id].tokens, fmt.Sprintf("%s %s %v", tok, status, hasJWT))
	}
	rows.Close()
	return out
}

func (r identityRow) String() string {
	return fmt.Sprintf("%+v", struct {
		R        int64
		Cred     bool
		Tok      string
		Exp      int64
		Active   int
		Sessions int
		Tokens   []string
	}{r.revision, r.hasCredential, r.tokenID.String, r.tokenExpiresAt.Int64, r.activeSessions, r.sessions, r.tokens})
}

func (r identityRow) enrolled() bool { return r.hasCredential && !r.tokenID.Valid }

func openRaw(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestKilledBulkResetLeavesNoHalfReset kills idcon with SIGKILL in the
// middle of `enrollment reset --all` over 16,000-odd enrolled identities
// (no chance to clean up), then reopens the database: SQLite finds it
// sound, and every identity is either reset completely (new current
// token, no credential, no sessions, one revision on) or exactly as it
// was. No token file is left half written or readable by others, and
// running the command again resets the rest.
func TestKilledBulkResetLeavesNoHalfReset(t *testing.T) {
	t.Parallel()
	e := NewDB(t)
	e.Vars = []string{"TZ=UTC"}
	MustRun(t, e, "demo", "--identities", "40000") // about 40% enrolled, a third of them with sessions
	db := openRaw(t, e.DB)
	before := identityRows(t, db)
	enrolled := 0
	withSessions := 0
	for _, r := range before {
		if r.enrolled() {
			enrolled++
			if r.sessions > 0 {
				withSessions++
			}
		}
	}
	if enrolled < 15000 || withSessions == 0 {
		t.Fatalf("the demo holds %d enrolled identities (%d with sessions); want at least 15,000", enrolled, withSessions)
	}

	out := t.TempDir()
	tokens := filepath.Join(out, "tokens.jsonl")
	started := time.Now()
	p := Start(t, e, "enrollment", "reset", "--all", "--state", "enrolled", "--expires", "+7d", "--yes", "-o", tokens)
	// Wait until a tenth of them is reset, then kill at once: the bulk
	// resets thousands a second, so a small start keeps the kill inside the
	// run on a loaded machine too.
	var resetSoFar int
	for {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM identities WHERE has_credential = 1 AND token_id IS NULL`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if resetSoFar = enrolled - n; resetSoFar >= enrolled/10 {
			break
		}
		if p.Exited() {
			t.Fatalf("idcon ended before any reset was seen:\nstdout: %s\nstderr: %s", p.Stdout(), p.Stderr())
		}
		if time.Since(started) > 2*time.Minute {
			t.Fatal("no identity was reset within two minutes")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL: %v", err)
	}
	if code, ok := p.Wait(30 * time.Second); !ok || code == 0 {
		t.Fatalf("after SIGKILL: exit %d, ended %v", code, ok)
	}
	db.Close()

	// Reopen: SQLite replays or drops the WAL's unfinished transaction.
	db = openRaw(t, e.DB)
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check after the kill: %q, %v", check, err)
	}
	var fkProblems int
	if err := db.QueryRow(`SELECT count(*) FROM pragma_foreign_key_check`).Scan(&fkProblems); err != nil || fkProblems != 0 {
		t.Fatalf("foreign_key_check after the kill: %d problems, %v", fkProblems, err)
	}
	after := identityRows(t, db)
	if len(after) != len(before) {
		t.Fatalf("%d identities before, %d after", len(before), len(after))
	}
	now := time.Now()
	reset, untouched := 0, 0
	for id, b := range before {
		a := after[id]
		if a.String() == b.String() && a.name == b.name && a.enrolledAt == b.enrolledAt && a.tokenCreatedAt == b.tokenCreatedAt {
			untouched++
			continue
		}
		if !b.enrolled() {
			t.Errorf("%s (not enrolled) changed: %s → %s", b.name, b, a)
			continue
		}
		exp := time.Unix(0, a.tokenExpiresAt.Int64)
		fully := !a.hasCredential && a.tokenID.Valid && a.activeSessions == 0 && a.sessions == 0 &&
			a.revision == b.revision+1 && len(a.tokens) == 1 && a.tokens[0] == a.tokenID.String+" current true" &&
			exp.After(now.Add(7*24*time.Hour-time.Hour)) && exp.Before(now.Add(7*24*time.Hour+time.Hour))
		if !fully {
			t.Errorf("%s is half reset: %s → %s", b.name, b, a)
			continue
		}
		reset++
	}
	if reset == 0 || reset == enrolled {
		t.Fatalf("%d of %d enrolled identities were reset: the kill didn't land mid-run", reset, enrolled)
	}
	t.Logf("killed after %d of %d resets (%d seen when the kill was sent); %d identities untouched", reset, enrolled, resetSoFar, untouched)

	// No token file was made, and whatever was left behind is the
	// owner's alone.
	if _, err := os.Stat(tokens); !os.IsNotExist(err) {
		t.Errorf("the token file exists after the kill (%v): it would be missing tokens", err)
	}
	entries, _ := os.ReadDir(out)
	for _, de := range entries {
		info, err := de.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s is left with mode %v; it holds tokens", de.Name(), info.Mode().Perm())
		}
	}

	// Running it again resets the rest, and only the rest.
	r := MustRun(t, e, "enrollment", "reset", "--all", "--state", "enrolled", "--expires", "+7d", "--yes", "-o", tokens)
	if want := fmt.Sprintf("reset %s identities", fmtCount(enrolled-reset)); !strings.Contains(r.Stdout, want) {
		t.Errorf("the second run says %q, want %q", r.Stdout, want)
	}
	f, err := os.Open(tokens)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines++
	}
	if lines != enrolled-reset {
		t.Errorf("the token file has %d lines, want %d", lines, enrolled-reset)
	}
	var left int
	if err := db.QueryRow(`SELECT count(*) FROM identities WHERE has_credential = 1 AND token_id IS NULL`).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d identities still enrolled after the second run (%v)", left, err)
	}
}

// fmtCount writes n with thousands separators, as the CLI does.
func fmtCount(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
