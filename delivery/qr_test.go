package delivery

import (
	"bytes"
	"image"
	"image/png"
	"strings"
	"testing"

	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/idcon/idcon/delivery/qrtest"
)

// The acceptance test: the code drawn on the terminal, read back from the
// text (glyphs and colours) into an image, is decoded by an independent QR
// decoder (gozxing, a port of ZXing) to exactly the token.

// The themes, and the reading of a terminal's text back into an image,
// live in qrtest, shared with the console's and the CLI's tests.
var (
	darkTheme  = qrtest.DarkTheme
	lightTheme = qrtest.LightTheme
)

// parseTerminal reads half-block text strictly: any character other than a
// block or a space fails the test.
func parseTerminal(t *testing.T, s string, th qrtest.Theme) qrtest.Screen {
	t.Helper()
	sc, err := qrtest.Parse(s, th, true)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func decodeQRImage(t *testing.T, img image.Image) (string, error) {
	t.Helper()
	return qrtest.DecodeImage(img)
}

func downsample(t *testing.T, s string, p colorprofile.Profile) string {
	t.Helper()
	var buf bytes.Buffer
	w := &colorprofile.Writer{Forward: &buf, Profile: p}
	if _, err := w.WriteString(s); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestQRDecodesFromRenderedText(t *testing.T) {
	tokens := map[string]string{
		"max 450 bytes": makeJWT(t, maxTokenLen),
		"short":         makeJWT(t, 315),
	}
	for name, tok := range tokens {
		q, err := QR(tok)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s (%d bytes): %d modules, quiet zone %d, %d×%d cells, %d bytes coloured",
			name, len(tok), q.Modules, q.QuietZone, q.Width, q.Height, len(q.Colored))
		cases := []struct {
			variant string
			text    string
			th      qrtest.Theme
		}{
			{"Colored", q.Colored, darkTheme},
			{"Colored", q.Colored, lightTheme},
			{"Colored at 256 colours", downsample(t, q.Colored, colorprofile.ANSI256), darkTheme},
			{"Colored at 16 colours", downsample(t, q.Colored, colorprofile.ANSI), darkTheme},
			{"Colored at 16 colours", downsample(t, q.Colored, colorprofile.ANSI), lightTheme},
			{"Plain", q.Plain, lightTheme},
			{"PlainOnDark", q.PlainOnDark, darkTheme},
			{"Monochrome(dark)", q.Monochrome(true), darkTheme},
			{"Monochrome(light)", q.Monochrome(false), lightTheme},
		}
		for _, c := range cases {
			sc := parseTerminal(t, c.text, c.th)
			if sc.Cols != q.Width || sc.Rows != q.Height {
				t.Errorf("%s %s on a %s: drawn %d×%d, QRCode says %d×%d", name, c.variant, c.th.Name, sc.Cols, sc.Rows, q.Width, q.Height)
			}
			got, err := decodeQRImage(t, sc.Image(c.th, 4, 6))
			if err != nil {
				t.Errorf("%s %s on a %s: not decoded: %v", name, c.variant, c.th.Name, err)
				continue
			}
			if got != tok {
				t.Errorf("%s %s on a %s: decoded %d bytes that differ from the %d-byte token", name, c.variant, c.th.Name, len(got), len(tok))
			}
		}
	}
}

// The coloured code must be dark on light whatever the theme: its corner
// (quiet zone) light and its first finder module dark, on dark and light
// themes alike. The plain variant, by contrast, follows the theme.
func TestQRColoredIsDarkOnLightOnAnyTheme(t *testing.T) {
	q, err := QR(makeJWT(t, maxTokenLen))
	if err != nil {
		t.Fatal(err)
	}
	for _, th := range []qrtest.Theme{darkTheme, lightTheme} {
		sc := parseTerminal(t, q.Colored, th)
		corner := sc.Px[0][0]
		finder := sc.Px[q.QuietZone][q.QuietZone]
		if corner < 200 || finder > 50 {
			t.Errorf("Colored on a %s: quiet zone luminance %d, finder %d; want light around dark", th.Name, corner, finder)
		}
		// The whole frame is light: every quiet-zone module of the top rows.
		for y := 0; y < q.QuietZone; y++ {
			for x, v := range sc.Px[y] {
				if v < 200 {
					t.Fatalf("Colored on a %s: quiet zone module (%d,%d) has luminance %d", th.Name, x, y, v)
				}
			}
		}
	}
	// The control: drawn with the theme's colours, the same code is light
	// on dark on a dark theme, and the decoder does not read it. So the
	// decoding above depends on the explicit colours.
	sc := parseTerminal(t, q.Plain, darkTheme)
	if sc.Px[0][0] > 50 {
		t.Errorf("Plain on a dark theme shows a light corner (%d)", sc.Px[0][0])
	}
	if _, err := decodeQRImage(t, sc.Image(darkTheme, 4, 6)); err == nil {
		t.Error("the inverted code decoded too: decoding the coloured code proves nothing about its colours")
	}
}

func TestQRShape(t *testing.T) {
	q, err := QR(makeJWT(t, maxTokenLen))
	if err != nil {
		t.Fatal(err)
	}
	if q.Width > 80 {
		t.Errorf("a 450-byte token needs %d columns; it must fit 80", q.Width)
	}
	if q.QuietZone < 2 {
		t.Errorf("quiet zone %d modules; want at least 2", q.QuietZone)
	}
	if want := q.Modules + 2*q.QuietZone; q.Width != want || q.Height != (want+1)/2 {
		t.Errorf("size %d×%d for %d modules and quiet zone %d", q.Width, q.Height, q.Modules, q.QuietZone)
	}
	if got := ansi.Strip(q.Colored); got != q.Plain {
		t.Error("Plain is not Colored without its colours")
	}
	for _, v := range []string{q.Plain, q.PlainOnDark} {
		if strings.ContainsRune(v, 0x1b) {
			t.Error("a plain variant holds an escape sequence")
		}
	}
	lines := strings.Split(q.Colored, "\n")
	if len(lines) != q.Height {
		t.Fatalf("%d lines, Height %d", len(lines), q.Height)
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, sgrBlackOnWhite) || !strings.HasSuffix(l, sgrReset) {
			t.Fatalf("line %d does not set and reset its colours", i)
		}
		if w := ansi.StringWidth(l); w != q.Width {
			t.Fatalf("line %d is %d cells wide, Width %d", i, w, q.Width)
		}
	}
	if !q.Fits(80, 40) || q.Fits(80, 24) || q.Fits(q.Width-1, 100) {
		t.Errorf("Fits is wrong for %d×%d", q.Width, q.Height)
	}

	short, err := QR(makeJWT(t, 315))
	if err != nil {
		t.Fatal(err)
	}
	if short.QuietZone != specQuietZone || short.Width > 80 {
		t.Errorf("a 315-byte token: quiet zone %d, width %d; want the full quiet zone within 80 columns", short.QuietZone, short.Width)
	}
}

