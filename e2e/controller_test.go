package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/backend/openziti/zitifake"
)

// The controller tests run a fake OpenZiti controller in this process
// (zitifake: it checks every request against the official spec) and point
// the real binary at it through a config file, beside an embedded network
// in the database.

// ctrlEnv is one admin's setup: a database holding the embedded network
// "office", a config file naming the controller network "ctrl", and the
// controller's password in the environment.
type ctrlEnv struct {
	Env
	fake   *zitifake.Controller
	config string
}

// ctrlEntry is the config file's entry for the fake; edit changes it
// before it is written.
type ctrlEntry struct {
	controller, ca, username, passwordEnv string
}

func (c ctrlEntry) yaml(name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: %s\n    controller: %s\n", name, c.controller)
	if c.ca != "" {
		fmt.Fprintf(&b, "    ca: %s\n", c.ca)
	}
	fmt.Fprintf(&b, "    username: %s\n    passwordEnv: %s\n", c.username, c.passwordEnv)
	return b.String()
}

// newCtrlEnv starts a fake controller and sets up the admin's files;
// edit may change the controller's config entry.
func newCtrlEnv(t *testing.T, opts []zitifake.Option, edit func(*ctrlEntry)) *ctrlEnv {
	t.Helper()
	// The console's counts in these tests are of the identities they make:
	// the fake's admin identity is left out of its lists (the reality
	// tests of backend/openziti run with it listed).
	fake := zitifake.Start(t, append([]zitifake.Option{zitifake.AdminUnlisted()}, opts...)...)
	home := t.TempDir()
	e := &ctrlEnv{
		Env: Env{
			DB:   filepath.Join(t.TempDir(), "idcon.db"),
			Home: home,
			Vars: []string{"TZ=UTC", "IDCON_CTRL_PASSWORD=" + fake.Password},
		},
		fake:   fake,
		config: filepath.Join(home, "idcon.yaml"),
	}
	entry := ctrlEntry{controller: fake.URL, ca: fake.CAFile, username: fake.Username, passwordEnv: "IDCON_CTRL_PASSWORD"}
	if edit != nil {
		edit(&entry)
	}
	if err := os.WriteFile(e.config, []byte("networks:\n"+entry.yaml("ctrl")), 0o600); err != nil {
		t.Fatal(err)
	}
	MustRun(t, e.Env, "network", "create", "office")
	return e
}

// run runs idcon with the config file.
func (e *ctrlEnv) run(t *testing.T, args ...string) Result {
	t.Helper()
	return Run(t, e.Env, append([]string{"--config", e.config}, args...)...)
}

func (e *ctrlEnv) mustRun(t *testing.T, args ...string) Result {
	t.Helper()
	r := e.run(t, args...)
	if r.Code != 0 {
		t.Fatalf("want exit 0:\n%s", r)
	}
	return r
}

// openInConsole seeds the controller, starts the console at w×h and
// opens the "ctrl" network from the picker, waiting for its first page.
func (e *ctrlEnv) openInConsole(t *testing.T, w, h int) *Term {
	t.Helper()
	e.seed(t)
	term := StartTerm(t, e.Env, w, h, "--config", e.config)
	term.WaitFor(10*time.Second, "office", "ctrl") // the picker: both networks
	term.Send("/")
	term.Type("ctrl")
	term.Send("Enter") // done filtering
	term.WaitFor(5*time.Second, "enter open")
	term.Send("Enter")
	term.WaitFor(10*time.Second, "laptop-alice", "of 5")
	return term
}

// seed gives the controller one identity in each state: laptop-alice is
// enrolled with two sessions, phone-bob's token expired unused, sso-carol
// and tablet-dave hold valid unused tokens, and printer-erin has none.
func (e *ctrlEnv) seed(t *testing.T) {
	t.Helper()
	now := e.fake.Now()
	alice := e.fake.CreateIdentity("laptop-alice", "alice@example.org", now.Add(48*time.Hour))
	e.fake.Enroll(alice)
	e.fake.AddAPISessions(alice, 2)
	e.fake.CreateIdentity("phone-bob", "bob@example.org", now.Add(-24*time.Hour))
	e.fake.CreateIdentity("sso-carol", "carol@example.org", now.Add(5*24*time.Hour))
	e.fake.CreateIdentity("tablet-dave", "", now.Add(5*24*time.Hour))
	e.fake.CreateIdentity("printer-erin", "", time.Time{})
}

