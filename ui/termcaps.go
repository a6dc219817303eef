package ui

import (
	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"

	"github.com/idcon/idcon/delivery"
)

// What the admin's terminal can draw, for Show QR code (delivery.Terminal):
// its environment says some of it, and its answers to the questions the
// console asks when it starts say the rest. Bubble Tea hands the answers it
// does not translate itself over as ultraviolet events.

// askTerminal is the console's first command: the kitty graphics query,
// the cell size and DA1 (delivery.CapsQuery), and XTVERSION.
//
// The kitty query is an APC string, which tmux takes for the pane's title
// (and TERM can't be trusted to say tmux: admins set default-terminal to
// xterm-256color). So XTVERSION and DA1 go first; only when DA1 has
// answered (every terminal answers it, in order) and neither the
// environment nor XTVERSION named a multiplexer does kittyQuery follow.
//
// XTVERSION and DA1 go out in one write, so that a terminal (or tmux) that
// answers both answers XTVERSION first: two commands may reach the
// terminal in either order.
func askTerminal() tea.Cmd {
	return tea.Raw(ansi.RequestNameVersion + delivery.CellAndDA1Query)
}

// kittyQuery is the kitty graphics query, sent once DA1 has answered
// outside a multiplexer.
func kittyQuery() tea.Msg { return tea.Raw(delivery.KittyQuery)() }

// learnTerminal takes an answer to askTerminal's questions into t; it
// reports whether msg was one, and returns the kitty query when it is due.
func learnTerminal(t *delivery.Terminal, msg tea.Msg) (bool, tea.Cmd) {
	if v, ok := msg.(tea.TerminalVersionMsg); ok {
		msg = uv.TerminalVersionEvent(v)
	}
	ok := t.LearnAnswer(msg) // as 'idcon enrollment qr' learns them
	if _, da1 := msg.(uv.PrimaryDeviceAttributesEvent); da1 && t.Mux == "" && !t.KittyAsked {
		t.KittyAsked = true
		return ok, kittyQuery
	}
	return ok, nil
}