func TestQRRefusesBadInput(t *testing.T) {
	if _, err := QR(""); err == nil {
		t.Error("QR of an empty token: no error")
	}
	huge := strings.Repeat("a", 4000)
	_, err := QR(huge)
	if err == nil || strings.Contains(err.Error(), huge[:50]) {
		t.Errorf("QR of a 4000-byte token: %v", err)
	}
	for _, scale := range []int{0, -1, maxPNGScale + 1} {
		if _, err := QRPNG("x", scale); err == nil {
			t.Errorf("QRPNG with scale %d: no error", scale)
		}
	}
}

func TestQRPNGDecodes(t *testing.T) {
	for _, size := range []int{maxTokenLen, 315} {
		tok := makeJWT(t, size)
		const scale = 4
		data, err := QRPNG(tok, scale)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("not a PNG: %v", err)
		}
		b := img.Bounds()
		if b.Dx() != b.Dy() || b.Dx()%scale != 0 {
			t.Errorf("PNG is %v", b)
		}
		// The quiet zone: the first 4 modules of every side are white.
		for i := 0; i < 4*scale; i++ {
			if y, _, _, _ := img.At(i, i).RGBA(); y != 0xffff {
				t.Fatalf("PNG pixel (%d,%d) in the quiet zone is not white", i, i)
			}
		}
		got, err := decodeQRImage(t, img)
		if err != nil {
			t.Fatalf("%d-byte token: PNG not decoded: %v", size, err)
		}
		if got != tok {
			t.Fatalf("%d-byte token: PNG decodes to something else", size)
		}
		t.Logf("%d-byte token: PNG %dx%d px, %d bytes", size, b.Dx(), b.Dy(), len(data))
	}
}

func BenchmarkQR(b *testing.B) {
	tok := makeJWT(b, maxTokenLen)
	for b.Loop() {
		if _, err := QR(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkQRPNG(b *testing.B) {
	tok := makeJWT(b, maxTokenLen)
	for b.Loop() {
		if _, err := QRPNG(tok, qrAttachmentScale); err != nil {
			b.Fatal(err)
		}
	}
}
