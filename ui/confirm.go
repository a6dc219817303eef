package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

type confirmKeys struct {
	Yes, No, Left, Right, Press key.Binding
}

func newConfirmKeys(yes, no string) confirmKeys {
	return confirmKeys{
		Yes:   key.NewBinding(key.WithKeys("y"), key.WithHelp("y", yes)),
		No:    key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", no)),
		Left:  key.NewBinding(key.WithKeys("left", "shift+tab", "h"), key.WithHelp("←/→/tab", "move")),
		Right: key.NewBinding(key.WithKeys("right", "tab", "l")),
		Press: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "press")),
	}
}

// confirmDialog asks before a dangerous change. Its buttons are the
// confirming one then the cancelling one, and the focus starts on the
// cancelling one: enter alone never destroys anything.
type confirmDialog struct {
	keyDialog
	title   string
	body    []string // paragraphs, already safe and styled
	buttons [2]string
	focus   int // 0 confirms, 1 cancels
	keys    confirmKeys
}

// newConfirm asks title, with the body's paragraphs over the buttons; the
// focus starts on the cancelling one.
func newConfirm(s *session, keys confirmKeys, title string, body []string, buttons [2]string) *confirmDialog {
	c := &confirmDialog{keyDialog: keyDialog{s: s}, title: title, body: body, buttons: buttons, focus: 1, keys: keys}
	move := func() tea.Cmd { c.focus = 1 - c.focus; return nil }
	c.binds = []keyAction{
		sends(&c.keys.Yes, confirmedMsg{}), sends(&c.keys.No, cancelledMsg{}),
		does(&c.keys.Left, move), does(&c.keys.Right, move),
		does(&c.keys.Press, func() tea.Cmd {
			if c.focus == 0 {
				return msgCmd(confirmedMsg{})
			}
			return msgCmd(cancelledMsg{})
		}),
	}
	return c
}

// newResetConfirm is the seed's warning: every active connection of the
// identity drops the moment the admin confirms.
func newResetConfirm(s *session, ident model.Identity, expiresAt fmtTime) *confirmDialog {
	name := safetext.Line(ident.Name, 40)
	st := &s.styles
	sessions := "It has no active sessions right now."
	if ident.ActiveSessions > 0 {
		sessions = st.Error.Render(fmt.Sprintf("%s has %s right now.", name,
			plural(ident.ActiveSessions, "active session", "active sessions")))
	}
	return newConfirm(s, newConfirmKeys("reset", "cancel"), "Reset enrollment of "+name+"?", []string{
		st.Error.Render("Warning:") + " every active connection of " + name +
			" drops the moment you confirm, and its current credentials stop working.",
		sessions,
		"Coordinate with the user before resetting if you can.",
		"The new token will expire " + string(expiresAt) + ".",
	}, [2]string{"Reset enrollment", "Cancel"})
}

// newDeleteConfirm says deleting the token can't be undone.
func newDeleteConfirm(s *session, ident model.Identity) *confirmDialog {
	name := safetext.Line(ident.Name, 40)
	return newConfirm(s, newConfirmKeys("yes, delete", "no"), "Delete enrollment of "+name+"?", []string{
		"Deleting the enrollment token is irreversible: " + name +
			" can't be re-enrolled from the console afterwards.",
	}, [2]string{"Yes", "No"})
}

// fmtTime is a date already formatted for the admin.
type fmtTime string

func (c *confirmDialog) Title() string { return "Confirm" }
func (c *confirmDialog) ShortHelp() []key.Binding {
	return []key.Binding{c.keys.Yes, c.keys.No, c.keys.Left, c.keys.Press}
}
func (c *confirmDialog) FullHelp() [][]key.Binding { return oneColumn(c) }

func (c *confirmDialog) View() string {
	st := &c.s.styles
	var b strings.Builder
	b.WriteString(st.DialogTitle.Render(c.title) + "\n\n")
	w := c.textWidth()
	for _, para := range c.body {
		b.WriteString(lipgloss.Wrap(para, w, " ") + "\n")
	}
	b.WriteString("\n")
	var btns []string
	for i, label := range c.buttons {
		if i == c.focus {
			btns = append(btns, st.ButtonFocused.Render("[ "+label+" ]"))
		} else {
			btns = append(btns, st.Button.Render("  "+label+"  "))
		}
	}
	b.WriteString(lipgloss.JoinHorizontal(lipgloss.Top, btns[0], "   ", btns[1]))
	return b.String()
}
