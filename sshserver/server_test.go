package sshserver_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"

	"github.com/idcon/idcon/audit"
	"github.com/idcon/idcon/backend/access"
	"github.com/idcon/idcon/sshserver"
)

func TestHostKeyGeneratedAt0600AtTheConfiguredPath(t *testing.T) {
	s := startServer(t)
	path := filepath.Join(s.dir, "hostkey", "ssh_host_ed25519_key")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("host key mode %v, want 0600", st.Mode().Perm())
	}
	if _, err := os.Stat("id_ed25519"); err == nil {
		t.Error("id_ed25519 was written into the current directory")
	}
	// A second server on the same path reuses the key.
	s2 := startServer(t, func(c *sshserver.Config, _ *world) { c.HostKeyPath = path })
	if string(s2.srv.HostKey().Marshal()) != string(s.srv.HostKey().Marshal()) {
		t.Error("restart made a new host key")
	}
}

func TestUnknownKeyRefused(t *testing.T) {
	s := startServer(t)
	mallory := newKey(t, s.dir, "mallory")
	code, _, stderr := run(t, s.sshArgs(mallory, "-T")...)
	if code != 255 || !strings.Contains(stderr, "Permission denied (publickey)") {
		t.Fatalf("unknown key: exit %d, stderr %q; want 255 and a publickey denial", code, stderr)
	}
	if !strings.Contains(s.logs.String(), "refused an unknown key") || !strings.Contains(s.logs.String(), mallory.fp) {
		t.Errorf("the refusal is not logged with the key's fingerprint:\n%s", s.logs.String())
	}
	if s.srv.Sessions() != 0 {
		t.Error("a session was opened for an unknown key")
	}
}

func TestPasswordAndKeyboardInteractiveRefused(t *testing.T) {
	s := startServer(t)
	args := s.sshArgs(s.alice, "-T",
		"-o", "PreferredAuthentications=password,keyboard-interactive",
		"-o", "PubkeyAuthentication=no")
	code, _, stderr := run(t, args...)
	// The server offers public keys only: the client has nothing to try.
	if code != 255 || !strings.Contains(stderr, "Permission denied (publickey)") {
		t.Fatalf("password login: exit %d, stderr %q; want 255 and only publickey offered", code, stderr)
	}
}

func TestSessionWithoutPtyRefused(t *testing.T) {
	s := startServer(t)
	code, stdout, stderr := run(t, s.sshArgs(s.alice, "-T")...)
	if code != 1 {
		t.Errorf("ssh -T: exit %d, want 1", code)
	}
	if strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "the console needs a terminal: connect with ssh -t") {
		t.Errorf("ssh -T: stderr %q, want one line asking for ssh -t", stderr)
	}
	if stdout != "" {
		t.Errorf("ssh -T: a console started: %q", stdout)
	}
	code, _, stderr = run(t, append(s.sshArgs(s.alice), "ls", "/")...)
	if code != 1 || !strings.Contains(stderr, `commands are not supported (you sent "ls /")`) {
		t.Errorf("ssh HOST ls: exit %d, stderr %q", code, stderr)
	}
}

func TestConsoleShowsActorAndFollowsResize(t *testing.T) {
	s := startServer(t)
	x := newTmux(t)
	x.start("a", 100, 30, nil, s.sshArgs(s.alice, "-tt")...)
	scr := x.waitFor("a", "identities=3")
	for _, want := range []string{"actor=alice role=admin via=ssh", "fp=" + s.alice.fp, "size=100x30"} {
		if !strings.Contains(scr, want) {
			t.Errorf("console lacks %q:\n%s", want, scr)
		}
	}
	x.cmd("resize-window", "-t", "=a:", "-x", "80", "-y", "20")
	x.waitFor("a", "size=80x20")
	x.keys("a", "q")
	waitUntil(t, "the console to quit", func() bool { d, _ := x.dead("a"); return d })
	if _, status := x.dead("a"); status != "0" {
		t.Errorf("quit: exit status %s, want 0", status)
	}
}

func TestColourProfileIsPerSession(t *testing.T) {
	s := startServer(t)
	x := newTmux(t)
	// The terminal type comes with the pty request, COLORTERM as an env
	// request: each session is judged on its own.
	x.start("true", 100, 30, []string{"TERM=xterm-256color"}, s.sshArgs(s.alice, "-tt", "-o", "SetEnv=COLORTERM=truecolor")...)
	x.start("plain", 100, 30, []string{"TERM=xterm"}, s.sshArgs(s.carol, "-tt")...)
	x.waitFor("true", "profile=TrueColor")
	scr := x.waitFor("plain", "profile=")
	if strings.Contains(scr, "profile=TrueColor") {
		t.Errorf("the plain xterm session got the other session's profile:\n%s", scr)
	}
	x.waitFor("plain", "profile=ANSI\n")
}

