package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Issue 13: what a first week with the console and the CLI finds, driven
// through the real binary.

// TestConsoleQInDialogsAndSafeFocus: q in the date picker leaves the
// console running and the picker open, esc closes it; a pending identity
// opens with the focus on its first delivery, and ↓ moves it.
func TestConsoleQInDialogsAndSafeFocus(t *testing.T) {
	t.Parallel()
	e := consoleEnv(t)
	// A mail server set up (never reached), so that every delivery can be made.
	e.Vars = append(e.Vars, "IDCON_SMTP_HOST=127.0.0.1", "IDCON_SMTP_FROM=idcon@example.org")
	enrolled := firstIn(t, e, "enrolled")
	term := openIdentity(t, e, enrolled.Name)
	term.WaitFor(5*time.Second, "Reset enrollment (r)")
	term.Send("r")
	term.WaitFor(5*time.Second, "Date enrollment expires")
	// Keys are read in order: had q quit, the typed date would never show.
	term.Send("q")
	term.Type("+9d")
	term.WaitFor(5*time.Second, "Date enrollment expires", "> +9d")
	term.Send("Escape") // back to the calendar
	term.WaitFor(5*time.Second, "can be chosen")
	term.Send("Escape") // closes the picker
	term.WaitGone(5*time.Second, "Date enrollment expires")
	if got := showDemo(t, e, enrolled.Name); !sameJSON(got, enrolled) {
		t.Fatalf("q and esc in the date picker changed the identity: %+v, was %+v", got, enrolled)
	}

	pending := firstIn(t, e, "pending")
	term.Send("Escape")
	term.WaitFor(5*time.Second, "enter open")
	refilter(term, pending.Name)
	term.Send("Enter")
	s := term.WaitFor(5*time.Second, "Delete enrollment (d)")
	if !strings.Contains(s, "› [ Send registration email (m) ]") {
		t.Fatalf("a pending identity opened without the focus on its first delivery:\n%s", s)
	}
	term.Send("Down")
	term.WaitFor(5*time.Second, "› [ Download JWT (j) ]")
}

// refilter replaces the list's filter with name and waits until the list
// shows that identity alone, under the cursor.
func refilter(term *Term, name string) {
	term.t.Helper()
	term.Send("/")
	term.Send("C-u")
	term.Type(name)
	term.Send("Enter")
	short := name[:min(len(name), 20)] // the status line and the row may cut it
	term.WaitFor(5*time.Second, "1–1 of 1", "filter: "+short, "› "+short, "enter open")
}

// TestConsoleEscClearsTheFilter: an applied filter that matches nothing
// says how to clear it; esc clears it, and / then starts afresh.
func TestConsoleEscClearsTheFilter(t *testing.T) {
	t.Parallel()
	e := consoleEnv(t)
	term := StartTerm(t, e, 100, 30, "--demo")
	term.WaitFor(10*time.Second, "demo", "lab")
	term.Type("demo")
	term.Send("Enter")
	term.WaitFor(10*time.Second, "of 40")
	term.Send("/")
	term.Type("zzz")
	term.Send("Enter")
	term.WaitFor(5*time.Second, "No identities match", "press esc to clear it")
	term.Send("Escape")
	s := term.WaitFor(5*time.Second, "1–")
	if strings.Contains(s, "filter: zzz") || !strings.Contains(s, "of 40") {
		t.Fatalf("esc did not clear the filter:\n%s", s)
	}
	pending := firstIn(t, e, "pending")
	term.Send("/")
	term.Type(pending.Name)
	term.Send("Enter")
	term.WaitFor(5*time.Second, "1–1 of 1", "filter: "+pending.Name)
}

// TestRelativeTimesReadAsTyped: a token made with --expires +3d reads "in 3
// days" and one made with +60s "in 1 minute", in the CLI and the console.
func TestRelativeTimesReadAsTyped(t *testing.T) {
	t.Parallel()
	e := NewDB(t)
	e.Vars = append(e.Vars, "TZ=UTC")
	MustRun(t, e, "network", "create", "office")
	r := MustRun(t, e, "identity", "create", "three-days", "--expires", "+3d")
	if !strings.Contains(r.Stdout, "(in 3 days)") {
		t.Errorf("+3d: %s", r.Stdout)
	}
	r = MustRun(t, e, "identity", "create", "one-minute", "--expires", "+60s")
	if !strings.Contains(r.Stdout, "(in 1 minute)") {
		t.Errorf("+60s: %s", r.Stdout)
	}
	if r := MustRun(t, e, "identity", "show", "three-days"); !strings.Contains(r.Stdout, "(in 3 days)") {
		t.Errorf("identity show of a +3d token: %s", r.Stdout)
	}
	term := StartTerm(t, e, 100, 30)
	term.WaitFor(10*time.Second, "three-days", "in 3 days")
}

