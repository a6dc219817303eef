package e2e

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
	_ "modernc.org/sqlite"

	"github.com/idcon/idcon/audit"
)

// Terminal safety, end to end. The embedded backend refuses hostile names
// when they are created (model.ValidateName); they come from elsewhere:
// a controller's admin API, an import, a tampered database file. These
// tests write them straight into the SQLite file and look at everything
// that reaches a terminal: the CLI's text, the console in tmux (the bytes
// it wrote, the pane's title, tmux's clipboard buffers) and the audit
// log's text.

// hostileNames are the attacks of the hardening issue: OSC 52 (set the
// admin's clipboard), clear screen, an OSC 8 hyperlink, a right-to-left
// override and a 10,000-character name, with a title change and 8-bit C1
// forms besides. Each keeps visible words (cleaned, they read as the
// second element) so its row can be found.
var hostileNames = [][2]string{
	{"clip\x1b]52;c;ZXZpbA==\x07board", "clipboard"},
	{"wipe\x1b[2J\x1b[Hscreen", "wipescreen"},
	{"\x1b]8;;http://x\x07link\x1b]8;;\x07", "link"},
	{"rtl-\u202egpj.exe", "rtl-gpj.exe"},
	{"long-" + strings.Repeat("W", 10000), "long-WWWW"},
	{"title\x1b]0;pwned\x07set", "titleset"},
	{"c1\u009b2J\u009d0;pwned\u009cbits", "c1bits"},
	{"raw\x9b2J\x90q\x9cbytes", "raw"},
}

// hostileNetwork is the tampered network's name; cleaned it reads "office".
const hostileNetwork = "off\x1b]0;pwned\x07ice\u202e"

// The payloads no output may carry in any form: the clipboard text, the
// link target, the title.
var hostilePayloads = []string{"ZXZpbA==", "http://x", "pwned"}

// hostileEnv is a database whose network and identities carry the hostile
// names, written into the file behind idcon's back. Odd identities are
// enrolled, even ones hold a pending token. It returns the identities' IDs
// in the order of hostileNames.
func hostileEnv(t *testing.T) (Env, []string) {
	t.Helper()
	e := NewDB(t)
	e.Home = t.TempDir()
	e.Vars = []string{"TZ=UTC"}
	MustRun(t, e, "network", "create", "office")
	ids := make([]string, len(hostileNames))
	for i := range hostileNames {
		name := fmt.Sprintf("placeholder-%02d", i)
		r := MustRun(t, e, "identity", "create", name, "--email", "x@example.org", "--expires", "+7d", "--json")
		ids[i] = decode[identity](t, r).ID
		if i%2 == 1 {
			jwt := filepath.Join(t.TempDir(), "t.jwt")
			MustRun(t, e, "enrollment", "jwt", name, "-o", jwt)
			MustRun(t, e, "enroll", jwt, "--out", filepath.Join(t.TempDir(), "dev"))
		}
	}
	db, err := sql.Open("sqlite", e.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i, h := range hostileNames {
		_, err := db.Exec(`UPDATE identities SET name = ?, name_fold = ?, email = ?, email_fold = ?, attributes = ? WHERE id = ?`,
			h[0], strings.ToLower(h[0]), "x\x1b]52;c;ZXZpbA==\x07@example.org", "x@example.org",
			`["#a\u001b[31m","\u202e#b"]`, ids[i])
		if err != nil {
			t.Fatalf("tampering with %s: %v", ids[i], err)
		}
	}
	if _, err := db.Exec(`UPDATE networks SET name = ?`, hostileNetwork); err != nil {
		t.Fatal(err)
	}
	return e, ids
}

// sgr matches the styling sequences the console itself emits.
var sgr = regexp.MustCompile("\x1b\\[[0-9;:]*m")

// unsafeText lists what in s could act on a terminal once styling (SGR)
// is removed: escapes, controls other than line breaks, C1 codes (raw or
// UTF-8), invalid UTF-8, bidi controls, zero-width characters, and the
// hostile payloads themselves.
func unsafeText(s string) []string {
	s = sgr.ReplaceAllString(s, "")
	var bad []string
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			bad = append(bad, fmt.Sprintf("invalid byte %#x at %d: %q", s[i], i, around(s, i)))
		case r == '\n':
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f,
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f,
			r >= 0x200b && r <= 0x200d, r == 0x2060, r == 0xfeff:
			bad = append(bad, fmt.Sprintf("%U at %d: %q", r, i, around(s, i)))
		}
		i += size
	}
	for _, p := range hostilePayloads {
		if strings.Contains(s, p) {
			bad = append(bad, "the payload "+p)
		}
	}
	return bad
}