func TestViewerResetRefusedInFrontOfBackend(t *testing.T) {
	s := startServer(t)
	x := newTmux(t)
	x.start("c", 120, 30, nil, s.sshArgs(s.carol, "-tt")...)
	x.waitFor("c", "actor=carol role=viewer")
	x.keys("c", "r")
	x.waitFor("c", "reset=error: viewers can't reset enrollments: ask an admin (you are carol, viewer)")

	after, err := s.w.store.Identity(context.Background(), s.w.net.ID, s.w.erin.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Revision != s.w.erin.Revision || after.State(time.Now()) != s.w.erin.State(time.Now()) {
		t.Fatalf("a viewer's reset changed erin: revision %d→%d", s.w.erin.Revision, after.Revision)
	}
	es := s.auditEntries()
	if len(es) != 1 {
		t.Fatalf("%d audit entries, want 1: %+v", len(es), es)
	}
	e := es[0]
	if e.Action != audit.ActionReset || e.Actor.Name != "carol" || e.Actor.Fingerprint != s.carol.fp ||
		e.Actor.Via != "ssh" || e.Identity.Name != "erin" || !strings.Contains(e.Result, "viewers can't reset") {
		t.Errorf("refusal audited as %+v", e)
	}
}

func TestAdminResetShowsInOtherSessions(t *testing.T) {
	s := startServer(t)
	x := newTmux(t)
	x.start("a", 120, 30, nil, s.sshArgs(s.alice, "-tt")...)
	x.start("c", 120, 30, nil, s.sshArgs(s.carol, "-tt")...)
	x.waitFor("a", "identities=3")
	x.waitFor("c", "changes=0")
	x.keys("a", "r")
	x.waitFor("a", "reset=ok")
	x.waitFor("c", "changes=1") // the viewer's session heard of the change
	after, _ := s.w.store.Identity(context.Background(), s.w.net.ID, s.w.erin.ID)
	if after.Revision == s.w.erin.Revision {
		t.Fatal("the admin's reset didn't change erin")
	}
	es := s.auditEntries()
	if len(es) != 1 || es[0].Result != "ok" || es[0].Actor.Name != "alice" || es[0].Actor.Role != "admin" {
		t.Fatalf("reset audited as %+v", es)
	}
}

func TestSCPDownloadAsAdmin(t *testing.T) {
	for _, mode := range []struct {
		name   string
		legacy bool
	}{{"sftp", false}, {"legacy scp -O", true}} {
		t.Run(mode.name, func(t *testing.T) {
			s := startServer(t)
			want, err := s.w.store.TokenJWT(context.Background(), s.w.net.ID, s.w.bob.ID)
			if err != nil {
				t.Fatal(err)
			}
			dest := t.TempDir()
			code, stderr := s.scp(s.alice, mode.legacy, "demo/bob.jwt", dest)
			if code != 0 {
				t.Fatalf("scp: exit %d: %s", code, stderr)
			}
			got, err := os.ReadFile(filepath.Join(dest, "bob.jwt"))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != want {
				t.Fatalf("downloaded %d bytes that differ from the current token (%d bytes)", len(got), len(want))
			}
			es := s.auditEntries()
			if len(es) != 1 {
				t.Fatalf("%d audit entries for one download, want 1: %+v", len(es), es)
			}
			e := es[0]
			if e.Action != audit.ActionJWTDownloaded || e.Result != "ok" || e.Actor.Name != "alice" ||
				e.Actor.Fingerprint != s.alice.fp || e.Actor.Via != "ssh" ||
				e.Network.Name != "demo" || e.Identity.Name != "bob" || e.Identity.ID != s.w.bob.ID {
				t.Errorf("download audited as %+v", e)
			}
			raw, _ := os.ReadFile(s.auditPath)
			if strings.Contains(string(raw), want) || strings.Contains(string(raw), "eyJ") {
				t.Fatal("the token reached the audit file")
			}
			if strings.Contains(s.logs.String(), want) {
				t.Fatal("the token reached the server log")
			}
		})
	}
}

func TestSCPRefusals(t *testing.T) {
	s := startServer(t)
	for _, legacy := range []bool{false, true} {
		dest := t.TempDir()
		cases := []struct {
			k    key
			path string
			says string
		}{
			{s.carol, "demo/bob.jwt", "viewers can't download tokens: ask an admin (you are carol, viewer)"},
			{s.alice, "demo/nobody.jwt", `no identity named "nobody" in network demo`},
			{s.alice, "nosuch/bob.jwt", `no network named "nosuch" (networks: demo)`},
			{s.alice, "demo/bob.txt", "is not a token path: ask for NETWORK/IDENTITY.jwt"},
			{s.alice, "demo/erin.jwt", "erin is enrolled"},
		}
		for _, c := range cases {
			code, stderr := s.scp(c.k, legacy, c.path, dest)
			if code == 0 || !strings.Contains(stderr, c.says) {
				t.Errorf("legacy=%v scp %s: exit %d, stderr %q; want failure saying %q", legacy, c.path, code, stderr, c.says)
			}
		}
		if ents, _ := os.ReadDir(dest); len(ents) != 0 {
			t.Errorf("legacy=%v: refused downloads left files: %v", legacy, ents)
		}
	}
	// Each refused token fetch is audited once per attempt; path errors are
	// not deliveries and are not.
	var viewer, enrolled int
	for _, e := range s.auditEntries() {
		if e.Action != audit.ActionJWTDownloaded || e.Result == "ok" {
			t.Errorf("unexpected audit entry %+v", e)
		}
		switch e.Identity.Name {
		case "bob":
			viewer++
		case "erin":
			enrolled++
		}
	}
	if viewer != 2 || enrolled != 2 {
		t.Errorf("audited %d viewer and %d enrolled refusals, want 2 and 2", viewer, enrolled)
	}

	// Uploads are refused in both protocols.
	src := filepath.Join(t.TempDir(), "x.jwt")
	os.WriteFile(src, []byte("x"), 0o600)
	for _, legacy := range []bool{false, true} {
		args := append([]string{"/usr/bin/scp"}, s.sshOpts(s.alice)...)
		args = append(args, "-P", s.port)
		if legacy {
			args = append(args, "-O")
		}
		code, _, stderr := run(t, append(args, src, "idcon@127.0.0.1:demo/x.jwt")...)
		if code == 0 || !strings.Contains(stderr, "uploads are refused") {
			t.Errorf("legacy=%v upload: exit %d, stderr %q", legacy, code, stderr)
		}
	}
}

func TestAuthorizedKeysReloadWithoutDroppingSessions(t *testing.T) {
	s := startServer(t)
	x := newTmux(t)
	x.start("a", 100, 30, nil, s.sshArgs(s.alice, "-tt")...)
	x.waitFor("a", "identities=3")

	dan := newKey(t, s.dir, "dan")
	if code, _, _ := run(t, s.sshArgs(dan, "-T")...); code != 255 {
		t.Fatalf("dan before being added: exit %d, want 255", code)
	}
	s.writeKeys(`role="admin",name="alice" `+s.alice.pub, `name="carol" `+s.carol.pub, `role="admin" `+dan.pub+" dan@laptop")
	// Signed in (then refused for want of a terminal, exit 1) once reloaded.
	waitUntil(t, "dan's key to be accepted", func() bool {
		code, _, _ := run(t, s.sshArgs(dan, "-T")...)
		return code == 1
	})
	_, _, stderr := run(t, s.sshArgs(dan, "-T")...)
	if !strings.Contains(stderr, "needs a terminal") {
		t.Errorf("dan after reload: %q", stderr)
	}
	// A bad line at reload is skipped with a warning, the good ones stay.
	s.writeKeys(`role="admin",name="alice" `+s.alice.pub, `role="root" `+s.carol.pub, `role="admin" `+dan.pub)
	waitUntil(t, "carol's bad line to be skipped", func() bool {
		code, _, _ := run(t, s.sshArgs(s.carol, "-T")...)
		return code == 255
	})
	if !strings.Contains(s.logs.String(), "line 2: unknown role") {
		t.Errorf("bad line not warned about:\n%s", s.logs.String())
	}
	if code, _, _ := run(t, s.sshArgs(dan, "-T")...); code != 1 {
		t.Error("dan lost access when another line went bad")
	}
	// alice's console lived through both reloads.
	if dead, _ := x.dead("a"); dead {
		t.Fatal("a reload dropped a session")
	}
	x.keys("a", "x")
	x.waitFor("a", "keys=1")
}

func TestMaxSessions(t *testing.T) {
	s := startServer(t, func(c *sshserver.Config, _ *world) { c.MaxSessions = 2 })
	x := newTmux(t)
	x.start("a", 100, 30, nil, s.sshArgs(s.alice, "-tt")...)
	x.start("b", 100, 30, nil, s.sshArgs(s.carol, "-tt")...)
	x.waitFor("a", "identities=3")
	x.waitFor("b", "identities=3")
	code, _, stderr := run(t, s.sshArgs(s.alice, "-T")...)
	if code != 1 || strings.TrimSpace(stderr) != "idcon: the server is full (2 sessions open): try again later" {
		t.Fatalf("third session: exit %d, stderr %q", code, stderr)
	}
	x.keys("b", "q")
	waitUntil(t, "a slot to free", func() bool { return s.srv.Sessions() == 1 })
	if code, _, _ := run(t, s.sshArgs(s.alice, "-T")...); code != 1 {
		t.Fatal("after a session ended, a new one was still refused")
	}
}

func TestTwentyConcurrentSessions(t *testing.T) {
	s := startServer(t)
	x := newTmux(t)
	const n = 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	goBefore := runtime.NumGoroutine()
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("w%02d", i)
		k := s.alice
		if i%2 == 1 {
			k = s.carol
		}
		x.start(names[i], 100, 30, nil, s.sshArgs(k, "-tt")...)
	}
	for _, name := range names {
		x.waitFor(name, "identities=3")
	}
	if got := s.srv.Sessions(); got != n {
		t.Fatalf("%d sessions open, want %d", got, n)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	goAfter := runtime.NumGoroutine()
	t.Logf("%d sessions: heap in use +%d KiB (%.0f KiB/session), sys +%d KiB, goroutines +%d (%.1f/session)",
		n, (int64(after.HeapInuse)-int64(before.HeapInuse))/1024,
		float64(int64(after.HeapInuse)-int64(before.HeapInuse))/1024/n,
		(int64(after.Sys)-int64(before.Sys))/1024, goAfter-goBefore, float64(goAfter-goBefore)/n)
	// All still answer.
	for _, name := range names {
		x.keys(name, "x")
	}
	for _, name := range names {
		x.waitFor(name, "keys=1")
	}
}

func TestIdleConsoleClosedWithMessage(t *testing.T) {
	s := startServer(t, func(c *sshserver.Config, _ *world) { c.IdleTimeout = 1500 * time.Millisecond })
	x := newTmux(t)
	x.start("a", 100, 30, nil, s.sshArgs(s.alice, "-tt")...)
	x.waitFor("a", "identities=3")
	x.waitFor("a", "idcon: closed after 1.5s without input")
	waitUntil(t, "the idle session to end", func() bool { d, _ := x.dead("a"); return d })
	if _, status := x.dead("a"); status != "1" {
		t.Errorf("idle close: exit status %s, want 1", status)
	}
}

func TestPanicEndsOnlyItsSession(t *testing.T) {
	// carol's console panics as it is built; alice's panics on "p".
	s := startServer(t, func(c *sshserver.Config, w *world) {
		build := c.NewConsole
		c.NewConsole = func(sess ssh.Session, b *access.Backend, actor access.Actor) tea.Model {
			if actor.Name == "carol" {
				panic("no console for carol")
			}
			return build(sess, b, actor)
		}
	})
	x := newTmux(t)
	x.start("a", 100, 30, nil, s.sshArgs(s.alice, "-tt")...)
	x.start("b", 100, 30, nil, s.sshArgs(s.alice, "-tt")...)
	x.waitFor("a", "identities=3")
	x.waitFor("b", "identities=3")

	x.start("c", 100, 30, nil, s.sshArgs(s.carol, "-tt")...)
	x.waitFor("c", "idcon: internal error: this session was closed")
	waitUntil(t, "carol's session to end", func() bool { d, _ := x.dead("c"); return d })
	if _, status := x.dead("c"); status != "1" {
		t.Errorf("panicked session: exit %s, want 1", status)
	}

	x.keys("a", "p")
	x.waitFor("a", "idcon: internal error: this session was closed")
	waitUntil(t, "the panicked console to end", func() bool { d, _ := x.dead("a"); return d })
	if _, status := x.dead("a"); status != "1" {
		t.Errorf("panicked console: exit %s, want 1", status)
	}

	x.keys("b", "x")
	x.waitFor("b", "keys=1")
	x.start("d", 100, 30, nil, s.sshArgs(s.alice, "-tt")...)
	x.waitFor("d", "identities=3")
	logs := s.logs.String()
	if !strings.Contains(logs, "panic in a console") || !strings.Contains(logs, "panic in a session") {
		t.Errorf("the panics were not logged:\n%s", logs)
	}
}

func TestSIGHUPReloadsKeys(t *testing.T) {
	s := startServer(t)
	// A served session shows ListenAndServe (and its SIGHUP handler) is up.
	if code, _, _ := run(t, s.sshArgs(s.alice, "-T")...); code != 1 {
		t.Fatal("alice can't sign in")
	}
	st, _ := os.Stat(s.akPath)
	// Swap carol's key for dan's, keeping the file's size and mtime, so only
	// SIGHUP (not the mtime poll) can notice.
	dan := newKey(t, s.dir, "dan")
	danLine := `name="carol" ` + strings.Replace(dan.pub, "dan@test", "abcde@test", 1)
	s.writeKeys(`role="admin",name="alice" `+s.alice.pub, danLine)
	if st2, _ := os.Stat(s.akPath); st2.Size() != st.Size() {
		t.Fatalf("test setup: sizes differ %d/%d", st.Size(), st2.Size())
	}
	if err := os.Chtimes(s.akPath, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond) // two polls pass, and must not reload
	if code, _, _ := run(t, s.sshArgs(dan, "-T")...); code != 255 {
		t.Fatal("the poll reloaded a file whose size and mtime didn't change")
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "dan's key to be accepted after SIGHUP", func() bool {
		code, _, _ := run(t, s.sshArgs(dan, "-T")...)
		return code == 1
	})
	if code, _, _ := run(t, s.sshArgs(s.carol, "-T")...); code != 255 {
		t.Error("carol's removed key still signs in after SIGHUP")
	}
}

func TestShutdownWaitsForChangeInFlight(t *testing.T) {
	var slow *slowBackend
	s := startServer(t, func(c *sshserver.Config, w *world) {
		slow = &slowBackend{Backend: w.store, entered: make(chan struct{}), release: make(chan struct{})}
		c.Backend = slow
	})
	x := newTmux(t)
	x.start("a", 120, 30, nil, s.sshArgs(s.alice, "-tt")...)
	x.start("c", 120, 30, nil, s.sshArgs(s.carol, "-tt")...)
	x.waitFor("a", "identities=3")
	x.waitFor("c", "identities=3")
	x.keys("a", "r")
	<-slow.entered // the reset is under way in the backend

	s.cancel() // as SIGTERM does in `idcon serve`
	waitUntil(t, "the listener to close", func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+s.port)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case err := <-s.served:
		t.Fatalf("ListenAndServe returned (%v) while a reset was in flight", err)
	default:
	}
	if d, _ := x.dead("c"); d {
		t.Fatal("sessions were closed before the change in flight finished")
	}
	if s.srv.Inflight() != 1 {
		t.Fatalf("in flight = %d, want 1", s.srv.Inflight())
	}
	close(slow.release)
	if err := s.stop(); err != nil {
		t.Fatalf("ListenAndServe: %v", err)
	}
	after, _ := s.w.store.Identity(context.Background(), s.w.net.ID, s.w.erin.ID)
	if after.Revision == s.w.erin.Revision {
		t.Fatal("the reset in flight was cut off")
	}
	es := s.auditEntries()
	if len(es) != 1 || es[0].Action != audit.ActionReset || es[0].Result != "ok" {
		t.Fatalf("the reset in flight was not audited ok: %+v", es)
	}
	for _, w := range []string{"a", "c"} {
		x.waitFor(w, "idcon: the server is shutting down")
		waitUntil(t, "the session to end", func() bool { d, _ := x.dead(w); return d })
	}
}