// TestConsoleAt80x24KeepsEssentialKeys: at the documented minimum the help
// line still says how to see every key and how to quit, the date picker
// how to submit and cancel, and names get the room before emails.
func TestConsoleAt80x24KeepsEssentialKeys(t *testing.T) {
	t.Parallel()
	e := consoleEnv(t)
	long := "workstation-of-the-engineering-lead"
	MustRun(t, e, "--demo", "identity", "create", long, "--network", "demo", "--email", "lead@example.org")
	term := StartTerm(t, e, 80, 24, "--demo")
	term.WaitFor(10*time.Second, "demo", "lab")
	term.Type("demo")
	term.Send("Enter")
	s := term.WaitFor(10*time.Second, "of 41")
	last := lastLine(s)
	for _, want := range []string{"? more keys", "q quit"} {
		if !strings.Contains(last, want) {
			t.Errorf("the list's help line at 80×24 lacks %q: %q", want, last)
		}
	}
	refilter(term, long)
	s = term.Screen()
	if !strings.Contains(s, long[:22]) {
		t.Errorf("at 80×24 the list shows less than 22 cells of %q:\n%s", long, s)
	}
	term.Send("Enter")
	term.WaitFor(5*time.Second, "Enrollment")
	term.Send("d")
	term.WaitFor(5*time.Second, "irreversible")
	term.Send("n")
	term.WaitGone(5*time.Second, "irreversible")

	enrolled := firstIn(t, e, "enrolled")
	term.Send("Escape")
	term.WaitFor(5*time.Second, "enter open")
	refilter(term, enrolled.Name)
	term.Send("Enter")
	term.WaitFor(5*time.Second, "Reset enrollment (r)")
	term.Send("r")
	s = term.WaitFor(5*time.Second, "Date enrollment expires")
	last = lastLine(s)
	for _, want := range []string{"enter submit", "esc cancel", "ctrl+c quit"} {
		if !strings.Contains(last, want) {
			t.Errorf("the date picker's help line at 80×24 lacks %q: %q", want, last)
		}
	}
}

// lastLine is the last line of a screen that holds anything.
func lastLine(screen string) string {
	lines := strings.Split(strings.TrimRight(screen, "\n "), "\n")
	return lines[len(lines)-1]
}

// TestConsoleFirstRunWithoutNetworks: on an empty database, without
// --demo, the console says what to do (the command carries --db), and the
// network created meanwhile in another terminal opens by itself.
func TestConsoleFirstRunWithoutNetworks(t *testing.T) {
	t.Parallel()
	e := NewDB(t)
	term := StartTerm(t, e, 100, 30)
	s := term.WaitFor(10*time.Second, "No networks yet", "idcon --demo")
	if !strings.Contains(words(s), "idcon --db "+e.DB+" network create NAME") {
		t.Fatalf("the first run doesn't give the command for this database:\n%s", s)
	}
	MustRun(t, e, "network", "create", "office")
	term.WaitFor(10*time.Second, "office", "This network has no identities yet")
}

// words is the main pane's text in one line (the sidebar and the boxes'
// borders left out), so that wrapped sentences can be searched.
func words(screen string) string {
	lines := strings.Split(screen, "\n")
	for i, l := range lines {
		if _, main, ok := strings.Cut(l, "│"); ok {
			lines[i] = main
		}
	}
	screen = strings.Join(lines, "\n")
	screen = strings.NewReplacer("│", " ", "╭", " ", "╮", " ", "╰", " ", "╯", " ", "─", " ").Replace(screen)
	return strings.Join(strings.Fields(screen), " ")
}

// TestConsolePickerScrolls: with 40 networks at 80×24 the picker scrolls
// to the last one, and its filter matches only what it draws.
func TestConsolePickerScrolls(t *testing.T) {
	t.Parallel()
	e := NewDB(t)
	for i := 1; i <= 40; i++ {
		MustRun(t, e, "network", "create", fmt.Sprintf("network-%02d", i))
	}
	type network struct {
		ID         string `json:"id"`
		Name       string `json:"name"`
		Identities int    `json:"identities"`
		SigningKey string `json:"signingKey"`
		Status     string `json:"status"`
	}
	nets := decode[[]network](t, MustRun(t, e, "network", "list", "--json"))
	term := StartTerm(t, e, 80, 24)
	term.WaitFor(10*time.Second, "network-01", "Choose the network")
	term.Send("End")
	s := term.WaitFor(5*time.Second, "› network-40", "40 of 40")
	if strings.Contains(s, "network-01") {
		t.Fatalf("end: the first network is still drawn with the last:\n%s", s)
	}
	term.Send("Home")
	term.WaitFor(5*time.Second, "› network-01", "1 of 40")
	term.Send("PageDown")
	term.WaitFor(5*time.Second, "of 40")
	term.Send("/")
	term.Type(nets[0].ID[:8]) // in the ID, which the picker doesn't draw
	term.WaitFor(5*time.Second, "No network matches the filter.")
}

