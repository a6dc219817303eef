package ui

import (
	"context"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// Download JWT over SSH: a folder of the server's is no use to an admin on
// another machine (and one they can't create), so the dialog offers what
// reaches the admin's own machine instead: the exact scp command that
// fetches this identity's token through the same server (Options.
// RemoteDownload builds it from the session's login), and the token itself
// on the admin's clipboard (OSC 52). Nothing is written on the server.

type (
	// scpTokenRequestedMsg: the admin asked for the token on the clipboard.
	scpTokenRequestedMsg struct{}
	// scpTokenDoneMsg answers it.
	scpTokenDoneMsg struct {
		seq   int
		Token secret // exported so that fmt calls its String method
		err   error
	}
)

type scpKeys struct {
	Token, Command, Close key.Binding
}

// scpDialog is Download JWT under the SSH server.
type scpDialog struct {
	keyDialog
	ident   model.Identity
	command string // the scp command, "" when the identity can't be named in one
	keys    scpKeys
	copied  bool // the command went to the clipboard
	running bool
	seq     int
	errMsg  string
}

func newSCPDialog(s *session, n model.Network, ident model.Identity) *scpDialog {
	d := &scpDialog{keyDialog: keyDialog{s: s}, ident: ident, command: s.opts.RemoteDownload(n, ident)}
	d.keys = scpKeys{
		Token:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "token to your clipboard")),
		Command: key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "scp command to your clipboard")),
		Close:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close")),
	}
	d.keys.Command.SetEnabled(d.command != "")
	d.binds = []keyAction{
		sends(&d.keys.Close, cancelledMsg{}),
		does(&d.keys.Command, func() tea.Cmd { d.copied = true; return tea.SetClipboard(d.command) }),
		sends(&d.keys.Token, scpTokenRequestedMsg{}),
	}
	return d
}

func (d *scpDialog) Title() string { return model.ActionJWT.Title() }
func (d *scpDialog) Busy() bool    { return d.running }
func (d *scpDialog) ShortHelp() []key.Binding {
	return []key.Binding{d.keys.Token, d.keys.Command, d.keys.Close}
}
func (d *scpDialog) FullHelp() [][]key.Binding { return oneColumn(d) }

// Update answers the keys, except while the token is fetched: keys wait.
func (d *scpDialog) Update(msg tea.Msg) tea.Cmd {
	if d.running {
		return nil
	}
	return d.keyDialog.Update(msg)
}

func (d *scpDialog) View() string {
	st, w := &d.s.styles, d.textWidth()
	var b strings.Builder
	b.WriteString(st.DialogTitle.Render(safetext.Line("Download JWT of "+d.ident.Name, w)) + "\n\n")
	if d.command != "" {
		b.WriteString(lipgloss.Wrap("To save the token on your own machine, run there:", w, " ") + "\n")
		// The command on lines of its own, cut only at its spaces.
		b.WriteString(st.Label.Render(wrapWords(safetext.Clean(d.command), w)) + "\n")
		if d.copied {
			b.WriteString(st.Muted.Render(lipgloss.Wrap("The command was "+d.s.clipboardWords()+".", w, " ")) + "\n")
		}
		b.WriteString("\n")
	} else {
		b.WriteString(lipgloss.Wrap("scp can't name this identity (its name holds a slash or can't be a file name).", w, " ") + "\n\n")
	}
	b.WriteString(st.Muted.Render(lipgloss.Wrap("Or press enter: the token goes to your clipboard, through SSH, and nothing is written on the server.", w, " ")))
	switch {
	case d.running:
		b.WriteString("\n\n" + d.s.spinner + " Fetching the token…")
	case d.errMsg != "":
		b.WriteString("\n\n" + st.Error.Render(lipgloss.Wrap(safetext.Clean(d.errMsg), w, " ")))
	}
	return b.String()
}

// scpTokenCmd fetches the token for the clipboard, audited as a download.
func scpTokenCmd(b backend.Backend, timeout time.Duration, network string, ident model.Identity, seq int) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		tok, err := fetchToken(ctx, b, network, ident.ID, model.ActionJWT)
		return scpTokenDoneMsg{seq: seq, Token: tok, err: err}
	}
}
