package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// StartTermCmd runs argv, any program (an ssh client, say), in a new w×h
// tmux session in dir, with an environment of its own: HOME=dir, PATH,
// TERM=xterm-256color and a UTF-8 locale. Like StartTerm's, the session and
// its tmux server end with the test and the last screen stays readable
// after the program exits.
func StartTermCmd(t testing.TB, dir string, w, h int, argv ...string) *Term {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tmux is not installed: .ci/run installs it")
		}
		t.Skip("tmux is not installed (apt-get install tmux)")
	}
	term := &Term{t: t, socket: fmt.Sprintf("idcon-e2e-%d-%d", os.Getpid(), termSeq.Add(1))}
	cmd := []string{"env", "-i", "HOME=" + dir, "PATH=" + os.Getenv("PATH"), "TERM=xterm-256color", "LANG=C.UTF-8"}
	cmd = append(cmd, argv...)
	quoted := make([]string, len(cmd))
	for i, c := range cmd {
		quoted[i] = shellQuote(c)
	}
	term.tmux("-f", "/dev/null", "new-session", "-d", "-s", "idcon", "-c", dir,
		"-x", fmt.Sprint(w), "-y", fmt.Sprint(h), strings.Join(quoted, " "),
		";", "set-option", "-t", "idcon", "remain-on-exit", "on") // one command: see StartTerm
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", term.socket, "kill-server").Run() })
	return term
}
