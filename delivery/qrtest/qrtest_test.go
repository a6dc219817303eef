package qrtest_test

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"math/rand/v2"
	"testing"

	"github.com/idcon/idcon/delivery"
	"github.com/idcon/idcon/delivery/qrtest"
)

// Real tokens are random: a fixed seed gives random-looking tokens that are
// the same on every run. On 300 such tokens, gozxing's detector alone
// missed 9 terminal codes and 10 PNGs; with the pure-barcode reading none.
// These 40 include some the detector misses.
func TestDecodeReadsEveryCodeAndNoInvertedOne(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 40; i++ {
		raw := make([]byte, 340)
		for j := range raw {
			raw[j] = byte(r.IntN(256))
		}
		tok := base64.RawURLEncoding.EncodeToString(raw)[:200+r.IntN(250)]
		q, err := delivery.QR(tok)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name string
			text string
			th   qrtest.Theme
		}{
			{"colour", q.Text(delivery.HalfBlocks, delivery.InkColor), qrtest.DarkTheme},
			{"colour", q.Text(delivery.HalfBlocks, delivery.InkColor), qrtest.LightTheme},
			{"plain", q.Text(delivery.HalfBlocks, delivery.InkPlain), qrtest.LightTheme},
			{"reverse video", q.Text(delivery.HalfBlocks, delivery.InkReverse), qrtest.DarkTheme},
		} {
			if got, err := qrtest.Decode(c.text, c.th); err != nil || got != tok {
				t.Errorf("token %d (%d bytes), %s on a %s: not read back (%v)", i, len(tok), c.name, c.th.Name, err)
			}
		}
		// Drawn with the theme's colours a code is inverted: never read.
		if _, err := qrtest.Decode(q.Text(delivery.HalfBlocks, delivery.InkPlain), qrtest.DarkTheme); err == nil {
			t.Errorf("token %d: the inverted code was read", i)
		}
		data, err := delivery.QRPNG(tok, 8)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := qrtest.DecodeImage(img); err != nil || got != tok {
			t.Errorf("token %d: PNG not read back (%v)", i, err)
		}
	}
}

// Sextant modules are 4×5⅓ pixels in an 8×16 cell, unevenly split (6, 5
// and 5 pixel rows). zbar reads every one of 40 random codes; gozxing
// (ZXing's detector, and its pure-barcode reading assumes square modules)
// missed 3 of them when measured, 1 to 4 at other cell sizes. The real
// controller token's sextant code is read by both (delivery's tests).
func TestSextantsReadRate(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	missedZbar, missedZXing := 0, 0
	for i := 0; i < 20; i++ {
		raw := make([]byte, 340)
		for j := range raw {
			raw[j] = byte(r.IntN(256))
		}
		tok := base64.RawURLEncoding.EncodeToString(raw)[:200+r.IntN(250)]
		q, err := delivery.QR(tok)
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := qrtest.Render(q.Text(delivery.Sextants, delivery.InkColor), qrtest.DarkTheme)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := qrtest.Zbar(img); err != nil || got != tok {
			missedZbar++
		}
		if got, err := qrtest.DecodeImage(img); err != nil || got != tok {
			missedZXing++
		}
	}
	t.Logf("sextants, 20 random tokens: zbar missed %d, gozxing %d", missedZbar, missedZXing)
	if missedZbar > 0 || missedZXing > 3 {
		t.Errorf("zbar missed %d of 20 sextant codes (want 0), gozxing %d (want at most 3)", missedZbar, missedZXing)
	}
}

func TestParseGridStrictRefusesText(t *testing.T) {
	if _, err := qrtest.ParseGrid("█ x", qrtest.DarkTheme, true); err == nil {
		t.Error("strict parsing took a letter")
	}
	g, err := qrtest.ParseGrid("█ x\n▀", qrtest.DarkTheme, false)
	if err != nil || g.Cols != 3 || g.Rows() != 2 || g.Cells[0][2].R != ' ' || g.Cells[1][1].R != ' ' {
		t.Errorf("lenient parsing: %+v, %v", g, err)
	}
}

// The painter itself, against hand-drawn expectations: which pixels of an
// 8×16 cell each kind of glyph inks.
func TestImageInksTheNamedParts(t *testing.T) {
	for _, c := range []struct {
		glyph string
		inked [][2]int // pixels that must be foreground
		clear [][2]int // pixels that must be background
	}{
		{"▀", [][2]int{{0, 0}, {7, 7}}, [][2]int{{0, 8}, {7, 15}}},
		{"▐", [][2]int{{4, 0}, {7, 15}}, [][2]int{{3, 0}, {0, 15}}},
		{"▚", [][2]int{{0, 0}, {7, 15}}, [][2]int{{7, 0}, {0, 15}}},
		{"\U0001FB00", [][2]int{{0, 0}, {3, 5}}, [][2]int{{4, 0}, {0, 6}, {0, 15}}},          // SEXTANT-1
		{"\U0001FB3B", [][2]int{{4, 0}, {0, 6}, {7, 15}, {0, 15}}, [][2]int{{0, 0}, {3, 5}}}, // SEXTANT-23456
		{"\U0001FB14", [][2]int{{4, 0}, {0, 6}, {0, 15}}, [][2]int{{0, 0}, {4, 6}, {7, 15}}}, // SEXTANT-235
	} {
		g, err := qrtest.ParseGrid("\x1b[38;2;0;0;0;48;2;255;255;255m"+c.glyph, qrtest.DarkTheme, true)
		if err != nil {
			t.Fatalf("%q: %v", c.glyph, err)
		}
		img := g.Image(qrtest.DarkTheme, 8, 16, 0)
		for _, p := range c.inked {
			if v := img.GrayAt(p[0], p[1]).Y; v != 0 {
				t.Errorf("%q: pixel %v is %d, want inked", c.glyph, p, v)
			}
		}
		for _, p := range c.clear {
			if v := img.GrayAt(p[0], p[1]).Y; v != 255 {
				t.Errorf("%q: pixel %v is %d, want background", c.glyph, p, v)
			}
		}
	}
}