// TestConsoleListStaysCurrent: an identity created by the CLI in another
// terminal appears in the open list without a keypress, and the sidebar's
// count follows the header's.
func TestConsoleListStaysCurrent(t *testing.T) {
	t.Parallel()
	e := consoleEnv(t)
	term := StartTerm(t, e, 100, 30, "--demo")
	term.WaitFor(10*time.Second, "demo", "lab")
	term.Type("demo")
	term.Send("Enter")
	term.WaitFor(10*time.Second, "of 40", "40 identities")
	MustRun(t, e, "--demo", "identity", "create", "aaa-made-elsewhere", "--network", "demo")
	term.WaitFor(10*time.Second, "aaa-made-elsewhere", "of 41", "41 identities")
	term.Send("C-r")
	term.WaitFor(5*time.Second, "aaa-made-elsewhere", "of 41")
}

// TestSSHConsoleShowsWhoIsSignedIn: an SSH session's console says whose
// key it is and the role it has.
func TestSSHConsoleShowsWhoIsSignedIn(t *testing.T) {
	t.Parallel()
	s := startServe(t)
	for _, c := range []struct {
		k          sshKey
		name, role string
	}{{s.carol, "carol", "viewer"}, {s.alice, "alice", "admin"}} {
		term := s.console(c.k, 100, 30)
		term.WaitFor(10*time.Second, "SIGNED IN", c.name+" · "+c.role)
	}
}

// TestSSHDownloadOffersSCP: over SSH, Download JWT shows the scp command
// for this identity, which run as shown fetches its token; enter puts the
// token on the admin's clipboard (OSC 52, kept by tmux here); nothing is
// written on the server.
func TestSSHDownloadOffersSCP(t *testing.T) {
	t.Parallel()
	s := startServe(t)
	term := s.console(s.alice, 100, 30)
	term.tmux("set-option", "-g", "set-clipboard", "on")
	term.Send("Down")
	term.Send("Enter")
	term.WaitFor(10*time.Second, "Enrollment", "phone-bob", "Download JWT (j)")
	term.Send("j")
	screen := term.WaitFor(10*time.Second, "run there:", "scp -P "+s.port)
	var shown string
	for _, l := range strings.Split(screen, "\n") {
		if i := strings.Index(l, "scp -P "); i >= 0 {
			shown = strings.TrimSpace(strings.Trim(strings.TrimSpace(l[i:]), "│"))
		}
	}
	want := "scp -P " + s.port + " admin@127.0.0.1:office/phone-bob.jwt ."
	if shown != want {
		t.Fatalf("the dialog shows %q, want %q:\n%s", shown, want, screen)
	}
	// Run as shown (with the test's key and host key pinned), into a folder.
	dest := t.TempDir()
	args := strings.Fields(shown)
	argv := append(append([]string{"scp"}, s.sshOpts(s.alice)...), args[1:len(args)-1]...)
	if code, _, stderr := execRun(t, append(argv, dest)...); code != 0 {
		t.Fatalf("%v: exit %d: %s", argv, code, stderr)
	}
	tok := strings.TrimSpace(MustRun(t, s.env, "enrollment", "jwt", "phone-bob").Stdout)
	got, err := os.ReadFile(filepath.Join(dest, "phone-bob.jwt"))
	if err != nil || strings.TrimSpace(string(got)) != tok {
		t.Fatalf("the scp command fetched %q (%v), want the token", got, err)
	}

	term.Send("Enter") // the token to the clipboard
	term.WaitFor(10*time.Second, "Token of phone-bob")
	Eventually(t, 10*time.Second, "tmux to hold the token", func() bool {
		out, err := exec.Command("tmux", "-L", term.socket, "show-buffer").Output()
		return err == nil && strings.TrimSpace(string(out)) == tok
	})
	if _, err := os.Stat(filepath.Join(dataDir(s.home), "downloads")); err == nil {
		t.Error("a downloads folder was made on the server")
	}
}

// TestConsoleDownloadMakesTheDefaultFolder: the config's downloads folder,
// missing, is made (0700) the first time Download JWT uses it.
func TestConsoleDownloadMakesTheDefaultFolder(t *testing.T) {
	t.Parallel()
	e := NewDB(t)
	folder := filepath.Join(t.TempDir(), "not", "yet", "Downloads")
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte("downloads: "+folder+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	MustRun(t, e, "network", "create", "office")
	MustRun(t, e, "identity", "create", "laptop-a")
	term := StartTerm(t, e, 100, 30, "--config", cfg)
	term.WaitFor(10*time.Second, "laptop-a")
	term.Send("Enter")
	term.WaitFor(10*time.Second, "Download JWT (j)")
	term.Send("j")
	term.WaitFor(5*time.Second, "Folder")
	term.Send("Enter")
	term.WaitFor(10*time.Second, "Token of laptop-a saved to")
	st, err := os.Stat(folder)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("the downloads folder: %v %v, want a 0700 folder", st, err)
	}
	tok := MustRun(t, e, "enrollment", "jwt", "laptop-a").Stdout
	if got, err := os.ReadFile(filepath.Join(folder, "laptop-a.jwt")); err != nil || strings.TrimSpace(string(got)) != strings.TrimSpace(tok) {
		t.Fatalf("the file holds %q (%v)", got, err)
	}
}
