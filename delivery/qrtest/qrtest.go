// Package qrtest reads a QR code back from what a terminal would show, for
// tests: it draws text (block-element glyphs and SGR colours) into an image
// the way a terminal with a monospace font does, a cell twice as tall as it
// is wide, and decodes images with two independent decoders: gozxing (a port
// of ZXing) and zbar (the zbarimg program, Debian's zbar-tools). delivery's
// tests, the console's tests and the end-to-end tests share it, so "the code
// on the screen is the token" is checked the same way everywhere.
//
// Which part of a cell a glyph inks is taken from the character's Unicode
// name (golang.org/x/text/unicode/runenames: "QUADRANT UPPER LEFT AND LOWER
// RIGHT", "BLOCK SEXTANT-1345"), not from the tables the code under test
// draws with.
package qrtest

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"golang.org/x/text/unicode/runenames"
)

// Theme is a terminal's default colours, which apply wherever the text sets
// none.
type Theme struct {
	Name   string
	FG, BG color.RGBA
}

// The two themes the tests draw on: light text on a dark background, and
// the reverse.
var (
	DarkTheme  = Theme{"dark theme", color.RGBA{0xd0, 0xd0, 0xd0, 0xff}, color.RGBA{0x1e, 0x1e, 0x1e, 0xff}}
	LightTheme = Theme{"light theme", color.RGBA{0x20, 0x20, 0x20, 0xff}, color.RGBA{0xfa, 0xfa, 0xfa, 0xff}}
)

// The cell size text is drawn at by default: 8×16 pixels, the aspect of a
// monospace font's cell.
const (
	CellWidth  = 8
	CellHeight = 16
)

// Cell is one drawn character cell.
type Cell struct {
	R      rune
	FG, BG color.RGBA
}

// Grid is text as a terminal shows it: rows of cells.
type Grid struct {
	Cells [][]Cell
	Cols  int
}

// ParseGrid interprets text the way a terminal does: each rune one cell
// (the text under test holds no wide characters), SGR sequences (16, 256
// and 24-bit colours, reverse video) setting the colours of the cells that
// follow; other attributes are ignored. Strict parsing refuses characters
// that ink no known part of a cell, other escape sequences and lines of
// different widths; otherwise text other than blocks (the words around a
// code on a screen) is drawn as background, and short lines are padded with
// it.
func ParseGrid(s string, th Theme, strict bool) (Grid, error) {
	var g Grid
	st := sgrState{th: th, fg: th.FG, bg: th.BG}
	for li, line := range strings.Split(s, "\n") {
		var row []Cell
		for i := 0; i < len(line); {
			if line[i] == 0x1b {
				if i+1 >= len(line) || line[i+1] != '[' {
					return Grid{}, fmt.Errorf("line %d: escape that is not CSI at byte %d", li, i)
				}
				end := strings.IndexFunc(line[i+2:], func(r rune) bool { return r >= 0x40 && r <= 0x7e })
				if end < 0 {
					return Grid{}, fmt.Errorf("line %d: unterminated CSI", li)
				}
				end += i + 2
				if line[end] == 'm' {
					if err := st.apply(line[i+2 : end]); err != nil {
						return Grid{}, fmt.Errorf("line %d: %w", li, err)
					}
				} else if strict {
					return Grid{}, fmt.Errorf("line %d: unexpected CSI %q", li, line[i:end+1])
				}
				i = end + 1
				continue
			}
			r, size := utf8.DecodeRuneInString(line[i:])
			i += size
			if _, ok := inkOf(r); !ok {
				if strict {
					return Grid{}, fmt.Errorf("line %d: unexpected character %q (%s)", li, r, runenames.Name(r))
				}
				r = ' '
			}
			fg, bg := st.colors()
			row = append(row, Cell{R: r, FG: fg, BG: bg})
		}
		if strict && li > 0 && len(row) != g.Cols {
			return Grid{}, fmt.Errorf("line %d has %d cells, line 0 has %d", li, len(row), g.Cols)
		}
		g.Cols = max(g.Cols, len(row))
		g.Cells = append(g.Cells, row)
	}
	for i, row := range g.Cells {
		for len(row) < g.Cols {
			row = append(row, Cell{R: ' ', FG: th.FG, BG: th.BG})
		}
		g.Cells[i] = row
	}
	return g, nil
}

// Rows is the number of lines.
func (g Grid) Rows() int { return len(g.Cells) }

// Image paints the grid with cells of cw×ch pixels, inside a margin of
// margin cells of the theme's background (the rest of the terminal). A
// glyph's inked parts take the cell's foreground colour, the rest its
// background; the parts split the cell as a terminal does, by integer
// division of its pixels.
func (g Grid) Image(th Theme, cw, ch, margin int) *image.Gray {
	w := (g.Cols + 2*margin) * cw
	h := (g.Rows() + 2*margin) * ch
	img := image.NewGray(image.Rect(0, 0, w, h))
	bg := luma(th.BG)
	for i := range img.Pix {
		img.Pix[i] = bg
	}
	for cy, row := range g.Cells {
		for cx, c := range row {
			ink, _ := inkOf(c.R)
			fg, bg := luma(c.FG), luma(c.BG)
			for py := 0; py < ch; py++ {
				off := ((cy+margin)*ch+py)*img.Stride + (cx+margin)*cw
				for px := 0; px < cw; px++ {
					v := bg
					if ink(px, py, cw, ch) {
						v = fg
					}
					img.Pix[off+px] = v
				}
			}
		}
	}
	return img
}