func TestNewRefusesBadAuthorizedKeys(t *testing.T) {
	dir := t.TempDir()
	w := newWorld(t)
	log, _ := audit.Open(filepath.Join(dir, "audit.log"))
	defer log.Close()
	ak := filepath.Join(dir, "authorized_keys")
	os.WriteFile(ak, []byte("# ok\nrole=\"boss\" "+newKey(t, dir, "k").pub+"\n"), 0o600)
	cfg := sshserver.Config{
		Listen: "127.0.0.1:0", HostKeyPath: filepath.Join(dir, "hk"), AuthorizedKeysPath: ak,
		Backend: w.store, Audit: log, NewConsole: nil,
	}
	if _, err := sshserver.New(cfg); err == nil {
		t.Fatal("New without a console succeeded")
	}
	cfg.NewConsole = newTestConsoleFactory(w)
	_, err := sshserver.New(cfg)
	if err == nil || !strings.Contains(err.Error(), "line 2: unknown role \"boss\"") {
		t.Fatalf("New with a bad line: %v", err)
	}
	cfg.AuthorizedKeysPath = filepath.Join(dir, "missing")
	if _, err := sshserver.New(cfg); err == nil || !strings.Contains(err.Error(), "does not exist: create it") {
		t.Fatalf("New with no file: %v", err)
	}
}
