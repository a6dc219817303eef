package e2e

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/backend/netfoundry/nffake"
	"github.com/idcon/idcon/backend/openziti/zitifake"
)

// nfOrg is a fake NetFoundry organisation of two networks: "Branch
// Offices" (provisioned; its identities live on a spec-checking fake
// controller) and "Lab West" (still provisioning), listed on two pages.
type nfOrg struct {
	gw   *nffake.Gateway
	ctrl *zitifake.Controller
	env  Env
}

func newNFOrg(t *testing.T) *nfOrg {
	t.Helper()
	ctrl := zitifake.Start(t, zitifake.AdminUnlisted()) // the wall clock: the binary reads it too
	now := time.Now()
	enrolled := ctrl.CreateIdentity("nf-laptop-enrolled", "alice@example.org", now.Add(48*time.Hour))
	ctrl.Enroll(enrolled)
	ctrl.AddAPISessions(enrolled, 2)
	ctrl.CreateIdentity("nf-phone-expired", "", now.Add(-48*time.Hour))
	ctrl.CreateIdentity("nf-tablet-pending", "", now.Add(48*time.Hour))

	gw := nffake.Start(t, nffake.Options{PageSize: 1, Networks: []nffake.Network{
		{ID: "net-branch", Name: "Branch Offices", Status: "PROVISIONED",
			Controller: &nffake.Controller{URL: ctrl.URL, CA: ctrl.CAPEM, Username: ctrl.Username, Password: ctrl.Password}},
		{ID: "net-lab", Name: "Lab West", Status: "PROVISIONING"},
	}})
	creds := gw.CredentialsFile(t, t.TempDir(), "")
	home := t.TempDir()
	cfgDir := filepath.Join(home, ".config", "idcon")
	if err := os.MkdirAll(cfgDir, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := "netfoundry:\n  credentials: " + creds + "\n  gateway: " + gw.URL + "\n"
	if err := os.WriteFile(filepath.Join(cfgDir, "config.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// NetFoundry's controllers have public certificates; the fake's CA
	// stands in for the system's roots.
	return &nfOrg{gw: gw, ctrl: ctrl, env: Env{Home: home, Vars: []string{"TZ=UTC", "SSL_CERT_FILE=" + ctrl.CAFile}}}
}

// noSecrets fails if any token or session the fakes handed out, or the
// account's password, shows in texts or in any file under the home folder
// (where every XDG folder of the run is).
func (o *nfOrg) noSecrets(t *testing.T, texts map[string]string) {
	t.Helper()
	secrets := o.gw.Secrets()
	if len(secrets) < 3 { // the password, a token, a session
		t.Fatalf("the fakes handed out %d secrets: the run didn't sign in and exchange", len(secrets))
	}
	for where, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s holds a NetFoundry secret", where)
			}
		}
	}
	files := 0
	err := filepath.WalkDir(o.env.Home, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if strings.Contains(string(data), s) {
				t.Errorf("%s holds a NetFoundry secret", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Errorf("no files under the home folder: not even the config file was looked at")
	}
}

// TestNetFoundryFromTheCommandLine lists the organisation's networks and a
// network's identities from scripts.
func TestNetFoundryFromTheCommandLine(t *testing.T) {
	t.Parallel()
	o := newNFOrg(t)
	nets := MustRun(t, o.env, "network", "list", "--json")
	var list []struct {
		ID, Name   string
		Identities int
	}
	if err := json.Unmarshal([]byte(nets.Stdout), &list); err != nil {
		t.Fatalf("network list --json: %v\n%s", err, nets)
	}
	ids := map[string]string{}
	for _, n := range list {
		ids[n.ID] = n.Name
	}
	if ids["nf:net-branch"] != "Branch Offices" || ids["nf:net-lab"] != "Lab West" {
		t.Errorf("network list: %v, want nf:net-branch (Branch Offices) and nf:net-lab (Lab West)", ids)
	}
	table := MustRun(t, o.env, "network", "list")
	if !strings.Contains(table.Stdout, "provisioning") {
		t.Errorf("network list doesn't say Lab West is provisioning:\n%s", table.Stdout)
	}

	idents := MustRun(t, o.env, "identity", "list", "--network", "Branch Offices", "--json")
	for _, name := range []string{"nf-laptop-enrolled", "nf-phone-expired", "nf-tablet-pending"} {
		if !strings.Contains(idents.Stdout, name) {
			t.Errorf("identity list doesn't show %s:\n%s", name, idents.Stdout)
		}
	}
	lab := Run(t, o.env, "identity", "list", "--network", "Lab West")
	lines := strings.Split(strings.TrimSpace(lab.Stderr), "\n")
	want := "idcon: NetFoundry network Lab West can't be opened: NetFoundry is still creating it; try again in a few minutes"
	if lab.Code != 1 || len(lines) != 2 || !strings.HasPrefix(lines[1], want) {
		t.Errorf("identity list on a network being provisioned: want exit 1, the plain-HTTP warning and %q; got %s", want, lab)
	}
	if !strings.Contains(lines[0], "warning: NetFoundry (127.0.0.1:") {
		t.Errorf("the first line isn't the one plain-HTTP warning: %q", lines[0])
	}

	o.noSecrets(t, map[string]string{
		"network list --json output": nets.Stdout + nets.Stderr,
		"network list output":        table.Stdout + table.Stderr,
		"identity list output":       idents.Stdout + idents.Stderr,
		"refused identity list":      lab.Stdout + lab.Stderr,
	})
}

// TestNetFoundryConsole: the picker lists both networks, refuses the one
// still provisioning with its reason, and a reset, a reissue and a delete
// on the other reach its controller.
func TestNetFoundryConsole(t *testing.T) {
	t.Parallel()
	o := newNFOrg(t)
	term := StartTerm(t, o.env, 110, 30)
	term.WaitFor(15*time.Second, "Branch Offices", "Lab West", "provisioning")

	// The network still being created says why it can't be opened.
	term.Send("/")
	term.Type("Lab West")
	term.Send("Enter")
	term.Send("Enter")
	term.WaitFor(5*time.Second, "Lab West can't be opened", "NetFoundry is creating it")

	// A key right after Escape would read as Alt+key: wait for Escape's
	// effect each time before the next key.
	term.Send("/")
	term.Send("Escape") // clears the filter
	term.WaitFor(5*time.Second, "Choose the network to manage.")
	term.Send("/")
	term.Type("Branch")
	term.Send("Enter")
	term.Send("Enter")
	term.WaitFor(15*time.Second, "of 3")

	open := func(name string) {
		t.Helper()
		term.Send("/")
		term.Send("Escape")
		term.WaitFor(5*time.Second, "of 3")
		term.Send("/")
		term.Type(name)
		term.WaitFor(5*time.Second, "1–1 of 1")
		term.Send("Enter") // done filtering
		term.WaitFor(5*time.Second, "enter open")
		term.Send("Enter")
		term.WaitFor(5*time.Second, "Enrollment", "ID ")
	}

	// Reset the enrolled laptop: its certificate and sessions go, a new
	// token expiring in 30 days takes their place.
	open("nf-laptop-enrolled")
	term.WaitFor(5*time.Second, "Reset enrollment (r)")
	term.Send("r")
	term.WaitFor(5*time.Second, "Date enrollment expires")
	term.Type("+30d")
	term.Send("Enter")
	term.WaitFor(5*time.Second, "Cancel")
	term.Send("y")
	term.WaitFor(15*time.Second, "Enrollment reset for")
	laptop, _ := o.ctrl.IdentityByName("nf-laptop-enrolled")
	if laptop.Authenticators != 0 || laptop.APISessions != 0 || laptop.Enrollment == nil {
		t.Errorf("after reset the controller holds %d authenticators, %d sessions, enrollment %v; want 0, 0, a new one", laptop.Authenticators, laptop.APISessions, laptop.Enrollment)
	} else if d := time.Until(laptop.Enrollment.ExpiresAt); d < 29*24*time.Hour || d > 31*24*time.Hour {
		t.Errorf("after reset the token expires in %v, want about 30 days", d)
	}
	back(term)

	// Reissue the phone's expired token.
	open("nf-phone-expired")
	term.WaitFor(5*time.Second, "Reissue enrollment (i)")
	term.Send("i")
	term.WaitFor(5*time.Second, "Date enrollment expires")
	term.Type("+10d")
	term.Send("Enter")
	term.WaitFor(15*time.Second, "Enrollment reissued for")
	phone, _ := o.ctrl.IdentityByName("nf-phone-expired")
	if phone.Enrollment == nil || time.Until(phone.Enrollment.ExpiresAt) < 9*24*time.Hour {
		t.Errorf("after reissue the controller holds enrollment %+v, want one expiring in about 10 days", phone.Enrollment)
	}
	back(term)

	// Delete the tablet's unused token.
	open("nf-tablet-pending")
	term.WaitFor(5*time.Second, "Delete enrollment (d)")
	term.Send("d")
	term.WaitFor(5*time.Second, "irreversible")
	term.Send("y")
	term.WaitFor(15*time.Second, "Enrollment deleted for")
	if tablet, _ := o.ctrl.IdentityByName("nf-tablet-pending"); tablet.Enrollment != nil {
		t.Errorf("after delete the controller still holds enrollment %+v", tablet.Enrollment)
	}
	if n := o.gw.Exchanges("net-branch"); n != 1 {
		t.Errorf("%d session exchanges for one console run, want 1", n)
	}

	shown := term.Screen()
	term.Send("q")
	deadline := time.Now().Add(5 * time.Second)
	for !term.Exited() {
		if time.Now().After(deadline) {
			t.Fatalf("q did not quit:\n%s", term.Screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
	o.noSecrets(t, map[string]string{
		"the console's screen":                     shown,
		"the terminal after quitting (its stderr)": term.Screen(),
	})
}

// back leaves the identity screen for the list, waiting until it shows
// (so that the next key isn't read with the Escape as Alt+key).
func back(term *Term) {
	term.Send("Escape")
	term.WaitFor(5*time.Second, "s state filter")
}

// TestNetFoundryAccountProblems: a configured credentials file that isn't
// there, and an account NetFoundry refuses, each show as one NetFoundry
// entry saying why, without hiding the other networks or leaking the
// password.
func TestNetFoundryAccountProblems(t *testing.T) {
	t.Parallel()
	o := newNFOrg(t)
	cfgPath := filepath.Join(o.env.Home, ".config", "idcon", "config.yaml")
	write := func(creds string) {
		t.Helper()
		cfg := "netfoundry:\n  credentials: " + creds + "\n  gateway: " + o.gw.URL + "\n"
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	MustRun(t, o.env, "network", "create", "local")

	missing := filepath.Join(t.TempDir(), "nowhere.json")
	write(missing)
	r := MustRun(t, o.env, "network", "list")
	if !strings.Contains(r.Stdout, "local") || !strings.Contains(r.Stdout, "NetFoundry") || !strings.Contains(r.Stdout, "nf:") {
		t.Errorf("with a missing credentials file, network list should show the local network and a NetFoundry entry:\n%s", r)
	}
	if !strings.Contains(r.Stderr, "names "+missing+", which doesn't exist") {
		t.Errorf("with a missing credentials file, stderr should say so:\n%s", r)
	}

	write(o.gw.CredentialsFile(t, t.TempDir(), "not-the-password"))
	r = MustRun(t, o.env, "network", "list")
	if !strings.Contains(r.Stdout, "local") || !strings.Contains(r.Stdout, "NetFoundry refused") {
		t.Errorf("with a wrong password, network list should show the local network and NetFoundry refusing the account:\n%s", r)
	}
	// The whole sentence, for the entry standing for the organisation.
	full := Run(t, o.env, "identity", "list", "--network", "NetFoundry")
	if full.Code != 1 || !strings.Contains(full.Stderr, "idcon: NetFoundry refused the API account "+o.gw.ClientID) || !strings.Contains(full.Stderr, "the client ID or password is wrong") {
		t.Errorf("identity list on the NetFoundry entry should give the refusal in full:\n%s", full)
	}
	if strings.Contains(r.Stdout+r.Stderr+full.Stdout+full.Stderr, "not-the-password") {
		t.Errorf("the password shows in the output")
	}
}
