package ui

import (
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/safetext"
)

// The token goes to the admin's clipboard as OSC 52 (tea.SetClipboard),
// which reaches the admin's own terminal through SSH and tmux. Whether it
// lands on a clipboard is the terminal's choice: some take it by default,
// others refuse it or need a setting. The console says "copied to the
// clipboard" only for a terminal known to take it, and otherwise that the
// token was sent to the terminal's clipboard.

// osc52Terminals are the terminals that take an OSC 52 write by default,
// as they name themselves in their answer to XTVERSION or in TERM. tmux
// keeps it in its paste buffer (set-clipboard external, its default) and
// passes it on to the terminal around it.
var osc52Terminals = []string{"kitty", "wezterm", "foot", "ghostty", "alacritty", "contour", "rio", "tmux"}

// clipboardLikely reports whether the terminal named by its XTVERSION
// answer (version), TERM or TERM_PROGRAM takes OSC 52 writes.
func clipboardLikely(version, term, program string) bool {
	for _, s := range []string{strings.ToLower(version), strings.ToLower(term), strings.ToLower(program)} {
		for _, name := range osc52Terminals {
			if strings.Contains(s, name) {
				return true
			}
		}
	}
	return false
}

// clipboardWords says where the token went: "copied to the clipboard" or
// "sent to your terminal's clipboard".
func (s *session) clipboardWords() string {
	if clipboardLikely(s.terminal, s.opts.Terminal("TERM"), s.opts.Terminal("TERM_PROGRAM")) {
		return "copied to the clipboard"
	}
	return "sent to your terminal's clipboard"
}

// copyText puts text on the admin's clipboard (OSC 52) and says so, in the
// same words as the token's copy, with the text itself: an ID is no
// secret, and the admin can check what was sent.
func (a *App) copyText(msg copyRequestedMsg) tea.Cmd {
	say := msg.what + " " + a.s.clipboardWords() + ": " + safetext.Line(msg.text, 60)
	return tea.Batch(tea.SetClipboard(msg.text), a.toasts.add(say, toastDone))
}
