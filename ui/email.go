package ui

import (
	"errors"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/idcon/idcon/delivery"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// emailRequestedMsg: the admin asked to send the registration email to to.
type emailRequestedMsg struct{ to string }

type emailKeys struct {
	Send, Cancel, Retry, Edit, Close, Again, Keep key.Binding
}

func newEmailKeys() emailKeys {
	return emailKeys{
		Send:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "send")),
		Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		Retry:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "try again")),
		Edit:   key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "change the address")),
		Close:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close")),
		Again:  key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "send again")),
		Keep:   key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "don't send")),
	}
}

// emailDialog is Send registration email: the address (the identity's,
// editable), then one attempt to send. A failure is shown in plain words
// and retried only when the admin presses r; when the server may already
// have the message, r asks first, so nothing goes out twice by accident.
type emailDialog struct {
	s         *session
	ident     model.Identity
	cfg       delivery.SMTPConfig
	input     textinput.Model
	keys      emailKeys
	state     dialogState
	seq       int    // the send under way, if any
	to        string // the address of the last request
	errMsg    string // what went wrong, already in words
	maybeSent bool   // the last failure may have delivered the message
	width     int
}

func newEmailDialog(s *session, ident model.Identity, cfg delivery.SMTPConfig) *emailDialog {
	in := textinput.New()
	in.Prompt = "> "
	in.Placeholder = "name@example.org"
	in.CharLimit = 254 // the longest address SMTP carries
	in.SetStyles(s.styles.Input)
	noClipboard(&in)
	in.SetValue(safetext.Clean(ident.Email))
	in.CursorEnd()
	d := &emailDialog{s: s, ident: ident, cfg: cfg, input: in, keys: newEmailKeys()}
	d.setState(stateEdit)
	return d
}

func (d *emailDialog) setState(st dialogState) {
	d.state = st
	k := &d.keys
	k.Send.SetEnabled(st == stateEdit)
	k.Cancel.SetEnabled(st == stateEdit)
	k.Retry.SetEnabled(st == stateFailed)
	k.Edit.SetEnabled(st == stateFailed)
	k.Close.SetEnabled(st == stateFailed)
	k.Again.SetEnabled(st == stateAsk)
	k.Keep.SetEnabled(st == stateAsk)
	if st == stateEdit {
		d.input.Focus()
	} else {
		d.input.Blur()
	}
}

// running marks the send with seq under way.
func (d *emailDialog) running(seq int) {
	d.seq, d.errMsg = seq, ""
	d.setState(stateRunning)
}

// failed shows why the email didn't go and offers to try again.
func (d *emailDialog) failed(err error) {
	var se *delivery.SendError
	d.maybeSent = errors.As(err, &se) && se.MaybeSent
	d.errMsg = describeDeliveryErr("The email was not sent", err)
	d.setState(stateFailed)
}

func (d *emailDialog) Title() string    { return model.ActionEmail.Title() }
func (d *emailDialog) Busy() bool       { return d.state == stateRunning }
func (d *emailDialog) Typing() bool     { return d.state == stateEdit }
func (d *emailDialog) Init() tea.Cmd    { return nil }
func (d *emailDialog) restyle()         { d.input.SetStyles(d.s.styles.Input) }
func (d *emailDialog) SetSize(w, _ int) { d.width = w; d.input.SetWidth(max(10, w-4)) }
func (d *emailDialog) ShortHelp() []key.Binding {
	k := d.keys
	return []key.Binding{k.Send, k.Cancel, k.Retry, k.Edit, k.Close, k.Again, k.Keep}
}
func (d *emailDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

func (d *emailDialog) Update(msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyPressMsg)
	k := &d.keys
	switch {
	case d.state == stateEdit && ok && key.Matches(km, k.Send):
		to := strings.TrimSpace(d.input.Value())
		if to == "" {
			d.errMsg = "Type the address to send the email to: " + safetext.Line(d.ident.Name, 40) + " has none."
			return nil
		}
		if err := model.ValidateEmail(to); err != nil {
			d.errMsg = safetext.Clean(err.Error()) + "."
			return nil
		}
		d.to = to
		return msgCmd(emailRequestedMsg{to: to})
	case d.state == stateEdit && ok && key.Matches(km, k.Cancel):
		return msgCmd(cancelledMsg{})
	case d.state == stateEdit:
		var cmd tea.Cmd
		d.input, cmd = d.input.Update(msg)
		if ok {
			d.errMsg = ""
		}
		return cmd
	case d.state == stateFailed && ok && key.Matches(km, k.Retry):
		if d.maybeSent {
			d.setState(stateAsk)
			return nil
		}
		return msgCmd(emailRequestedMsg{to: d.to})
	case d.state == stateFailed && ok && key.Matches(km, k.Edit):
		d.errMsg = ""
		d.setState(stateEdit)
	case d.state == stateFailed && ok && key.Matches(km, k.Close):
		return msgCmd(cancelledMsg{})
	case d.state == stateAsk && ok && key.Matches(km, k.Again):
		return msgCmd(emailRequestedMsg{to: d.to})
	case d.state == stateAsk && ok && key.Matches(km, k.Keep):
		d.setState(stateFailed)
	}
	// While sending, keys wait: a second enter sends nothing.
	return nil
}

func (d *emailDialog) View() string {
	st := &d.s.styles
	w := d.width
	if w <= 0 {
		w = 56
	}
	var b strings.Builder
	b.WriteString(st.DialogTitle.Render(safetext.Line("Registration email for "+d.ident.Name, w)) + "\n\n")
	b.WriteString(st.Label.Render("To") + "\n")
	b.WriteString(d.input.View() + "\n")
	via := "From " + safetext.Clean(d.cfg.From) + " through " + safetext.Clean(d.cfg.Addr()) +
		", with the token attached as a file and as a QR code."
	b.WriteString(st.Muted.Render(lipgloss.Wrap(via, w, " ")) + "\n")
	switch d.state {
	case stateRunning:
		b.WriteString("\n" + d.s.spinner + " Sending to " + safetext.Line(d.to, w-14) + "…\n")
	case stateAsk:
		b.WriteString("\n" + st.Error.Render(lipgloss.Wrap(d.errMsg, w, " ")) + "\n\n")
		b.WriteString(lipgloss.Wrap("the server may have received it: send again? y/n", w, " ") + "\n")
	default:
		if d.errMsg != "" {
			b.WriteString("\n" + st.Error.Render(lipgloss.Wrap(safetext.Clean(d.errMsg), w, " ")) + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}
