package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests run `idcon serve`, the real binary, and reach it with the
// real OpenSSH client: ssh in tmux for consoles, scp for downloads, with
// throwaway keys and the server's host key pinned in a known_hosts file.

// sshKey is a throwaway key made by ssh-keygen.
type sshKey struct {
	path string // the private key
	pub  string // "ssh-ed25519 AAAA… comment"
	fp   string // "SHA256:…"
}

// served is an `idcon serve` with its data: network office holds
// laptop-alice (enrolled) and phone-bob (pending); alice and dave are
// admins, carol a viewer, mallory unknown to the server.
type served struct {
	t          *testing.T
	env        Env
	home       string
	proc       *Proc
	port       string
	knownHosts string
	alice      sshKey
	dave       sshKey
	carol      sshKey
	mallory    sshKey
}

func newKey(t *testing.T, dir, name string) sshKey {
	t.Helper()
	p := filepath.Join(dir, name)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name+"@test", "-f", p).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(p + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ssh-keygen", "-l", "-E", "sha256", "-f", p+".pub").Output()
	if err != nil {
		t.Fatalf("ssh-keygen -l: %v", err)
	}
	fields := strings.Fields(string(out)) // "256 SHA256:… comment (ED25519)"
	return sshKey{path: p, pub: strings.TrimSpace(string(pub)), fp: fields[1]}
}

// addrRE finds the SSH address in the server's log: JSON lines, as
// stderr is not a terminal here (--log-format's default).
var addrRE = regexp.MustCompile(`"msg":"serving the console over SSH","addr":"127\.0\.0\.1:(\d+)"`)

// seedOffice makes network office with laptop-alice (enrolled) and
// phone-bob (pending), through the CLI.
func seedOffice(t *testing.T, e Env) {
	t.Helper()
	MustRun(t, e, "network", "create", "office")
	MustRun(t, e, "identity", "create", "laptop-alice", "--email", "alice@example.org", "--expires", "+7d")
	MustRun(t, e, "identity", "create", "phone-bob", "--expires", "+7d")
	jwt := filepath.Join(e.Home, "laptop-alice.jwt")
	MustRun(t, e, "enrollment", "jwt", "laptop-alice", "-o", jwt)
	MustRun(t, e, "enroll", jwt, "--out", filepath.Join(e.Home, "laptop-alice"))
}

func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	return startServeWith(t, nil, args...)
}

