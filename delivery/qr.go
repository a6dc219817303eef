// Package delivery gets an enrollment token (a JWT) from the admin to the
// user: as a QR code drawn on the terminal or saved as a PNG, as a .jwt file,
// through the terminal's clipboard (OSC 52), or as a registration email.
// The TUI and the CLI call it; it holds no UI and no state of its own.
package delivery

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// Terminal layout of the QR code. A QR module is drawn one column wide and
// half a row high (the upper or lower half of a cell), which is close to
// square in usual terminal fonts.
const (
	// qrFitWidth is the width the terminal rendering aims to fit: the
	// classic 80 columns.
	qrFitWidth = 80
	// specQuietZone is the quiet zone the QR specification asks for, in
	// modules. It is used whenever the code still fits qrFitWidth with it.
	specQuietZone = 4
	// minQuietZone is used when the full quiet zone would not fit (a
	// 450-byte token): scanners cope with two light modules, and the tests
	// decode such a code framed by a dark terminal background. The light
	// frame is always drawn explicitly, never left to the theme.
	minQuietZone = 2
	// pngQuietZone: a PNG has no width limit, so it always gets the full
	// quiet zone.
	pngQuietZone = specQuietZone
	// maxPNGScale bounds QRPNG's image: 64 pixels a module is already a
	// poster.
	maxPNGScale = 64
)

// Explicit colours for the coloured rendering: pure black glyphs on a pure
// white background, so the code is dark on light whatever the terminal's
// theme. They are 24-bit; a renderer that knows the terminal's colour
// profile (Bubble Tea v2 does, colorprofile.Writer does for the CLI)
// downsamples them to the 256-colour cube's 16 and 231 or to ANSI black and
// bright white, which stay dark on light.
const (
	sgrBlackOnWhite = "\x1b[38;2;0;0;0;48;2;255;255;255m"
	sgrReverse      = "\x1b[7m"
	sgrReset        = "\x1b[m"
)

// Ink says how a text form makes its dark modules dark. In every ink the
// glyphs draw the dark modules and the light field (quiet zone included) is
// drawn by the cells' background, so the code is dark on light as long as
// the ink suits the terminal.
type Ink int

const (
	// InkColor sets black glyphs on a white background explicitly, line by
	// line: dark on light on any theme. Use it whenever colours reach the
	// terminal.
	InkColor Ink = iota
	// InkPlain has no escape sequences: right where the background is light
	// (a light theme, a file, paper).
	InkPlain
	// InkReverse wraps each line in reverse video, which is no colour (so it
	// is allowed under NO_COLOR): on a dark theme the glyphs then take the
	// dark background's colour and the field the light text colour.
	InkReverse
)

// MonochromeInk is the ink without colours that is dark on light on a
// terminal with the given background.
func MonochromeInk(darkBackground bool) Ink {
	if darkBackground {
		return InkReverse
	}
	return InkPlain
}

// TextForm is a way of drawing QR modules with characters: how many modules
// one terminal cell holds.
type TextForm int

const (
	// HalfBlocks: 1×2 modules a cell (▀ ▄ █), drawn by every terminal
	// font. Close to square modules in a cell twice as tall as wide.
	HalfBlocks TextForm = iota
	// Quadrants: 2×2 modules a cell (▘ ▝ ▖ ▗ ▚ ▞ …, Unicode 1.1 block
	// elements, in most fonts). Half the width of half blocks; each module
	// is twice as tall as wide, which scanners accept.
	Quadrants
	// Sextants: 2×3 modules a cell (U+1FB00–U+1FB3B, Symbols for Legacy
	// Computing), close to square modules in a third of the rows. Drawn by
	// kitty, WezTerm, foot, Ghostty, Windows Terminal and recent VTE/xterm;
	// others show boxes.
	Sextants
)

// TextForms lists the text forms, densest (smallest on screen) first.
var TextForms = []TextForm{Sextants, Quadrants, HalfBlocks}

func (f TextForm) String() string {
	switch f {
	case Quadrants:
		return "quadrant blocks"
	case Sextants:
		return "sextants"
	}
	return "half blocks"
}

// Name is the form's name on the command line (--format).
func (f TextForm) Name() string {
	switch f {
	case Quadrants:
		return "quadrant"
	case Sextants:
		return "sextant"
	}
	return "text"
}

// cell is the number of modules a cell holds across and down.
func (f TextForm) cell() (w, h int) {
	switch f {
	case Quadrants:
		return 2, 2
	case Sextants:
		return 2, 3
	}
	return 1, 2
}

