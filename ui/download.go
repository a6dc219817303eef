package ui

import (
	"errors"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/idcon/idcon/delivery"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// downloadRequestedMsg: the admin asked to write the token to dir.
type downloadRequestedMsg struct {
	dir       string
	overwrite bool
}

type downloadKeys struct {
	Save, Cancel, Overwrite, Keep key.Binding
}

func newDownloadKeys() downloadKeys {
	return downloadKeys{
		Save:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "save")),
		Cancel:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		Overwrite: key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "overwrite")),
		Keep:      key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "keep it")),
	}
}

// dialogState is where a delivery dialog is: the admin editing its field,
// the command running, or a question (overwrite, send again) waiting.
type dialogState int

const (
	stateEdit dialogState = iota
	stateRunning
	stateFailed // email only: the error shown, retry offered
	stateAsk
)

// downloadDialog is Download JWT: the folder, editable, then the token
// written there as <safe name>.jwt (0600), never over an existing file
// without the admin's yes, and put on the admin's clipboard.
type downloadDialog struct {
	s      *session
	ident  model.Identity
	input  textinput.Model
	keys   downloadKeys
	state  dialogState
	seq    int    // the write under way, if any
	dir    string // the folder of the last request
	errMsg string // what went wrong, already in words
	ask    string // the overwrite question
	width  int
}

func newDownloadDialog(s *session, ident model.Identity) *downloadDialog {
	in := textinput.New()
	in.Prompt = "> "
	in.Placeholder = "the current folder"
	in.CharLimit = 4096
	in.SetStyles(s.styles.Input)
	noClipboard(&in)
	in.SetValue(s.opts.Downloads)
	in.CursorEnd()
	in.Focus()
	d := &downloadDialog{s: s, ident: ident, input: in, keys: newDownloadKeys()}
	d.setState(stateEdit)
	return d
}

func (d *downloadDialog) setState(st dialogState) {
	d.state = st
	d.keys.Save.SetEnabled(st == stateEdit)
	d.keys.Cancel.SetEnabled(st == stateEdit)
	d.keys.Overwrite.SetEnabled(st == stateAsk)
	d.keys.Keep.SetEnabled(st == stateAsk)
	if st == stateEdit {
		d.input.Focus()
	} else {
		d.input.Blur()
	}
}

// running marks the write with seq under way.
func (d *downloadDialog) running(seq int) {
	d.seq, d.errMsg = seq, ""
	d.setState(stateRunning)
}

// failed shows why the write didn't happen: an existing file becomes the
// overwrite question, anything else an error under the folder.
func (d *downloadDialog) failed(err error) {
	var ex *delivery.ExistsError
	if errors.As(err, &ex) {
		d.ask = fmt.Sprintf("%s exists in %s: overwrite? y/n", safetext.Clean(ex.Name), safetext.Clean(ex.Dir))
		d.setState(stateAsk)
		return
	}
	d.errMsg = describeDeliveryErr("Not saved", err)
	d.setState(stateEdit)
}

func (d *downloadDialog) Title() string    { return model.ActionJWT.Title() }
func (d *downloadDialog) Busy() bool       { return d.state == stateRunning }
func (d *downloadDialog) Typing() bool     { return d.state == stateEdit }
func (d *downloadDialog) Init() tea.Cmd    { return nil }
func (d *downloadDialog) restyle()         { d.input.SetStyles(d.s.styles.Input) }
func (d *downloadDialog) SetSize(w, _ int) { d.width = w; d.input.SetWidth(max(10, w-4)) }
func (d *downloadDialog) ShortHelp() []key.Binding {
	k := d.keys
	return []key.Binding{k.Save, k.Cancel, k.Overwrite, k.Keep}
}
func (d *downloadDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

func (d *downloadDialog) Update(msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyPressMsg)
	switch {
	case d.state == stateEdit && ok && key.Matches(km, d.keys.Save):
		d.dir = expandHome(strings.TrimSpace(d.input.Value()), d.s.opts.Getenv)
		return msgCmd(downloadRequestedMsg{dir: d.dir})
	case d.state == stateEdit && ok && key.Matches(km, d.keys.Cancel):
		return msgCmd(cancelledMsg{})
	case d.state == stateEdit:
		// Keys, and pastes, edit the folder.
		var cmd tea.Cmd
		d.input, cmd = d.input.Update(msg)
		if ok {
			d.errMsg = ""
		}
		return cmd
	case d.state == stateAsk && ok && key.Matches(km, d.keys.Overwrite):
		return msgCmd(downloadRequestedMsg{dir: d.dir, overwrite: true})
	case d.state == stateAsk && ok && key.Matches(km, d.keys.Keep):
		d.errMsg = "Kept the existing " + delivery.SafeFileName(d.ident.Name) + ": choose another folder, or esc to close."
		d.setState(stateEdit)
	}
	// While the file is written, keys wait: a second enter writes nothing.
	return nil
}

func (d *downloadDialog) View() string {
	st := &d.s.styles
	w := d.width
	if w <= 0 {
		w = 56
	}
	var b strings.Builder
	b.WriteString(st.DialogTitle.Render(safetext.Line("Download JWT of "+d.ident.Name, w)) + "\n\n")
	if d.state == stateAsk {
		b.WriteString(lipgloss.Wrap(d.ask, w, " /") + "\n")
		return strings.TrimRight(b.String(), "\n")
	}
	b.WriteString(st.Label.Render("Folder") + "\n")
	b.WriteString(d.input.View() + "\n")
	file := safetext.Line(delivery.SafeFileName(d.ident.Name), 60)
	b.WriteString(st.Muted.Render(lipgloss.Wrap("Saved as "+file+", readable by you only, and "+d.s.clipboardWords()+".", w, " ")) + "\n")
	switch {
	case d.state == stateRunning:
		b.WriteString("\n" + d.s.spinner + " Saving…\n")
	case d.errMsg != "":
		b.WriteString("\n" + st.Error.Render(lipgloss.Wrap(safetext.Clean(d.errMsg), w, " /")) + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}
