package e2e

import (
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// maxTokenBytes is how long a token may be and still fit a QR code a
// phone reads easily.
const maxTokenBytes = 450

// identity is identity show --json.
type identity struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Network        string   `json:"network"`
	Email          string   `json:"email"`
	Attributes     []string `json:"attributes"`
	Type           string   `json:"type"`
	AuthPolicy     string   `json:"authPolicy"`
	State          string   `json:"state"`
	ExpiresAt      *string  `json:"expiresAt"`
	CreatedAt      *string  `json:"createdAt"`
	EnrolledAt     *string  `json:"enrolledAt"`
	ActiveSessions int      `json:"activeSessions"`
	Revision       int64    `json:"revision"`
}

// issued is enrollment reset/reissue --json.
type issued struct {
	Identity        identity `json:"identity"`
	JWT             *string  `json:"jwt"`
	ExpiresAt       *string  `json:"expiresAt"`
	SessionsDropped int      `json:"sessionsDropped"`
	File            string   `json:"file"`
}

func decode[T any](t *testing.T, r Result) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(r.Stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("stdout is not the JSON expected (%v):\n%s", err, r)
	}
	return v
}

func show(t *testing.T, e Env, name string) identity {
	t.Helper()
	return decode[identity](t, MustRun(t, e, "identity", "show", name, "--json"))
}

func wantState(t *testing.T, e Env, name, state string) identity {
	t.Helper()
	id := show(t, e, name)
	if id.State != state {
		t.Fatalf("%s is %s, want %s: %+v", name, id.State, state, id)
	}
	return id
}

// signingKey reads the network's public key from network list --json.
func signingKey(t *testing.T, e Env, network string) *ecdsa.PublicKey {
	t.Helper()
	nets := decode[[]struct {
		ID         string `json:"id"`
		Name       string `json:"name"`
		Identities int    `json:"identities"`
		SigningKey string `json:"signingKey"`
	}](t, MustRun(t, e, "network", "list", "--json"))
	for _, n := range nets {
		if n.Name == network {
			key, err := jwt.ParseECPublicKeyFromPEM([]byte(n.SigningKey))
			if err != nil {
				t.Fatalf("signingKey of %s is not a PEM EC public key: %v", network, err)
			}
			return key
		}
	}
	t.Fatalf("network list has no %s: %+v", network, nets)
	return nil
}

// verifyToken checks that tok is an unexpired ES256 token signed by key
// and small enough for a QR code.
func verifyToken(t *testing.T, key *ecdsa.PublicKey, tok string) {
	t.Helper()
	if len(tok) >= maxTokenBytes {
		t.Errorf("token is %d bytes, want under %d", len(tok), maxTokenBytes)
	}
	parsed, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithExpirationRequired())
	if err != nil || !parsed.Valid {
		t.Fatalf("token does not verify with the network's signing key: %v", err)
	}
}

// sameIdentity fails unless an identity is unchanged by a refused action.
func sameIdentity(t *testing.T, before, after identity) {
	t.Helper()
	if after.Revision != before.Revision || after.State != before.State || !sameTime(after.ExpiresAt, before.ExpiresAt) {
		t.Errorf("a refused action changed the identity:\nbefore %+v\nafter  %+v", before, after)
	}
}

// sameJSON reports whether two identities read the same.
func sameJSON(a, b identity) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Network == b.Network && a.Email == b.Email && a.State == b.State &&
		sameTime(a.ExpiresAt, b.ExpiresAt) && sameTime(a.EnrolledAt, b.EnrolledAt) &&
		a.ActiveSessions == b.ActiveSessions && a.Revision == b.Revision
}

func sameTime(a, b *string) bool { return (a == nil && b == nil) || (a != nil && b != nil && *a == *b) }

