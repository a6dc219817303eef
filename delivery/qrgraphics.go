package delivery

import (
	"bytes"
	"encoding/base64"
	"fmt"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/ansi/iterm2"
	"github.com/charmbracelet/x/ansi/kitty"
	"github.com/charmbracelet/x/ansi/sixel"
)

// Graphics is a terminal graphics protocol: a way to draw the code in
// pixels rather than characters, so that a 1 kB token's code fits an
// 80×24 terminal.
type Graphics int

const (
	NoGraphics Graphics = iota
	// Kitty is the kitty graphics protocol (kitty, Ghostty, WezTerm,
	// Konsole): a PNG the terminal scales to the cells given.
	Kitty
	// ITerm2 is iTerm2's inline images (iTerm2, WezTerm, mintty, VS Code's
	// terminal): a PNG sized in cells.
	ITerm2
	// Sixel is DEC sixel graphics (xterm -ti vt340, foot, mlterm,
	// Windows Terminal, WezTerm, Konsole): pixels, not scaled by the
	// terminal.
	Sixel
)

func (g Graphics) String() string {
	switch g {
	case Kitty:
		return "kitty graphics"
	case ITerm2:
		return "iTerm2 image"
	case Sixel:
		return "sixel image"
	}
	return "no graphics"
}

// MinImageScale is the fewest pixels a module an image is drawn with.
const MinImageScale = 2

// KittyImage is the kitty graphics sequence that shows the code's PNG
// (scale pixels a module, full quiet zone) over cols×rows cells from the
// cursor, as image id, without moving the cursor and asking the terminal
// not to answer (q=2: an answer would arrive as input). The payload is sent
// in chunks of 4096 bytes as the protocol asks.
func (q QRCode) KittyImage(id, scale, cols, rows int) (string, error) {
	if err := q.checkImage(scale); err != nil {
		return "", err
	}
	var b bytes.Buffer
	err := kitty.EncodeGraphics(&b, q.Image(scale), &kitty.Options{
		Action:          kitty.TransmitAndPut,
		Format:          kitty.PNG,
		Transmission:    kitty.Direct,
		ID:              id,
		Quiet:           2,
		DoNotMoveCursor: true,
		Columns:         cols,
		Rows:            rows,
		Chunk:           true,
	})
	if err != nil {
		return "", fmt.Errorf("could not encode the QR code for kitty: %w", err)
	}
	return b.String(), nil
}

// KittyDelete is the sequence that removes image id and frees its data.
func KittyDelete(id int) string {
	return ansi.KittyGraphics(nil, "a=d", "d=I", fmt.Sprintf("i=%d", id), "q=2")
}

// ITerm2Image is iTerm2's inline image sequence showing the code's PNG over
// cols×rows cells from the cursor.
func (q QRCode) ITerm2Image(scale, cols, rows int) (string, error) {
	if err := q.checkImage(scale); err != nil {
		return "", err
	}
	data, err := q.PNG(scale)
	if err != nil {
		return "", err
	}
	return ansi.ITerm2(iterm2.File{
		Size:    int64(len(data)),
		Width:   iterm2.Cells(cols),
		Height:  iterm2.Cells(rows),
		Inline:  true,
		Content: []byte(base64.StdEncoding.EncodeToString(data)),
	}), nil
}

// SixelImage is the sixel sequence drawing the code at scale pixels a
// module (the terminal does not scale sixels: the caller picks the scale
// from the cell size).
func (q QRCode) SixelImage(scale int) (string, error) {
	if err := q.checkImage(scale); err != nil {
		return "", err
	}
	var payload bytes.Buffer
	if err := (&sixel.Encoder{}).Encode(&payload, q.Image(scale)); err != nil {
		return "", fmt.Errorf("could not encode the QR code as sixels: %w", err)
	}
	// P2=1: pixels left at 0 keep the background (every pixel is set here).
	return ansi.SixelGraphics(0, 1, 0, payload.Bytes()), nil
}

func (q QRCode) checkImage(scale int) error {
	if q.code.size == 0 {
		return fmt.Errorf("there is no QR code to draw")
	}
	if scale < MinImageScale || scale > maxPNGScale {
		return fmt.Errorf("the QR code image scale is %d: use %d to %d pixels a module", scale, MinImageScale, maxPNGScale)
	}
	return nil
}