// startServeWith is startServe with more environment variables (KEY=VALUE)
// for the server.
func startServeWith(t *testing.T, vars []string, args ...string) *served {
	t.Helper()
	for _, tool := range []string{"ssh", "scp", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (apt-get install openssh-client)", tool)
		}
	}
	home := t.TempDir()
	s := &served{t: t, env: Env{Home: home, Vars: []string{"TZ=UTC"}}, home: home}
	e := s.env
	seedOffice(t, e)

	keys := t.TempDir()
	s.alice, s.dave = newKey(t, keys, "alice"), newKey(t, keys, "dave")
	s.carol, s.mallory = newKey(t, keys, "carol"), newKey(t, keys, "mallory")
	ak := strings.Join([]string{
		"# idcon serve's keys: role and name in the options field",
		`role="admin",name="alice" ` + s.alice.pub,
		`role="admin",name="dave" ` + s.dave.pub,
		`role="viewer",name="carol" ` + s.carol.pub,
	}, "\n") + "\n"
	if err := os.MkdirAll(dataDir(home), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir(home), "authorized_keys"), []byte(ak), 0o600); err != nil {
		t.Fatal(err)
	}

	served := e
	served.Vars = append(append([]string(nil), e.Vars...), vars...)
	s.proc = Start(t, served, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	var m []string
	Eventually(t, 20*time.Second, "idcon serve to listen", func() bool {
		m = addrRE.FindStringSubmatch(s.proc.Stderr())
		return m != nil || s.proc.Exited()
	})
	if m == nil {
		t.Fatalf("idcon serve did not start:\n%s", s.proc.Stderr())
	}
	s.port = m[1]
	t.Cleanup(func() {
		if !s.proc.Exited() {
			s.proc.Signal(syscall.SIGTERM)
			s.proc.Wait(30 * time.Second)
		}
		if t.Failed() {
			t.Logf("idcon serve's log:\n%s", s.proc.Stderr())
		}
	})

	// The host key, as the server made it on its first start, pinned.
	pub, err := exec.Command("ssh-keygen", "-y", "-f", filepath.Join(dataDir(home), "ssh_host_ed25519_key")).Output()
	if err != nil {
		t.Fatalf("reading the host key: %v", err)
	}
	s.knownHosts = filepath.Join(keys, "known_hosts")
	if err := os.WriteFile(s.knownHosts, []byte("idcon-test "+string(pub)), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// sshOpts are the client's options: only key k, the host key pinned, no
// user config, no agent, no prompts.
func (s *served) sshOpts(k sshKey) []string {
	return []string{
		"-F", "/dev/null", "-i", k.path,
		"-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
		"-o", "UserKnownHostsFile=" + s.knownHosts, "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "HostKeyAlias=idcon-test", "-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
	}
}

func (s *served) sshArgv(k sshKey, extra ...string) []string {
	argv := append([]string{"ssh"}, s.sshOpts(k)...)
	argv = append(argv, "-p", s.port)
	argv = append(argv, extra...)
	return append(argv, "admin@127.0.0.1")
}

// console opens a console as k in a w×h terminal and waits for the list.
func (s *served) console(k sshKey, w, h int) *Term {
	s.t.Helper()
	term := StartTermCmd(s.t, s.t.TempDir(), w, h, s.sshArgv(k, "-tt")...)
	term.WaitFor(20*time.Second, "laptop-alice", "phone-bob")
	return term
}

// openFirst opens the first row, laptop-alice (the list is by name).
func openFirst(term *Term) {
	term.Send("Enter")
	term.WaitFor(10*time.Second, "Enrollment", "laptop-alice")
}

// exec runs a command to its end: exit code, stdout, stderr.
func execRun(t *testing.T, argv ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", argv, err)
	}
	return code, o.String(), e.String()
}

func (s *served) scp(k sshKey, remote, dest string) (int, string) {
	argv := append([]string{"scp"}, s.sshOpts(k)...)
	argv = append(argv, "-P", s.port, "admin@127.0.0.1:"+remote, dest)
	code, _, stderr := execRun(s.t, argv...)
	return code, stderr
}

func (s *served) show(name string) identity {
	s.t.Helper()
	return decode[identity](s.t, MustRun(s.t, s.env, "identity", "show", name, "--json"))
}

// auditLine is one entry of `idcon audit --json`.
type auditLine struct {
	Actor struct {
		Name, Fingerprint, Role, Via string
	}
	Network, Identity struct{ ID, Name string }
	Action, Result    string
}

func (s *served) audit() []auditLine {
	s.t.Helper()
	r := MustRun(s.t, s.env, "audit", "--json")
	var out []auditLine
	sc := bufio.NewScanner(strings.NewReader(r.Stdout))
	for sc.Scan() {
		var l auditLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			s.t.Fatalf("idcon audit --json printed %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

func (s *served) auditOf(action string) []auditLine {
	var out []auditLine
	for _, l := range s.audit() {
		if l.Action == action {
			out = append(out, l)
		}
	}
	return out
}

// noTokenIn fails the test if the audit file or the server's log holds a
// token.
func (s *served) noTokenIn() {
	s.t.Helper()
	raw, err := os.ReadFile(filepath.Join(dataDir(s.home), "audit.log"))
	if err != nil {
		s.t.Fatal(err)
	}
	if strings.Contains(string(raw), "eyJ") {
		s.t.Error("a token reached the audit log")
	}
	if strings.Contains(s.proc.Stderr(), "eyJ") {
		s.t.Error("a token reached the server's log")
	}
}

// TestSSHAdminResetIsDoneAndAudited: an admin's console over SSH resets
// laptop-alice; the CLI sees it and the audit names the admin and the key.
func TestSSHAdminResetIsDoneAndAudited(t *testing.T) {
	t.Parallel()
	s := startServe(t)
	before := s.show("laptop-alice")
	term := s.console(s.alice, 100, 30)
	openFirst(term)
	term.WaitFor(10*time.Second, "Reset enrollment (r)")
	term.Send("r")
	term.WaitFor(5*time.Second, "Date enrollment expires")
	term.Type("+3d")
	term.Send("Enter")
	term.WaitFor(5*time.Second, "drops the", "Cancel")
	term.Send("y")
	term.WaitFor(10*time.Second, "Enrollment reset for", "Download JWT (j)")

	after := s.show("laptop-alice")
	if before.State != "enrolled" || after.State != "pending" || after.Revision <= before.Revision {
		t.Fatalf("laptop-alice was %s (rev %d), is %s (rev %d): want enrolled → pending", before.State, before.Revision, after.State, after.Revision)
	}
	resets := s.auditOf("reset")
	if len(resets) != 1 {
		t.Fatalf("%d reset lines in the audit, want 1: %+v", len(resets), resets)
	}
	r := resets[0]
	if r.Actor.Name != "alice" || r.Actor.Fingerprint != s.alice.fp || r.Actor.Role != "admin" || r.Actor.Via != "ssh" ||
		r.Identity.Name != "laptop-alice" || r.Identity.ID != before.ID || r.Network.Name != "office" || r.Result != "ok" {
		t.Errorf("the reset is audited as %+v; want alice (%s) over ssh, laptop-alice, ok", r, s.alice.fp)
	}
	s.noTokenIn()
}

// TestSSHViewerBrowsesButChangesNothing: a viewer sees the list and the
// identity, its actions are disabled with the reason, pressing one says
// why, and scp of a token is refused.
func TestSSHViewerBrowsesButChangesNothing(t *testing.T) {
	t.Parallel()
	s := startServe(t)
	before := s.show("laptop-alice")
	term := s.console(s.carol, 100, 30)
	openFirst(term)
	term.WaitFor(10*time.Second, "Reset enrollment (r) ] (viewers can't reset enrollments)")
	term.Send("r")
	term.WaitFor(5*time.Second, "Not allowed: viewers can't reset")
	if scr := term.Screen(); strings.Contains(scr, "Date enrollment expires") {
		t.Fatalf("a viewer got the date picker:\n%s", scr)
	}
	if after := s.show("laptop-alice"); !sameJSON(after, before) {
		t.Fatalf("a viewer's r changed laptop-alice: %+v, was %+v", after, before)
	}
	// + in the list: said no before any form opens; nothing made.
	term.Send("Escape")
	term.WaitFor(10*time.Second, "s state filter")
	if scr := term.Screen(); strings.Contains(scr, "+ new identity") {
		t.Errorf("a viewer's help offers +:\n%s", scr)
	}
	term.Send("+")
	term.WaitFor(5*time.Second, "Not allowed: viewers can't create")
	if scr := term.Screen(); strings.Contains(scr, "Create identity in") {
		t.Fatalf("a viewer got the create form:\n%s", scr)
	}

	dest := t.TempDir()
	code, stderr := s.scp(s.carol, "office/phone-bob.jwt", dest)
	if code == 0 || !strings.Contains(stderr, "viewers can't download tokens") {
		t.Errorf("scp as a viewer: exit %d, stderr %q; want a refusal saying why", code, stderr)
	}
	if ents, _ := os.ReadDir(dest); len(ents) != 0 {
		t.Errorf("the refused scp left %v", ents)
	}
	if n := len(s.auditOf("reset")); n != 0 {
		t.Errorf("%d resets audited", n)
	}
	refused := s.auditOf("jwt downloaded")
	last := refused[len(refused)-1] // the first is the CLI's download at setup
	if last.Actor.Name != "carol" || last.Result == "ok" || !strings.Contains(last.Result, "viewers can't") {
		t.Errorf("the refused scp is audited as %+v", last)
	}
}

// TestSSHTwoAdminsSeeEachOthersChanges: dave has laptop-alice open while
// alice resets it; dave's console shows the new state without a key
// pressed. Then dave has the delete confirmation open while alice deletes:
// dave's dialog says so instead of acting on the old state.
func TestSSHTwoAdminsSeeEachOthersChanges(t *testing.T) {
	t.Parallel()
	s := startServe(t)
	alice := s.console(s.alice, 100, 30)
	dave := s.console(s.dave, 100, 30)
	openFirst(alice)
	openFirst(dave)
	dave.WaitFor(10*time.Second, "State         enrolled")

	alice.Send("r")
	alice.WaitFor(5*time.Second, "Date enrollment expires")
	alice.Type("+3d")
	alice.Send("Enter")
	alice.WaitFor(5*time.Second, "drops the")
	alice.Send("y")
	alice.WaitFor(10*time.Second, "Enrollment reset for")
	toast := time.Now()
	// The acceptance line: within a second of alice's notice (1.5 s of
	// slack for tmux and a loaded machine).
	dave.WaitFor(1500*time.Millisecond, "State         pending", "Delete enrollment (d)")
	t.Logf("dave's console showed alice's reset %v after alice's notice", time.Since(toast).Round(time.Millisecond))

	dave.Send("d")
	dave.WaitFor(5*time.Second, "irreversible")
	alice.Send("d")
	alice.WaitFor(5*time.Second, "irreversible")
	alice.Send("y")
	alice.WaitFor(10*time.Second, "Enrollment deleted for")
	scr := dave.WaitFor(5*time.Second, "laptop-alice was changed by alice", "press esc and look")
	if !strings.Contains(scr, "irreversible") {
		t.Fatalf("the stale note replaced dave's dialog instead of joining it:\n%s", scr)
	}
	dave.Send("y")
	dave.Send("Escape")
	dave.WaitGone(5*time.Second, "irreversible")
	dave.WaitFor(5*time.Second, "State         none")
	deletes := s.auditOf("delete")
	if len(deletes) != 1 || deletes[0].Actor.Name != "alice" {
		t.Fatalf("deletes audited: %+v; want alice's only (dave's stale y must do nothing)", deletes)
	}
}

// TestSSHConsoleSeesTheCLIsChanges: a change made by another process (the
// CLI in another terminal) publishes nothing to the server; the console
// polls the identity it has open and shows it.
func TestSSHConsoleSeesTheCLIsChanges(t *testing.T) {
	t.Parallel()
	s := startServe(t)
	term := s.console(s.dave, 100, 30)
	term.Send("j") // phone-bob, the second row
	term.Send("Enter")
	term.WaitFor(10*time.Second, "phone-bob", "State         pending")
	MustRun(t, s.env, "enrollment", "delete", "phone-bob", "--yes")
	term.WaitFor(5*time.Second, "State         none")
}

// TestSSHScpDownloadsTheCurrentToken: scp as an admin through the real
// server gets exactly the token the CLI reads, and the download is
// audited.
func TestSSHScpDownloadsTheCurrentToken(t *testing.T) {
	t.Parallel()
	s := startServe(t)
	want := strings.TrimSuffix(MustRun(t, s.env, "enrollment", "jwt", "phone-bob").Stdout, "\n")
	dest := t.TempDir()
	if code, stderr := s.scp(s.alice, "office/phone-bob.jwt", dest); code != 0 {
		t.Fatalf("scp: exit %d: %s", code, stderr)
	}
	got, err := os.ReadFile(filepath.Join(dest, "phone-bob.jwt"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want || !strings.HasPrefix(want, "eyJ") {
		t.Fatalf("scp got %d bytes that are not the current token (%d bytes)", len(got), len(want))
	}
	var ssh []auditLine
	for _, l := range s.auditOf("jwt downloaded") {
		if l.Actor.Via == "ssh" {
			ssh = append(ssh, l)
		}
	}
	if len(ssh) != 1 || ssh[0].Actor.Name != "alice" || ssh[0].Actor.Fingerprint != s.alice.fp ||
		ssh[0].Identity.Name != "phone-bob" || ssh[0].Result != "ok" {
		t.Fatalf("the scp download is audited as %+v", ssh)
	}
	s.noTokenIn()
}

// TestSSHRefusesUnknownKeysPasswordsAndNoPty: one smoke run of each
// refusal through the binary (sshserver's tests cover them in detail).
func TestSSHRefusesUnknownKeysPasswordsAndNoPty(t *testing.T) {
	t.Parallel()
	s := startServe(t)
	code, _, stderr := execRun(t, s.sshArgv(s.mallory, "-T")...)
	if code != 255 || !strings.Contains(stderr, "Permission denied (publickey)") {
		t.Errorf("unknown key: exit %d, %q", code, stderr)
	}
	code, _, stderr = execRun(t, s.sshArgv(s.alice, "-T", "-o", "PubkeyAuthentication=no",
		"-o", "PreferredAuthentications=password,keyboard-interactive")...)
	if code != 255 || !strings.Contains(stderr, "Permission denied (publickey)") {
		t.Errorf("password: exit %d, %q", code, stderr)
	}
	code, stdout, stderr := execRun(t, s.sshArgv(s.alice, "-T")...)
	if code != 1 || !strings.Contains(stderr, "the console needs a terminal") || stdout != "" {
		t.Errorf("no pty: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if !strings.Contains(s.proc.Stderr(), "refused an unknown key") || !strings.Contains(s.proc.Stderr(), s.mallory.fp) {
		t.Errorf("the unknown key is not logged with its fingerprint")
	}
}

// vmRSS is the resident memory of process pid, in KiB.
func vmRSS(t *testing.T, pid int) int {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				t.Fatalf("VmRSS line %q", line)
			}
			return n
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
}

// TestSSHTwentySessionsAtOnce holds 20 consoles (admins and viewers) open
// against the binary, checks every one answers, reports the server's memory
// per session, then stops the server with SIGTERM: it exits 0 and every
// console is told why it closed.
func TestSSHTwentySessionsAtOnce(t *testing.T) {
	t.Parallel()
	s := startServe(t)
	pid := s.proc.cmd.Process.Pid
	warm := s.console(s.alice, 100, 30) // the first session loads what every one shares
	warm.Send("q")
	Eventually(t, 10*time.Second, "the first console to end", warm.Exited)
	before := vmRSS(t, pid)

	const n = 20
	terms := make([]*Term, n)
	for i := range n {
		k := s.alice
		if i%2 == 1 {
			k = s.carol
		}
		terms[i] = StartTermCmd(t, t.TempDir(), 100, 30, s.sshArgv(k, "-tt")...)
	}
	for _, term := range terms {
		term.WaitFor(30*time.Second, "laptop-alice", "phone-bob")
	}
	for _, term := range terms {
		term.Send("?")
	}
	for _, term := range terms {
		term.WaitFor(10*time.Second, "close help")
	}
	after := vmRSS(t, pid)
	t.Logf("%d sessions: server VmRSS %d KiB → %d KiB, %+d KiB (%.0f KiB a session)",
		n, before, after, after-before, float64(after-before)/n)
	if got := strings.Count(s.proc.Stderr(), `"msg":"session started","kind":"console"`); got != n+1 {
		t.Errorf("%d console sessions logged, want %d", got, n+1)
	}

	if err := s.proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, ok := s.proc.Wait(40 * time.Second)
	if !ok || code != 0 {
		t.Fatalf("after SIGTERM: exited %v with %d; want 0\n%s", ok, code, s.proc.Stderr())
	}
	for _, term := range terms {
		term.WaitFor(10*time.Second, "the server is shutting down")
	}
}