func around(s string, i int) string { return s[max(0, i-24):min(len(s), i+24)] }

// withoutPayloads drops the payloads' text, for output that may show it
// quoted (JSON, an echoed argument).
func withoutPayloads(s string) string {
	for _, p := range hostilePayloads {
		s = strings.ReplaceAll(s, p, "")
	}
	return s
}

func mustBeSafe(t *testing.T, where, s string) {
	t.Helper()
	if bad := unsafeText(s); len(bad) > 0 {
		t.Errorf("%s holds what a terminal would act on:\n  %s", where, strings.Join(bad, "\n  "))
	}
}

// TestHostileNamesInCLIText: identity list and identity show print the
// tampered names, emails and network cleaned, the list's columns in line,
// and an error about a hostile argument is clean too.
func TestHostileNamesInCLIText(t *testing.T) {
	t.Parallel()
	e, ids := hostileEnv(t)

	r := MustRun(t, e, "identity", "list", "--limit", "50")
	mustBeSafe(t, "identity list", r.Stdout+r.Stderr)
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) != len(hostileNames)+2 { // the header, the rows, "1–8 of 8"
		t.Fatalf("identity list printed %d lines:\n%s", len(lines), r.Stdout)
	}
	header, rows := lines[0], lines[1:len(lines)-1]
	stateCol, emailCol := cellIndex(header, "STATE"), cellIndex(header, "EMAIL")
	if stateCol < 0 || emailCol < 0 {
		t.Fatalf("header %q", header)
	}
	for _, h := range hostileNames {
		if !strings.Contains(r.Stdout, h[1]) {
			t.Errorf("identity list lacks %q:\n%s", h[1], r.Stdout)
		}
	}
	for _, row := range rows {
		st := ansi.Cut(row, stateCol, stateCol+8)
		if !strings.HasPrefix(st, "pending") && !strings.HasPrefix(st, "enrolled") {
			t.Errorf("the STATE column (cell %d) of %q holds %q", stateCol, row, st)
		}
		if em := ansi.Cut(row, emailCol, emailCol+13); em != "x@example.org" {
			t.Errorf("the EMAIL column (cell %d) of %q holds %q", emailCol, row, em)
		}
	}

	for i, id := range ids {
		r := MustRun(t, e, "identity", "show", id)
		mustBeSafe(t, "identity show "+id, r.Stdout+r.Stderr)
		if !strings.Contains(r.Stdout, hostileNames[i][1]) || !strings.Contains(r.Stdout, "network:") ||
			!strings.Contains(r.Stdout, "office") {
			t.Errorf("identity show %s:\n%s", id, r.Stdout)
		}
		// The values line up after their labels.
		valueCol := -1
		for _, l := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
			label, _, _ := strings.Cut(l, ":")
			col := len(label) + 1 + len(l[len(label)+1:]) - len(strings.TrimLeft(l[len(label)+1:], " "))
			if valueCol == -1 {
				valueCol = col
			} else if col != valueCol {
				t.Errorf("identity show %s: value at cell %d, want %d: %q", id, col, valueCol, l)
			}
		}
	}

	// JSON keeps the exact names for scripts, escaped so that printing it
	// on a terminal is harmless too.
	r = MustRun(t, e, "identity", "list", "--limit", "50", "--json")
	mustBeSafe(t, "identity list --json", withoutPayloads(r.Stdout))
	type page struct {
		Items []identity `json:"items"`
		Total int        `json:"total"`
	}
	names := map[string]bool{}
	for _, x := range decode[page](t, r).Items {
		names[x.Name] = true
	}
	for _, h := range hostileNames {
		if want := strings.ToValidUTF8(h[0], "\ufffd"); !names[want] {
			t.Errorf("identity list --json lacks the exact name %q", want)
		}
	}

	r = Run(t, e, "identity", "show", "nobody\x1b]52;c;ZXZpbA==\x07\u202e")
	if r.Code != 1 {
		t.Fatalf("showing a missing hostile name: %s", r)
	}
	// The argument is the admin's own, echoed Go-quoted: its payload may
	// show as text, but no byte of it may act.
	mustBeSafe(t, "the error about a hostile argument", withoutPayloads(r.Stdout+r.Stderr))

	// A bulk reset without -o prints the new tokens as JSON lines on
	// stdout, named as stored: escaped, like every JSON idcon prints.
	r = MustRun(t, e, "enrollment", "reset", "--all", "--state", "enrolled", "--expires", "+7d", "--yes")
	mustBeSafe(t, "enrollment reset --all", withoutPayloads(r.Stdout+r.Stderr))
	if n := strings.Count(r.Stdout, "\n"); n != len(hostileNames)/2 || !strings.Contains(r.Stdout, `\u202e`) {
		t.Errorf("enrollment reset --all printed %d lines, want %d with the exact names:\n%s", n, len(hostileNames)/2, r.Stdout)
	}
}

