package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/spf13/cobra"

	"github.com/idcon/idcon/backend/embedded"
	"github.com/idcon/idcon/model"
)

// runResult is one in-process run of the CLI.
type runResult struct {
	code           int
	stdout, stderr string
}

// runCLI runs the CLI in-process with a home folder of its own, so nothing
// touches the real one.
func runCLI(t *testing.T, home string, stdin *os.File, console func(context.Context, ConsoleEnv) error, args ...string) runResult {
	t.Helper()
	var out, errOut bytes.Buffer
	env := environment{
		stdout: &out, stderr: &errOut,
		getenv: func(k string) string {
			switch k {
			case "HOME":
				return home
			case "XDG_DATA_HOME":
				return filepath.Join(home, "data")
			}
			return ""
		},
		now:     time.Now,
		console: console,
	}
	if stdin != nil {
		env.stdin = stdin
	} else {
		env.stdin = strings.NewReader("")
	}
	if env.console == nil {
		env.console = func(context.Context, ConsoleEnv) error { return failf("no console in this test") }
	}
	code := run(context.Background(), args, env)
	return runResult{code: code, stdout: out.String(), stderr: errOut.String()}
}

// TestEveryCommandHasHelp walks the command tree, so a command added later
// is covered without touching the test.
func TestEveryCommandHasHelp(t *testing.T) {
	home := t.TempDir()
	root := (&app{}).rootCommand()
	var visit func(c *cobra.Command)
	count := 0
	visit = func(c *cobra.Command) {
		count++
		path := strings.Fields(strings.TrimPrefix(c.CommandPath(), "idcon"))
		r := runCLI(t, home, nil, nil, append(path, "--help")...)
		if r.code != exitOK || !strings.Contains(r.stdout, "Usage:") || r.stderr != "" {
			t.Errorf("idcon %s --help: exit %d\n%s%s", strings.Join(path, " "), r.code, r.stdout, r.stderr)
		}
		if c.Short == "" {
			t.Errorf("idcon %s has no short description", strings.Join(path, " "))
		}
		for _, sub := range c.Commands() {
			visit(sub)
		}
	}
	visit(root)
	if count < 15 {
		t.Errorf("only %d commands in the tree", count)
	}
	if entries, _ := os.ReadDir(home); len(entries) != 0 {
		t.Errorf("--help created files: %v", entries)
	}
}

// TestConsoleHook: the root command opens the database and hands it to
// the console; --demo opens the demo database, seeded on first use.
func TestConsoleHook(t *testing.T) {
	home := t.TempDir()
	var got ConsoleEnv
	var identities int
	fake := func(ctx context.Context, env ConsoleEnv) error {
		got = env
		nets, err := env.Backend.Networks(ctx)
		if err != nil {
			return err
		}
		for _, n := range nets {
			identities += n.Identities
		}
		return nil
	}
	r := runCLI(t, home, nil, fake, "--demo")
	if r.code != exitOK {
		t.Fatalf("console --demo: %+v", r)
	}
	wantDB := filepath.Join(home, "data", "idcon", "demo.db")
	if !got.Demo || got.DBPath != wantDB || got.Store == nil || got.Now == nil || got.StateFile == "" || identities != demoIdentities {
		t.Errorf("console env: %+v with %d identities", got, identities)
	}

	// A console's error is reported like any command's.
	r = runCLI(t, home, nil, func(context.Context, ConsoleEnv) error { return failf("broken; fix it") })
	if r.code != exitError || r.stderr != "idcon: broken; fix it\n" {
		t.Errorf("console error: %+v", r)
	}
}

// TestResetConfirmation answers the question on a real terminal (a pty):
// no leaves the identity as it was, yes resets it and drops its sessions.
func TestResetConfirmation(t *testing.T) {
	home := t.TempDir()
	db := filepath.Join(t.TempDir(), "idcon.db")
	ctx := context.Background()
	s, err := embedded.Open(db, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.CreateNetwork(ctx, "office")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.CreateIdentity(ctx, n.ID, model.NewIdentity{Name: "laptop-alice", ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := embedded.EnrollToDir(ctx, s, tok.JWT, filepath.Join(t.TempDir(), "dev")); err != nil {
		t.Fatal(err)
	}
	if err := s.AddSessions(ctx, n.ID, tok.Identity.ID, 2); err != nil {
		t.Fatal(err)
	}
	before, err := s.Identity(ctx, n.ID, tok.Identity.ID)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	answer := func(text string) runResult {
		ptmx, tty, err := pty.Open()
		if err != nil {
			t.Skipf("no pty here: %v", err)
		}
		defer ptmx.Close()
		defer tty.Close()
		if _, err := ptmx.WriteString(text); err != nil {
			t.Fatal(err)
		}
		return runCLI(t, home, tty, nil, "--db", db, "enrollment", "reset", "laptop-alice", "--expires", "+1d")
	}
	r := answer("n\n")
	const question = "Reset enrollment of laptop-alice? Its 2 active sessions drop now. [y/N] "
	if r.code != exitError || !strings.HasPrefix(r.stderr, question) || !strings.Contains(r.stderr, "did not confirm") || r.stdout != "" {
		t.Errorf("answering no: %+v", r)
	}
	s, err = embedded.Open(db, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	after, err := s.Identity(ctx, n.ID, tok.Identity.ID)
	if err != nil || after.Revision != before.Revision || after.ActiveSessions != 2 {
		t.Errorf("answering no changed the identity: %+v (%v)", after, err)
	}

	r = answer("y\n")
	if r.code != exitOK || !strings.Contains(r.stdout, "2 sessions dropped") {
		t.Errorf("answering yes: %+v", r)
	}
	after, err = s.Identity(ctx, n.ID, tok.Identity.ID)
	if err != nil || after.State(time.Now()) != model.StatePending || after.ActiveSessions != 0 {
		t.Errorf("after a confirmed reset: %+v (%v)", after, err)
	}
}

// TestConfirmNeedsATerminal: a pipe or a file on stdin is refused, even
// one holding "y".
func TestConfirmNeedsATerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("y\n")
	f.Seek(0, 0)
	defer f.Close()
	var stderr bytes.Buffer
	a := &app{environment: environment{stdin: f, stderr: &stderr}}
	err = a.confirm("Reset?", "the enrollment of x was not reset")
	if err == nil || !strings.Contains(err.Error(), "--yes") || stderr.Len() != 0 {
		t.Errorf("confirm with a file on stdin: %v, asked %q", err, stderr.String())
	}
	a.stdin = strings.NewReader("y\n")
	if err := a.confirm("Reset?", "not reset"); err == nil {
		t.Error("confirm with a reader on stdin said yes")
	}
}