// Render parses s (strictly) and paints it at 8×16 pixels a cell with a
// margin of 2 cells.
func Render(s string, th Theme) (*image.Gray, Grid, error) {
	g, err := ParseGrid(s, th, true)
	if err != nil {
		return nil, Grid{}, err
	}
	return g.Image(th, CellWidth, CellHeight, 2), g, nil
}

// inkFunc says whether pixel (px, py) of a cw×ch cell is inked.
type inkFunc func(px, py, cw, ch int) bool

// inkOf reads which part of the cell r inks from its Unicode name.
func inkOf(r rune) (inkFunc, bool) {
	if r == ' ' {
		return func(int, int, int, int) bool { return false }, true
	}
	name := runenames.Name(r)
	switch name {
	case "FULL BLOCK":
		return func(int, int, int, int) bool { return true }, true
	case "UPPER HALF BLOCK":
		return func(_, py, _, ch int) bool { return py*2/ch == 0 }, true
	case "LOWER HALF BLOCK":
		return func(_, py, _, ch int) bool { return py*2/ch == 1 }, true
	case "LEFT HALF BLOCK":
		return func(px, _, cw, _ int) bool { return px*2/cw == 0 }, true
	case "RIGHT HALF BLOCK":
		return func(px, _, cw, _ int) bool { return px*2/cw == 1 }, true
	}
	if rest, ok := strings.CutPrefix(name, "QUADRANT "); ok {
		var parts [2][2]bool // [row][col]
		for _, q := range strings.Split(rest, " AND ") {
			row, col := -1, -1
			switch q {
			case "UPPER LEFT":
				row, col = 0, 0
			case "UPPER RIGHT":
				row, col = 0, 1
			case "LOWER LEFT":
				row, col = 1, 0
			case "LOWER RIGHT":
				row, col = 1, 1
			default:
				return nil, false
			}
			parts[row][col] = true
		}
		return func(px, py, cw, ch int) bool { return parts[py*2/ch][px*2/cw] }, true
	}
	if digits, ok := strings.CutPrefix(name, "BLOCK SEXTANT-"); ok {
		var parts [3][2]bool
		for _, d := range digits {
			n := int(d - '1')
			if n < 0 || n > 5 {
				return nil, false
			}
			parts[n/2][n%2] = true
		}
		return func(px, py, cw, ch int) bool { return parts[py*3/ch][px*2/cw] }, true
	}
	return nil, false
}

// sgrState is the colours set so far.
type sgrState struct {
	th      Theme
	fg, bg  color.RGBA
	reverse bool
}

func (s *sgrState) colors() (fg, bg color.RGBA) {
	if s.reverse {
		return s.bg, s.fg
	}
	return s.fg, s.bg
}

func (s *sgrState) apply(params string) error {
	var ps []int
	for _, p := range strings.FieldsFunc(params, func(r rune) bool { return r == ';' || r == ':' }) {
		n, err := strconv.Atoi(p)
		if err != nil {
			return fmt.Errorf("SGR parameter %q", p)
		}
		ps = append(ps, n)
	}
	if len(ps) == 0 {
		ps = []int{0}
	}
	for i := 0; i < len(ps); i++ {
		switch p := ps[i]; {
		case p == 0:
			s.fg, s.bg, s.reverse = s.th.FG, s.th.BG, false
		case p == 7:
			s.reverse = true
		case p == 27:
			s.reverse = false
		case p >= 30 && p <= 37:
			s.fg = ansi16[p-30]
		case p >= 90 && p <= 97:
			s.fg = ansi16[p-90+8]
		case p == 39:
			s.fg = s.th.FG
		case p >= 40 && p <= 47:
			s.bg = ansi16[p-40]
		case p >= 100 && p <= 107:
			s.bg = ansi16[p-100+8]
		case p == 49:
			s.bg = s.th.BG
		case (p == 38 || p == 48 || p == 58) && i+2 < len(ps) && ps[i+1] == 5:
			s.set(p, xterm256(ps[i+2]))
			i += 2
		case (p == 38 || p == 48 || p == 58) && i+4 < len(ps) && ps[i+1] == 2:
			s.set(p, color.RGBA{uint8(ps[i+2]), uint8(ps[i+3]), uint8(ps[i+4]), 255})
			i += 4
		case p >= 1 && p <= 29, p == 59:
			// Bold, faint, italic, underline, blink and their resets:
			// they don't change which colour fills a cell.
		default:
			return fmt.Errorf("unexpected SGR parameters %q", params)
		}
	}
	return nil
}

func (s *sgrState) set(p int, c color.RGBA) {
	switch p {
	case 38:
		s.fg = c
	case 48:
		s.bg = c
	}
	// 58 is the underline colour: it fills nothing.
}