// fakeIdentity is the controller's own record of an identity.
func (e *ctrlEnv) fakeIdentity(t *testing.T, name string) zitifake.Identity {
	t.Helper()
	id, ok := e.fake.IdentityByName(name)
	if !ok {
		t.Fatalf("the controller has no identity %s", name)
	}
	return id
}

// wantAbout fails unless got is within a minute after want.
func wantAbout(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if d := got.Sub(want); d < -time.Minute || d > time.Minute {
		t.Errorf("%s: %v, want about %v", what, got, want)
	}
}

// TestControllerNetworkCLI: with one embedded and one controller network,
// the commands list both and act on the controller's identities by the
// network's name, and the controller's state agrees.
func TestControllerNetworkCLI(t *testing.T) {
	t.Parallel()
	e := newCtrlEnv(t, nil, nil)
	e.seed(t)

	type network struct {
		ID         string `json:"id"`
		Name       string `json:"name"`
		Identities int    `json:"identities"`
		SigningKey string `json:"signingKey"`
		Status     string `json:"status"`
		Address    string `json:"address"`
	}
	nets := decode[[]network](t, e.mustRun(t, "network", "list", "--json"))
	if len(nets) != 2 || nets[0].Name != "office" || nets[1].Name != "ctrl" || nets[1].Identities != 5 || nets[1].Status != "" ||
		nets[0].Address != "" || nets[1].Address != e.fake.URL {
		t.Fatalf("network list: %+v; want office, then ctrl with 5 identities", nets)
	}
	if r := e.mustRun(t, "network", "list"); !strings.Contains(r.Stdout, "office") || !strings.Contains(r.Stdout, "ctrl") || r.Stderr != "" {
		t.Errorf("network list:\n%s", r)
	}

	type page struct {
		Items []identity `json:"items"`
		Total int        `json:"total"`
	}
	p := decode[page](t, e.mustRun(t, "identity", "list", "--network", "ctrl", "--json"))
	states := map[string]string{}
	for _, x := range p.Items {
		states[x.Name] = x.State
	}
	want := map[string]string{"laptop-alice": "enrolled", "phone-bob": "expired", "sso-carol": "pending", "tablet-dave": "pending", "printer-erin": "none"}
	if p.Total != 5 || fmt.Sprint(states) != fmt.Sprint(want) {
		t.Errorf("identity list --network ctrl: total %d, states %v; want %v", p.Total, states, want)
	}
	if p := decode[page](t, e.mustRun(t, "identity", "list", "--network", "office", "--json")); p.Total != 0 {
		t.Errorf("the embedded network lists %d identities, want none of the controller's", p.Total)
	}

	alice := decode[identity](t, e.mustRun(t, "identity", "show", "laptop-alice", "--network", "ctrl", "--json"))
	if alice.State != "enrolled" || alice.ActiveSessions != 2 || alice.Email != "alice@example.org" || alice.Network != "ctrl" {
		t.Errorf("identity show laptop-alice: %+v", alice)
	}
	if r := e.mustRun(t, "identity", "show", "laptop-alice", "--network", "ctrl"); !strings.Contains(r.Stdout, "enrollment reset laptop-alice --network ctrl`") {
		t.Errorf("identity show for people doesn't offer the reset:\n%s", r)
	}

	// reset: a new token, the certificate and both sessions gone.
	reset := decode[issued](t, e.mustRun(t, "enrollment", "reset", "laptop-alice", "--network", "ctrl", "--expires", "+7d", "--yes", "--json"))
	got := e.fakeIdentity(t, "laptop-alice")
	if reset.SessionsDropped != 2 || reset.Identity.State != "pending" || reset.JWT == nil ||
		got.Enrollment == nil || got.Enrollment.JWT != *reset.JWT || got.Authenticators != 0 || got.APISessions != 0 {
		t.Fatalf("reset: %+v; the controller holds %+v", reset, got)
	}
	wantAbout(t, "the reset token expires", got.Enrollment.ExpiresAt, time.Now().Add(7*24*time.Hour))

	// reissue: the expired token gets a new expiry.
	reissued := decode[issued](t, e.mustRun(t, "enrollment", "reissue", "phone-bob", "--network", "ctrl", "--expires", "+3d", "--json"))
	bob := e.fakeIdentity(t, "phone-bob")
	if reissued.Identity.State != "pending" || bob.Enrollment == nil || reissued.JWT == nil || bob.Enrollment.JWT != *reissued.JWT {
		t.Fatalf("reissue: %+v; the controller holds %+v", reissued, bob)
	}
	wantAbout(t, "the reissued token expires", bob.Enrollment.ExpiresAt, time.Now().Add(3*24*time.Hour))

	// delete: the unused token is gone.
	if r := e.mustRun(t, "enrollment", "delete", "sso-carol", "--network", "ctrl", "--yes"); !strings.Contains(r.Stdout, "state none") {
		t.Errorf("delete:\n%s", r)
	}
	if carol := e.fakeIdentity(t, "sso-carol"); carol.Enrollment != nil {
		t.Errorf("after delete the controller still holds %+v", carol.Enrollment)
	}

	// jwt: the controller's token, printed and written to a private file.
	dave := e.fakeIdentity(t, "tablet-dave")
	if r := e.mustRun(t, "enrollment", "jwt", "tablet-dave", "--network", "ctrl"); strings.TrimSpace(r.Stdout) != dave.Enrollment.JWT {
		t.Errorf("jwt printed %q, want the controller's token", r.Stdout)
	}
	out := filepath.Join(t.TempDir(), "dave.jwt")
	e.mustRun(t, "enrollment", "jwt", "tablet-dave", "--network", "ctrl", "-o", out)
	if readFile(t, out) != dave.Enrollment.JWT+"\n" && readFile(t, out) != dave.Enrollment.JWT || fileMode(t, out) != 0o600 {
		t.Errorf("jwt -o: mode %v, content %q", fileMode(t, out), readFile(t, out))
	}

	// The states refuse what they don't allow, before asking the controller.
	wantError(t, e.run(t, "enrollment", "reissue", "tablet-dave", "--network", "ctrl", "--expires", "+1d"), 1, "pending")
	// Names are looked up in the network named, not the other.
	wantError(t, e.run(t, "enrollment", "jwt", "tablet-dave", "--network", "office"), 1, `no identity "tablet-dave" in network office`)

	// identity create goes to the controller too.
	e.mustRun(t, "identity", "create", "kiosk-fay", "--network", "ctrl", "--email", "fay@example.org", "--expires", "+2d")
	if fay := e.fakeIdentity(t, "kiosk-fay"); fay.Email != "fay@example.org" || fay.Enrollment == nil {
		t.Errorf("identity create on the controller network: the controller holds %+v", fay)
	}
}

