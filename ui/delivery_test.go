package ui

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/embedded"
	"github.com/idcon/idcon/delivery"
	"github.com/idcon/idcon/delivery/qrtest"
	"github.com/idcon/idcon/model"
)

// storeWorld is the embedded SQLite backend in a temporary folder, holding
// the network "acme" and the pending identity laptop-alice with a real
// token.
type storeWorld struct {
	store   *embedded.Store
	network model.Network
	token   string // laptop-alice's
	now     time.Time
}

func newStoreWorld(t *testing.T) *storeWorld {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	clock := func() time.Time { return now }
	store, err := embedded.Open(filepath.Join(t.TempDir(), "idcon.db"), embedded.Options{Now: clock, Policy: model.ExpiryPolicy{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	n, err := store.CreateNetwork(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := store.CreateIdentity(ctx, n.ID, model.NewIdentity{Name: "laptop-alice", Email: "alice@example.org", ExpiresAt: now.Add(72 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return &storeWorld{store: store, network: n, token: tok.JWT, now: now}
}

func (w *storeWorld) options(b backend.Backend) Options {
	if b == nil {
		b = w.store
	}
	return Options{Backend: b, Now: func() time.Time { return w.now }, Location: time.UTC, Policy: model.ExpiryPolicy{}}
}

// auditedBackend stands for backend/access: it hands out tokens through
// Token, naming the purpose, and records outcomes with Record.
type auditedBackend struct {
	backend.Backend
	mu       sync.Mutex
	purposes []model.Action
	records  []string
	refuse   error // returned by Token when set
}

func (a *auditedBackend) Token(ctx context.Context, network, id string, purpose model.Action) (string, error) {
	a.mu.Lock()
	a.purposes = append(a.purposes, purpose)
	refuse := a.refuse
	a.mu.Unlock()
	if refuse != nil {
		return "", refuse
	}
	return a.Backend.TokenJWT(ctx, network, id)
}

func (a *auditedBackend) Record(_ context.Context, _, id string, action model.Action, result string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.records = append(a.records, fmt.Sprintf("%s %s %q", action, id, result))
}

func (a *auditedBackend) TokenJWT(context.Context, string, string) (string, error) {
	panic("the console fetched a token without saying what for")
}

// noToken fails the test if text holds the token.
func noToken(t *testing.T, token string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(s, token) {
			t.Fatalf("the token shows in %q", s)
		}
	}
}

func toastTexts(hs *harness) []string {
	var out []string
	for _, x := range hs.app.toasts.items {
		out = append(out, x.text)
	}
	return out
}

func lastToast(t *testing.T, hs *harness) toast {
	t.Helper()
	if len(hs.app.toasts.items) == 0 {
		t.Fatalf("no toast; screen:\n%s", hs.screen())
	}
	return hs.app.toasts.items[len(hs.app.toasts.items)-1]
}

// --- Show QR code ---

// TestQRViewDecodesToTheToken reads the QR code back from the text the
// console draws, on a 120×50 terminal, with a real token from the embedded
// backend: an independent decoder must get exactly the token.
func TestQRViewDecodesToTheToken(t *testing.T) {
	w := newStoreWorld(t)
	audited := &auditedBackend{Backend: w.store}
	hs := newHarness(t, w.options(audited), 120, 50)
	hs.openByName("laptop-alice")
	hs.press("c")
	v, ok := hs.app.dialog.(*qrView)
	if !ok {
		t.Fatalf("c opened %T; screen:\n%s", hs.app.dialog, hs.screen())
	}
	if !slices.Equal(audited.purposes, []model.Action{model.ActionQR}) {
		t.Fatalf("token fetched for %v, want qr", audited.purposes)
	}
	content := hs.app.View().Content
	checkFrame(t, hs, 120, 50)
	for _, c := range []struct {
		name    string
		text    string
		th      qrtest.Theme
		profile colorprofile.Profile
	}{
		{"24-bit on a dark theme", content, qrtest.DarkTheme, colorprofile.TrueColor},
		{"24-bit on a light theme", content, qrtest.LightTheme, colorprofile.TrueColor},
		{"256 colours on a dark theme", content, qrtest.DarkTheme, colorprofile.ANSI256},
		{"16 colours on a light theme", content, qrtest.LightTheme, colorprofile.ANSI},
	} {
		var buf bytes.Buffer
		cw := &colorprofile.Writer{Forward: &buf, Profile: c.profile}
		if _, err := cw.WriteString(c.text); err != nil {
			t.Fatal(err)
		}
		got, err := qrtest.Decode(buf.String(), c.th)
		if err != nil || got != w.token {
			t.Fatalf("%s: decoded %d bytes equal to the token: %v (err %v)", c.name, len(got), got == w.token, err)
		}
	}
	screen := hs.screen()
	exp := w.now.Add(72 * time.Hour)
	for _, want := range []string{"laptop-alice", "token expires " + fmtDateTime(exp, time.UTC) + " (in 3 days) · esc close"} {
		if !strings.Contains(screen, want) {
			t.Fatalf("screen lacks %q:\n%s", want, screen)
		}
	}
	noToken(t, w.token, screen)

	// Too small: the size needed, exactly, instead of a broken code; and
	// back once the terminal grows.
	q, err := delivery.QR(w.token)
	if err != nil {
		t.Fatal(err)
	}
	hs.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	want := fmt.Sprintf("the QR code needs %d×%d; this terminal is 80×24: enlarge it or use Download JWT", q.Width, q.Height+1)
	if !strings.Contains(flat(hs.screen()), want) || strings.Contains(hs.screen(), "▀") {
		t.Fatalf("at 80×24 the screen is not %q:\n%s", want, hs.screen())
	}
	checkFrame(t, hs, 80, 24)
	// Just high enough (the console is never narrower than 80 columns):
	// the code and one line of text under it.
	hs.send(tea.WindowSizeMsg{Width: 80, Height: q.Height + 1})
	if got, err := qrtest.Decode(hs.app.View().Content, qrtest.DarkTheme); err != nil || got != w.token {
		t.Fatalf("at 80×%d the code does not decode: %v", q.Height+1, err)
	}
	if !strings.Contains(hs.screen(), "laptop-alice · half blocks · +/- form · token expires") {
		t.Fatalf("at 80×%d the line under the code is not the compact one:\n%s", q.Height+1, hs.screen())
	}
	checkFrame(t, hs, 80, q.Height+1)
	hs.send(tea.WindowSizeMsg{Width: 80, Height: q.Height})
	if !strings.Contains(flat(hs.screen()), fmt.Sprintf("needs %d×%d; this terminal is 80×%d", q.Width, q.Height+1, q.Height)) {
		t.Fatalf("one line short, the screen is:\n%s", hs.screen())
	}
	hs.send(tea.WindowSizeMsg{Width: 120, Height: 50})
	if v.out != content {
		t.Fatal("back at 120×50 the view differs from the first one")
	}

	hs.press("esc")
	if hs.app.dialog != nil {
		t.Fatalf("esc left %T open", hs.app.dialog)
	}
	hs.edit()
}

// Without colours the code is drawn by its glyphs: the variant whose ink
// is dark on the terminal's background.
func TestQRViewWithoutColours(t *testing.T) {
	w := newStoreWorld(t)
	opts := w.options(nil)
	opts.NoColor = true
	hs := newHarness(t, opts, 120, 50)
	hs.openByName("laptop-alice")
	hs.press("c")
	if got, err := qrtest.Decode(hs.app.View().Content, qrtest.DarkTheme); err != nil || got != w.token {
		t.Fatalf("NO_COLOR, dark background: %v", err)
	}
	if strings.Contains(hs.app.View().Content, "\x1b[38;2;0;0;0") {
		t.Fatal("NO_COLOR, yet the code is coloured")
	}
	hs.send(tea.BackgroundColorMsg{Color: lightGray{}})
	if got, err := qrtest.Decode(hs.app.View().Content, qrtest.LightTheme); err != nil || got != w.token {
		t.Fatalf("NO_COLOR, light background: %v", err)
	}
	// A terminal that shows no colours gets the same treatment.
	opts.NoColor = false
	hs = newHarness(t, opts, 120, 50)
	hs.send(tea.ColorProfileMsg{Profile: colorprofile.ASCII})
	hs.openByName("laptop-alice")
	hs.press("c")
	if got, err := qrtest.Decode(hs.app.View().Content, qrtest.DarkTheme); err != nil || got != w.token {
		t.Fatalf("ASCII profile: %v", err)
	}
}

func TestQRRefusedSaysWhy(t *testing.T) {
	w := newStoreWorld(t)
	audited := &auditedBackend{Backend: w.store, refuse: backend.Forbidden("viewers can't see QR codes")}
	hs := newHarness(t, w.options(audited), 100, 30)
	hs.openByName("laptop-alice")
	hs.press("c")
	if hs.app.dialog != nil || lastToast(t, hs).text != "Not allowed: viewers can't see QR codes." {
		t.Fatalf("dialog %T, toasts %q", hs.app.dialog, toastTexts(hs))
	}
	if v := hs.edit(); v.busy != "" {
		t.Fatalf("still busy: %q", v.busy)
	}
}

// An answer for an identity no longer on screen is dropped.
func TestQRAnswerAfterLeavingIsIgnored(t *testing.T) {
	hs, _ := demoHarness(t)
	hs.openByName("phone-bob")
	_, cmd := hs.app.Update(keyMsg("c"))
	_, cmd = hs.app.Update(cmd()) // actionRequestedMsg: the fetch starts
	hs.press("esc")               // back to the list meanwhile
	hs.run(cmd)
	if hs.app.dialog != nil {
		t.Fatalf("the QR code opened over the list: %T", hs.app.dialog)
	}
}

// --- Download JWT ---
