package delivery

import (
	"slices"
	"strconv"
	"strings"

	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
)

// What the admin's terminal can draw: learned from its environment and, in
// the console, from its answers to three questions (CapsQuery). Over SSH the
// questions go to the admin's own terminal, which is the one that will draw
// the code. The console and the CLI make the same choice from it (Choices).

// KittyQueryID is the image id of the kitty graphics query. A terminal that
// speaks the protocol answers "ESC _ G i=31;OK ESC \"; the others ignore it.
const KittyQueryID = 31

// CapsQuery asks, in this order: the kitty graphics query (a 1×1 RGB image,
// only queried: a=q), the cell size in pixels (XTWINOPS 16) and the primary
// device attributes (DA1: 4 means sixel). Every terminal answers DA1, and
// answers in order, so DA1's answer also says that the others will not
// come.
var CapsQuery = KittyQuery + CellAndDA1Query

// KittyQuery is CapsQuery's first question. A multiplexer that doesn't
// know APC strings (tmux takes one for a pane title) must not be sent it.
var KittyQuery = "\x1b_Gi=" + strconv.Itoa(KittyQueryID) + ",s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"

// CellAndDA1Query is the rest of CapsQuery: cell size and DA1.
var CellAndDA1Query = "\x1b[16t" + ansi.RequestPrimaryDeviceAttributes

// Terminal is what is known of the terminal.
type Terminal struct {
	Kitty, ITerm2, Sixel bool
	// KittyAsked: the console has sent the kitty graphics query.
	KittyAsked bool
	// Sextants: its font is known to draw U+1FB00–U+1FB3B.
	Sextants bool
	// Mux is "tmux" or "screen" when the console runs inside one: its
	// answers are the multiplexer's, and graphics reach the terminal
	// outside only through its passthrough, which the admin must turn on.
	Mux string
	// Passthrough: the admin said the multiplexer passes graphics through
	// (IDCON_QR names a graphics protocol).
	Passthrough bool
	// CellW, CellH: a cell's size in pixels, 0 while unknown.
	CellW, CellH int
	// Force is IDCON_QR: a form the admin asked for ("kitty", "iterm2",
	// "sixel", "text", "quadrant", "sextant"), "" for the console's choice.
	Force string
}

// TerminalFromEnv reads what the environment says: TERM, TERM_PROGRAM,
// LC_TERMINAL, VTE_VERSION, WT_SESSION, TMUX, STY and IDCON_QR.
func TerminalFromEnv(getenv func(string) string) Terminal {
	var c Terminal
	term := strings.ToLower(getenv("TERM"))
	prog := strings.ToLower(getenv("TERM_PROGRAM"))
	switch {
	case getenv("TMUX") != "" || strings.HasPrefix(term, "tmux") || prog == "tmux":
		c.Mux = "tmux"
	case getenv("STY") != "" || strings.HasPrefix(term, "screen"):
		c.Mux = "screen"
	}
	if c.Mux == "" {
		c.LearnName(term)
		c.LearnName(prog)
		c.LearnName(strings.ToLower(getenv("LC_TERMINAL")))
		if getenv("WT_SESSION") != "" { // Windows Terminal
			c.Sextants = true
		}
		if v, err := strconv.Atoi(getenv("VTE_VERSION")); err == nil && v >= 7600 {
			c.Sextants = true // GNOME Terminal and other VTE terminals from 0.76
		}
	}
	c.Force = strings.ToLower(strings.TrimSpace(getenv("IDCON_QR")))
	if g := GraphicsNamed(c.Force); g != NoGraphics {
		// The admin knows the terminal draws it (through the
		// multiplexer's passthrough, if there is one).
		c.Passthrough = c.Mux != ""
		switch g {
		case Kitty:
			c.Kitty = true
		case ITerm2:
			c.ITerm2 = true
		case Sixel:
			c.Sixel = true
		}
	}
	if c.Force == "sextant" || c.Force == "sextants" {
		c.Sextants = true
	}
	return c
}

// LearnName takes what a terminal's name (TERM, TERM_PROGRAM, XTVERSION's
// answer) says it draws.
func (c *Terminal) LearnName(name string) {
	name = strings.ToLower(name)
	switch {
	case strings.Contains(name, "kitty"), strings.Contains(name, "ghostty"):
		c.Kitty, c.Sextants = true, true
	case strings.Contains(name, "wezterm"):
		c.Kitty, c.ITerm2, c.Sextants = true, true, true
	case strings.Contains(name, "iterm"):
		c.ITerm2 = true
	case strings.HasPrefix(name, "foot"):
		c.Sixel, c.Sextants = true, true
	}
}

// Graphics is the protocol to draw with: kitty, then iTerm2, then sixel.
func (c Terminal) Graphics() Graphics {
	switch {
	case c.Mux != "" && !c.Passthrough:
		return NoGraphics
	case c.Kitty:
		return Kitty
	case c.ITerm2:
		return ITerm2
	case c.Sixel:
		return Sixel
	}
	return NoGraphics
}

// Wrap sends seq to the terminal outside the multiplexer, if any.
func (c Terminal) Wrap(seq string) string {
	switch {
	case !c.Passthrough:
		return seq
	case c.Mux == "tmux":
		return ansi.TmuxPassthrough(seq)
	case c.Mux == "screen":
		return ansi.ScreenPassthrough(seq, 768)
	}
	return seq
}

// GraphicsNamed is the protocol IDCON_QR or --format names.
func GraphicsNamed(s string) Graphics {
	switch s {
	case "kitty":
		return Kitty
	case "iterm2", "iterm":
		return ITerm2
	case "sixel":
		return Sixel
	}
	return NoGraphics
}

// TextFormNamed is the text form IDCON_QR or --format names.
func TextFormNamed(s string) (TextForm, bool) {
	switch s {
	case "text", "half", "halfblocks", "half-blocks":
		return HalfBlocks, true
	case "quadrant", "quadrants":
		return Quadrants, true
	case "sextant", "sextants":
		return Sextants, true
	}
	return 0, false
}

// LearnAnswer takes one answer to CapsQuery (or to XTVERSION) into c; it
// reports whether ev was one. Inside a multiplexer the answers are its own,
// not the terminal's: only the cell size and the multiplexer's name are
// taken then.
func (c *Terminal) LearnAnswer(ev uv.Event) bool {
	switch ev := ev.(type) {
	case uv.KittyGraphicsEvent:
		if ev.Options.ID != KittyQueryID {
			return false
		}
		if c.Mux == "" && string(ev.Payload) == "OK" {
			c.Kitty = true
		}
		return true
	case uv.PrimaryDeviceAttributesEvent:
		if c.Mux == "" && slices.Contains(ev, 4) {
			c.Sixel = true
		}
		return true
	case uv.CellSizeEvent:
		if ev.Width > 0 && ev.Height > 0 {
			c.CellW, c.CellH = ev.Width, ev.Height
		}
		return true
	case uv.TerminalVersionEvent:
		name := strings.ToLower(ev.Name)
		switch {
		case c.Mux != "":
		case strings.HasPrefix(name, "tmux"), strings.HasPrefix(name, "screen"):
			c.Mux = strings.Fields(name)[0]
		default:
			c.LearnName(name)
		}
		return true
	}
	return false
}
