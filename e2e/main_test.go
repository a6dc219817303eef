// Package e2e drives the real idcon binary, built once for the whole test
// run, against real SQLite databases in temporary folders: what a script or
// an admin at a terminal would see, exit codes and all.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestVersion is what the test binary reports for idcon --version.
const TestVersion = "e2e-test"

// binary is the idcon built by TestMain; read it through Binary.
var binary string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "idcon-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	_, here, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(here))
	binary = filepath.Join(dir, "idcon")
	build := exec.Command("go", "build", "-ldflags", "-X github.com/idcon/idcon/cli.Version="+TestVersion, "-o", binary, ".")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building idcon:", err)
		return 1
	}
	return m.Run()
}

// Binary is the path of the idcon binary under test.
func Binary() string { return binary }

// Env is how one invocation of idcon runs. The zero value runs with a
// fresh home folder (so nothing touches the real ~/.local/share) and no
// --db.
type Env struct {
	// DB is passed as --db; empty leaves the flag out.
	DB string
	// Home is HOME, with XDG_DATA_HOME under it; empty means a fresh
	// t.TempDir().
	Home string
	// Vars are extra KEY=VALUE environment variables (IDCON_DB, NO_COLOR...).
	Vars []string
	// Stdin is the process's stdin; nil means an empty, non-terminal one.
	Stdin io.Reader
	// Dir is the working folder; empty means the test's own.
	Dir string
}

// NewDB returns an Env using a new database file in a temporary folder.
func NewDB(t testing.TB) Env {
	t.Helper()
	return Env{DB: filepath.Join(t.TempDir(), "idcon.db")}
}

// Environ is the process environment idcon gets: only what it needs, never
// the developer's IDCON_DB or data folders.
func (e Env) Environ(t testing.TB) []string {
	t.Helper()
	home := e.Home
	if home == "" {
		home = t.TempDir()
	}
	env := []string{
		"HOME=" + home,
		"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"),
		"PATH=" + os.Getenv("PATH"),
		"LANG=C.UTF-8",
	}
	if tz, ok := os.LookupEnv("TZ"); ok {
		env = append(env, "TZ="+tz)
	}
	return append(env, e.Vars...)
}

// Args is the command line idcon gets for args: --db first when DB is set.
func (e Env) Args(args ...string) []string {
	if e.DB != "" {
		return append([]string{"--db", e.DB}, args...)
	}
	return args
}

// command builds the exec.Cmd for one invocation.
func (e Env) command(t testing.TB, ctx context.Context, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(ctx, binary, e.Args(args...)...)
	cmd.Env = e.Environ(t)
	cmd.Dir = e.Dir
	cmd.Stdin = e.Stdin
	return cmd
}

// Result is what one finished invocation printed and its exit code.
type Result struct {
	Args           []string
	Stdout, Stderr string
	Code           int
}

// String shows the invocation for failure messages (the output may hold
// tokens only from test databases).
func (r Result) String() string {
	return fmt.Sprintf("idcon %s → exit %d\nstdout: %s\nstderr: %s", strings.Join(r.Args, " "), r.Code, r.Stdout, r.Stderr)
}

// runTimeout bounds one invocation; far above what any takes, it only
// stops a hung test.
const runTimeout = 2 * time.Minute

// Run runs idcon to completion and returns what it printed and its exit
// code. It fails the test only if the binary can't be run at all.
func Run(t testing.TB, e Env, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := e.command(t, ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := Result{Args: args, Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.Code = exit.ExitCode()
	default:
		t.Fatalf("running idcon %v: %v", args, err)
	}
	return res
}

// MustRun runs idcon and fails the test unless it exits 0.
func MustRun(t testing.TB, e Env, args ...string) Result {
	t.Helper()
	r := Run(t, e, args...)
	if r.Code != 0 {
		t.Fatalf("want exit 0:\n%s", r)
	}
	return r
}

// Proc is idcon running in the background.
type Proc struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
	code           int
}

// Start starts idcon in the background; the test's cleanup kills it if it
// is still running.
func Start(t testing.TB, e Env, args ...string) *Proc {
	t.Helper()
	cmd := e.command(t, context.Background(), args...)
	p := &Proc{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting idcon %v: %v", args, err)
	}
	go func() {
		err := cmd.Wait()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			p.code = exit.ExitCode()
		} else if err != nil {
			p.code = -1
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig syscall.Signal) error { return p.cmd.Process.Signal(sig) }

// Wait waits up to d for the process to exit and reports its exit code;
// ok is false if it is still running.
func (p *Proc) Wait(d time.Duration) (code int, ok bool) {
	select {
	case <-p.done:
		return p.code, true
	case <-time.After(d):
		return 0, false
	}
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stdout and Stderr are what the process printed so far.
func (p *Proc) Stdout() string { return p.stdout.String() }
func (p *Proc) Stderr() string { return p.stderr.String() }

// syncBuffer is a bytes.Buffer safe to read while the process writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Eventually polls cond every 50 ms until it holds or d passes. It is for
// waiting on another process, never for asserting how fast something is.
func Eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
