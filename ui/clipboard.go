package ui

import (
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/model"
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

// clipboardFlow puts text on the admin's clipboard (OSC 52, which reaches
// the admin's terminal through SSH and tmux): an identity's ID, and under
// the SSH server the token of Download JWT with its scp command
// (scpdownload.go).
type clipboardFlow struct {
	st *stage
}

func newClipboardFlow(st *stage) *clipboardFlow { return &clipboardFlow{st: st} }

func (f *clipboardFlow) update(msg tea.Msg) (tea.Cmd, bool) {
	s := f.st.s
	switch msg := msg.(type) {
	case copyRequestedMsg:
		say := msg.what + " " + s.clipboardWords() + ": " + safetext.Line(msg.text, 60)
		return tea.Batch(tea.SetClipboard(msg.text), f.st.toast(say, toastDone)), true
	case actionRequestedMsg:
		if msg.action != model.ActionJWT || s.opts.RemoteDownload == nil {
			return nil, false
		}
		// Over SSH a folder of the server's is no use: scpdownload.go.
		v, cmd := allowedAction(f.st, msg.action)
		if v != nil {
			f.st.openDialog(newSCPDialog(s, f.st.network, v.ident))
		}
		return cmd, true
	case scpTokenRequestedMsg:
		d, ok := f.st.dialog.(*scpDialog)
		if !ok || d.running {
			return nil, true
		}
		d.running, d.errMsg = true, ""
		d.seq = s.nextSeq()
		return scpTokenCmd(s.opts.Backend, s.opts.Timeout, f.st.network.ID, d.ident, d.seq), true
	case scpTokenDoneMsg:
		d, ok := f.st.dialog.(*scpDialog)
		if !ok || d.seq != msg.seq || !d.running {
			return nil, true
		}
		d.running = false
		if msg.err != nil {
			d.errMsg = describeDeliveryErr("The token can't be handed out", msg.err)
			return nil, true
		}
		f.st.closeDialog()
		text := "Token of " + safetext.Line(d.ident.Name, 40) + " " + s.clipboardWords()
		return tea.Batch(f.st.toast(text, toastDone), tea.SetClipboard(string(msg.Token))), true
	}
	return nil, false
}
