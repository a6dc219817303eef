package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/idcon/idcon/backend/openziti/zitifake"
)

// coreDumpsLandInTheWorkingFolder skips unless this machine writes a
// crashing process's core to a file in its working folder, and shows it
// does: a shell that ends by SIGQUIT leaves a core there.
func coreDumpsLandInTheWorkingFolder(t *testing.T) {
	t.Helper()
	pattern, err := os.ReadFile("/proc/sys/kernel/core_pattern")
	if err != nil {
		t.Skipf("no /proc/sys/kernel/core_pattern (%v): this test needs Linux core dumps", err)
	}
	if p := strings.TrimSpace(string(pattern)); p == "" || strings.HasPrefix(p, "|") || strings.Contains(p, "/") {
		t.Skipf("this machine hands core dumps to %q, not to a file in the process's folder: nothing to look into", p)
	}
	dir := t.TempDir()
	control := exec.Command("sh", "-c", `ulimit -c unlimited && kill -QUIT $$`)
	control.Dir = dir
	_ = control.Run()
	if cores, _ := filepath.Glob(filepath.Join(dir, "core*")); len(cores) == 0 {
		t.Skip("a shell killed by SIGQUIT left no core file here (ulimit -Hc, or a container without core dumps): nothing to look into")
	}
}

// A crash of idcon after an admin typed the controller password leaves no
// core file holding it (nor the tokens the controller issued): idcon
// withholds its memory from core dumps, as ssh-agent does, where the
// machine writes them (proved first with a shell).
func TestCrashLeavesNoCoreWithThePassword(t *testing.T) {
	coreDumpsLandInTheWorkingFolder(t)
	fake := zitifake.Start(t, zitifake.AdminUnlisted(), zitifake.Credentials("admin", "correct-horse-42"))
	fake.CreateIdentity("laptop-alice", "", fake.Now().Add(48*time.Hour))
	env, cfg := pwConfig(t, fake)
	dir := t.TempDir()
	// The shell lifts the soft core limit (to its hard limit, unlimited
	// here) and becomes idcon.
	cmd := exec.Command("sh", append([]string{"-c", `ulimit -c unlimited && exec "$0" "$@"`, binary}, env.Args("--config", cfg)...)...)
	cmd.Env = append(env.Environ(t), "TERM=xterm-256color", "GOTRACEBACK=crash")
	cmd.Dir = dir
	pt := startPtyCmd(t, cmd, 100, 30, plainAnswers)
	pt.WaitFor(10*time.Second, 0, "Sign in to ctrl", "Password")
	pt.Type("correct-horse-42\r")
	pt.WaitFor(10*time.Second, 0, "ctrl", "1 identity")

	if err := cmd.Process.Signal(syscall.SIGQUIT); err != nil {
		t.Fatal(err)
	}
	pt.WaitExit(20 * time.Second)
	var exit *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &exit) || !exit.Sys().(syscall.WaitStatus).Signaled() {
		t.Fatalf("idcon did not crash on SIGQUIT with GOTRACEBACK=crash: %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		t.Errorf("the crash left %s in idcon's folder, %d bytes, holding the password %d times", e.Name(), len(data), bytes.Count(data, []byte("correct-horse-42")))
	}
	secrets := append(fake.IssuedSecrets(), "correct-horse-42")
	noSecretsInFiles(t, []string{env.Home, filepath.Dir(env.DB)}, nil, secrets...)
}
