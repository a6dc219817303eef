package ui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
)

// staleDialog is a dialog whose identity changed under it: it still shows
// what the admin was doing, says what happened, and only closes.
type staleDialog struct {
	s     *session
	inner component
	text  string
	keys  struct{ Close key.Binding }
	width int
}

func newStaleDialog(s *session, inner component, text string) *staleDialog {
	d := &staleDialog{s: s, inner: inner, text: text}
	d.keys.Close = key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close and look again"))
	return d
}

func (d *staleDialog) Title() string             { return d.inner.Title() }
func (d *staleDialog) Busy() bool                { return false }
func (d *staleDialog) Typing() bool              { return false }
func (d *staleDialog) Init() tea.Cmd             { return nil }
func (d *staleDialog) ShortHelp() []key.Binding  { return []key.Binding{d.keys.Close} }
func (d *staleDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }
func (d *staleDialog) SetSize(w, h int)          { d.width = w; d.inner.SetSize(w, h) }

func (d *staleDialog) restyle() {
	if r, ok := d.inner.(restyler); ok {
		r.restyle()
	}
}

func (d *staleDialog) Update(msg tea.Msg) tea.Cmd {
	if km, ok := msg.(tea.KeyPressMsg); ok && key.Matches(km, d.keys.Close) {
		return msgCmd(cancelledMsg{})
	}
	return nil
}

func (d *staleDialog) View() string {
	w := d.width
	if w <= 0 {
		w = 56
	}
	return d.inner.View() + "\n\n" + d.s.styles.Error.Render(lipgloss.Wrap(d.text, w, " "))
}
