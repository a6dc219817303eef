package ui

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi/kitty"

	"github.com/idcon/idcon/delivery"
	"github.com/idcon/idcon/delivery/qrtest"
	"github.com/idcon/idcon/model"
)

func realToken(t testing.TB) string { return qrtest.RealToken(t) }

// realTokenBackend hands out the recorded controller token for every
// identity, as a controller network would.
type realTokenBackend struct {
	*auditedBackend
	token string
}

func (b *realTokenBackend) Token(ctx context.Context, network, id string, purpose model.Action) (string, error) {
	if _, err := b.auditedBackend.Token(ctx, network, id, purpose); err != nil {
		return "", err
	}
	return b.token, nil
}

// At 120×40 a terminal that draws no pixels still shows the real 1 kB token
// as text a scanner reads: in sextants, chosen where the terminal is known
// to draw them, and offered with + where it is not.
func TestQRViewRealTokenAt120x40(t *testing.T) {
	w := newStoreWorld(t)
	tok := realToken(t)
	b := &realTokenBackend{auditedBackend: &auditedBackend{Backend: w.store}, token: tok}
	for _, c := range []struct {
		name string
		env  map[string]string
		keys []string
	}{
		{"GNOME Terminal (VTE 0.78), known to draw sextants", map[string]string{"TERM": "xterm-256color", "VTE_VERSION": "7800"}, nil},
		{"an unknown terminal, after +", map[string]string{"TERM": "xterm-256color"}, []string{"+"}},
	} {
		opts := w.options(b)
		opts.Terminal = func(k string) string { return c.env[k] }
		hs := newHarness(t, opts, 120, 40)
		hs.openByName("laptop-alice")
		hs.press("c")
		if c.keys != nil {
			if !strings.Contains(flat(hs.screen()), "the QR code needs 113×58; this terminal is 120×40") ||
				!strings.Contains(flat(hs.screen()), "+ shows it in sextants (57×38), which this terminal may not draw") {
				t.Fatalf("%s: before +, the screen is:\n%s", c.name, hs.screen())
			}
			hs.press(c.keys...)
		}
		if !strings.Contains(hs.screen(), "laptop-alice · sextants") {
			t.Errorf("%s: the form shown is not named sextants:\n%s", c.name, hs.screen())
		}
		got, err := qrtest.DecodeBoth(hs.app.View().Content, qrtest.DarkTheme)
		if err != nil || got != tok {
			t.Fatalf("%s: the real token's code at 120×40 does not decode (%v); screen:\n%s", c.name, err, hs.screen())
		}
		checkFrame(t, hs, 120, 40)
	}
}

