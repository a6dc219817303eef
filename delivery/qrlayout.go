package delivery

// The choice of how to show a QR code in a terminal area, shared by the
// console's Show QR code and 'idcon enrollment qr'.

// Cell sizes assumed while the terminal has not said (XTWINOPS 16): a cell
// is about twice as tall as wide. For sixels, drawn in pixels, the small
// 8×16 cell is assumed, so an image never covers more cells than given.
const (
	assumedCellW = 8
	assumedCellH = 16
)

// QRChoice is one way to show the code: an image in a graphics protocol or
// a text form.
type QRChoice struct {
	Graphics Graphics // NoGraphics for a text form
	Form     TextForm // the text form, when Graphics is NoGraphics
	// Cols and Rows are the cells it covers.
	Cols, Rows int
	// Scale is an image's pixels a module.
	Scale int
	// Known is set when the terminal is known to draw it, or the admin
	// asked for it: only those are chosen without being asked.
	Known bool
}

// IsImage reports a graphics choice.
func (c QRChoice) IsImage() bool { return c.Graphics != NoGraphics }

func (c QRChoice) String() string {
	if c.IsImage() {
		return c.Graphics.String()
	}
	return c.Form.String()
}

// Choices lists the ways to show q within cols×rows cells, the largest
// modules first: the terminal's graphics protocol, half blocks, quadrants,
// sextants. def is the first one the terminal is known to draw (-1 when
// none fits): forms it may not draw (sextants in an unknown font; quadrants,
// which ZXing-based scanners do not read) are listed for the admin to pick
// but never chosen for them. A form the admin forced (Terminal.Force) is
// the only one offered.
func (q QRCode) Choices(t Terminal, cols, rows int) (choices []QRChoice, def int) {
	def = -1
	add := func(c QRChoice) {
		if def < 0 && c.Known {
			def = len(choices)
		}
		choices = append(choices, c)
	}
	if forced, ok := TextFormNamed(t.Force); ok {
		if q.Fits(forced, cols, rows) {
			c, r := q.Size(forced)
			add(QRChoice{Form: forced, Cols: c, Rows: r, Known: true})
		}
		return choices, def
	}
	if g := t.Graphics(); g != NoGraphics {
		if c, ok := q.imageChoice(t, g, cols, rows); ok {
			add(c)
		}
	}
	if GraphicsNamed(t.Force) != NoGraphics {
		return choices, def
	}
	for _, f := range []TextForm{HalfBlocks, Quadrants, Sextants} {
		if q.Fits(f, cols, rows) {
			c, r := q.Size(f)
			add(QRChoice{Form: f, Cols: c, Rows: r, Known: f == HalfBlocks || f == Sextants && t.Sextants})
		}
	}
	return choices, def
}

// imageChoice is the largest image of protocol g within cols×rows cells,
// at least MinImageScale pixels a module.
func (q QRCode) imageChoice(t Terminal, g Graphics, cols, rows int) (QRChoice, bool) {
	side := q.ImageSide()
	cw, ch := t.CellW, t.CellH
	if cw <= 0 || ch <= 0 {
		cw, ch = assumedCellW, assumedCellH
	}
	if g == Sixel {
		// The terminal draws the pixels as they are: the largest scale
		// whose image stays within the cells.
		for s := maxPNGScale; s >= MinImageScale; s-- {
			px := s * side
			c, r := (px+cw-1)/cw, (px+ch-1)/ch
			if c <= cols && r <= rows {
				return QRChoice{Graphics: g, Cols: c, Rows: r, Scale: s, Known: true}, true
			}
		}
		return QRChoice{}, false
	}
	// kitty and iTerm2 scale the image to the cells given: as many rows as
	// fit, and the columns that make it square.
	for r := rows; r > 0; r-- {
		c := (r*ch + cw/2) / cw
		if c > cols {
			continue
		}
		scale := r * ch / side
		if scale < MinImageScale {
			return QRChoice{}, false
		}
		return QRChoice{Graphics: g, Cols: c, Rows: r, Scale: min(scale, maxPNGScale), Known: true}, true
	}
	return QRChoice{}, false
}

// Needs is the smallest area (cells) in which Choices offers a form the
// terminal is known to draw: what to tell an admin whose terminal is too
// small. The smaller in rows wins, terminals being wider than tall.
func (q QRCode) Needs(t Terminal) (cols, rows int) {
	best := func(c, r int) {
		if rows == 0 || r < rows || r == rows && c < cols {
			cols, rows = c, r
		}
	}
	if forced, ok := TextFormNamed(t.Force); ok {
		return q.Size(forced)
	}
	if g := t.Graphics(); g != NoGraphics {
		side := q.ImageSide()
		cw, ch := t.CellW, t.CellH
		if cw <= 0 || ch <= 0 {
			cw, ch = assumedCellW, assumedCellH
		}
		px := MinImageScale * side
		best((px+cw-1)/cw, (px+ch-1)/ch)
		if GraphicsNamed(t.Force) != NoGraphics {
			return cols, rows
		}
	}
	best(q.Size(HalfBlocks))
	if t.Sextants {
		best(q.Size(Sextants))
	}
	return cols, rows
}

// Pick is the console's choice for an area of cols×rows cells that holds
// the code and the lines of text that go with it: Choices with two lines
// left for the text, or with one when only that makes a form the terminal
// is known to draw fit. lines is the lines left (2 or 1). Show QR code and
// 'idcon enrollment qr' both choose with it.
func (q QRCode) Pick(t Terminal, cols, rows int) (choices []QRChoice, def, lines int) {
	choices, def = q.Choices(t, cols, rows-2)
	if def < 0 {
		if c, d := q.Choices(t, cols, rows-1); d >= 0 {
			return c, d, 1
		}
	}
	return choices, def, 2
}

// Densest is the index in choices of the densest text form there (the
// fewest cells), -1 when choices holds none: what 'idcon enrollment qr'
// draws when nothing the terminal is known to draw fits, there being no +
// to press.
func Densest(choices []QRChoice) int {
	for _, f := range TextForms {
		for i, c := range choices {
			if !c.IsImage() && c.Form == f {
				return i
			}
		}
	}
	return -1
}

// Smallest is the smallest area (cells) in which any form of the code can
// be drawn on t, and that form: what to name when nothing fits at all. It
// is the densest text form, or the smallest image where t draws one
// (unless a form was forced: then that form's). The smaller in rows wins.
func (q QRCode) Smallest(t Terminal) (form string, cols, rows int) {
	if forced, ok := TextFormNamed(t.Force); ok {
		c, r := q.Size(forced)
		return forced.String(), c, r
	}
	best := func(f string, c, r int) {
		if rows == 0 || r < rows || r == rows && c < cols {
			form, cols, rows = f, c, r
		}
	}
	if g := t.Graphics(); g != NoGraphics {
		side := q.ImageSide()
		cw, ch := t.CellW, t.CellH
		if cw <= 0 || ch <= 0 {
			cw, ch = assumedCellW, assumedCellH
		}
		px := MinImageScale * side
		best(g.String(), (px+cw-1)/cw, (px+ch-1)/ch)
		if GraphicsNamed(t.Force) != NoGraphics {
			return form, cols, rows
		}
	}
	c, r := q.Size(TextForms[0])
	best(TextForms[0].String(), c, r)
	return form, cols, rows
}
