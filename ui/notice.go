package ui

import (
	"charm.land/bubbles/v2/key"
	"charm.land/lipgloss/v2"
)

// noticeDialog says something the admin reads and closes (enter or esc,
// which cancels the flow that opened it).
type noticeDialog struct {
	keyDialog
	title, body string // already safe
	close       key.Binding
}

func newNoticeDialog(s *session, title, body string) *noticeDialog {
	d := &noticeDialog{keyDialog: keyDialog{s: s}, title: title, body: body,
		close: key.NewBinding(key.WithKeys("enter", "esc"), key.WithHelp("enter/esc", "close"))}
	d.binds = []keyAction{sends(&d.close, cancelledMsg{})}
	return d
}

func (d *noticeDialog) Title() string             { return d.title }
func (d *noticeDialog) ShortHelp() []key.Binding  { return []key.Binding{d.close} }
func (d *noticeDialog) FullHelp() [][]key.Binding { return oneColumn(d) }
func (d *noticeDialog) View() string {
	return d.s.styles.DialogTitle.Render(d.title) + "\n\n" + lipgloss.Wrap(d.body, d.textWidth(), " ")
}
