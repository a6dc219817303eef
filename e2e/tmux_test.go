package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Term is the real binary running in a real terminal: a tmux session on a
// tmux server of its own, driven with send-keys and read with capture-pane.
type Term struct {
	t      testing.TB
	socket string
}

var termSeq atomic.Int64

// StartTerm runs idcon with args (after e.Args) in a new w×h tmux session.
// The session and its server end with the test.
func StartTerm(t testing.TB, e Env, w, h int, args ...string) *Term {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tmux is not installed: .ci/run installs it")
		}
		t.Skip("tmux is not installed (apt-get install tmux)")
	}
	term := &Term{t: t, socket: fmt.Sprintf("idcon-e2e-%d-%d", os.Getpid(), termSeq.Add(1))}
	var cmd []string
	cmd = append(cmd, "env", "-i")
	cmd = append(cmd, e.Environ(t)...)
	cmd = append(cmd, "TERM=xterm-256color", binary)
	cmd = append(cmd, e.Args(args...)...)
	quoted := make([]string, len(cmd))
	for i, c := range cmd {
		quoted[i] = shellQuote(c)
	}
	// remain-on-exit keeps the last screen readable after idcon exits.
	dir := e.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	// In the same tmux command as the session: a program that ends at once
	// (a CLI verb) would otherwise take the session and the server with it
	// before a second command set the option ("no server running").
	term.tmux("-f", "/dev/null", "new-session", "-d", "-s", "idcon", "-c", dir,
		"-x", fmt.Sprint(w), "-y", fmt.Sprint(h), strings.Join(quoted, " "),
		";", "set-option", "-t", "idcon", "remain-on-exit", "on")
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", term.socket, "kill-server").Run() })
	return term
}

func (term *Term) tmux(args ...string) string {
	term.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", term.socket}, args...)...).CombinedOutput()
	if err != nil {
		term.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Send types keys as tmux names them ("Enter", "Escape", "Up", "C-c") or
// as literal text when passed through Type.
func (term *Term) Send(keys ...string) {
	term.t.Helper()
	term.tmux(append([]string{"send-keys", "-t", "idcon"}, keys...)...)
}

// Type types text literally, one key at a time as a person would.
func (term *Term) Type(text string) {
	term.t.Helper()
	for _, r := range text {
		term.tmux("send-keys", "-t", "idcon", "-l", string(r))
	}
}

// Screen is what the terminal shows now, without colours.
func (term *Term) Screen() string {
	term.t.Helper()
	return term.tmux("capture-pane", "-p", "-t", "idcon")
}

// WaitFor polls the screen until it holds every one of texts, and returns
// it; after d it fails the test showing the last screen.
func (term *Term) WaitFor(d time.Duration, texts ...string) string {
	term.t.Helper()
	deadline := time.Now().Add(d)
	for {
		s := term.Screen()
		missing := ""
		for _, want := range texts {
			if !strings.Contains(s, want) {
				missing = want
				break
			}
		}
		if missing == "" {
			return s
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("the screen never showed %q within %v; it shows:\n%s", missing, d, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitGone polls the screen until it no longer holds text.
func (term *Term) WaitGone(d time.Duration, text string) string {
	term.t.Helper()
	deadline := time.Now().Add(d)
	for {
		s := term.Screen()
		if !strings.Contains(s, text) {
			return s
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("the screen still shows %q after %v:\n%s", text, d, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Exited reports whether the program in the terminal has ended.
func (term *Term) Exited() bool {
	term.t.Helper()
	return strings.TrimSpace(term.tmux("display-message", "-p", "-t", "idcon", "#{pane_dead}")) == "1"
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:+,@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// dataDir is where idcon keeps its files for an Env with this home.
func dataDir(home string) string { return filepath.Join(home, ".local", "share", "idcon") }

// ScreenColors is what the terminal shows now, with its colours as SGR
// sequences and trailing blanks kept (capture-pane -e -N: a blank with a
// background colour is part of a QR code's quiet zone), for reading one back.
func (term *Term) ScreenColors() string {
	term.t.Helper()
	return term.tmux("capture-pane", "-p", "-e", "-N", "-t", "idcon")
}
