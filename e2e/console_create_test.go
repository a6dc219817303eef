package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/delivery/qrtest"
)

// createInConsole fills the console's Create identity form in term (the
// identities list showing) and submits it with the expiry typed.
func createInConsole(t *testing.T, term *Term, network, name, email, attrs, expiry string) {
	t.Helper()
	term.Send("+")
	term.WaitFor(5*time.Second, "Create identity in "+network, "Role attributes")
	term.Send("C-u")
	term.Type(name)
	term.Send("Tab")
	term.Send("C-u")
	term.Type(email)
	term.Send("Tab")
	term.Send("C-u")
	term.Type(attrs)
	term.Send("Enter")
	term.WaitFor(5*time.Second, "Create identity "+name, "Date enrollment expires")
	term.Type(expiry)
	term.Send("Enter")
}

// readQR opens Show QR code in Edit Identity and reads the code back with
// zbar: half blocks if the code fits, else sextants (+).
func readQR(t *testing.T, term *Term, name string) string {
	t.Helper()
	term.Send("c")
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := term.Screen()
		if strings.Contains(s, name+" · half blocks") || strings.Contains(s, name+" · sextants") {
			break
		}
		if strings.Contains(s, "the QR code needs") {
			term.Send("+")
			term.WaitFor(5*time.Second, name+" · sextants")
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no QR code:\n%s", s)
		}
		time.Sleep(50 * time.Millisecond)
	}
	g, err := qrtest.ParseGrid(settled(t, term.ScreenColors), qrtest.DarkTheme, false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := qrtest.Zbar(g.Image(qrtest.DarkTheme, qrtest.CellWidth, qrtest.CellHeight, 2))
	if err != nil {
		t.Fatalf("zbar: %v\n%s", err, term.Screen())
	}
	term.Send("Escape")
	term.WaitFor(5*time.Second, "Show QR code (c)")
	return got
}

// clipboardOf is what tmux holds from the last OSC 52 write.
func clipboardOf(term *Term) string {
	out, err := exec.Command("tmux", "-L", term.socket, "show-buffer").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// TestConsoleCreateDeliversItsToken (embedded): + in the list; a taken
// name is refused in one line with nothing made; a new name, email and
// attributes with a typed expiry create the identity, whose Edit Identity
// opens on its deliveries; y puts its ID on the clipboard (OSC 52, kept by
// tmux); its QR code decodes to its token, which enrolls a device; the
// creates are audited, the refused one with its reason.
func TestConsoleCreateDeliversItsToken(t *testing.T) {
	t.Parallel()
	s := &served{t: t, env: Env{Home: t.TempDir(), Vars: []string{"TZ=UTC"}}}
	s.home = s.env.Home
	MustRun(t, s.env, "network", "create", "office")
	MustRun(t, s.env, "identity", "create", "laptop-alice")
	term := StartTerm(t, s.env, 120, 40)
	term.tmux("set-option", "-g", "set-clipboard", "on")
	term.WaitFor(10*time.Second, "laptop-alice", "+ new identity")

	createInConsole(t, term, "office", "laptop-alice", "", "", "+3d")
	term.WaitFor(10*time.Second, `identity named "laptop-alice" already exists`)
	if r := decode[struct {
		Items []identity `json:"items"`
		Total int        `json:"total"`
	}](t, MustRun(t, s.env, "identity", "list", "--json")); r.Total != 1 {
		t.Fatalf("the refused create left %d identities", r.Total)
	}
	term.Send("Escape")
	term.WaitGone(5*time.Second, "Create identity in")

	createInConsole(t, term, "office", "laptop-new", "new@example.org", "staff, laptops", "+3d")
	term.WaitFor(10*time.Second, "Created laptop-new", "Show QR code (c)", "Download JWT (j)", "Send registration email (m)", "staff, laptops")
	shown := show(t, s.env, "laptop-new")
	if shown.State != "pending" || shown.Email != "new@example.org" || !slices.Equal(shown.Attributes, []string{"staff", "laptops"}) || shown.CreatedAt == nil {
		t.Fatalf("the backend holds %+v", shown)
	}
	if exp, err := time.Parse(time.RFC3339, *shown.ExpiresAt); err != nil || time.Until(exp) < 71*time.Hour || time.Until(exp) > 72*time.Hour+time.Minute {
		t.Errorf("the token expires %v (%v), want in 3 days", shown.ExpiresAt, err)
	}

	term.Send("y")
	term.WaitFor(5*time.Second, "The ID of laptop-new")
	Eventually(t, 10*time.Second, "tmux to hold the ID", func() bool { return clipboardOf(term) == shown.ID })

	tok := readQR(t, term, "laptop-new")
	if want := strings.TrimSpace(MustRun(t, s.env, "enrollment", "jwt", "laptop-new").Stdout); tok != want {
		t.Fatalf("the QR code reads %q, want the token", tok)
	}
	jwt := filepath.Join(t.TempDir(), "new.jwt")
	if err := os.WriteFile(jwt, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	MustRun(t, s.env, "enroll", jwt, "--out", filepath.Join(t.TempDir(), "dev"))
	if got := show(t, s.env, "laptop-new"); got.State != "enrolled" {
		t.Fatalf("after enrolling with the scanned token: %s", got.State)
	}

	creates := s.auditOf("create")
	if len(creates) != 3 || creates[1].Identity.Name != "laptop-alice" || creates[1].Result == "ok" ||
		creates[2].Identity.Name != "laptop-new" || creates[2].Result != "ok" || creates[2].Actor.Via != "local" {
		t.Fatalf("the creates are audited as %+v", creates)
	}
}

// TestConsoleCreateOnController: the same on a controller network: the
// identity is made there with its attributes and token, Edit Identity
// shows the controller's type and auth policy, and the token its QR code
// reads is the one the controller holds, which enrolls a device there.
func TestConsoleCreateOnController(t *testing.T) {
	t.Parallel()
	e := newCtrlEnv(t, nil, nil)
	term := e.openInConsole(t, 120, 40)

	createInConsole(t, term, "ctrl", "kiosk-new", "kiosk@example.org", "kiosks", "+5d")
	term.WaitFor(10*time.Second, "Created kiosk-new", "Show QR code (c)", "Type", "Default", "Auth policy")
	got := decode[identity](t, e.mustRun(t, "identity", "show", "kiosk-new", "--network", "ctrl", "--json"))
	if got.State != "pending" || !slices.Equal(got.Attributes, []string{"kiosks"}) || got.Email != "kiosk@example.org" || got.Type == "" {
		t.Fatalf("the controller holds %+v", got)
	}
	tok := readQR(t, term, "kiosk-new")
	held := e.fakeIdentity(t, "kiosk-new")
	if held.Enrollment == nil || held.Enrollment.JWT != tok {
		t.Fatalf("the QR code reads %q; the controller holds %+v", tok, held.Enrollment)
	}
	if _, err := e.fake.EnrollWithJWT(tok); err != nil {
		t.Fatalf("the controller refuses the scanned token: %v", err)
	}
}