// At 80×24 a terminal that answers the kitty graphics query gets the real
// 1 kB token as an image: the bytes written carry a PNG that decodes, placed
// within the screen above the two lines of text; closing deletes it, and a
// resize draws it again at the new size.
func TestQRViewImageAt80x24(t *testing.T) {
	w := newStoreWorld(t)
	tok := realToken(t)
	b := &realTokenBackend{auditedBackend: &auditedBackend{Backend: w.store}, token: tok}
	for _, c := range []struct {
		name   string
		env    map[string]string
		answer tea.Msg
		proto  string
	}{
		{"kitty (answers the query)", nil, uv.KittyGraphicsEvent{Options: kitty.Options{ID: delivery.KittyQueryID}, Payload: []byte("OK")}, "kitty"},
		{"xterm with sixel (DA1 4)", map[string]string{"TERM": "xterm-256color"}, uv.PrimaryDeviceAttributesEvent{62, 4, 22}, "sixel"},
		{"iTerm2 (TERM_PROGRAM)", map[string]string{"TERM_PROGRAM": "iTerm.app"}, uv.PrimaryDeviceAttributesEvent{62, 22}, "iterm2"},
	} {
		opts := w.options(b)
		opts.Terminal = func(k string) string { return c.env[k] }
		hs := newHarness(t, opts, 80, 24)
		// The kitty query follows DA1's answer (outside a multiplexer).
		if slices.ContainsFunc(hs.raw, func(s string) bool { return strings.Contains(s, "\x1b_G") }) {
			t.Fatalf("%s: the kitty query went out before DA1 answered: %q", c.name, hs.raw)
		}
		if _, isDA1 := c.answer.(uv.PrimaryDeviceAttributesEvent); !isDA1 {
			hs.send(uv.PrimaryDeviceAttributesEvent{62, 22})
		}
		hs.send(c.answer)
		if !slices.ContainsFunc(hs.raw, func(s string) bool { return strings.Contains(s, "\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\") }) {
			t.Fatalf("%s: the console did not ask the kitty graphics query: %q", c.name, hs.raw)
		}
		hs.send(uv.CellSizeEvent{Width: 10, Height: 20})
		hs.openByName("laptop-alice")
		hs.raw = nil
		hs.press("c")
		if len(hs.raw) != 0 {
			t.Fatalf("%s: the image went out before the frame that leaves its cells blank", c.name)
		}
		hs.fireTimers()
		img := imageIn(t, c.name, c.proto, strings.Join(hs.raw, ""))
		decodeBothImage(t, c.name, img, tok)
		if !strings.Contains(hs.screen(), "laptop-alice · "+map[string]string{"kitty": "kitty graphics", "sixel": "sixel image", "iterm2": "iTerm2 image"}[c.proto]) {
			t.Errorf("%s: the screen does not name the form:\n%s", c.name, hs.screen())
		}
		// Placed inside the screen: the cursor goes to the image's
		// first cell, which leaves the last two lines to the text.
		raw := strings.Join(hs.raw, "")
		if !strings.HasPrefix(raw, "\x1b7\x1b[") || !strings.HasSuffix(raw, "\x1b8") {
			t.Errorf("%s: the image is not placed with the cursor saved and restored", c.name)
		}
		checkFrame(t, hs, 80, 24)

		hs.raw = nil
		hs.send(tea.WindowSizeMsg{Width: 100, Height: 30})
		hs.fireTimers()
		img2 := imageIn(t, c.name+" after resize", c.proto, strings.Join(hs.raw, ""))
		if img2.Bounds().Dx() < img.Bounds().Dx() && c.proto == "sixel" {
			t.Errorf("%s: larger terminal, smaller image", c.name)
		}
		if c.proto == "kitty" && !strings.Contains(strings.Join(hs.raw, ""), delivery.KittyDelete(1709)) {
			t.Errorf("%s: the old image was not deleted before the new one", c.name)
		}
		hs.raw = nil
		hs.press("esc")
		if hs.app.dialog != nil {
			t.Fatalf("%s: esc left %T open", c.name, hs.app.dialog)
		}
		if c.proto == "kitty" && !slices.Contains(hs.raw, delivery.KittyDelete(1709)) {
			t.Errorf("%s: closing did not delete the image: %q", c.name, hs.raw)
		}
	}
}

// imageIn extracts the one image of protocol proto from raw.
func imageIn(t *testing.T, what, proto, raw string) image.Image {
	t.Helper()
	var data []byte
	switch proto {
	case "kitty":
		imgs, err := qrtest.KittyImages(raw)
		var found []qrtest.KittyImage
		for _, k := range imgs {
			if k.Options["a"] == "T" {
				found = append(found, k)
			}
		}
		if err != nil || len(found) != 1 {
			t.Fatalf("%s: %d kitty images (%v)", what, len(found), err)
		}
		data = found[0].Data
	case "iterm2":
		imgs, err := qrtest.ITerm2Images(raw)
		if err != nil || len(imgs) != 1 {
			t.Fatalf("%s: %d iTerm2 images (%v)", what, len(imgs), err)
		}
		data = imgs[0].Data
	case "sixel":
		imgs, err := qrtest.SixelImages(raw)
		if err != nil || len(imgs) != 1 {
			t.Fatalf("%s: %d sixel images (%v)", what, len(imgs), err)
		}
		return qrtest.Flatten(imgs[0], color.Gray{0x1e})
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: not a PNG: %v", what, err)
	}
	return img
}

func decodeBothImage(t *testing.T, what string, img image.Image, tok string) {
	t.Helper()
	if got, err := qrtest.DecodeImage(img); err != nil || got != tok {
		t.Errorf("%s: gozxing does not read the token (%v)", what, err)
	}
	if got, err := qrtest.Zbar(img); err != nil || got != tok {
		t.Errorf("%s: zbar does not read the token (%v)", what, err)
	}
}

// + and - switch between the forms that fit, each named on the screen and
// each read back by zbar (and gozxing for half blocks: it misses a few
// percent of sextant codes of random tokens and every quadrant code, see
// delivery/qrtest).
func TestQRViewSwitchesForms(t *testing.T) {
	w := newStoreWorld(t)
	hs := newHarness(t, w.options(nil), 120, 50)
	hs.openByName("laptop-alice")
	hs.press("c")
	for i, step := range []struct {
		key, form string
	}{
		{"", "half blocks"}, {"-", "quadrant blocks"}, {"-", "sextants"}, {"-", "sextants"}, {"+", "quadrant blocks"}, {"+", "half blocks"}, {"+", "half blocks"},
	} {
		if step.key != "" {
			hs.press(step.key)
		}
		if !strings.Contains(hs.screen(), "laptop-alice · "+step.form) {
			t.Fatalf("step %d (%q): the screen does not name %s:\n%s", i, step.key, step.form, hs.screen())
		}
		g, err := qrtest.ParseGrid(hs.app.View().Content, qrtest.DarkTheme, false)
		if err != nil {
			t.Fatal(err)
		}
		img := g.Image(qrtest.DarkTheme, qrtest.CellWidth, qrtest.CellHeight, 2)
		if got, err := qrtest.Zbar(img); err != nil || got != w.token {
			t.Fatalf("step %d, %s: zbar does not read the token (%v)", i, step.form, err)
		}
		if step.form == "half blocks" {
			if got, err := qrtest.DecodeImage(img); err != nil || got != w.token {
				t.Fatalf("step %d, %s: gozxing does not read the token (%v)", i, step.form, err)
			}
		}
	}
	// The admin's pick survives a resize while it fits.
	hs.press("-")
	hs.send(tea.WindowSizeMsg{Width: 110, Height: 45})
	if !strings.Contains(hs.screen(), "laptop-alice · quadrant blocks") {
		t.Fatalf("after a resize the form is not the one picked:\n%s", hs.screen())
	}
}

// Inside tmux (known from its answer to XTVERSION, whatever TERM says) the
// console asks no kitty graphics query, whose APC tmux would take for the
// pane's title, and draws text.
func TestQRInsideTmuxAsksNoGraphics(t *testing.T) {
	w := newStoreWorld(t)
	opts := w.options(nil)
	opts.Terminal = func(k string) string {
		return map[string]string{"TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"}[k]
	}
	hs := newHarness(t, opts, 120, 50)
	hs.send(tea.TerminalVersionMsg{Name: "tmux 3.3a"})
	hs.send(uv.PrimaryDeviceAttributesEvent{1, 2, 4}) // tmux's own answer
	for _, r := range hs.raw {
		if strings.Contains(r, "\x1b_G") {
			t.Fatalf("a kitty graphics command went to tmux: %q", r)
		}
	}
	hs.openByName("laptop-alice")
	hs.press("c")
	hs.fireTimers()
	if !strings.Contains(hs.screen(), "laptop-alice · half blocks") {
		t.Fatalf("inside tmux the code is not text:\n%s", hs.screen())
	}
	if got, err := qrtest.Decode(hs.app.View().Content, qrtest.DarkTheme); err != nil || got != w.token {
		t.Fatalf("inside tmux: %v", err)
	}
}
