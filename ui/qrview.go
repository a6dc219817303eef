package ui

import (
	"fmt"
	"strings"

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

// qrView is Show QR code: the token as a QR code on the whole terminal, with
// the identity's name and the token's expiry under it. The code is rendered
// once, when the token is fetched (delivery.QR, in a tea.Cmd); the view
// only picks the variant that suits the terminal and places it, again only
// when the size or the colours change. A terminal too small for the whole
// code gets the size it needs instead of a code no phone can read.
type qrView struct {
	s     *session
	ident model.Identity
	code  delivery.QRCode
	keys  struct{ Close key.Binding }
	out   string // the placed screen, rebuilt on resize and restyle

	width, height int
}

func newQRView(s *session, ident model.Identity, code delivery.QRCode) *qrView {
	v := &qrView{s: s, ident: ident, code: code}
	v.keys.Close = key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close"))
	return v
}

func (v *qrView) fullScreen()               {}
func (v *qrView) Title() string             { return model.ActionQR.Title() }
func (v *qrView) Busy() bool                { return false }
func (v *qrView) Typing() bool              { return false }
func (v *qrView) Init() tea.Cmd             { return nil }
func (v *qrView) ShortHelp() []key.Binding  { return []key.Binding{v.keys.Close} }
func (v *qrView) FullHelp() [][]key.Binding { return [][]key.Binding{v.ShortHelp()} }
func (v *qrView) View() string              { return v.out }
func (v *qrView) restyle()                  { v.place() }
func (v *qrView) SetSize(w, h int)          { v.width, v.height = w, h; v.place() }
func (v *qrView) needs() (cols, rows int)   { return v.code.Width, v.code.Height + 2 }
func (v *qrView) fits() bool                { c, r := v.needs(); return c <= v.width && r <= v.height }
func (v *qrView) Update(msg tea.Msg) tea.Cmd {
	if km, ok := msg.(tea.KeyPressMsg); ok && key.Matches(km, v.keys.Close) {
		return msgCmd(cancelledMsg{})
	}
	return nil
}

// variant is the rendering that is dark on light on this terminal: the
// coloured one when colours reach it, else the monochrome one whose glyphs
// suit its background.
func (v *qrView) variant() string {
	if v.s.opts.NoColor || v.s.monochrome {
		return v.code.Text(delivery.HalfBlocks, delivery.MonochromeInk(v.s.isDark))
	}
	return v.code.Text(delivery.HalfBlocks, delivery.InkColor)
}

func (v *qrView) place() {
	w, h := v.width, v.height
	if w <= 0 || h <= 0 {
		v.out = ""
		return
	}
	st := &v.s.styles
	if !v.fits() {
		cols, rows := v.needs()
		msg := fmt.Sprintf("the QR code needs %d×%d; this terminal is %d×%d: enlarge it or use Download JWT", cols, rows, w, h)
		body := lipgloss.Wrap(msg, w, " ") + "\n\n" + st.Muted.Render("esc close")
		v.out = lipgloss.Place(w, h, lipgloss.Center, lipgloss.Center, body)
		return
	}
	loc := v.s.opts.Location
	now := v.s.now()
	name := safetext.Line(v.ident.Name, w)
	expiry := "no token"
	if e := v.ident.Enrollment; e != nil {
		expiry = "token expires " + fmtDateTime(e.ExpiresAt, loc) + " (" + model.Relative(e.ExpiresAt, now) + ") · esc close"
	}
	expiry = safetext.Line(expiry, w)

	lines := make([]string, 0, h)
	top := (h - v.code.Height - 2) / 2
	blank := strings.Repeat(" ", w)
	for range top {
		lines = append(lines, blank)
	}
	left := strings.Repeat(" ", (w-v.code.Width)/2)
	right := strings.Repeat(" ", w-v.code.Width-len(left))
	for _, l := range strings.Split(v.variant(), "\n") {
		lines = append(lines, left+l+right)
	}
	lines = append(lines, center(st.Title.Render(name), w), center(st.Muted.Render(expiry), w))
	for len(lines) < h {
		lines = append(lines, blank)
	}
	v.out = strings.Join(lines, "\n")
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
