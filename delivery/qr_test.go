package delivery

import (
	"bytes"
	"fmt"
	"image/png"
	"strings"
	"testing"

	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"golang.org/x/text/unicode/runenames"

	"github.com/idcon/idcon/delivery/qrtest"
)

// The acceptance tests: each text form, drawn as a terminal draws it (a
// cell twice as tall as wide, each glyph inking the parts of the cell its
// Unicode name says), decodes with two independent decoders (gozxing and
// zbar) to exactly the token, among them the real 1,009-character
// controller token.

func downsample(t *testing.T, s string, p colorprofile.Profile) string {
	t.Helper()
	var buf bytes.Buffer
	w := &colorprofile.Writer{Forward: &buf, Profile: p}
	if _, err := w.WriteString(s); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// decodeText renders text strictly and decodes it with zbar and, unless
// zbarOnly, with gozxing.
func decodeText(t *testing.T, text string, th qrtest.Theme, zbarOnly bool) (got string, cols, rows int, err error) {
	t.Helper()
	img, g, err := qrtest.Render(text, th)
	if err != nil {
		t.Fatal(err)
	}
	z, err := qrtest.Zbar(img)
	if err != nil {
		return "", g.Cols, g.Rows(), fmt.Errorf("zbar: %w", err)
	}
	if zbarOnly {
		return z, g.Cols, g.Rows(), nil
	}
	x, err := qrtest.DecodeImage(img)
	if err != nil {
		return "", g.Cols, g.Rows(), fmt.Errorf("gozxing: %w", err)
	}
	if x != z {
		return "", g.Cols, g.Rows(), fmt.Errorf("gozxing read %d bytes, zbar %d other ones", len(x), len(z))
	}
	return x, g.Cols, g.Rows(), nil
}

func TestQRTextFormsDecode(t *testing.T) {
	t.Parallel() // a server or decoder process each: they overlap (make mutate runs the package per mutant)
	tokens := []struct {
		name string
		tok  string
	}{
		{"real controller token", qrtest.RealToken(t)},
		{"max embedded 450 bytes", makeJWT(t, maxTokenLen)},
		{"short", makeJWT(t, 315)},
	}
	for _, tc := range tokens {
		q, err := QR(tc.tok)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, f := range TextForms {
			cols, rows := q.Size(f)
			t.Logf("%s (%d bytes), %s: %d modules, quiet zone %d, %d×%d cells, %d bytes coloured",
				tc.name, len(tc.tok), f, q.Modules, q.QuietZone, cols, rows, len(q.Text(f, InkColor)))
			cases := []struct {
				variant string
				text    string
				th      qrtest.Theme
			}{
				{"colour", q.Text(f, InkColor), qrtest.DarkTheme},
				{"colour", q.Text(f, InkColor), qrtest.LightTheme},
				{"colour at 16 colours", downsample(t, q.Text(f, InkColor), colorprofile.ANSI), qrtest.LightTheme},
				{"monochrome for a dark background (NO_COLOR)", q.Text(f, MonochromeInk(true)), qrtest.DarkTheme},
				{"monochrome for a light background (NO_COLOR)", q.Text(f, MonochromeInk(false)), qrtest.LightTheme},
				{"colour at 256 colours", downsample(t, q.Text(f, InkColor), colorprofile.ANSI256), qrtest.DarkTheme},
			}
			if tc.name != "real controller token" {
				// The other tokens: one coloured and one monochrome case.
				cases = []struct {
					variant string
					text    string
					th      qrtest.Theme
				}{cases[0], cases[3]}
			}
			for _, c := range cases {
				// Quadrant modules are twice as tall as wide: gozxing's
				// finder detector (ZXing's) never finds them, see
				// TestQRQuadrantsOnlyZbarReads.
				got, gc, gr, err := decodeText(t, c.text, c.th, f == Quadrants)
				if gc != cols || gr != rows {
					t.Errorf("%s %s %s on a %s: drawn %d×%d, Size says %d×%d", tc.name, f, c.variant, c.th.Name, gc, gr, cols, rows)
				}
				if err != nil {
					t.Errorf("%s %s %s on a %s: not decoded: %v", tc.name, f, c.variant, c.th.Name, err)
					continue
				}
				if got != tc.tok {
					t.Errorf("%s %s %s on a %s: decoded %d bytes that differ from the %d-byte token", tc.name, f, c.variant, c.th.Name, len(got), len(tc.tok))
				}
			}
		}
	}
}

// Quadrant blocks draw modules twice as tall as wide (2×2 in a cell twice
// as tall as wide). zbar reads them; ZXing's finder pattern detector, which
// gozxing ports and many phone scanner apps embed, wants the finder's
// 1:1:3:1:1 runs of the same length across and down and never finds them.
// So the console and the CLI use quadrants only when asked, and this test
// says so should either decoder change.
func TestQRQuadrantsOnlyZbarReads(t *testing.T) {
	t.Parallel() // a server or decoder process each: they overlap (make mutate runs the package per mutant)
	tok := qrtest.RealToken(t)
	q, err := QR(tok)
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := qrtest.Render(q.Text(Quadrants, InkColor), qrtest.DarkTheme)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := qrtest.Zbar(img); err != nil || got != tok {
		t.Errorf("zbar does not read the quadrant form: %v", err)
	}
	if _, err := qrtest.DecodeImage(img); err == nil {
		t.Error("gozxing reads the quadrant form now: reconsider offering quadrants without being asked")
	}
}

// The numbers: the real token's code is 109 modules, with a
// 2-module quiet zone 113; sextants make that 57×38 cells, which with the
// two lines under it fits 120×40, and quadrants 57×57.
func TestQRRealTokenSizes(t *testing.T) {
	q, err := QR(qrtest.RealToken(t))
	if err != nil {
		t.Fatal(err)
	}
	if q.Modules != 109 || q.QuietZone != 2 {
		t.Fatalf("%d modules, quiet zone %d; want 109 and 2", q.Modules, q.QuietZone)
	}
	for f, want := range map[TextForm][2]int{HalfBlocks: {113, 57}, Quadrants: {57, 57}, Sextants: {57, 38}} {
		if c, r := q.Size(f); c != want[0] || r != want[1] {
			t.Errorf("%s: %d×%d cells, want %d×%d", f, c, r, want[0], want[1])
		}
	}
	if !q.Fits(Sextants, 120, 40-2) || q.Fits(Quadrants, 120, 40-2) || q.Fits(HalfBlocks, 120, 40) {
		t.Error("at 120×40 only sextants should fit")
	}
}

// Each sextant mask is drawn with the character whose Unicode name lists
// exactly its cells ("BLOCK SEXTANT-1345"), or the older block that draws
// the same: space, ▌, ▐, █. Likewise the quadrants. The names come from
// the Unicode database, not from the table under test.
func TestQRGlyphsMatchTheirUnicodeNames(t *testing.T) {
	older := map[int]string{0: "SPACE", 21: "LEFT HALF BLOCK", 42: "RIGHT HALF BLOCK", 63: "FULL BLOCK"}
	seen := map[rune]int{}
	for mask := 0; mask < 64; mask++ {
		r := glyph(Sextants, mask)
		name := runenames.Name(r)
		want := older[mask]
		if want == "" {
			want = "BLOCK SEXTANT-"
			for i := 0; i < 6; i++ {
				if mask&(1<<i) != 0 {
					want += fmt.Sprint(i + 1)
				}
			}
		}
		if name != want {
			t.Errorf("sextant mask %06b is %U %s, want %s", mask, r, name, want)
		}
		if prev, dup := seen[r]; dup {
			t.Errorf("masks %d and %d share %U", prev, mask, r)
		}
		seen[r] = mask
		if want != "SPACE" && want != "FULL BLOCK" && !strings.Contains(want, "HALF") && (r < 0x1FB00 || r > 0x1FB3B) {
			t.Errorf("sextant %U outside U+1FB00–U+1FB3B", r)
		}
	}
	quad := []string{"UPPER LEFT", "UPPER RIGHT", "LOWER LEFT", "LOWER RIGHT"}
	olderQ := map[int]string{0: "SPACE", 3: "UPPER HALF BLOCK", 5: "LEFT HALF BLOCK", 10: "RIGHT HALF BLOCK", 12: "LOWER HALF BLOCK", 15: "FULL BLOCK"}
	for mask := 0; mask < 16; mask++ {
		want := olderQ[mask]
		if want == "" {
			var parts []string
			for i, p := range quad {
				if mask&(1<<i) != 0 {
					parts = append(parts, p)
				}
			}
			want = "QUADRANT " + strings.Join(parts, " AND ")
		}
		if r := glyph(Quadrants, mask); runenames.Name(r) != want {
			t.Errorf("quadrant mask %04b is %U %s, want %s", mask, r, runenames.Name(r), want)
		}
	}
}

// Every form is dark on light whatever the theme: its corner (quiet zone)
// light, its first finder module dark, in colour on both themes and in the
// monochrome ink that suits each theme. The control: the glyphs alone
// drawn on a dark theme are an inverted code, which the decoders don't
// read, so decoding the others says something about their colours.
func TestQRTextIsDarkOnLight(t *testing.T) {
	t.Parallel() // a server or decoder process each: they overlap (make mutate runs the package per mutant)
	q, err := QR(qrtest.RealToken(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range TextForms {
		for _, c := range []struct {
			ink Ink
			th  qrtest.Theme
		}{{InkColor, qrtest.DarkTheme}, {InkColor, qrtest.LightTheme}, {InkReverse, qrtest.DarkTheme}, {InkPlain, qrtest.LightTheme}} {
			g, err := qrtest.ParseGrid(q.Text(f, c.ink), c.th, true)
			if err != nil {
				t.Fatal(err)
			}
			img := g.Image(c.th, 8, 16, 0)
			corner := img.GrayAt(0, 0).Y
			// The finder's top left module is at (quiet, quiet) modules.
			cw, ch := f.cell()
			fx, fy := q.QuietZone*8/cw+1, q.QuietZone*16/ch+1
			finder := img.GrayAt(fx, fy).Y
			if corner < 200 || finder > 50 {
				t.Errorf("%s ink %d on a %s: quiet zone luminance %d, finder %d; want light around dark", f, c.ink, c.th.Name, corner, finder)
			}
		}
		img, _, err := qrtest.Render(q.Text(f, InkPlain), qrtest.DarkTheme)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := qrtest.DecodeImage(img); err == nil {
			t.Errorf("%s: the inverted code decoded too", f)
		}
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
	for _, f := range TextForms {
		cols, rows := q.Size(f)
		if got := ansi.Strip(q.Text(f, InkColor)); got != q.Text(f, InkPlain) {
			t.Errorf("%s: plain is not the coloured text without its colours", f)
		}
		if got := ansi.Strip(q.Text(f, InkReverse)); got != q.Text(f, InkPlain) {
			t.Errorf("%s: reverse video is not the plain text in reverse video", f)
		}
		if strings.ContainsRune(q.Text(f, InkPlain), 0x1b) {
			t.Errorf("%s: the plain text holds an escape sequence", f)
		}
		for ink, prefix := range map[Ink]string{InkColor: sgrBlackOnWhite, InkReverse: sgrReverse} {
			lines := strings.Split(q.Text(f, ink), "\n")
			if len(lines) != rows {
				t.Fatalf("%s: %d lines, %d rows", f, len(lines), rows)
			}
			for i, l := range lines {
				if !strings.HasPrefix(l, prefix) || !strings.HasSuffix(l, sgrReset) {
					t.Fatalf("%s line %d does not set and reset its attributes", f, i)
				}
				if w := ansi.StringWidth(l); w != cols {
					t.Fatalf("%s line %d is %d cells wide, Size %d", f, i, w, cols)
				}
			}
		}
	}
	if !q.Fits(HalfBlocks, 80, 40) || q.Fits(HalfBlocks, 80, 24) || q.Fits(HalfBlocks, q.Width-1, 100) {
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
		if _, err := (QRCode{}).PNG(scale); err == nil {
			t.Errorf("PNG with scale %d: no error", scale)
		}
	}
	if _, err := (QRCode{}).PNG(2); err == nil {
		t.Error("PNG of no code: no error")
	}
}

func TestQRPNGDecodes(t *testing.T) {
	t.Parallel() // a server or decoder process each: they overlap (make mutate runs the package per mutant)
	for _, tok := range []string{makeJWT(t, maxTokenLen), makeJWT(t, 315), qrtest.RealToken(t)} {
		const scale = 4
		q, err := QR(tok)
		if err != nil {
			t.Fatal(err)
		}
		for name, gen := range map[string]func() ([]byte, error){
			"QRPNG":      func() ([]byte, error) { return QRPNG(tok, scale) },
			"QRCode.PNG": func() ([]byte, error) { return q.PNG(scale) },
		} {
			data, err := gen()
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("%s: not a PNG: %v", name, err)
			}
			b := img.Bounds()
			if b.Dx() != b.Dy() || b.Dx()%scale != 0 {
				t.Errorf("%s: PNG is %v", name, b)
			}
			// The quiet zone: the first 4 modules of every side are white.
			for i := 0; i < 4*scale; i++ {
				if y, _, _, _ := img.At(i, i).RGBA(); y != 0xffff {
					t.Fatalf("%s: pixel (%d,%d) in the quiet zone is not white", name, i, i)
				}
			}
			got, err := qrtest.DecodeImage(img)
			if err != nil || got != tok {
				t.Fatalf("%d-byte token: %s not decoded by gozxing: %v", len(tok), name, err)
			}
			if got, err := qrtest.Zbar(img); err != nil || got != tok {
				t.Fatalf("%d-byte token: %s not decoded by zbar: %v", len(tok), name, err)
			}
			t.Logf("%d-byte token: %s %dx%d px, %d bytes", len(tok), name, b.Dx(), b.Dy(), len(data))
		}
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