// QRCode is a QR code ready for a terminal: its text forms, rendered once
// (QR takes a few milliseconds) and kept, and the modules for the images
// (PNG, the terminal graphics protocols).
type QRCode struct {
	// Width and Height are the half-block form's size in terminal cells
	// (columns × rows), quiet zone included. Size gives every form's.
	Width, Height int
	// Modules is the number of modules on a side of the code itself and
	// QuietZone the light margin drawn around the text forms, in modules
	// (images always get the full 4).
	Modules, QuietZone int

	code bitmap
	text [3][3]string // [TextForm][Ink]
	size [3][2]int    // [TextForm]{cols, rows}
}

// Text is the code drawn in form f with ink: lines separated by "\n",
// each Size(f) cells wide.
func (q QRCode) Text(f TextForm, ink Ink) string { return q.text[f][ink] }

// Size is form f's size in terminal cells, quiet zone included, so a caller
// can say "needs 59×39, the terminal is 80×24" instead of drawing a broken
// code.
func (q QRCode) Size(f TextForm) (cols, rows int) { return q.size[f][0], q.size[f][1] }

// Fits reports whether form f can be drawn whole in cols×rows cells.
func (q QRCode) Fits(f TextForm, cols, rows int) bool {
	c, r := q.Size(f)
	return c <= cols && r <= rows
}

// ImageSide is the side of the code's images in modules: the code and the
// full quiet zone.
func (q QRCode) ImageSide() int { return q.code.size + 2*pngQuietZone }

// QR renders jwt as a terminal QR code in every text form. It uses error
// correction level M when the half-block form then fits 80 columns with the
// full quiet zone, and level L otherwise (a 450-byte token is then 77
// columns wide, the real 1,009-character controller token 113): a code on a
// screen is not smudged, so L is enough, and a smaller code fits more
// terminals. The text forms' quiet zone is the specified 4 modules when the
// half-block form still fits 80 columns with it, 2 otherwise.
func QR(jwt string) (QRCode, error) {
	code, err := encodeQR(jwt, func(size int) bool { return size+2*specQuietZone <= qrFitWidth })
	if err != nil {
		return QRCode{}, err
	}
	quiet := specQuietZone
	if code.size+2*quiet > qrFitWidth {
		quiet = minQuietZone
	}
	m := newModuleGrid(code, quiet)
	q := QRCode{Modules: code.size, QuietZone: quiet, code: code}
	for _, f := range TextForms {
		cw, ch := f.cell()
		q.size[f] = [2]int{(m.side + cw - 1) / cw, (m.side + ch - 1) / ch}
		q.text[f][InkColor] = m.cells(f, sgrBlackOnWhite, sgrReset)
		q.text[f][InkPlain] = m.cells(f, "", "")
		q.text[f][InkReverse] = m.cells(f, sgrReverse, sgrReset)
	}
	q.Width, q.Height = q.Size(HalfBlocks)
	return q, nil
}

// QRPNG returns a PNG of jwt's QR code (level M, 4-module quiet zone) with
// scale pixels a module, for an email attachment or a file to print. A scale
// of 6 to 10 suits a phone scanning a screen.
func QRPNG(jwt string, scale int) ([]byte, error) {
	if err := checkScale(scale); err != nil {
		return nil, err
	}
	code, err := encodeQR(jwt, func(int) bool { return true })
	if err != nil {
		return nil, err
	}
	return renderPNG(code, scale)
}

// PNG is the code as a PNG, dark on white with the full quiet zone, at
// scale pixels a module: what the terminal graphics protocols and
// 'enrollment qr --format png' show. Unlike QRPNG it is the same code as
// the text forms (level L for a long token), so it is as small as they are.
func (q QRCode) PNG(scale int) ([]byte, error) {
	if err := checkScale(scale); err != nil {
		return nil, err
	}
	if q.code.size == 0 {
		return nil, errors.New("there is no QR code to draw")
	}
	return renderPNG(q.code, scale)
}

// Image is the code as an image, as PNG draws it.
func (q QRCode) Image(scale int) image.Image { return renderImage(q.code, scale) }

func checkScale(scale int) error {
	if scale < 1 || scale > maxPNGScale {
		return fmt.Errorf("the QR code scale is %d: use 1 to %d pixels a module", scale, maxPNGScale)
	}
	return nil
}

// renderPNG draws code with the full quiet zone at scale pixels a module.
func renderPNG(code bitmap, scale int) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, renderImage(code, scale)); err != nil {
		return nil, fmt.Errorf("could not write the QR code as PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// renderImage draws code black on white with the full quiet zone. Two
// colours make image/png write a 1-bit image: a few kilobytes.
func renderImage(code bitmap, scale int) *image.Paletted {
	m := newModuleGrid(code, pngQuietZone)
	side := m.side * scale
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	for y := 0; y < side; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+side]
		for x := range row {
			if m.dark(x/scale, y/scale) {
				row[x] = 1
			}
		}
	}
	return img
}

