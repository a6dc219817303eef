package sshserver_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/idcon/idcon/audit"
	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/access"
	"github.com/idcon/idcon/backend/embedded"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/sshserver"
)

// world is a real SQLite store with network "demo": bob and dave hold
// pending tokens, erin is enrolled.
type world struct {
	dir   string
	store *embedded.Store
	net   model.Network
	bob   model.Identity
	dave  model.Identity
	erin  model.Identity
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	s, err := embedded.Open(filepath.Join(dir, "idcon.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	n, err := s.CreateNetwork(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	w := &world{dir: dir, store: s, net: n}
	mk := func(name string) (model.Identity, string) {
		tok, err := s.CreateIdentity(ctx, n.ID, model.NewIdentity{Name: name, ExpiresAt: time.Now().Add(48 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Identity, tok.JWT
	}
	w.bob, _ = mk("bob")
	w.dave, _ = mk("dave")
	erin, jwt := mk("erin")
	if _, err := embedded.EnrollToDir(ctx, s, jwt, filepath.Join(dir, "erin-device")); err != nil {
		t.Fatal(err)
	}
	w.erin, _ = s.Identity(ctx, n.ID, erin.ID)
	return w
}

// key is a throwaway SSH key made by ssh-keygen.
type key struct {
	path string // private key file
	pub  string // "ssh-ed25519 AAAA… comment"
	fp   string
}

func newKey(t *testing.T, dir, name string) key {
	t.Helper()
	p := filepath.Join(dir, name)
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name+"@test", "-f", p).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(p + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pk, _, _, _, err := gossh.ParseAuthorizedKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return key{path: p, pub: strings.TrimSpace(string(pub)), fp: gossh.FingerprintSHA256(pk)}
}

// server is a running sshserver with its world, keys and client files.
type server struct {
	t          *testing.T
	w          *world
	srv        *sshserver.Server
	dir        string
	port       string
	knownHosts string
	akPath     string
	auditPath  string
	alice      key // admin
	carol      key // viewer
	cancel     context.CancelFunc
	served     chan error
	logs       *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type serverOption func(*sshserver.Config, *world)

// startServer runs a server on 127.0.0.1:0 whose authorized keys are alice
// (admin) and carol (viewer).
func startServer(t *testing.T, opts ...serverOption) *server {
	t.Helper()
	w := newWorld(t)
	dir := t.TempDir()
	s := &server{t: t, w: w, dir: dir, logs: &syncBuffer{}}
	s.alice = newKey(t, dir, "alice")
	s.carol = newKey(t, dir, "carol")
	s.akPath = filepath.Join(dir, "authorized_keys")
	s.writeKeys(`role="admin",name="alice" `+s.alice.pub, `name="carol" `+s.carol.pub)
	s.auditPath = filepath.Join(dir, "audit.log")
	log, err := audit.Open(s.auditPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	cfg := sshserver.Config{
		Listen:             "127.0.0.1:0",
		HostKeyPath:        filepath.Join(dir, "hostkey", "ssh_host_ed25519_key"),
		AuthorizedKeysPath: s.akPath,
		Backend:            w.store,
		Audit:              log,
		NewConsole:         newTestConsoleFactory(w),
		Logger:             slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		// The tests written before the grace period stop at once;
		// drain_test.go gives one.
		ShutdownGrace: -1,
	}
	for _, o := range opts {
		o(&cfg, w)
	}
	srv, err := sshserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.srv = srv
	_, s.port, _ = net.SplitHostPort(srv.Addr().String())
	s.knownHosts = filepath.Join(dir, "known_hosts")
	line := "idcon-test " + strings.TrimSpace(string(gossh.MarshalAuthorizedKey(srv.HostKey()))) + "\n"
	if err := os.WriteFile(s.knownHosts, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.served = make(chan error, 1)
	go func() { s.served <- srv.ListenAndServe(ctx) }()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("server log:\n%s", s.logs.String())
		}
	})
	return s
}

// stop cancels the server and waits for ListenAndServe to return.
func (s *server) stop() error {
	s.cancel()
	if s.served == nil {
		return nil
	}
	err := <-s.served
	s.served = nil
	return err
}

func (s *server) writeKeys(lines ...string) {
	s.t.Helper()
	if err := os.WriteFile(s.akPath, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		s.t.Fatal(err)
	}
}

// sshOpts are the client options every test uses: only the given key, the
// server's host key pinned, no user config, no agent, no prompts.
func (s *server) sshOpts(k key) []string {
	return []string{
		"-F", "/dev/null",
		"-i", k.path,
		"-o", "IdentitiesOnly=yes",
		"-o", "IdentityAgent=none",
		"-o", "UserKnownHostsFile=" + s.knownHosts,
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "HostKeyAlias=idcon-test",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes",
		"-o", "ConnectTimeout=10",
		"-o", "LogLevel=" + logLevel(),
	}
}

// sshArgs is a full ssh command line for key k, then extra.
func (s *server) sshArgs(k key, extra ...string) []string {
	args := append([]string{"/usr/bin/ssh"}, s.sshOpts(k)...)
	args = append(args, "-p", s.port, "-l", "idcon")
	args = append(args, extra...)
	return append(args, "127.0.0.1")
}

// run runs a command to its end and returns its exit code and output.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.Stdin = nil
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("%v: %v", args, err)
	}
	return code, o.String(), e.String()
}

// scp copies remote (a path on the server) into dir with key k; legacy
// uses the old SCP protocol (scp -O) instead of SFTP.
func (s *server) scp(k key, legacy bool, remote, dest string) (int, string) {
	args := append([]string{"/usr/bin/scp"}, s.sshOpts(k)...)
	args = append(args, "-P", s.port)
	if legacy {
		args = append(args, "-O")
	}
	if os.Getenv("IDCON_TEST_SCP_VERBOSE") != "" {
		args = append(args, "-v")
	}
	args = append(args, "idcon@127.0.0.1:"+remote, dest)
	code, _, stderr := run(s.t, args...)
	if os.Getenv("IDCON_TEST_SCP_VERBOSE") != "" {
		s.t.Logf("scp %s: exit %d\n%s", remote, code, stderr)
	}
	return code, stderr
}

func (s *server) auditEntries() []audit.Entry {
	s.t.Helper()
	es, err := audit.Read(s.auditPath, audit.Filter{})
	if err != nil {
		s.t.Fatal(err)
	}
	return es
}

// waitUntil polls cond (every 20ms, up to 20s) — waiting for something to
// happen, not timing it.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tmux drives interactive sessions in a private tmux server: a real
// terminal for each ssh client.
type tmux struct {
	t    *testing.T
	sock string
	conf string
}

func newTmux(t *testing.T) *tmux {
	t.Helper()
	dir, err := os.MkdirTemp("", "idcon-tmux")
	if err != nil {
		t.Fatal(err)
	}
	x := &tmux{t: t, sock: filepath.Join(dir, "sock"), conf: filepath.Join(dir, "tmux.conf")}
	if err := os.WriteFile(x.conf, []byte("set -g status off\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = exec.Command("tmux", "-S", x.sock, "kill-server").Run()
		os.RemoveAll(dir)
	})
	return x
}

func (x *tmux) cmd(args ...string) string {
	x.t.Helper()
	full := append([]string{"-S", x.sock, "-f", x.conf}, args...)
	out, err := exec.Command("tmux", full...).CombinedOutput()
	if err != nil {
		x.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// start runs args in a new w×h window named name. When the command ends,
// the shell around it prints "[exited N]" with its status and stays: tmux
// itself sometimes reaps a pane's process late, so the status is taken from
// the shell rather than from tmux.
func (x *tmux) start(name string, w, h int, env []string, args ...string) {
	x.t.Helper()
	quoted := make([]string, 0, len(args))
	for _, a := range args {
		quoted = append(quoted, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
	}
	shell := strings.Join(quoted, " ")
	if len(env) > 0 {
		shell = "env " + strings.Join(env, " ") + " " + shell
	}
	shell += `; echo "[exited $?]"; exec sleep 3600`
	x.cmd("new-session", "-d", "-s", name, "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), shell)
}

// target names a session exactly: a bare "ss" could also match the window
// "ssh" of another session.
func target(name string) string { return "=" + name + ":" }

func (x *tmux) screen(name string) string {
	return x.cmd("capture-pane", "-p", "-t", target(name))
}

func (x *tmux) waitFor(name, want string) string {
	x.t.Helper()
	var scr string
	deadline := time.Now().Add(20 * time.Second)
	for {
		scr = x.screen(name)
		if strings.Contains(scr, want) {
			return scr
		}
		if time.Now().After(deadline) {
			x.t.Fatalf("window %s never showed %q; screen:\n%s", name, want, scr)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func (x *tmux) keys(name string, keys ...string) {
	x.cmd(append([]string{"send-keys", "-t", target(name)}, keys...)...)
}

var exitedRE = regexp.MustCompile(`\[exited (\d+)\]`)

// dead reports whether the window's command has ended, and its exit status.
func (x *tmux) dead(name string) (bool, string) {
	m := exitedRE.FindStringSubmatch(x.screen(name))
	if m == nil {
		return false, ""
	}
	return true, m[1]
}

// testConsole stands in for the real console: it shows who is signed in,
// how many identities the network holds, the terminal's size and colour
// profile, the changes published by other sessions, and on "r" tries to
// reset erin through the session's access.Backend. "p" panics.
type testConsole struct {
	b       *access.Backend
	actor   access.Actor
	w       *world
	count   int
	width   int
	height  int
	profile string
	result  string
	changes int
	keys    int
	events  <-chan access.ChangeEvent
}

type countMsg int
type resetMsg struct{ err error }
type changeMsg struct{}

func newTestConsoleFactory(w *world) func(ssh.Session, *access.Backend, access.Actor) tea.Model {
	return func(sess ssh.Session, b *access.Backend, actor access.Actor) tea.Model {
		c := newTestConsole(b, actor, w)
		if ch := b.Changes(); ch != nil {
			var cancel func()
			c.events, cancel = ch.Subscribe()
			go func() { <-sess.Context().Done(); cancel() }()
		}
		return c
	}
}

func newTestConsole(b *access.Backend, actor access.Actor, w *world) *testConsole {
	return &testConsole{b: b, actor: actor, w: w, count: -1}
}

func (c *testConsole) waitChange() tea.Cmd {
	if c.events == nil {
		return nil
	}
	return func() tea.Msg {
		if _, ok := <-c.events; !ok {
			return nil
		}
		return changeMsg{}
	}
}

func (c *testConsole) Init() tea.Cmd {
	return tea.Batch(func() tea.Msg {
		p, err := c.b.Identities(context.Background(), c.w.net.ID, model.ListQuery{Limit: 1})
		if err != nil {
			return countMsg(-2)
		}
		return countMsg(p.Total)
	}, c.waitChange())
}

func (c *testConsole) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case countMsg:
		c.count = int(msg)
	case tea.WindowSizeMsg:
		c.width, c.height = msg.Width, msg.Height
	case tea.ColorProfileMsg:
		c.profile = msg.Profile.String()
	case changeMsg:
		c.changes++
		return c, c.waitChange()
	case resetMsg:
		if msg.err != nil {
			c.result = "error: " + msg.err.Error()
		} else {
			c.result = "ok"
		}
	case tea.KeyPressMsg:
		c.keys++
		switch msg.String() {
		case "r":
			c.result = "pending"
			erin := c.w.erin
			return c, func() tea.Msg {
				_, err := c.b.ResetEnrollment(context.Background(), c.w.net.ID, erin.ID, erin.Revision, time.Now().Add(24*time.Hour))
				return resetMsg{err}
			}
		case "p":
			panic("test console asked to panic")
		case "q":
			return c, tea.Quit
		}
	}
	return c, nil
}

func (c *testConsole) View() tea.View {
	return tea.NewView(fmt.Sprintf(
		"actor=%s role=%s via=%s\nfp=%s\nidentities=%d\nsize=%dx%d\nprofile=%s\nchanges=%d keys=%d\nreset=%s\n",
		c.actor.Name, c.actor.Role, c.actor.Via, c.actor.Fingerprint, c.count, c.width, c.height, c.profile, c.changes, c.keys, c.result))
}

// slowBackend holds ResetEnrollment until released, standing in for a slow
// controller, to show that shutdown waits for a change under way.
type slowBackend struct {
	backend.Backend
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *slowBackend) ResetEnrollment(ctx context.Context, network, id string, rev int64, exp time.Time) (backend.Token, error) {
	s.once.Do(func() { close(s.entered) })
	<-s.release
	return s.Backend.ResetEnrollment(ctx, network, id, rev, exp)
}

// logLevel is the ssh client's: quiet, unless IDCON_TEST_SCP_VERBOSE asks.
func logLevel() string {
	if os.Getenv("IDCON_TEST_SCP_VERBOSE") != "" {
		return "DEBUG3"
	}
	return "ERROR"
}
