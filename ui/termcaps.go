package ui

import (
	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"

	"github.com/idcon/idcon/delivery"
)

// What the admin's terminal can draw, for Show QR code (delivery.Terminal):
// its environment says some of it, and its answers to the questions the
// console asks when it starts say the rest. Bubble Tea hands the answers it
// does not translate itself over as ultraviolet events.

// askTerminal is the console's first command: the kitty graphics query,
// the cell size and DA1 (delivery.CapsQuery), and XTVERSION.
func askTerminal() tea.Cmd {
	return tea.Batch(tea.Raw(delivery.CapsQuery), tea.RequestTerminalVersion)
}

// learnTerminal takes an answer to askTerminal's questions into t; it
// reports whether msg was one.
func learnTerminal(t *delivery.Terminal, msg tea.Msg) bool {
	switch msg := msg.(type) {
	case uv.KittyGraphicsEvent:
		if msg.Options.ID != delivery.KittyQueryID {
			return false
		}
		// Inside tmux or screen the multiplexer answers, not the terminal.
		if t.Mux == "" && string(msg.Payload) == "OK" {
			t.Kitty = true
		}
		return true
	case uv.PrimaryDeviceAttributesEvent:
		if t.Mux == "" {
			for _, a := range msg {
				if a == 4 {
					t.Sixel = true
				}
			}
		}
		return true
	case uv.CellSizeEvent:
		if msg.Width > 0 && msg.Height > 0 {
			t.CellW, t.CellH = msg.Width, msg.Height
		}
		return true
	case tea.TerminalVersionMsg:
		if t.Mux == "" {
			t.LearnName(msg.Name)
		}
		return true
	}
	return false
}
