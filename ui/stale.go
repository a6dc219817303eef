package ui

import (
	"charm.land/bubbles/v2/key"
	"charm.land/lipgloss/v2"
)

// staleDialog is a dialog whose identity changed under it: it still shows
// what the admin was doing, says what happened, and only closes.
type staleDialog struct {
	keyDialog
	inner component
	text  string
	keys  struct{ Close key.Binding }
}

func newStaleDialog(s *session, inner component, text string) *staleDialog {
	d := &staleDialog{keyDialog: keyDialog{s: s}, inner: inner, text: text}
	d.keys.Close = key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close and look again"))
	d.binds = []keyAction{sends(&d.keys.Close, cancelledMsg{})}
	return d
}

func (d *staleDialog) Title() string             { return d.inner.Title() }
func (d *staleDialog) ShortHelp() []key.Binding  { return []key.Binding{d.keys.Close} }
func (d *staleDialog) FullHelp() [][]key.Binding { return oneColumn(d) }
func (d *staleDialog) SetSize(w, h int)          { d.width = w; d.inner.SetSize(w, h) }

func (d *staleDialog) restyle() {
	if r, ok := d.inner.(restyler); ok {
		r.restyle()
	}
}

func (d *staleDialog) View() string {
	return d.inner.View() + "\n\n" + d.s.styles.Error.Render(lipgloss.Wrap(d.text, d.textWidth(), " "))
}
