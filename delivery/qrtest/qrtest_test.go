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
			{"Colored", q.Colored, qrtest.DarkTheme},
			{"Colored", q.Colored, qrtest.LightTheme},
			{"Plain", q.Plain, qrtest.LightTheme},
			{"PlainOnDark", q.PlainOnDark, qrtest.DarkTheme},
		} {
			if got, err := qrtest.Decode(c.text, c.th); err != nil || got != tok {
				t.Errorf("token %d (%d bytes), %s on a %s: not read back (%v)", i, len(tok), c.name, c.th.Name, err)
			}
		}
		// Drawn with the theme's colours a code is inverted: never read.
		if _, err := qrtest.Decode(q.Plain, qrtest.DarkTheme); err == nil {
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

func TestParseStrictRefusesText(t *testing.T) {
	if _, err := qrtest.Parse("█ x", qrtest.DarkTheme, true); err == nil {
		t.Error("strict parsing took a letter")
	}
	sc, err := qrtest.Parse("█ x\n▀", qrtest.DarkTheme, false)
	if err != nil || sc.Cols != 3 || len(sc.Px) != 4 || sc.Px[0][2] != sc.Px[0][1] || sc.Px[2][1] != sc.Px[0][1] {
		t.Errorf("lenient parsing: %+v, %v", sc, err)
	}
}