// wantError checks the contract for failures: the exit code, exactly one
// line on stderr in the form "idcon: ...", naming what it should, and no
// Go runtime output.
func wantError(t *testing.T, r Result, code int, contains ...string) {
	t.Helper()
	if r.Code != code {
		t.Errorf("want exit %d:\n%s", code, r)
	}
	if n := strings.Count(r.Stderr, "\n"); n != 1 || !strings.HasSuffix(r.Stderr, "\n") {
		t.Errorf("want exactly one line on stderr, got %d:\n%s", n, r)
	}
	if !strings.HasPrefix(r.Stderr, "idcon: ") {
		t.Errorf("stderr does not start with \"idcon: \":\n%s", r)
	}
	for _, bad := range []string{"goroutine", "panic", "Usage:"} {
		if strings.Contains(r.Stdout+r.Stderr, bad) {
			t.Errorf("output holds %q:\n%s", bad, r)
		}
	}
	for _, c := range contains {
		if !strings.Contains(strings.ToLower(r.Stderr), strings.ToLower(c)) {
			t.Errorf("stderr does not mention %q:\n%s", c, r)
		}
	}
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Mode().Perm()
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEnrollmentLifecycle follows one identity through enroll, a live
// session, a refused reset, a reset that drops the session, and the
// refusals of old tokens and credentials.
func TestEnrollmentLifecycle(t *testing.T) {
	t.Parallel()
	e := NewDB(t)
	dir := t.TempDir()
	MustRun(t, e, "network", "create", "office")
	MustRun(t, e, "identity", "create", "laptop-alice", "--email", "alice@example.org", "--expires", "+7d")
	key := signingKey(t, e, "office")

	created := wantState(t, e, "laptop-alice", "pending")
	if created.ExpiresAt == nil || created.EnrolledAt != nil || created.Network != "office" || created.Email != "alice@example.org" {
		t.Errorf("new identity: %+v", created)
	}

	// The token, to a file and on stdout: the same, exactly, 0600.
	first := filepath.Join(dir, "first.jwt")
	MustRun(t, e, "enrollment", "jwt", "laptop-alice", "-o", first)
	if m := fileMode(t, first); m != 0o600 {
		t.Errorf("-o file mode %v, want 0600", m)
	}
	tok := readFile(t, first)
	if out := MustRun(t, e, "enrollment", "jwt", "laptop-alice").Stdout; out != tok+"\n" {
		t.Errorf("enrollment jwt printed %q, the file holds %q", out, tok)
	}
	verifyToken(t, key, tok)

	// Pending: reset is refused and changes nothing.
	r := Run(t, e, "enrollment", "reset", "laptop-alice", "--expires", "+1d", "--yes")
	wantError(t, r, 1, "laptop-alice", "pending")
	sameIdentity(t, created, show(t, e, "laptop-alice"))

	// Enroll once; the second use of the token is refused.
	dev1 := filepath.Join(dir, "dev1")
	out := MustRun(t, e, "enroll", first, "--out", dev1)
	if !strings.Contains(out.Stdout, "laptop-alice") {
		t.Errorf("enroll output does not name the identity:\n%s", out)
	}
	enrolled := wantState(t, e, "laptop-alice", "enrolled")
	if enrolled.EnrolledAt == nil || enrolled.ExpiresAt != nil || enrolled.Revision == created.Revision {
		t.Errorf("enrolled identity: %+v", enrolled)
	}
	wantError(t, Run(t, e, "enroll", first, "--out", filepath.Join(dir, "again")), 1)

	// Enrolled: reissue is refused and changes nothing.
	wantError(t, Run(t, e, "enrollment", "reissue", "laptop-alice", "--expires", "+1d"), 1, "enrolled")
	sameIdentity(t, enrolled, show(t, e, "laptop-alice"))

	// A live session.
	conn := Start(t, e, "connect", "--identity", dev1)
	Eventually(t, 30*time.Second, "the session to show", func() bool {
		return conn.Exited() || show(t, e, "laptop-alice").ActiveSessions == 1
	})
	if conn.Exited() {
		t.Fatalf("connect ended early: %s", conn.Stderr())
	}
	withSession := show(t, e, "laptop-alice")

	// Without --yes and without a terminal, reset refuses and the session lives.
	r = Run(t, e, "enrollment", "reset", "laptop-alice", "--expires", "+7d")
	wantError(t, r, 1, "--yes", "not a terminal")
	sameIdentity(t, withSession, show(t, e, "laptop-alice"))
	if conn.Exited() {
		t.Fatalf("a refused reset dropped the session: %s", conn.Stderr())
	}

	// The reset drops the session within 2 s.
	r = MustRun(t, e, "enrollment", "reset", "laptop-alice", "--expires", "+7d", "--yes", "--json")
	resetDone := time.Now()
	res := decode[issued](t, r)
	if res.SessionsDropped != 1 || res.Identity.State != "pending" || res.JWT == nil || res.ExpiresAt == nil ||
		res.Identity.ActiveSessions != 0 || res.Identity.Revision <= withSession.Revision {
		t.Errorf("reset result: %+v", res)
	}
	verifyToken(t, key, *res.JWT)
	code, ok := conn.Wait(2*time.Second + time.Second)
	if !ok {
		t.Fatalf("connect still running %v after the reset returned", time.Since(resetDone))
	}
	if code != 1 || conn.Stderr() != "connection dropped: the enrollment of laptop-alice was reset\n" {
		t.Errorf("connect after reset: exit %d, stderr %q", code, conn.Stderr())
	}
	afterReset := wantState(t, e, "laptop-alice", "pending")
	if afterReset.ActiveSessions != 0 {
		t.Errorf("sessions after reset: %d", afterReset.ActiveSessions)
	}

	// The old token and the old credential are refused.
	wantError(t, Run(t, e, "enroll", first, "--out", filepath.Join(dir, "old")), 1)
	wantError(t, Run(t, e, "connect", "--identity", dev1), 1)

	// The new token works once, and the new device connects and leaves cleanly.
	second := filepath.Join(dir, "second.jwt")
	if err := os.WriteFile(second, []byte(*res.JWT+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dev2 := filepath.Join(dir, "dev2")
	MustRun(t, e, "enroll", second, "--out", dev2)
	wantState(t, e, "laptop-alice", "enrolled")
	conn = Start(t, e, "connect", "--identity", dev2)
	Eventually(t, 30*time.Second, "the second session", func() bool {
		return conn.Exited() || show(t, e, "laptop-alice").ActiveSessions == 1
	})
	if err := conn.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code, ok := conn.Wait(30 * time.Second); !ok || code != 0 {
		t.Errorf("connect after SIGINT: exit %d (ended %v), stderr %q", code, ok, conn.Stderr())
	}
	if n := show(t, e, "laptop-alice").ActiveSessions; n != 0 {
		t.Errorf("sessions after disconnect: %d", n)
	}

	// Reset to a file: mode 0600, exactly the token, which verifies; the
	// summary names the file and never shows the token.
	third := filepath.Join(dir, "third.jwt")
	if err := os.WriteFile(third, []byte("something else, longer than a token would be, to be replaced whole"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = MustRun(t, e, "enrollment", "reset", "laptop-alice", "--expires", "+3d", "--yes", "-o", third)
	tok = readFile(t, third)
	if m := fileMode(t, third); m != 0o600 {
		t.Errorf("-o file mode %v, want 0600", m)
	}
	verifyToken(t, key, tok)
	if !strings.Contains(r.Stdout, third) || strings.Contains(r.Stdout, tok) || strings.Count(r.Stdout, "\n") != 1 {
		t.Errorf("reset -o should print one line naming the file and not the token:\n%s", r)
	}
	// Refused enrollments leave no credential behind.
	for _, d := range []string{"again", "old"} {
		if entries, _ := os.ReadDir(filepath.Join(dir, d)); len(entries) != 0 {
			t.Errorf("a refused enroll left files in %s: %v", d, entries)
		}
	}
}

// TestExpiredToken lets a token expire: it is refused, delete is refused,
// and reissue gives a token that works while the old one stays refused.
func TestExpiredToken(t *testing.T) {
	t.Parallel()
	e := NewDB(t)
	dir := t.TempDir()
	MustRun(t, e, "network", "create", "office")
	MustRun(t, e, "identity", "create", "phone-bob", "--expires", "+2s")
	old := filepath.Join(dir, "old.jwt")
	MustRun(t, e, "enrollment", "jwt", "phone-bob", "-o", old)
	time.Sleep(3 * time.Second) // let the token expire

	expired := wantState(t, e, "phone-bob", "expired")
	wantError(t, Run(t, e, "enroll", old, "--out", filepath.Join(dir, "dev")), 1)
	wantError(t, Run(t, e, "enrollment", "jwt", "phone-bob"), 1, "expired")
	wantError(t, Run(t, e, "enrollment", "delete", "phone-bob", "--yes"), 1, "phone-bob", "expired")
	sameIdentity(t, expired, show(t, e, "phone-bob"))

	fresh := filepath.Join(dir, "new.jwt")
	r := MustRun(t, e, "enrollment", "reissue", "phone-bob", "--expires", "+1d", "-o", fresh, "--json")
	res := decode[issued](t, r)
	if res.JWT != nil || res.File != fresh || res.Identity.State != "pending" || res.SessionsDropped != 0 {
		t.Errorf("reissue -o --json: %+v", res)
	}
	if fileMode(t, fresh) != 0o600 {
		t.Errorf("reissue -o file mode %v", fileMode(t, fresh))
	}
	verifyToken(t, signingKey(t, e, "office"), readFile(t, fresh))
	wantError(t, Run(t, e, "enroll", old, "--out", filepath.Join(dir, "dev")), 1)
	MustRun(t, e, "enroll", fresh, "--out", filepath.Join(dir, "dev"))
	wantState(t, e, "phone-bob", "enrolled")
}

// TestDeletedToken deletes an unused token: without --yes and a terminal
// nothing happens; with --yes the token is refused and the state is none.
func TestDeletedToken(t *testing.T) {
	t.Parallel()
	e := NewDB(t)
	dir := t.TempDir()
	MustRun(t, e, "network", "create", "office")
	MustRun(t, e, "identity", "create", "sso-carol")
	tok := filepath.Join(dir, "carol.jwt")
	MustRun(t, e, "enrollment", "jwt", "sso-carol", "-o", tok)
	pending := wantState(t, e, "sso-carol", "pending")

	wantError(t, Run(t, e, "enrollment", "delete", "sso-carol"), 1, "--yes")
	sameIdentity(t, pending, show(t, e, "sso-carol"))

	r := MustRun(t, e, "enrollment", "delete", "sso-carol", "--yes")
	if !strings.Contains(r.Stdout, "none") {
		t.Errorf("delete output: %s", r)
	}
	gone := wantState(t, e, "sso-carol", "none")
	if gone.ExpiresAt != nil {
		t.Errorf("deleted enrollment still has an expiry: %+v", gone)
	}
	wantError(t, Run(t, e, "enroll", tok, "--out", filepath.Join(dir, "dev")), 1)
	wantError(t, Run(t, e, "enrollment", "reissue", "sso-carol", "--expires", "+1d"), 1, "sso-carol")
	sameIdentity(t, gone, show(t, e, "sso-carol"))
}

// TestBadInput: every mistake ends in one line on stderr and the right
// exit code, with nothing changed.
func TestBadInput(t *testing.T) {
	t.Parallel()
	e := NewDB(t)
	MustRun(t, e, "network", "create", "office")
	MustRun(t, e, "identity", "create", "laptop-alice")
	before := show(t, e, "laptop-alice")

	garbage := filepath.Join(t.TempDir(), "garbage.jwt")
	if err := os.WriteFile(garbage, []byte("this is not a token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	forged := filepath.Join(t.TempDir(), "forged.jwt")
	if err := os.WriteFile(forged, []byte("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."), 0o600); err != nil {
		t.Fatal(err)
	}
	dirDB := Env{DB: t.TempDir()}
	cases := []struct {
		name string
		e    Env
		args []string
		code int
		says []string
	}{
		{"past date", e, []string{"identity", "create", "x", "--expires", "2001-01-01"}, 2, []string{"--expires", "later"}},
		{"past date on reissue", e, []string{"enrollment", "reissue", "laptop-alice", "--expires", "2001-01-01"}, 2, []string{"--expires"}},
		{"too far ahead", e, []string{"identity", "create", "x", "--expires", "+4000d"}, 2, []string{"--expires"}},
		{"malformed date", e, []string{"identity", "create", "x", "--expires", "31/12/2030"}, 2, []string{"31/12/2030", "YYYY-MM-DD"}},
		{"unknown identity", e, []string{"identity", "show", "nobody"}, 1, []string{"nobody", "identity list"}},
		{"unknown identity reset", e, []string{"enrollment", "reset", "nobody", "--expires", "+1d", "--yes"}, 1, []string{"nobody"}},
		{"unknown network", e, []string{"identity", "list", "--network", "nowhere"}, 1, []string{"nowhere", "office"}},
		{"bad state", e, []string{"identity", "list", "--state", "happy"}, 2, []string{"happy"}},
		{"bad limit", e, []string{"identity", "list", "--limit", "0"}, 2, []string{"--limit"}},
		{"bad name", e, []string{"identity", "create", "a\x1b[2Jb"}, 2, []string{"control"}},
		{"bad email", e, []string{"identity", "create", "x", "--email", "not-an-address"}, 2, []string{"--email"}},
		{"taken name", e, []string{"identity", "create", "laptop-alice"}, 1, []string{"laptop-alice"}},
		{"garbage jwt", e, []string{"enroll", garbage, "--out", filepath.Join(t.TempDir(), "d")}, 1, nil},
		{"unsigned jwt", e, []string{"enroll", forged, "--out", filepath.Join(t.TempDir(), "d")}, 1, nil},
		{"missing jwt file", e, []string{"enroll", "/nonexistent/x.jwt", "--out", t.TempDir()}, 1, []string{"/nonexistent/x.jwt"}},
		{"db is a directory", dirDB, []string{"network", "list"}, 1, []string{dirDB.DB}},
		{"db is a directory, console", dirDB, nil, 1, []string{dirDB.DB}},
		{"-o into a missing folder", e, []string{"enrollment", "jwt", "laptop-alice", "-o", "/nonexistent/dir/t.jwt"}, 1, []string{"/nonexistent/dir"}},
		{"demo too big", e, []string{"demo", "--identities", "0"}, 2, []string{"--identities"}},

		// Values a flag or argument can't take are usage errors too (issue 13).
		{"unknown flag", e, []string{"identity", "list", "--colour"}, 2, []string{"--colour"}},
		{"unknown command", e, []string{"identiti"}, 2, []string{"identiti", "identity"}},
		{"unknown subcommand", e, []string{"identity", "remove", "x"}, 2, []string{"remove"}},
		{"no subcommand", e, []string{"enrollment"}, 2, []string{"reset"}},
		{"missing argument", e, []string{"identity", "show"}, 2, []string{"NAME"}},
		{"extra argument", e, []string{"identity", "show", "laptop", "alice"}, 2, []string{"alice"}},
		{"missing --expires", e, []string{"enrollment", "reset", "laptop-alice", "--yes"}, 2, []string{"--expires"}},
		{"missing --out", e, []string{"enroll", garbage}, 2, []string{"--out"}},
		{"missing --identity", e, []string{"connect"}, 2, []string{"--identity"}},
		{"bad number", e, []string{"identity", "list", "--limit", "many"}, 2, []string{"many"}},
		{"--demo with --db", e, []string{"--demo", "network", "list"}, 2, []string{"--demo"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Run(t, c.e, c.args...)
			wantError(t, r, c.code, c.says...)
			if r.Stdout != "" {
				t.Errorf("stdout not empty:\n%s", r)
			}
		})
	}
	sameIdentity(t, before, show(t, e, "laptop-alice"))
	if r := MustRun(t, e, "identity", "list", "--json"); decode[struct {
		Items []identity `json:"items"`
		Total int        `json:"total"`
	}](t, r).Total != 1 {
		t.Errorf("a refused command created an identity:\n%s", r)
	}
}

// TestIdentityList checks the page shapes, the filter and the totals.
func TestIdentityList(t *testing.T) {
	t.Parallel()
	e := NewDB(t)
	MustRun(t, e, "network", "create", "office")
	for i := range 30 {
		MustRun(t, e, "identity", "create", fmt.Sprintf("laptop-ali-%02d", i), "--email", fmt.Sprintf("u%d@example.org", i))
	}
	MustRun(t, e, "identity", "create", "phone-bob", "--email", "alison@example.org")
	MustRun(t, e, "identity", "create", "tablet-dan")

	type page struct {
		Items []identity `json:"items"`
		Total int        `json:"total"`
	}
	p := decode[page](t, MustRun(t, e, "identity", "list", "--filter", "ALI", "--limit", "25", "--json"))
	if p.Total != 31 || len(p.Items) != 25 {
		t.Fatalf("filter ALI: %d items of %d, want 25 of 31", len(p.Items), p.Total)
	}
	for _, it := range p.Items {
		if it.ID == "" || it.Network != "office" || it.State != "pending" || it.ExpiresAt == nil || it.Revision == 0 {
			t.Errorf("item not shaped as identity show: %+v", it)
		}
	}
	if got := show(t, e, p.Items[0].Name); !sameJSON(got, p.Items[0]) {
		t.Errorf("list item %+v differs from identity show %+v", p.Items[0], got)
	}
	rest := decode[page](t, MustRun(t, e, "identity", "list", "--filter", "ali", "--limit", "25", "--offset", "25", "--json"))
	if rest.Total != 31 || len(rest.Items) != 6 {
		t.Errorf("second page: %d items of %d, want 6 of 31", len(rest.Items), rest.Total)
	}
	if n := decode[page](t, MustRun(t, e, "identity", "list", "--state", "enrolled", "--json")); n.Total != 0 || n.Items == nil {
		t.Errorf("no enrolled identities: want an empty items array and total 0, got %+v", n)
	}

	// The table: a header, one row per identity, and the range line.
	out := MustRun(t, e, "identity", "list", "--filter", "ali").Stdout
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 27 || !strings.HasPrefix(lines[0], "NAME") || lines[26] != "1–25 of 31" {
		t.Fatalf("identity list table:\n%s", out)
	}
	for _, col := range []string{"STATE", "EXPIRES", "SESSIONS", "EMAIL"} {
		at := strings.Index(lines[0], col)
		if at < 0 {
			t.Fatalf("header lacks %s: %q", col, lines[0])
		}
	}
	emailAt := strings.Index(lines[0], "EMAIL")
	for _, l := range lines[1:26] {
		if !strings.Contains(l[emailAt:], "@example.org") || !strings.HasPrefix(l, "laptop-ali-") {
			t.Errorf("row not aligned under the header: %q", l)
		}
	}
	if out := MustRun(t, e, "identity", "list", "--filter", "zzz").Stdout; out != "no identities match\n" {
		t.Errorf("empty list: %q", out)
	}
}

// TestNetworkChoice: --network may be left out only when there is one.
func TestNetworkChoice(t *testing.T) {
	t.Parallel()
	e := NewDB(t)
	wantError(t, Run(t, e, "identity", "list"), 1, "network create")
	MustRun(t, e, "network", "create", "office")
	MustRun(t, e, "identity", "create", "laptop-alice")
	MustRun(t, e, "network", "create", "lab")
	wantError(t, Run(t, e, "identity", "show", "laptop-alice"), 1, "office", "lab", "--network")
	MustRun(t, e, "identity", "create", "laptop-alice", "--network", "lab")
	lab := decode[identity](t, MustRun(t, e, "identity", "show", "laptop-alice", "--network", "lab", "--json"))
	office := decode[identity](t, MustRun(t, e, "identity", "show", "laptop-alice", "--network", "office", "--json"))
	if lab.Network != "lab" || office.Network != "office" || lab.ID == office.ID {
		t.Errorf("same name in two networks: %+v and %+v", lab, office)
	}
	// By ID as well as by name.
	byID := decode[identity](t, MustRun(t, e, "identity", "show", lab.ID, "--network", "lab", "--json"))
	if !sameJSON(byID, lab) {
		t.Errorf("show by ID %+v, by name %+v", byID, lab)
	}
}

// TestDatabases: the default database lives under XDG_DATA_HOME, IDCON_DB
// and --db choose another, and --demo opens a seeded demo database that is
// never the real one.
func TestDatabases(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	e := Env{Home: home}
	data := filepath.Join(home, ".local", "share", "idcon")

	// The console needs a terminal; without one it says so in one line.
	wantError(t, Run(t, e), 1, "terminal")
	MustRun(t, e, "network", "create", "real")
	if _, err := os.Stat(filepath.Join(data, "idcon.db")); err != nil {
		t.Errorf("default database: %v", err)
	}
	if m := fileMode(t, filepath.Join(data, "idcon.db")); m != 0o600 {
		t.Errorf("database mode %v, want 0600", m)
	}

	wantError(t, Run(t, e, "--demo"), 1, "terminal") // seeds the demo, then needs a terminal
	type page struct {
		Items []identity `json:"items"`
		Total int        `json:"total"`
	}
	if p := decode[page](t, MustRun(t, e, "--demo", "identity", "list", "--json")); p.Total != 40 {
		t.Errorf("demo database holds %d identities, want 40", p.Total)
	}
	wantError(t, Run(t, e, "--demo"), 1, "terminal") // a second start leaves it as it is
	if p := decode[page](t, MustRun(t, e, "--demo", "identity", "list", "--json")); p.Total != 40 {
		t.Errorf("demo database holds %d identities after a second start, want 40", p.Total)
	}
	// The real database has only its own network.
	if out := MustRun(t, e, "network", "list").Stdout; !strings.Contains(out, "real") || strings.Contains(out, "demo") {
		t.Errorf("real database after --demo:\n%s", out)
	}

	other := filepath.Join(t.TempDir(), "sub", "other.db")
	env := Env{Home: home, Vars: []string{"IDCON_DB=" + other}}
	MustRun(t, env, "network", "create", "elsewhere")
	if out := MustRun(t, Env{Home: home, DB: other}, "network", "list").Stdout; !strings.Contains(out, "elsewhere") || strings.Contains(out, "real") {
		t.Errorf("IDCON_DB database:\n%s", out)
	}

	// idcon demo seeds the chosen database, once.
	d := NewDB(t)
	MustRun(t, d, "demo", "--identities", "50")
	MustRun(t, d, "demo", "--identities", "50")
	if p := decode[page](t, MustRun(t, d, "identity", "list", "--network", "demo", "--json")); p.Total != 50 {
		t.Errorf("idcon demo --identities 50 twice: %d identities", p.Total)
	}
}

// TestHelp: every command has --help, exiting 0.
func TestHelp(t *testing.T) {
	t.Parallel()
	e := Env{}
	for _, path := range []string{
		"", "demo", "network", "network create", "network list",
		"identity", "identity create", "identity list", "identity show",
		"enrollment", "enrollment reset", "enrollment reissue", "enrollment delete", "enrollment jwt",
		"enroll", "connect", "completion", "completion bash", "help",
	} {
		args := append(strings.Fields(path), "--help")
		r := Run(t, e, args...)
		if r.Code != 0 || !strings.Contains(r.Stdout, "Usage:") || r.Stderr != "" {
			t.Errorf("--help:\n%s", r)
		}
	}
	if r := MustRun(t, e, "--version"); !strings.Contains(r.Stdout, TestVersion) {
		t.Errorf("--version: %s", r)
	}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		if r := MustRun(t, e, "completion", sh); !strings.Contains(r.Stdout, "idcon") {
			t.Errorf("completion %s:\n%s", sh, r)
		}
	}
}

// TestLargeDemo seeds 100,000 identities and filters them, logging how
// long each took (a measurement, not an assertion: speed belongs to the
// benchmarks). It takes a few seconds, so -short skips it.
func TestLargeDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the 100,000-identity demo")
	}
	t.Parallel()
	e := NewDB(t)
	start := time.Now()
	MustRun(t, e, "demo", "--identities", "100000")
	seeded := time.Since(start)

	start = time.Now()
	out := MustRun(t, e, "identity", "list", "--filter", "ali", "--limit", "25").Stdout
	listed := time.Since(start)
	t.Logf("idcon demo --identities 100000: %v; identity list --filter ali --limit 25: %v", seeded.Round(time.Millisecond), listed.Round(time.Millisecond))

	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 27 || !strings.HasPrefix(lines[26], "1–25 of ") {
		t.Fatalf("identity list --filter ali:\n%s", out)
	}
	type page struct {
		Items []identity `json:"items"`
		Total int        `json:"total"`
	}
	if p := decode[page](t, MustRun(t, e, "identity", "list", "--limit", "1", "--json")); p.Total != 100000 {
		t.Errorf("demo network holds %d identities, want 100000", p.Total)
	}
	p := decode[page](t, MustRun(t, e, "identity", "list", "--filter", "ali", "--limit", "25", "--json"))
	if len(p.Items) != 25 || p.Total < 25 || p.Total >= 100000 || lines[26] != "1–25 of "+commas(p.Total) {
		t.Errorf("filter ali: %d items, total %d; table says %q", len(p.Items), p.Total, lines[26])
	}
	for _, it := range p.Items {
		if !strings.Contains(strings.ToLower(it.Name+it.Email), "ali") {
			t.Errorf("%+v does not match the filter", it)
		}
	}
}

// commas writes n the way the CLI does: 103482 → "103,482".
func commas(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