func luma(c color.RGBA) uint8 {
	return uint8((299*int(c.R) + 587*int(c.G) + 114*int(c.B)) / 1000)
}

// ansi16 is xterm's default palette.
var ansi16 = [16]color.RGBA{
	{0, 0, 0, 255}, {205, 0, 0, 255}, {0, 205, 0, 255}, {205, 205, 0, 255},
	{0, 0, 238, 255}, {205, 0, 205, 255}, {0, 205, 205, 255}, {229, 229, 229, 255},
	{127, 127, 127, 255}, {255, 0, 0, 255}, {0, 255, 0, 255}, {255, 255, 0, 255},
	{92, 92, 255, 255}, {255, 0, 255, 255}, {0, 255, 255, 255}, {255, 255, 255, 255},
}

func xterm256(n int) color.RGBA {
	switch {
	case n < 16:
		return ansi16[max(0, n)]
	case n < 232:
		levels := [6]uint8{0, 95, 135, 175, 215, 255}
		n -= 16
		return color.RGBA{levels[n/36], levels[n/6%6], levels[n%6], 255}
	default:
		g := uint8(8 + 10*(min(n, 255)-232))
		return color.RGBA{g, g, g, 255}
	}
}

// DecodeImage finds and decodes one QR code in img with gozxing. gozxing's
// finder pattern detector misses about one valid code in a hundred that
// other decoders (zbar) read; when it does, the image is read again as a
// pure barcode (an upright code on white, as a PNG or a cropped screen is),
// which reads the modules straight from the pixels: the bits must still be
// right.
func DecodeImage(img image.Image) (string, error) {
	text, err := decode(img, false)
	if err == nil {
		return text, nil
	}
	if text, perr := decode(img, true); perr == nil {
		return text, nil
	}
	return "", err
}

func decode(img image.Image, pure bool) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	hints := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true}
	if pure {
		hints[gozxing.DecodeHintType_PURE_BARCODE] = true
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}

// ErrNoZbar is returned by Zbar when zbarimg is not installed.
var ErrNoZbar = errors.New("zbarimg is not installed (Debian: apt-get install zbar-tools; .ci/run installs it)")

// Zbar decodes img with zbarimg, a decoder independent of gozxing, and
// returns the text of the one QR code it finds.
func Zbar(img image.Image) (string, error) {
	bin, err := exec.LookPath("zbarimg")
	if err != nil {
		return "", ErrNoZbar
	}
	f, err := os.CreateTemp("", "qrtest-*.png")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", f.Name())
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("zbarimg found no QR code (%v) %s", err, strings.TrimSpace(stderr.String()))
	}
	out := strings.TrimSuffix(stdout.String(), "\n")
	if strings.Contains(out, "\n") {
		return "", fmt.Errorf("zbarimg found more than one code")
	}
	return out, nil
}

// Decode reads the QR code in s, a terminal's text (a whole screen may be
// given: text around the code is drawn as background), shown with the
// theme's default colours, with gozxing.
func Decode(s string, th Theme) (string, error) {
	g, err := ParseGrid(s, th, false)
	if err != nil {
		return "", err
	}
	if g.Cols == 0 {
		return "", errors.New("no text to read a QR code from")
	}
	img := g.Image(th, CellWidth, CellHeight, 2)
	text, err := decode(img, false)
	if err == nil {
		return text, nil
	}
	// Read as a pure barcode, the light frame of the code cut out of a dark
	// screen first (on a light screen only the modules are dark).
	if luma(th.BG) < 128 {
		if r, ok := lightBounds(img); ok {
			if text, perr := decode(img.SubImage(r), true); perr == nil {
				return text, nil
			}
		}
	}
	if text, perr := decode(img, true); perr == nil {
		return text, nil
	}
	return "", err
}

// DecodeBoth reads the QR code in s with gozxing and with zbar; both must
// read the same text.
func DecodeBoth(s string, th Theme) (string, error) {
	g, err := ParseGrid(s, th, false)
	if err != nil {
		return "", err
	}
	z, err := Zbar(g.Image(th, CellWidth, CellHeight, 2))
	if err != nil {
		return "", fmt.Errorf("zbar: %w", err)
	}
	x, err := Decode(s, th)
	if err != nil {
		return "", fmt.Errorf("gozxing: %w", err)
	}
	if x != z {
		return "", fmt.Errorf("gozxing and zbar read different texts (%d and %d bytes)", len(x), len(z))
	}
	return x, nil
}

// lightBounds is the smallest rectangle holding every light pixel.
func lightBounds(img *image.Gray) (image.Rectangle, bool) {
	b := img.Bounds()
	r := image.Rectangle{Min: b.Max, Max: b.Min}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if img.GrayAt(x, y).Y >= 128 {
				r.Min.X, r.Min.Y = min(r.Min.X, x), min(r.Min.Y, y)
				r.Max.X, r.Max.Y = max(r.Max.X, x+1), max(r.Max.Y, y+1)
			}
		}
	}
	return r, !r.Empty()
}
