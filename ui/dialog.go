package ui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// keyDialog is what the dialogs share: the session, the width they are
// drawn at, and the keys they answer, each sending a message or doing
// something. A dialog embeds it and adds its Title, ShortHelp and View;
// one with more to do (a text field, a request under way) overrides
// Update, Busy or Typing.
type keyDialog struct {
	s     *session
	width int
	binds []keyAction
}

// keyAction is one key of a dialog. key points into the dialog's key map,
// so enabling or disabling a binding there applies here.
type keyAction struct {
	key  *key.Binding
	send tea.Msg        // sent when the key is pressed, or
	do   func() tea.Cmd // done when it is
}

// sends is a key that sends msg.
func sends(k *key.Binding, msg tea.Msg) keyAction { return keyAction{key: k, send: msg} }

// does is a key that does fn.
func does(k *key.Binding, fn func() tea.Cmd) keyAction { return keyAction{key: k, do: fn} }

func (d *keyDialog) Init() tea.Cmd    { return nil }
func (d *keyDialog) Busy() bool       { return false }
func (d *keyDialog) Typing() bool     { return false }
func (d *keyDialog) SetSize(w, _ int) { d.width = w }

// Update answers the first enabled key that matches, in the order given.
func (d *keyDialog) Update(msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	for _, b := range d.binds {
		if !key.Matches(km, *b.key) {
			continue
		}
		if b.do != nil {
			return b.do()
		}
		return msgCmd(b.send)
	}
	return nil
}

// textWidth is the width to wrap the dialog's text at.
func (d *keyDialog) textWidth() int {
	if d.width <= 0 {
		return 56
	}
	return d.width
}

// oneColumn is the full help of a dialog: its short help, in one column.
func oneColumn(k help.KeyMap) [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }
