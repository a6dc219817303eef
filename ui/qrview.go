package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/idcon/idcon/delivery"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// fullScreener is a dialog that takes the whole terminal instead of a box
// over the frame.
type fullScreener interface{ fullScreen() }

// imageDialog is a dialog that draws an image beside the frame: after every
// resize the root asks it to draw the image again.
type imageDialog interface{ redraw() tea.Cmd }

// qrImageID is the kitty image id of the QR code: one image a session.
const qrImageID = 1709

// qrImageDelay is how long the image waits after the frame that leaves its
// cells blank: the frame is drawn at the next tick of the renderer (60 a
// second), and cells it draws after the image would cover a sixel or an
// iTerm2 image. A few frames are enough.
const qrImageDelay = 60 * time.Millisecond

// Messages of the image's drawing; seq is the placement's, so that an image
// for an older size or form is dropped.
type (
	qrImageMsg struct {
		seq int
		raw string
		err error
	}
	qrDrawMsg struct {
		seq int
		raw string
	}
)

// qrView is Show QR code: the token as a QR code on the whole terminal, with
// the identity's name, the form shown and the token's expiry under it. The
// code is rendered once, when the token is fetched (delivery.QR, in a
// tea.Cmd); the view picks the largest form that fits (delivery.Choices: an
// image where the terminal draws one, else text) and places it, again only
// when the size, the form or the colours change. + and - switch between
// the forms that fit. A terminal too small for any form it is known to draw
// gets the size it needs instead of a code no phone can read.
type qrView struct {
	s     *session
	ident model.Identity
	code  delivery.QRCode
	keys  struct{ Close, Larger, Smaller key.Binding }
	out   string // the placed screen, rebuilt on resize, restyle and + or -

	choices []delivery.QRChoice
	cur     int    // index in choices, -1 for none
	lines   int    // the lines of text under the code: 2, or 1 when tight
	picked  string // the form the admin switched to, kept across resizes
	// The image: its cells (0-based) and whether one is on the screen.
	imgX, imgY int
	imgSeq     int
	shown      delivery.Graphics

	width, height int
}

func newQRView(s *session, ident model.Identity, code delivery.QRCode) *qrView {
	v := &qrView{s: s, ident: ident, code: code, cur: -1}
	v.keys.Close = key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close"))
	v.keys.Larger = key.NewBinding(key.WithKeys("+", "="), key.WithHelp("+", "larger form"))
	v.keys.Smaller = key.NewBinding(key.WithKeys("-", "_"), key.WithHelp("-", "smaller form"))
	return v
}

func (v *qrView) fullScreen()   {}
func (v *qrView) Title() string { return model.ActionQR.Title() }
func (v *qrView) Busy() bool    { return false }
func (v *qrView) Typing() bool  { return false }
func (v *qrView) Init() tea.Cmd { return nil }
func (v *qrView) View() string  { return v.out }
func (v *qrView) restyle()      { v.place() }
func (v *qrView) SetSize(w, h int) {
	v.width, v.height = w, h
	v.place()
}

func (v *qrView) ShortHelp() []key.Binding {
	return []key.Binding{v.keys.Larger, v.keys.Smaller, v.keys.Close}
}
func (v *qrView) FullHelp() [][]key.Binding { return [][]key.Binding{v.ShortHelp()} }

func (v *qrView) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, v.keys.Close):
			return tea.Batch(v.removeImage(), msgCmd(cancelledMsg{}))
		case key.Matches(msg, v.keys.Larger) && v.cur > 0:
			return v.switchTo(v.cur - 1)
		case key.Matches(msg, v.keys.Smaller) && v.cur+1 < len(v.choices):
			return v.switchTo(v.cur + 1)
		case key.Matches(msg, v.keys.Larger) && v.cur < 0 && len(v.choices) > 0:
			// Nothing the terminal is known to draw fits: + tries the
			// largest form that does, at the admin's word.
			return v.switchTo(0)
		}
	case qrImageMsg:
		if msg.seq != v.imgSeq || msg.err != nil {
			return nil
		}
		return v.s.tick(qrImageDelay, func(time.Time) tea.Msg { return qrDrawMsg{seq: msg.seq, raw: msg.raw} })
	case qrDrawMsg:
		if msg.seq != v.imgSeq {
			return nil
		}
		v.shown = v.choice().Graphics
		return tea.Raw(msg.raw)
	}
	return nil
}

func (v *qrView) switchTo(i int) tea.Cmd {
	v.picked = v.choices[i].String()
	v.place()
	return v.redraw()
}

// choice is the form shown; the zero QRChoice (no graphics) when none.
func (v *qrView) choice() delivery.QRChoice {
	if v.cur < 0 {
		return delivery.QRChoice{}
	}
	return v.choices[v.cur]
}

// ink is the text ink that is dark on light on this terminal: colours
// when they reach it, else reverse video or none, by its background.
func (v *qrView) ink() delivery.Ink {
	if v.s.opts.NoColor || v.s.monochrome {
		return delivery.MonochromeInk(v.s.isDark)
	}
	return delivery.InkColor
}

// place chooses the form for the size and builds the screen.
func (v *qrView) place() {
	w, h := v.width, v.height
	if w <= 0 || h <= 0 {
		v.out = ""
		return
	}
	// Two lines under the code: the name and form, the expiry and keys;
	// one line holding all of it when that makes a known form fit.
	var def int
	v.choices, def, v.lines = v.code.Pick(v.s.term, w, h) // as 'idcon enrollment qr' chooses
	v.cur = def
	if v.picked != "" {
		for i, c := range v.choices {
			if c.String() == v.picked {
				v.cur = i
			}
		}
	}
	v.keys.Larger.SetEnabled(v.cur > 0 || v.cur < 0 && len(v.choices) > 0)
	v.keys.Smaller.SetEnabled(v.cur >= 0 && v.cur+1 < len(v.choices))
	st := &v.s.styles
	if v.cur < 0 {
		cols, rows := v.code.Needs(v.s.term)
		// Needs the code and at least the one line of text under it.
		msg := fmt.Sprintf("the QR code needs %d×%d; this terminal is %d×%d: enlarge it or use Download JWT", cols, rows+1, w, h)
		if len(v.choices) > 0 {
			c := v.choices[0]
			msg += fmt.Sprintf(". + shows it in %s (%d×%d), which this terminal may not draw", c, c.Cols, c.Rows)
		}
		body := lipgloss.Wrap(msg, w, " ") + "\n\n" + st.Muted.Render("esc close")
		v.out = lipgloss.Place(w, h, lipgloss.Center, lipgloss.Center, body)
		return
	}
	c := v.choice()
	loc := v.s.opts.Location
	now := v.s.now()
	label := c.String()
	if !c.Known {
		label += " (if you see boxes, the font lacks them)"
	}
	if len(v.choices) > 1 {
		label += " · +/- form"
	}
	expiry := "no token"
	if e := v.ident.Enrollment; e != nil {
		expiry = "token expires " + fmtDateTime(e.ExpiresAt, loc) + " (" + model.Relative(e.ExpiresAt, now) + ")"
	}
	var under []string
	if v.lines == 1 {
		rest := " · " + label + " · " + expiry + " · esc close"
		name := safetext.Line(v.ident.Name, max(1, min(ansi.StringWidth(v.ident.Name), w/3)))
		under = []string{center(st.Title.Render(name)+st.Muted.Render(safetext.Line(rest, max(1, w-ansi.StringWidth(name)))), w)}
	} else {
		name := safetext.Line(v.ident.Name, max(1, w-ansi.StringWidth(label)-3))
		under = []string{
			center(st.Title.Render(name)+st.Muted.Render(" · "+label), w),
			center(st.Muted.Render(safetext.Line(expiry+" · esc close", w)), w),
		}
	}

	var body []string
	if c.IsImage() {
		body = make([]string, c.Rows) // blank cells the image covers
	} else {
		body = strings.Split(v.code.Text(c.Form, v.ink()), "\n")
	}
	lines := make([]string, 0, h)
	top := (h - c.Rows - len(under)) / 2
	blank := strings.Repeat(" ", w)
	for range top {
		lines = append(lines, blank)
	}
	leftN := (w - c.Cols) / 2
	left := strings.Repeat(" ", leftN)
	right := strings.Repeat(" ", w-c.Cols-leftN)
	for _, l := range body {
		if l == "" {
			l = strings.Repeat(" ", c.Cols)
		}
		lines = append(lines, left+l+right)
	}
	v.imgX, v.imgY = leftN, top
	lines = append(lines, under...)
	for len(lines) < h {
		lines = append(lines, blank)
	}
	v.out = strings.Join(lines, "\n")
}

// redraw removes the image shown, if any, and draws the current one: the
// sequence is built in a tea.Cmd (a sixel takes milliseconds), sent after
// the frame that leaves its cells blank.
func (v *qrView) redraw() tea.Cmd {
	remove := v.removeImage()
	c := v.choice()
	if !c.IsImage() {
		return remove
	}
	seq := v.imgSeq
	code, term := v.code, v.s.term
	x, y := v.imgX, v.imgY
	build := func() tea.Msg {
		var img string
		var err error
		switch c.Graphics {
		case delivery.Kitty:
			img, err = code.KittyImage(qrImageID, c.Scale, c.Cols, c.Rows)
		case delivery.ITerm2:
			img, err = code.ITerm2Image(c.Scale, c.Cols, c.Rows)
		case delivery.Sixel:
			img, err = code.SixelImage(c.Scale)
		}
		// The cursor goes to the image's first cell in the pane (outside
		// any passthrough) and back where the renderer left it.
		raw := ansi.SaveCursor + ansi.CursorPosition(x+1, y+1) + term.Wrap(img) + ansi.RestoreCursor
		return qrImageMsg{seq: seq, raw: raw, err: err}
	}
	return tea.Batch(remove, build)
}

// removeImage takes the image off the screen: kitty deletes it; the cells
// of a sixel or iTerm2 image are drawn again by a full repaint. Any image
// still on its way is dropped.
func (v *qrView) removeImage() tea.Cmd {
	v.imgSeq = v.s.nextSeq()
	shown := v.shown
	v.shown = delivery.NoGraphics
	switch shown {
	case delivery.Kitty:
		return tea.Raw(v.s.term.Wrap(delivery.KittyDelete(qrImageID)))
	case delivery.ITerm2, delivery.Sixel:
		return tea.ClearScreen
	}
	return nil
}

// center pads an already-safe line to w cells with it in the middle.
func center(s string, w int) string {
	sw := ansi.StringWidth(s)
	if sw >= w {
		return s
	}
	l := (w - sw) / 2
	return strings.Repeat(" ", l) + s + strings.Repeat(" ", w-sw-l)
}
