package e2e

import (
	"bytes"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/delivery/qrtest"
)

// TestQRCommandAt120x40LikeTheConsole: 'enrollment qr' on a 120×40
// terminal that answers no graphics query (DA1 only) prints what the
// console would show there, and says on stderr which form: the embedded
// token in half blocks, the real 1,009-character controller token in
// sextants (the densest form, the only one that fits), each read back from
// the screen by zbar and gozxing. A terminal that answers the kitty
// graphics query gets an image at 80×24, its environment saying nothing;
// where nothing fits, the smallest size that would is named.
func TestQRCommandAt120x40LikeTheConsole(t *testing.T) {
	t.Parallel()
	e, tok := deliveryDB(t)
	pt, stderr := StartPtyStderr(t, e, 120, 40, plainAnswers, "enrollment", "qr", "laptop-alice")
	pt.WaitExit(10 * time.Second)
	if got, err := qrtest.DecodeBoth(pt.ScreenColors(120, 40), qrtest.DarkTheme); err != nil || got != tok {
		t.Errorf("the embedded token at 120×40 reads the token %v (%v):\n%s\nstderr: %s", got == tok, err, pt.Screen(), stderr())
	}
	if s := stderr(); !strings.Contains(s, "half blocks") {
		t.Errorf("stderr does not say half blocks: %q", s)
	}

	ctrl := newCtrlEnv(t, nil, nil)
	ctrl.seed(t)
	real := qrtest.RealToken(t)
	if len(real) != 1009 || !ctrl.fake.SetEnrollmentJWT("sso-carol", real) {
		t.Fatalf("sso-carol has no token (the real one is %d characters)", len(real))
	}
	// Standard error on the terminal too, as an admin has it.
	ct := StartPty(t, ctrl.Env, 120, 40, plainAnswers, "--config", ctrl.config, "enrollment", "qr", "sso-carol", "--network", "ctrl")
	ct.WaitExit(10 * time.Second)
	if got, err := qrtest.DecodeBoth(ct.ScreenColors(120, 40), qrtest.DarkTheme); err != nil || got != real {
		t.Errorf("the real token at 120×40 reads the token %v (%v):\n%s", got == real, err, ct.Screen())
	}
	if !strings.Contains(ct.Output(), "sextants") || !strings.ContainsFunc(ct.Output(), func(r rune) bool { return r >= 0x1FB00 && r <= 0x1FB3B }) {
		t.Errorf("the real token at 120×40: no sextants said and drawn:\n%s", ct.Screen())
	}

	// The terminal's answer, not its name: TERM is xterm-256color.
	kt, kerr := StartPtyStderr(t, ctrl.Env, 80, 24, kittyAnswers, "--config", ctrl.config, "enrollment", "qr", "sso-carol", "--network", "ctrl")
	kt.WaitExit(10 * time.Second)
	all, err := qrtest.KittyImages(kt.Output())
	var imgs []qrtest.KittyImage // without the query (a=q)
	for _, im := range all {
		if im.Options["a"] != "q" {
			imgs = append(imgs, im)
		}
	}
	if err != nil || len(imgs) != 1 {
		t.Fatalf("a terminal answering the kitty query: %d kitty images (%v); stderr: %s", len(imgs), err, kerr())
	}
	img, err := png.Decode(bytes.NewReader(imgs[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := qrtest.Zbar(img); err != nil || got != real {
		t.Errorf("the kitty image: zbar reads the token %v (%v)", got == real, err)
	}
	if got, err := qrtest.DecodeImage(img); err != nil || got != real {
		t.Errorf("the kitty image: gozxing reads the token %v (%v)", got == real, err)
	}
	if s := kerr(); !strings.Contains(s, "kitty graphics") {
		t.Errorf("stderr does not say kitty graphics: %q", s)
	}

	// Nothing fits 60×20: the sextants' 39×26 and the line above them.
	st, serr := StartPtyStderr(t, e, 60, 20, plainAnswers, "enrollment", "qr", "laptop-alice")
	st.WaitExit(10 * time.Second)
	if s := serr(); !strings.Contains(s, "the QR code needs 39×27") || !strings.Contains(s, "this terminal is 60×20") || strings.Count(strings.TrimSpace(s), "\n") != 0 {
		t.Errorf("at 60×20: %q", s)
	}
}