// encodeQR encodes jwt at level M when preferM accepts the resulting number
// of modules, at level L otherwise. go-qrcode (unlike rsc.io/qr, which
// always uses mask 0 and is what qrterminal draws with) picks the mask with
// the lowest penalty as the QR specification describes. Measured with the
// gozxing decoder on 450-byte tokens drawn as on a terminal: 9 of 200
// rsc.io/qr codes were not found, 4 of 500 go-qrcode ones (and zbar reads
// those). Trying the masks costs 4 to 8 ms, once per token.
func encodeQR(jwt string, preferM func(size int) bool) (code bitmap, err error) {
	// go-qrcode panics on what it considers its own bugs; a QR code is not
	// worth a crashed session.
	defer func() {
		if r := recover(); r != nil {
			code, err = bitmap{}, fmt.Errorf("could not make the QR code: %v", r)
		}
	}()
	if jwt == "" {
		return bitmap{}, errors.New("there is no token to show as a QR code")
	}
	// New only picks the version; the masks are tried in Bitmap.
	q, err := qrcode.New(jwt, qrcode.Medium)
	if err != nil || !preferM(17+4*q.VersionNumber) {
		q, err = qrcode.New(jwt, qrcode.Low)
	}
	if err != nil {
		// Only a token far beyond any real enrollment token (about 2.9 kB)
		// gets here; the error says nothing of the token itself.
		return bitmap{}, fmt.Errorf("the token (%d bytes) is too long for a QR code", len(jwt))
	}
	q.DisableBorder = true
	bits := q.Bitmap()
	return bitmap{bits: bits, size: len(bits)}, nil
}

// bitmap is a QR code's modules, true for dark, without a quiet zone.
type bitmap struct {
	bits [][]bool
	size int
}

func (b bitmap) dark(x, y int) bool {
	return x >= 0 && y >= 0 && x < b.size && y < b.size && b.bits[y][x]
}

// moduleGrid is a QR code with its quiet zone, addressed in modules.
type moduleGrid struct {
	code  bitmap
	quiet int
	side  int // modules on a side, quiet zone included
}

func newModuleGrid(code bitmap, quiet int) moduleGrid {
	return moduleGrid{code: code, quiet: quiet, side: code.size + 2*quiet}
}

// dark reports whether module (x, y) of the framed code is dark; anything
// outside the code, the quiet zone included, is light.
func (m moduleGrid) dark(x, y int) bool {
	return m.code.dark(x-m.quiet, y-m.quiet)
}

// cells draws the grid in form f, one cell per cw×ch modules, glyphs for
// the dark modules. Each line is wrapped in prefix and suffix (the colour
// sequences). Cells reaching past the grid's right or bottom edge count the
// missing modules as light: more quiet zone.
func (m moduleGrid) cells(f TextForm, prefix, suffix string) string {
	cw, ch := f.cell()
	cols, rows := (m.side+cw-1)/cw, (m.side+ch-1)/ch
	var b strings.Builder
	// Up to 4 bytes a cell (a sextant), plus the line's colour sequences.
	b.Grow(rows * (4*cols + len(prefix) + len(suffix) + 1))
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(prefix)
		for c := 0; c < cols; c++ {
			// bit dy*cw+dx is the module dx across, dy down in the cell.
			mask := 0
			for dy := 0; dy < ch; dy++ {
				for dx := 0; dx < cw; dx++ {
					x, y := c*cw+dx, r*ch+dy
					if x < m.side && y < m.side && m.dark(x, y) {
						mask |= 1 << (dy*cw + dx)
					}
				}
			}
			b.WriteRune(glyph(f, mask))
		}
		b.WriteString(suffix)
	}
	return b.String()
}

// halfBlockGlyphs and quadrantGlyphs are indexed by the cell's mask (bit 0
// the upper left module, then across, then down).
var (
	halfBlockGlyphs = [4]rune{' ', '▀', '▄', '█'}
	quadrantGlyphs  = [16]rune{' ', '▘', '▝', '▀', '▖', '▌', '▞', '▛', '▗', '▚', '▐', '▜', '▄', '▙', '▟', '█'}
)

// glyph is the character showing mask's modules in form f. The sextants
// are U+1FB00 onwards in the order of their masks, without the four masks
// that older blocks already draw: none (a space), the left column (▌, mask
// 21), the right column (▐, mask 42) and all (█).
func glyph(f TextForm, mask int) rune {
	switch f {
	case HalfBlocks:
		return halfBlockGlyphs[mask]
	case Quadrants:
		return quadrantGlyphs[mask]
	}
	switch mask {
	case 0:
		return ' '
	case 21:
		return '▌'
	case 42:
		return '▐'
	case 63:
		return '█'
	}
	r := rune(0x1FB00 + mask - 1)
	if mask > 21 {
		r--
	}
	if mask > 42 {
		r--
	}
	return r
}
