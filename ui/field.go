package ui

import (
	"errors"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/idcon/idcon/safetext"
)

// A value the admin types, in two pieces every such dialog shares:
//
//   - field: a labelled text input and the check of what was typed
//     (Create identity's form holds three);
//   - fieldDialog: a dialog around one field that edits the value,
//     checks it, submits it as a message, shows the answer's error and
//     offers to retry (Download JWT, Send registration email).
//
// A masked password and a six-digit code are one fieldSpec each:
//
//	fieldSpec{Label: "Password", Secret: true, Check: required("the password")}
//	fieldSpec{Label: "Code", Limit: 6, Check: digits(6)}

// fieldSpec says what a field holds.
type fieldSpec struct {
	Label, Placeholder string
	Value              string // the value it starts with
	Limit              int    // the most characters it takes
	Secret             bool   // masked as it is typed (passwords, codes)
	// Check turns what was typed into the value to submit, or says in
	// words why it can't be; nil submits it as typed.
	Check func(typed string) (string, error)
}

// field is one value the admin types.
type field struct {
	s     *session
	label string
	input textinput.Model
	check func(string) (string, error)
}

func newField(s *session, spec fieldSpec) field {
	in := textinput.New()
	in.Prompt = "> "
	in.Placeholder = spec.Placeholder
	in.CharLimit = spec.Limit
	if spec.Secret {
		in.EchoMode = textinput.EchoPassword
	}
	in.SetStyles(s.styles.Input)
	noClipboard(&in)
	if spec.Value != "" {
		in.SetValue(spec.Value)
		in.CursorEnd()
	}
	return field{s: s, label: spec.Label, input: in, check: spec.Check}
}

// Value is what is typed now.
func (f *field) Value() string { return f.input.Value() }

// checked is the value to submit, or why it can't be.
func (f *field) checked() (string, error) {
	if f.check == nil {
		return f.input.Value(), nil
	}
	return f.check(f.input.Value())
}

// update edits the value with a key or a paste.
func (f *field) update(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	f.input, cmd = f.input.Update(msg)
	return cmd
}

func (f *field) focus(on bool) {
	if on {
		f.input.Focus()
	} else {
		f.input.Blur()
	}
}

func (f *field) restyle()       { f.input.SetStyles(f.s.styles.Input) }
func (f *field) setWidth(w int) { f.input.SetWidth(max(10, w-4)) }
func (f *field) view() string   { return f.input.View() }

// dialogState is where a field dialog is: the admin editing its field,
// the request running, its failure shown with a retry offered, or a
// question (overwrite, send again) waiting.
type dialogState int

const (
	stateEdit dialogState = iota
	stateRunning
	stateFailed
	stateAsk
)

// fieldFailure is how a field dialog takes a failed request.
type fieldFailure struct {
	text  string      // the error in words, or ""
	state dialogState // stateEdit (type again), stateFailed (r retries) or stateAsk
	// ask is a question to answer first: at once (stateAsk), or when r is
	// pressed (stateFailed). y repeats the request with again set; n/esc
	// goes back to back, saying declined there if it isn't "".
	ask      string
	back     dialogState
	declined string
}

// fieldDialogSpec says what a field dialog is for.
type fieldDialogSpec struct {
	Name  string // in the breadcrumbs
	Title string // its first line
	Field fieldSpec
	// Hint is the line under the field, drawn muted.
	Hint func() string
	// Request is the message enter (again false) and y (again true) send
	// with the checked value.
	Request func(value string, again bool) tea.Msg
	// Progress is what the dialog says while the request runs.
	Progress func(value string, width int) string
	// Failed words a failed request; nil: its error, to type again.
	Failed func(err error) fieldFailure
	// Breaks are where the error and the question may wrap (" /" for paths).
	Breaks string
	// AskAlone shows the question instead of the field.
	AskAlone bool
	// The keys' help: enter, e, y and n/esc.
	SubmitHelp, EditHelp, AgainHelp, KeepHelp string
}

type fieldKeys struct {
	Submit, Cancel, Retry, Edit, Close, Again, Keep key.Binding
}

// fieldDialog is one value to type and submit, with its answer's error.
type fieldDialog struct {
	keyDialog
	spec   fieldDialogSpec
	input  field
	keys   fieldKeys
	state  dialogState
	seq    int    // the request under way, if any
	value  string // the value of the last request
	errMsg string // what went wrong, already in words
	fail   fieldFailure
}

func newFieldDialog(s *session, spec fieldDialogSpec) *fieldDialog {
	if spec.Breaks == "" {
		spec.Breaks = " "
	}
	d := &fieldDialog{keyDialog: keyDialog{s: s}, spec: spec, input: newField(s, spec.Field)}
	d.keys = fieldKeys{
		Submit: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", spec.SubmitHelp)),
		Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		Retry:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "try again")),
		Edit:   key.NewBinding(key.WithKeys("e"), key.WithHelp("e", spec.EditHelp)),
		Close:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close")),
		Again:  key.NewBinding(key.WithKeys("y"), key.WithHelp("y", spec.AgainHelp)),
		Keep:   key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", spec.KeepHelp)),
	}
	d.setState(stateEdit)
	return d
}

func (d *fieldDialog) setState(st dialogState) {
	d.state = st
	k := &d.keys
	k.Submit.SetEnabled(st == stateEdit)
	k.Cancel.SetEnabled(st == stateEdit)
	k.Retry.SetEnabled(st == stateFailed)
	k.Edit.SetEnabled(st == stateFailed)
	k.Close.SetEnabled(st == stateFailed)
	k.Again.SetEnabled(st == stateAsk)
	k.Keep.SetEnabled(st == stateAsk)
	d.input.focus(st == stateEdit)
}

// running marks the request with seq under way.
func (d *fieldDialog) running(seq int) {
	d.seq, d.errMsg = seq, ""
	d.setState(stateRunning)
}

// failed shows why the request didn't succeed.
func (d *fieldDialog) failed(err error) {
	f := fieldFailure{text: describeErr(err), state: stateEdit}
	if d.spec.Failed != nil {
		f = d.spec.Failed(err)
	}
	d.fail, d.errMsg = f, f.text
	d.setState(f.state)
}

// settled takes the answer to the request seq: true when it succeeded;
// false when the dialog waits for no such answer, or when it failed (the
// dialog then shows why, as failed does).
func (d *fieldDialog) settled(seq int, err error) bool {
	if d.seq != seq || !d.Busy() {
		return false
	}
	if err != nil {
		d.failed(err)
		return false
	}
	return true
}

func (d *fieldDialog) request(again bool) tea.Cmd {
	return msgCmd(d.spec.Request(d.value, again))
}

func (d *fieldDialog) Title() string    { return d.spec.Name }
func (d *fieldDialog) Busy() bool       { return d.state == stateRunning }
func (d *fieldDialog) Typing() bool     { return d.state == stateEdit }
func (d *fieldDialog) restyle()         { d.input.restyle() }
func (d *fieldDialog) SetSize(w, _ int) { d.width = w; d.input.setWidth(w) }
func (d *fieldDialog) ShortHelp() []key.Binding {
	k := d.keys
	return []key.Binding{k.Submit, k.Cancel, k.Retry, k.Edit, k.Close, k.Again, k.Keep}
}
func (d *fieldDialog) FullHelp() [][]key.Binding { return oneColumn(d) }

func (d *fieldDialog) Update(msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyPressMsg)
	k := &d.keys
	switch {
	case d.state == stateEdit && ok && key.Matches(km, k.Submit):
		v, err := d.input.checked()
		if err != nil {
			d.errMsg = err.Error()
			return nil
		}
		d.value = v
		return d.request(false)
	case d.state == stateEdit && ok && key.Matches(km, k.Cancel):
		return msgCmd(cancelledMsg{})
	case d.state == stateEdit:
		// Keys, and pastes, edit the value.
		cmd := d.input.update(msg)
		if ok {
			d.errMsg = ""
		}
		return cmd
	case d.state == stateFailed && ok && key.Matches(km, k.Retry):
		if d.fail.ask != "" {
			d.setState(stateAsk)
			return nil
		}
		return d.request(false)
	case d.state == stateFailed && ok && key.Matches(km, k.Edit):
		d.errMsg = ""
		d.setState(stateEdit)
	case d.state == stateFailed && ok && key.Matches(km, k.Close):
		return msgCmd(cancelledMsg{})
	case d.state == stateAsk && ok && key.Matches(km, k.Again):
		return d.request(true)
	case d.state == stateAsk && ok && key.Matches(km, k.Keep):
		if d.fail.declined != "" {
			d.errMsg = d.fail.declined
		}
		d.setState(d.fail.back)
	}
	// While the request runs, keys wait: a second enter sends nothing.
	return nil
}

func (d *fieldDialog) View() string {
	st, w, brk := &d.s.styles, d.textWidth(), d.spec.Breaks
	var b strings.Builder
	b.WriteString(st.DialogTitle.Render(safetext.Line(d.spec.Title, w)) + "\n\n")
	if d.state == stateAsk && d.spec.AskAlone {
		b.WriteString(lipgloss.Wrap(d.fail.ask, w, brk) + "\n")
		return strings.TrimRight(b.String(), "\n")
	}
	b.WriteString(st.Label.Render(d.input.label) + "\n")
	b.WriteString(d.input.view() + "\n")
	b.WriteString(st.Muted.Render(lipgloss.Wrap(d.spec.Hint(), w, " ")) + "\n")
	switch {
	case d.state == stateRunning:
		b.WriteString("\n" + d.s.spinner + " " + d.spec.Progress(d.value, w) + "\n")
	case d.state == stateAsk:
		b.WriteString("\n" + st.Error.Render(lipgloss.Wrap(d.errMsg, w, brk)) + "\n\n")
		b.WriteString(lipgloss.Wrap(d.fail.ask, w, brk) + "\n")
	case d.errMsg != "":
		b.WriteString("\n" + st.Error.Render(lipgloss.Wrap(safetext.Clean(d.errMsg), w, brk)) + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// required is a Check refusing an empty value: "Type <what>."
func required(what string) func(string) (string, error) {
	return func(v string) (string, error) {
		if strings.TrimSpace(v) == "" {
			return "", errors.New("Type " + what + ".")
		}
		return v, nil
	}
}

// digits is a Check taking exactly n digits, such as a one-time code.
func digits(n int) func(string) (string, error) {
	return func(v string) (string, error) {
		v = strings.TrimSpace(v)
		if len(v) != n || strings.Trim(v, "0123456789") != "" {
			return "", fmt.Errorf("The code is %d digits.", n)
		}
		return v, nil
	}
}
