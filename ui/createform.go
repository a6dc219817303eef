package ui

import (
	"errors"
	"strings"

	"charm.land/bubbles/v2/key"
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
	inputs  [createFields]field
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
	trimmed := func(check func(string) error) func(string) (string, error) {
		return func(v string) (string, error) { v = strings.TrimSpace(v); return v, check(v) }
	}
	specs := [createFields]fieldSpec{
		{Placeholder: "such as laptop-alice", Limit: model.MaxNameLen,
			Check: func(v string) (string, error) { return v, model.ValidateName(v) }},
		{Placeholder: "optional, such as alice@example.org", Limit: 320, Check: trimmed(model.ValidateEmail)},
		{Placeholder: "optional, such as staff, laptops", Limit: 4096,
			Check: func(v string) (string, error) { _, err := model.ParseAttributes(v); return v, err }},
	}
	for i := range d.inputs {
		specs[i].Label = fieldLabels[i]
		d.inputs[i] = newField(s, specs[i])
	}
	d.inputs[fieldName].focus(true)
	return d
}

func (d *createDialog) Title() string { return "Create identity" }
func (d *createDialog) Busy() bool    { return d.running }
func (d *createDialog) Typing() bool  { return true }
func (d *createDialog) Init() tea.Cmd { return nil }
func (d *createDialog) restyle() {
	for i := range d.inputs {
		d.inputs[i].restyle()
	}
}

func (d *createDialog) SetSize(w, _ int) {
	d.width = w
	for i := range d.inputs {
		d.inputs[i].setWidth(w)
	}
}

func (d *createDialog) ShortHelp() []key.Binding {
	k := d.keys
	return []key.Binding{k.Next, k.Prev, k.Submit, k.Cancel}
}
func (d *createDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

func (d *createDialog) setFocus(i int) {
	d.inputs[d.focus].focus(false)
	d.focus = (i + createFields) % createFields
	d.inputs[d.focus].focus(true)
}

func (d *createDialog) Update(msg tea.Msg) tea.Cmd {
	if d.running {
		return nil
	}
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return d.inputs[d.focus].update(msg) // paste
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
	cmd := d.inputs[d.focus].update(km)
	if d.errAt == d.focus {
		d.err, d.errAt = "", -1
	}
	return cmd
}

// submit checks the fields as the CLI does (model's rules) and goes on to
// the expiry; a refusal is said under its field, which takes the focus.
func (d *createDialog) submit() tea.Cmd {
	var v [createFields]string
	for i := range d.inputs {
		var err error
		if v[i], err = d.inputs[i].checked(); err != nil {
			d.err, d.errAt = safetext.Clean(err.Error()), i
			d.setFocus(i)
			return nil
		}
	}
	attrs, _ := model.ParseAttributes(v[fieldAttributes]) // checked above
	d.err, d.errAt = "", -1
	return msgCmd(createFilledMsg{req: model.NewIdentity{Name: v[fieldName], Email: v[fieldEmail], Attributes: attrs}})
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
		b.WriteString("\n" + st.Label.Render(label) + "\n" + d.inputs[i].view() + "\n")
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