// TestControllerOverPlainHTTP: plain HTTP works to a controller on
// loopback, with a warning said once; anywhere else it is refused.
func TestControllerOverPlainHTTP(t *testing.T) {
	t.Parallel()
	e := newCtrlEnv(t, []zitifake.Option{zitifake.PlainHTTP()}, func(c *ctrlEntry) { c.ca = "" })
	e.seed(t)
	if !strings.HasPrefix(e.fake.URL, "http://127.0.0.1:") {
		t.Fatalf("the fake serves at %s", e.fake.URL)
	}
	r := e.mustRun(t, "identity", "show", "tablet-dave", "--network", "ctrl", "--json")
	if decode[identity](t, r).State != "pending" {
		t.Errorf("identity show over plain HTTP:\n%s", r)
	}
	if strings.Count(r.Stderr, "\n") != 1 || !strings.HasPrefix(r.Stderr, "idcon: warning: ") || !strings.Contains(r.Stderr, "plain HTTP") {
		t.Errorf("want one warning line about plain HTTP on stderr:\n%s", r)
	}

	remote := newCtrlEnv(t, []zitifake.Option{zitifake.PlainHTTP()}, func(c *ctrlEntry) { c.controller, c.ca = "http://192.0.2.10:1280", "" })
	wantError(t, remote.run(t, "identity", "list", "--network", "ctrl"), 1, "plain http://", "use https://")
	// The other network still works.
	if r := remote.run(t, "identity", "list", "--network", "office"); r.Code != 0 {
		t.Errorf("the embedded network beside a refused controller:\n%s", r)
	}
}

// TestControllerFailures: each way a controller network can fail to open
// says so in one line, and the embedded network still works.
func TestControllerFailures(t *testing.T) {
	t.Parallel()

	t.Run("password variable not set", func(t *testing.T) {
		t.Parallel()
		e := newCtrlEnv(t, nil, func(c *ctrlEntry) { c.passwordEnv = "IDCON_NOT_SET" })
		wantError(t, e.run(t, "identity", "list", "--network", "ctrl"), 1, "IDCON_NOT_SET", "is not set")
		if r := e.run(t, "identity", "list", "--network", "office"); r.Code != 0 {
			t.Errorf("the embedded network beside a controller without its password:\n%s", r)
		}
		if r := e.mustRun(t, "network", "list", "--json"); !strings.Contains(r.Stdout, `"ctrl"`) || !strings.Contains(r.Stdout, `"status": "network ctrl: the environment variable IDCON_NOT_SET`) {
			t.Errorf("network list doesn't show the controller without its password, and why:\n%s", r)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		t.Parallel()
		e := newCtrlEnv(t, nil, nil)
		e.Vars = append(e.Vars, "IDCON_CTRL_PASSWORD=wrong")
		wantError(t, e.run(t, "identity", "list", "--network", "ctrl"), 1, "refused the login", `"admin"`)
	})

	t.Run("certificate not trusted", func(t *testing.T) {
		t.Parallel()
		e := newCtrlEnv(t, nil, func(c *ctrlEntry) { c.ca = "" })
		r := e.run(t, "identity", "list", "--network", "ctrl")
		wantError(t, r, 1)
		if want := "idcon: the controller's certificate is not trusted: set ca: in the config, or run idcon network trust ctrl\n"; r.Stderr != want {
			t.Errorf("stderr %q, want %q", r.Stderr, want)
		}
	})

	t.Run("controller down", func(t *testing.T) {
		t.Parallel()
		e := newCtrlEnv(t, nil, nil)
		e.fake.Close()
		wantError(t, e.run(t, "identity", "show", "tablet-dave", "--network", "ctrl"), 1, "controller unreachable", "check that the controller of network ctrl")
		r := e.mustRun(t, "network", "list")
		if !strings.Contains(r.Stdout, "office") || !strings.Contains(r.Stdout, "ctrl") {
			t.Errorf("network list with the controller down:\n%s", r)
		}
	})

	t.Run("no such controller network to trust", func(t *testing.T) {
		t.Parallel()
		e := newCtrlEnv(t, nil, nil)
		wantError(t, e.run(t, "network", "trust", "prod"), 1, `no controller network "prod"`, "ctrl")
		wantError(t, e.run(t, "network", "trust", "ctrl", "--fingerprint", "SHA256:00"), 1, "sets ca:")
	})
}

// TestNetworkTrust: without ca: the controller's CA is fetched, shown,
// checked against the fingerprint given and pinned; idcon then trusts the
// controller.
func TestNetworkTrust(t *testing.T) {
	t.Parallel()
	e := newCtrlEnv(t, nil, func(c *ctrlEntry) { c.ca = "" })
	e.seed(t)
	pin := filepath.Join(dataDir(e.Home), "trust", "ctrl.pem")
	sum := sha256.Sum256(e.fake.CA.Raw)
	fp := strings.ToUpper(hex.EncodeToString(sum[:]))
	var colons []string
	for i := 0; i < len(fp); i += 2 {
		colons = append(colons, fp[i:i+2])
	}
	opensslFP := strings.Join(colons, ":")

	// Without a terminal, idcon can't ask: it says how to confirm instead.
	wantError(t, e.run(t, "network", "trust", "ctrl"), 1, "not a terminal", "--fingerprint SHA256:"+opensslFP)
	// Another fingerprint is refused.
	wrong := "SHA256:" + strings.Repeat("AB:", 31) + "AB"
	wantError(t, e.run(t, "network", "trust", "ctrl", "--fingerprint", wrong), 1, "nothing was pinned")
	if _, err := os.Stat(pin); err == nil {
		t.Fatal("a refused trust left a pinned CA")
	}
	wantError(t, e.run(t, "identity", "list", "--network", "ctrl"), 1, "not trusted")

	r := e.mustRun(t, "network", "trust", "ctrl", "--fingerprint", "SHA256:"+opensslFP)
	if !strings.Contains(r.Stdout, opensslFP) || !strings.Contains(r.Stdout, "CN=root-ca") || !strings.Contains(r.Stdout, "intermediate-ca-instance-1") || !strings.Contains(r.Stdout, "pinned") {
		t.Errorf("network trust:\n%s", r)
	}
	// The chain is pinned: intermediate and root.
	if !strings.Contains(readFile(t, pin), string(e.fake.CAPEM)) || !strings.Contains(readFile(t, pin), string(zitifake.PEM(e.fake.Intermediate))) || fileMode(t, pin) != 0o600 {
		t.Errorf("the pinned CA: mode %v, content %q", fileMode(t, pin), readFile(t, pin))
	}
	if p := e.mustRun(t, "identity", "list", "--network", "ctrl"); !strings.Contains(p.Stdout, "laptop-alice") {
		t.Errorf("identity list after trusting:\n%s", p)
	}
	// Lower case without colons is the same fingerprint.
	e.mustRun(t, "network", "trust", "ctrl", "--fingerprint", strings.ToLower(fp))
}
