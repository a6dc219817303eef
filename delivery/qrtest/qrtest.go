// Package qrtest reads a QR code back from the text a terminal would show,
// for tests: it interprets half-block glyphs and SGR colours the way a
// terminal draws them into an image, and decodes that with gozxing, an
// independent decoder (a port of ZXing). delivery's tests, the console's
// tests and the end-to-end tests share it, so "the code on the screen is the
// token" is checked the same way everywhere.
package qrtest

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
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

// Screen is what a terminal shows, in modules: two a cell vertically, one
// a cell horizontally.
type Screen struct {
	Cols, Rows int       // cells
	Px         [][]uint8 // luminance, [module row][column]
}

// Parse interprets half-block text the way a terminal draws it: ▀ is the
// upper half in the foreground colour over the background, ▄ the lower
// half, █ all foreground, a space all background. SGR sequences (16, 256
// and 24-bit colours, reverse video) change the colours; other attributes
// (bold, underline...) are ignored. Strict parsing refuses any other
// character and lines of different widths; otherwise a character other
// than a block (the text around a code on a screen) is drawn as background,
// and short lines are padded with it.
func Parse(s string, th Theme, strict bool) (Screen, error) {
	lines := strings.Split(s, "\n")
	sc := Screen{Rows: len(lines)}
	st := sgrState{th: th, fg: th.FG, bg: th.BG}
	for li, line := range lines {
		var top, bottom []uint8
		for i := 0; i < len(line); {
			if line[i] == 0x1b {
				if i+1 >= len(line) || line[i+1] != '[' {
					return Screen{}, fmt.Errorf("line %d: escape that is not CSI at byte %d", li, i)
				}
				end := strings.IndexFunc(line[i+2:], func(r rune) bool { return r >= 0x40 && r <= 0x7e })
				if end < 0 {
					return Screen{}, fmt.Errorf("line %d: unterminated CSI", li)
				}
				end += i + 2
				if line[end] == 'm' {
					if err := st.apply(line[i+2 : end]); err != nil {
						return Screen{}, fmt.Errorf("line %d: %w", li, err)
					}
				} else if strict {
					return Screen{}, fmt.Errorf("line %d: unexpected CSI %q", li, line[i:end+1])
				}
				i = end + 1
				continue
			}
			r, size := utf8.DecodeRuneInString(line[i:])
			i += size
			fg, bg := st.colors()
			var up, down color.RGBA
			switch r {
			case '▀':
				up, down = fg, bg
			case '▄':
				up, down = bg, fg
			case '█':
				up, down = fg, fg
			case ' ':
				up, down = bg, bg
			default:
				if strict {
					return Screen{}, fmt.Errorf("line %d: unexpected character %q", li, r)
				}
				up, down = bg, bg
			}
			top = append(top, luma(up))
			bottom = append(bottom, luma(down))
		}
		if strict && li > 0 && len(top) != sc.Cols {
			return Screen{}, fmt.Errorf("line %d has %d cells, line 0 has %d", li, len(top), sc.Cols)
		}
		sc.Cols = max(sc.Cols, len(top))
		sc.Px = append(sc.Px, top, bottom)
	}
	bg := luma(th.BG)
	for i, row := range sc.Px {
		for len(row) < sc.Cols {
			row = append(row, bg)
		}
		sc.Px[i] = row
	}
	return sc, nil
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

// Image draws the screen at pxPerModule pixels a module, inside a margin of
// margin modules of the theme's background: the rest of the terminal.
func (sc Screen) Image(th Theme, pxPerModule, margin int) *image.Gray {
	w := (sc.Cols + 2*margin) * pxPerModule
	h := (len(sc.Px) + 2*margin) * pxPerModule
	img := image.NewGray(image.Rect(0, 0, w, h))
	bg := luma(th.BG)
	for i := range img.Pix {
		img.Pix[i] = bg
	}
	for y, row := range sc.Px {
		for x, v := range row {
			for dy := 0; dy < pxPerModule; dy++ {
				off := ((y+margin)*pxPerModule+dy)*img.Stride + (x+margin)*pxPerModule
				for dx := 0; dx < pxPerModule; dx++ {
					img.Pix[off+dx] = v
				}
			}
		}
	}
	return img
}

// DecodeImage finds and decodes one QR code in img. gozxing's finder
// pattern detector misses about one valid code in a hundred that other
// decoders (zbar) read; when it does, the image is read again as a pure
// barcode (an upright code on white, as a PNG or a cropped screen is), which
// reads the modules straight from the pixels: the bits must still be right.
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

// Decode reads the QR code in s, a terminal's text (a whole screen may be
// given: text around the code is drawn as background), shown with the
// theme's default colours.
func Decode(s string, th Theme) (string, error) {
	sc, err := Parse(s, th, false)
	if err != nil {
		return "", err
	}
	if sc.Cols == 0 {
		return "", errors.New("no text to read a QR code from")
	}
	img := sc.Image(th, 4, 6)
	text, err := decode(img, false)
	if err == nil {
		return text, nil
	}
	// Read as a pure barcode, the light frame of the code cut out of a dark
	// screen first (on a light screen only the modules are dark).
	if luma(th.BG) < 128 {
		if r, ok := lightBounds(img); ok {
			img = img.SubImage(r).(*image.Gray)
		}
	}
	if text, perr := decode(img, true); perr == nil {
		return text, nil
	}
	return "", err
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
