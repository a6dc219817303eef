package ui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
)

// noticeDialog says something the admin reads and closes (enter or esc,
// which cancels the flow that opened it).
type noticeDialog struct {
	s           *session
	title, body string // already safe
	close       key.Binding
	width       int
}

func newNoticeDialog(s *session, title, body string) *noticeDialog {
	return &noticeDialog{s: s, title: title, body: body,
		close: key.NewBinding(key.WithKeys("enter", "esc"), key.WithHelp("enter/esc", "close"))}
}

func (d *noticeDialog) Title() string             { return d.title }
func (d *noticeDialog) Busy() bool                { return false }
func (d *noticeDialog) Typing() bool              { return false }
func (d *noticeDialog) Init() tea.Cmd             { return nil }
func (d *noticeDialog) SetSize(w, _ int)          { d.width = w }
func (d *noticeDialog) ShortHelp() []key.Binding  { return []key.Binding{d.close} }
func (d *noticeDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }
func (d *noticeDialog) Update(msg tea.Msg) tea.Cmd {
	if km, ok := msg.(tea.KeyPressMsg); ok && key.Matches(km, d.close) {
		return msgCmd(cancelledMsg{})
	}
	return nil
}
func (d *noticeDialog) View() string {
	w := d.width
	if w <= 0 {
		w = 56
	}
	return d.s.styles.DialogTitle.Render(d.title) + "\n\n" + lipgloss.Wrap(d.body, w, " ")
}
