package ui

import (
	"strings"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"

	"github.com/idcon/idcon/delivery"
)

// What the admin's terminal can draw, for Show QR code (delivery.Terminal):
// its environment says some of it, and its answers to the questions the
// console asks when it starts say the rest. Bubble Tea hands the answers it
// does not translate itself over as ultraviolet events.

// askTerminal is the console's first question: XTVERSION, then DA1, which
// every terminal answers, after XTVERSION's answer if it has one. Only then,
// and only outside tmux and screen, does the console ask the rest
// (delivery.CapsQuery: the kitty graphics query, the cell size, DA1 again):
// tmux and screen take the kitty query's APC for a title, so a console
// inside one whose TERM does not say so (default-terminal xterm-256color)
// learns it from XTVERSION ("tmux 3.3a") first.
func askTerminal() tea.Cmd {
	// One write, so that DA1 goes out after XTVERSION. Bubble Tea reads the
	// answer to XTVERSION whoever asked (tea.TerminalVersionMsg).
	return tea.Raw(ansi.RequestNameVersion + ansi.RequestPrimaryDeviceAttributes)
}

// learnTerminal takes an answer to askTerminal's questions into t (asked
// says whether the second round went out); it reports whether msg was one,
// and the next question to ask.
func learnTerminal(t *delivery.Terminal, asked *bool, msg tea.Msg) (bool, tea.Cmd) {
	switch msg := msg.(type) {
	case uv.PrimaryDeviceAttributesEvent:
		if t.Mux == "" {
			for _, a := range msg {
				if a == 4 {
					t.Sixel = true
				}
			}
		}
		if !*asked && t.Mux == "" {
			*asked = true
			return true, tea.Raw(delivery.CapsQuery)
		}
		return true, nil
	case tea.TerminalVersionMsg:
		name := strings.ToLower(msg.Name)
		switch {
		case strings.HasPrefix(name, "tmux"):
			t.InMux("tmux")
		case strings.HasPrefix(name, "screen"):
			t.InMux("screen")
		case t.Mux == "":
			t.LearnName(msg.Name)
		}
		return true, nil
	}
	return learnAnswer(t, msg), nil
}

// learnAnswer takes the second round's answers.
func learnAnswer(t *delivery.Terminal, msg tea.Msg) bool {
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
	case uv.CellSizeEvent:
		if msg.Width > 0 && msg.Height > 0 {
			t.CellW, t.CellH = msg.Width, msg.Height
		}
		return true
	}
	return false
}