// cellIndex is the terminal cell where sub starts in s, or -1.
func cellIndex(s, sub string) int {
	i := strings.Index(s, sub)
	if i < 0 {
		return -1
	}
	return ansi.StringWidth(s[:i])
}

// TestHostileNamesInConsole runs the console in tmux on the tampered
// database. Everything the program wrote to the terminal is recorded
// (pipe-pane): none of the attacks' bytes are in it. tmux agrees: the
// pane's title is the console's own, no OSC 52 made a clipboard buffer
// (set-clipboard is on, so one would), nothing cleared the screen, and
// the list's columns are in line.
func TestHostileNamesInConsole(t *testing.T) {
	t.Parallel()
	e, ids := hostileEnv(t)
	const w, h = 120, 30
	term := StartTerm(t, e, w, h)
	term.tmux("set-option", "-g", "set-clipboard", "on")
	rec := filepath.Join(t.TempDir(), "pane.out")
	term.tmux("pipe-pane", "-o", "-t", "idcon", "cat >> "+shellQuote(rec))
	term.WaitFor(10*time.Second, "office", "of 8")
	// Repaint everything now that the recording runs: a resize redraws
	// the whole screen, and each identity is opened and closed.
	term.tmux("resize-window", "-t", "idcon", "-x", fmt.Sprint(w-1), "-y", fmt.Sprint(h))
	term.tmux("resize-window", "-t", "idcon", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h))
	screen := term.WaitFor(10*time.Second, "clipboard", "wipescreen", "rtl-gpj.exe", "titleset", "c1bits")
	checkConsoleColumns(t, screen)
	for range ids {
		term.Send("Enter")
		term.WaitFor(10*time.Second, "Enrollment", "ID ")
		term.Send("Escape")
		term.WaitFor(10*time.Second, "s state filter")
		term.Send("Down")
	}
	term.Send("Home")
	screen = term.WaitFor(10*time.Second, "clipboard", "wipescreen")

	// The whole frame is there: nothing was wiped half way.
	for _, want := range []string{"idcon", "NETWORK", "MENU", "Identities", "1–8 of 8", "q quit"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the screen lacks %q:\n%s", want, screen)
		}
	}
	checkConsoleColumns(t, screen)
	if title := strings.TrimSpace(term.tmux("display-message", "-p", "-t", "idcon", "#{pane_title}")); title != "idcon" {
		t.Errorf("the pane's title is %q, want the console's own %q", title, "idcon")
	}
	if bufs := strings.TrimSpace(term.tmux("list-buffers")); bufs != "" {
		t.Errorf("tmux holds clipboard buffers (an OSC 52 got through): %s", bufs)
	}
	styled := term.tmux("capture-pane", "-e", "-p", "-t", "idcon")
	mustBeSafe(t, "the pane's cells (capture-pane -e)", styled)

	// The bytes idcon wrote: its own control sequences are allowed (CSI
	// for cursor and modes, the OSC that sets the title "idcon"); nothing
	// of the names' sequences is.
	term.tmux("pipe-pane", "-t", "idcon") // stop recording
	raw, err := os.ReadFile(rec)
	if err != nil || len(raw) == 0 {
		t.Fatalf("nothing recorded from the pane: %v", err)
	}
	checkRawOutput(t, raw)

	// The sensors work: a program that does send OSC 52 and a title in
	// this tmux makes a buffer and changes its pane's title.
	term.tmux("new-window", "-d", "-t", "idcon:9", "-n", "probe", "printf '\\033]52;c;cHJvYmU=\\007\\033]2;probe-title\\007'; sleep 30")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(term.tmux("list-buffers"), "probe") || !strings.Contains(term.tmux("list-panes", "-a", "-F", "#{pane_title}"), "probe-title") {
		if time.Now().After(deadline) {
			t.Fatalf("tmux never showed the probe's OSC 52 buffer or title: buffers %q panes %q",
				term.tmux("list-buffers"), term.tmux("list-panes", "-a", "-F", "#{pane_title}"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// osc matches an OSC sequence, terminated by BEL or ST.
var osc = regexp.MustCompile("\x1b\\][^\x07\x1b]*(?:\x07|\x1b\\\\)")

// ownOSC matches the OSC sequences the console itself writes: its window
// title and the question about the terminal's background colour.
var ownOSC = regexp.MustCompile("^\x1b\\](?:[02];idcon|11;\\?)(?:\x07|\x1b\\\\)$")

// checkRawOutput checks the bytes the console wrote: valid UTF-8, no C1
// codes, no bidi or zero-width characters, no payloads, no OSC but the
// title, and no hostile sequence next to the words it was hidden in.
func checkRawOutput(t *testing.T, raw []byte) {
	t.Helper()
	s := cutUnfinishedTail(string(raw))
	for _, m := range osc.FindAllString(s, -1) {
		if !ownOSC.MatchString(m) {
			t.Errorf("the console wrote the OSC sequence %q", m)
		}
	}
	for _, seq := range []string{"clip\x1b]", "wipe\x1b[2J", "\x1b]8;", "\x1b]52", "title\x1b]", "\x1bP", "\x1b_", "\x1b^", "\x1bX"} {
		if i := strings.Index(s, seq); i >= 0 {
			t.Errorf("the console wrote %q: %q", seq, around(s, i))
		}
	}
	s = osc.ReplaceAllString(s, "")
	// What remains may hold the console's own CSI sequences (cursor,
	// modes) and carriage returns; nothing else of the C0 set.
	s = regexp.MustCompile("\x1b\\[[0-9;:<=>?]*[ -/]*[@-~]").ReplaceAllString(s, "")
	// The renderer moves the cursor with CR and backspace too, and with
	// reverse index (ESC M) when it scrolls up (ultraviolet's
	// terminal_renderer.go); the names can't hold any of them (the cells
	// checked above would show them).
	s = strings.NewReplacer("\r", "", "\b", "", "\x1b7", "", "\x1b8", "", "\x1b=", "", "\x1b>", "", "\x1bM", "").Replace(s)
	mustBeSafe(t, "the bytes the console wrote", s)
}

// cutUnfinishedTail drops an escape sequence cut off at the end of a
// recording: stopping pipe-pane while the console writes a frame can end
// the file inside a cursor-movement sequence, which would then read as a
// stray ESC. Nothing else is dropped.
func cutUnfinishedTail(s string) string {
	if m := unfinishedCSI.FindStringIndex(s); m != nil {
		return s[:m[0]]
	}
	return s
}

// unfinishedCSI is an ESC, or the start of a CSI sequence without its
// final byte, at the very end: the only thing cutUnfinishedTail drops.
var unfinishedCSI = regexp.MustCompile("\x1b(?:\\[[0-9;:<=>?]*[ -/]*)?$")

// checkConsoleColumns checks that the state column of every row of the
// list starts at the header's State, and the sidebar's border at the same
// cell on every line.
func checkConsoleColumns(t *testing.T, screen string) {
	t.Helper()
	var header string
	var rows []string
	for _, l := range strings.Split(screen, "\n") {
		switch {
		case strings.Contains(l, "Name") && strings.Contains(l, "State"):
			header = l
		case strings.Contains(l, " pending ") || strings.Contains(l, " enrolled "):
			rows = append(rows, l)
		}
	}
	if header == "" || len(rows) != len(hostileNames) {
		t.Fatalf("header %q and %d rows (want %d):\n%s", header, len(rows), len(hostileNames), screen)
	}
	col, border := cellIndex(header, "State"), cellIndex(header, "│")
	for _, r := range rows {
		c := cellIndex(r, " pending ")
		if c < 0 {
			c = cellIndex(r, " enrolled ")
		}
		if c+1 != col || cellIndex(r, "│") != border {
			t.Errorf("row out of line (state at %d, header's at %d; border at %d, want %d):\n%s\n%s",
				c+1, col, cellIndex(r, "│"), border, header, r)
		}
	}
}

// TestHostileNamesInAuditText: entries naming hostile actors, networks and
// identities go through the audit file and come out of its text printer
// clean and in columns; its JSON printer escapes what a terminal would
// act on.
func TestHostileNamesInAuditText(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "audit.log")
	log, err := audit.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 6, 2, 10, 0, 0, 0, time.UTC)
	for i, h := range hostileNames {
		err := log.Append(audit.Entry{
			Time:     at.Add(time.Duration(i) * time.Minute),
			Actor:    audit.Actor{Name: "mallory\x1b]52;c;ZXZpbA==\x07", Role: "admin\u202e", Via: "ssh", Fingerprint: "SHA256:\x1b[2Jabc"},
			Network:  audit.Ref{ID: "net-1", Name: hostileNetwork},
			Identity: audit.Ref{ID: fmt.Sprintf("id-%d", i), Name: h[0]},
			Action:   audit.ActionReset,
			Result:   "ok\x1b]8;;http://x\x07",
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	entries, err := audit.Read(path, audit.Filter{})
	if err != nil || len(entries) != len(hostileNames) {
		t.Fatalf("read back %d entries: %v", len(entries), err)
	}
	var text bytes.Buffer
	if err := audit.Print(&text, entries, false); err != nil {
		t.Fatal(err)
	}
	mustBeSafe(t, "the audit text", text.String())
	lines := strings.Split(strings.TrimSpace(text.String()), "\n")
	if len(lines) != len(hostileNames)+1 {
		t.Fatalf("the audit text has %d lines:\n%s", len(lines), text.String())
	}
	actionCol, resultCol := cellIndex(lines[0], "ACTION"), cellIndex(lines[0], "RESULT")
	for i, l := range lines[1:] {
		if cellIndex(l, "reset") != actionCol || cellIndex(l, "ok") != resultCol {
			t.Errorf("audit line out of line (action at %d want %d, result at %d want %d):\n%s\n%s",
				cellIndex(l, "reset"), actionCol, cellIndex(l, "ok"), resultCol, lines[0], l)
		}
		if !strings.Contains(l, hostileNames[i][1][:3]) || !strings.Contains(l, "mallory") || !strings.Contains(l, "office") {
			t.Errorf("audit line %d lacks the cleaned names: %q", i+1, l)
		}
	}
	var js bytes.Buffer
	if err := audit.Print(&js, entries, true); err != nil {
		t.Fatal(err)
	}
	// JSON keeps the exact names for scripts, escaped: no payload is
	// removed there, but no byte of it can act on a terminal.
	mustBeSafe(t, "the audit JSON", withoutPayloads(js.String()))
}

// TestHostileNamesInAuditCLI: resets and deletes of the tampered
// identities are audited under their names as stored; `idcon audit` prints
// them clean and in columns, and `idcon audit --json` escaped.
func TestHostileNamesInAuditCLI(t *testing.T) {
	t.Parallel()
	e, ids := hostileEnv(t)
	for i, id := range ids {
		if i%2 == 1 {
			MustRun(t, e, "enrollment", "reset", id, "--expires", "+7d", "--yes", "-o", filepath.Join(t.TempDir(), "t.jwt"))
		} else {
			MustRun(t, e, "enrollment", "delete", id, "--yes")
		}
	}
	r := MustRun(t, e, "audit", "--last", fmt.Sprint(len(ids))) // the setup's own entries come before
	mustBeSafe(t, "idcon audit", r.Stdout+r.Stderr)
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) != len(ids)+1 {
		t.Fatalf("idcon audit printed %d lines, want %d:\n%s", len(lines), len(ids)+1, r.Stdout)
	}
	actionCol, resultCol := cellIndex(lines[0], "ACTION"), cellIndex(lines[0], "RESULT")
	for i, l := range lines[1:] {
		action := "delete"
		if i%2 == 1 {
			action = "reset"
		}
		if cellIndex(l, action) != actionCol || cellIndex(l, " ok")+1 != resultCol {
			t.Errorf("audit line out of line:\n%s\n%s", lines[0], l)
		}
		if !strings.Contains(l, hostileNames[i][1][:3]) || !strings.Contains(l, "office") {
			t.Errorf("audit line %d lacks the cleaned names: %q", i+1, l)
		}
	}
	r = MustRun(t, e, "audit", "--json")
	mustBeSafe(t, "idcon audit --json", withoutPayloads(r.Stdout+r.Stderr))
	if !strings.Contains(r.Stdout, `\u202e`) || !strings.Contains(r.Stdout, `\u001b]52`) {
		t.Errorf("idcon audit --json lost the exact names:\n%s", r.Stdout)
	}
}

// TestCutUnfinishedTail: only a sequence cut off at the very end goes.
func TestCutUnfinishedTail(t *testing.T) {
	for in, want := range map[string]string{
		"frame\x1b[12;4":        "frame",
		"frame\x1b":             "frame",
		"frame\x1b[?25":         "frame",
		"frame\x1b[12;4H":       "frame\x1b[12;4H",
		"frame\x1b]0;idcon\x07": "frame\x1b]0;idcon\x07",
		"frame\x1b]52;c;x":      "frame\x1b]52;c;x", // an OSC is never cut: checkRawOutput must see it
		"\x1b[1mframe":          "\x1b[1mframe",
	} {
		if got := cutUnfinishedTail(in); got != want {
			t.Errorf("cutUnfinishedTail(%q) = %q, want %q", in, got, want)
		}
	}
}
