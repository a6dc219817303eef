package ui

import (
	"errors"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// The form's fields, in focus order.
const (
	fieldName = iota
	fieldEmail
	fieldAttributes
	createFields
)

var fieldLabels = [createFields]string{"Name", "Email", "Role attributes"}

type createKeys struct {
	Next, Prev, Submit, Cancel key.Binding
}

func newCreateKeys() createKeys {
	return createKeys{
		Next:   key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab/↓", "next field")),
		Prev:   key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab/↑", "previous field")),
		Submit: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "choose the expiry")),
		Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}

// createDialog is the Create identity form.
type createDialog struct {
	s       *session
	network model.Network
	inputs  [createFields]textinput.Model
	focus   int
	keys    createKeys
	err     string // the one-line refusal, under its field
	errAt   int    // the field it is about
	running bool   // the create is under way
	seq     int
	width   int
}

func newCreateDialog(s *session, n model.Network) *createDialog {
	d := &createDialog{s: s, network: n, keys: newCreateKeys(), errAt: -1}
	placeholders := [createFields]string{"such as laptop-alice", "optional, such as alice@example.org", "optional, such as staff, laptops"}
	limits := [createFields]int{model.MaxNameLen, 320, 4096}
	for i := range d.inputs {
		in := textinput.New()
		in.Prompt = "> "
		in.Placeholder = placeholders[i]
		in.CharLimit = limits[i]
		in.SetStyles(s.styles.Input)
		noClipboard(&in)
		d.inputs[i] = in
	}
	d.inputs[fieldName].Focus()
	return d
}

func (d *createDialog) Title() string { return "Create identity" }
func (d *createDialog) Busy() bool    { return d.running }
func (d *createDialog) Typing() bool  { return true }
func (d *createDialog) Init() tea.Cmd { return nil }
func (d *createDialog) restyle() {
	for i := range d.inputs {
		d.inputs[i].SetStyles(d.s.styles.Input)
	}
}

func (d *createDialog) SetSize(w, _ int) {
	d.width = w
	for i := range d.inputs {
		d.inputs[i].SetWidth(max(10, w-4))
	}
}

func (d *createDialog) ShortHelp() []key.Binding {
	k := d.keys
	return []key.Binding{k.Next, k.Prev, k.Submit, k.Cancel}
}
func (d *createDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

func (d *createDialog) setFocus(i int) {
	d.inputs[d.focus].Blur()
	d.focus = (i + createFields) % createFields
	d.inputs[d.focus].Focus()
}

func (d *createDialog) Update(msg tea.Msg) tea.Cmd {
	if d.running {
		return nil
	}
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		var cmd tea.Cmd
		d.inputs[d.focus], cmd = d.inputs[d.focus].Update(msg) // paste
		return cmd
	}
	k := d.keys
	switch {
	case key.Matches(km, k.Cancel):
		return msgCmd(cancelledMsg{})
	case key.Matches(km, k.Next):
		d.setFocus(d.focus + 1)
		return nil
	case key.Matches(km, k.Prev):
		d.setFocus(d.focus - 1)
		return nil
	case key.Matches(km, k.Submit):
		return d.submit()
	}
	var cmd tea.Cmd
	d.inputs[d.focus], cmd = d.inputs[d.focus].Update(km)
	if d.errAt == d.focus {
		d.err, d.errAt = "", -1
	}
	return cmd
}

// submit checks the fields as the CLI does (model's rules) and goes on to
// the expiry; a refusal is said under its field, which takes the focus.
func (d *createDialog) submit() tea.Cmd {
	name := d.inputs[fieldName].Value()
	email := strings.TrimSpace(d.inputs[fieldEmail].Value())
	refuse := func(at int, err error) tea.Cmd {
		d.err, d.errAt = safetext.Clean(err.Error()), at
		d.setFocus(at)
		return nil
	}
	if err := model.ValidateName(name); err != nil {
		return refuse(fieldName, err)
	}
	if err := model.ValidateEmail(email); err != nil {
		return refuse(fieldEmail, err)
	}
	attrs, err := model.ParseAttributes(d.inputs[fieldAttributes].Value())
	if err != nil {
		return refuse(fieldAttributes, err)
	}
	d.err, d.errAt = "", -1
	return msgCmd(createFilledMsg{req: model.NewIdentity{Name: name, Email: email, Attributes: attrs}})
}

// failed shows why the backend refused the create, under the name when
// the name is the trouble (taken), else under the form.
func (d *createDialog) failed(err error) {
	d.running = false
	at := -1
	if errors.Is(err, backend.ErrConflict) {
		at = fieldName
		d.setFocus(fieldName)
	}
	d.err, d.errAt = describeCreateErr(err), at
}

// describeCreateErr words a refused create in one line: a conflict here is
// a taken name, not someone else's change (describeErr's reading).
func describeCreateErr(err error) string {
	var be *backend.Error
	if errors.Is(err, backend.ErrConflict) && errors.As(err, &be) {
		return "Refused: " + be.Msg + "."
	}
	return describeErr(err)
}

func (d *createDialog) View() string {
	st := &d.s.styles
	var b strings.Builder
	b.WriteString(st.DialogTitle.Render("Create identity in "+safetext.Line(d.network.Name, 30)) + "\n")
	for i := range d.inputs {
		label := "  " + fieldLabels[i]
		if i == d.focus {
			label = "› " + fieldLabels[i] // the field typed into, without colour too
		}
		b.WriteString("\n" + st.Label.Render(label) + "\n" + d.inputs[i].View() + "\n")
		if d.errAt == i && d.err != "" {
			b.WriteString(st.Error.Width(max(20, d.width)).Render(d.err) + "\n")
		}
	}
	b.WriteString(st.Muted.Width(max(20, d.width)).Render("Attributes are separated by commas. Next: the date the token expires.") + "\n")
	if d.errAt < 0 && d.err != "" {
		b.WriteString("\n" + st.Error.Width(max(20, d.width)).Render(d.err) + "\n")
	}
	if d.running {
		b.WriteString("\n" + d.s.spinner + " Creating identity…")
	}
	return strings.TrimRight(b.String(), "\n")
}
