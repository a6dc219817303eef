package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/delivery/qrtest"
)

// openQR opens Show QR code for name in the console running in term, on
// the network picked by typing network ("" when the console opens the only
// one by itself).
func openQR(t *testing.T, term *Term, network, name string) {
	t.Helper()
	if network != "" {
		term.WaitFor(10*time.Second, network) // the picker
		term.Send("/")
		term.Type(network)
		term.Send("Enter") // done filtering
		term.WaitFor(5*time.Second, "enter open")
		term.Send("Enter")
	}
	term.WaitFor(10*time.Second, name)
	term.Send("/")
	term.Type(name)
	term.WaitFor(5*time.Second, "1–1 of 1")
	term.Send("Enter")
	term.WaitFor(5*time.Second, "enter open")
	term.Send("Enter")
	term.WaitFor(5*time.Second, "Show QR code (c)")
	term.Send("c")
}

// TestConsoleQRAt120x40WithoutGraphics: in a terminal that answers none of
// the graphics questions (tmux: it answers DA1 itself, without sixel, and
// ignores the kitty query), an embedded token's code decodes at 120×40 in
// half blocks, and the real 1,009-character controller token's code decodes
// in sextants, which + shows when nothing known to be drawn fits.
func TestConsoleQRAt120x40WithoutGraphics(t *testing.T) {
	t.Parallel()
	e, tok := deliveryDB(t)
	term := StartTerm(t, e, 120, 40)
	openQR(t, term, "", "laptop-alice")
	term.WaitFor(10*time.Second, "laptop-alice · half blocks", "esc close")
	if got, err := qrtest.DecodeBoth(term.ScreenColors(), qrtest.DarkTheme); err != nil || got != tok {
		t.Fatalf("the embedded token's code at 120×40 reads the token %v (%v):\n%s", got == tok, err, term.Screen())
	}
	term.Send("Escape")
	term.WaitFor(5*time.Second, "Show QR code (c)")

	ctrl := newCtrlEnv(t, nil, nil)
	ctrl.seed(t)
	real := qrtest.RealToken(t)
	if !ctrl.fake.SetEnrollmentJWT("sso-carol", real) {
		t.Fatal("sso-carol has no token")
	}
	ct := StartTerm(t, ctrl.Env, 120, 40, "--config", ctrl.config)
	openQR(t, ct, "ctrl", "sso-carol")
	screen := ct.WaitFor(10*time.Second, "the QR code needs")
	if flat := strings.Join(strings.Fields(screen), " "); !strings.Contains(flat, "needs 113×58; this terminal is 120×40") ||
		!strings.Contains(flat, "+ shows it in sextants (57×38)") {
		t.Fatalf("before +:\n%s", screen)
	}
	ct.Send("+")
	ct.WaitFor(5*time.Second, "sso-carol · sextants")
	// zbar only: tmux's capture-pane reads the code's last row (its bottom
	// quiet zone) back without its white background, so gozxing, which
	// needs that quiet zone, does not find the code; zbar does. The
	// renderer does paint it: TestConsoleQRTextAt120x40Pty reads the same
	// screen from an emulator's cells with both decoders.
	g, err := qrtest.ParseGrid(ct.ScreenColors(), qrtest.DarkTheme, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := qrtest.Zbar(g.Image(qrtest.DarkTheme, qrtest.CellWidth, qrtest.CellHeight, 2)); err != nil || got != real {
		t.Fatalf("the real token's sextant code at 120×40 reads the token %v (%v):\n%s", got == real, err, ct.Screen())
	}
}
