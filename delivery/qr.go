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
	sgrReset        = "\x1b[m"
)

// QRCode is a QR code rendered for a terminal. Render it once (QR takes a
// few milliseconds) and keep it: the strings never change and are about
// 8 kB each for a 450-byte token.
type QRCode struct {
	// Colored draws dark modules as black glyphs on an explicitly white
	// background, line by line (each line sets the colours and resets them
	// at its end). It is dark on light whatever the terminal theme. Use it
	// whenever colours reach the terminal.
	Colored string
	// Plain has no escape sequences. Its glyphs draw the dark modules, so it
	// is right where the background is light: a light terminal theme, a
	// file, a page. It equals Colored with the colour sequences stripped.
	Plain string
	// PlainOnDark has no escape sequences. Its glyphs draw the light modules
	// (quiet zone included), so on a dark background the code still shows
	// dark modules on a light frame.
	PlainOnDark string
	// Width and Height are the size in terminal cells (columns × rows),
	// quiet zone included, so a caller can say "needs 77×39, the terminal
	// is 80×24" instead of drawing a broken code.
	Width, Height int
	// Modules is the number of modules on a side of the code itself and
	// QuietZone the light margin drawn around it, in modules.
	Modules, QuietZone int
}

// Monochrome returns the variant without escape sequences that is dark on
// light for a terminal with the given background.
func (q QRCode) Monochrome(darkBackground bool) string {
	if darkBackground {
		return q.PlainOnDark
	}
	return q.Plain
}

// Fits reports whether the code can be drawn whole in a terminal of the
// given size.
func (q QRCode) Fits(cols, rows int) bool {
	return q.Width <= cols && q.Height <= rows
}

// QR renders jwt as a terminal QR code in half blocks. It uses error
// correction level M when the code then fits 80 columns with the full quiet
// zone, and level L otherwise (a 450-byte token is then 77 columns wide):
// a code on a screen is not smudged, so L is enough, and a smaller code fits
// more terminals. The quiet zone is the specified 4 modules when that still
// fits 80 columns, 2 otherwise.
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
	return QRCode{
		Colored:     m.halfBlocks(true, sgrBlackOnWhite, sgrReset),
		Plain:       m.halfBlocks(true, "", ""),
		PlainOnDark: m.halfBlocks(false, "", ""),
		Width:       m.side,
		Height:      (m.side + 1) / 2,
		Modules:     code.size,
		QuietZone:   quiet,
	}, nil
}

// QRPNG returns a PNG of jwt's QR code (level M, 4-module quiet zone) with
// scale pixels a module, for an email attachment or a file to print. A scale
// of 6 to 10 suits a phone scanning a screen.
func QRPNG(jwt string, scale int) ([]byte, error) {
	if scale < 1 || scale > maxPNGScale {
		return nil, fmt.Errorf("the QR code scale is %d: use 1 to %d pixels a module", scale, maxPNGScale)
	}
	code, err := encodeQR(jwt, func(int) bool { return true })
	if err != nil {
		return nil, err
	}
	return renderPNG(code, scale)
}

// renderPNG draws code with the full quiet zone at scale pixels a module.
func renderPNG(code bitmap, scale int) ([]byte, error) {
	m := newModuleGrid(code, pngQuietZone)
	side := m.side * scale
	// Two colours make image/png write a 1-bit image: a few kilobytes.
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	for y := 0; y < side; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+side]
		for x := range row {
			if m.dark(x/scale, y/scale) {
				row[x] = 1
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("could not write the QR code as PNG: %w", err)
	}
	return buf.Bytes(), nil
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

// halfBlocks draws the grid two module rows a line. With inkIsDark the
// glyphs draw dark modules and spaces are light; otherwise the reverse.
// Each line is wrapped in prefix and suffix (the colour sequences). A last
// half line below the grid counts as light: more quiet zone.
func (m moduleGrid) halfBlocks(inkIsDark bool, prefix, suffix string) string {
	rows := (m.side + 1) / 2
	var b strings.Builder
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(prefix)
		for x := 0; x < m.side; x++ {
			top := m.dark(x, 2*r) == inkIsDark
			bottom := m.dark(x, 2*r+1) == inkIsDark // below the grid is light
			switch {
			case top && bottom:
				b.WriteString("█")
			case top:
				b.WriteString("▀")
			case bottom:
				b.WriteString("▄")
			default:
				b.WriteByte(' ')
			}
		}
		b.WriteString(suffix)
	}
	return b.String()
}
