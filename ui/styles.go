package ui

import (
	"image/color"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/textinput"
	"charm.land/lipgloss/v2"

	"github.com/idcon/idcon/model"
)

// Styles holds every style the console draws with. It is built per session
// from the terminal's background (dark or light) and NO_COLOR, and rebuilt
// when the terminal reports its background: never a package global.
type Styles struct {
	Sidebar       lipgloss.Style
	SidebarHead   lipgloss.Style
	SidebarActive lipgloss.Style
	Title         lipgloss.Style
	Label         lipgloss.Style
	Muted         lipgloss.Style
	Error         lipgloss.Style
	Success       lipgloss.Style
	Section       lipgloss.Style
	Header        lipgloss.Style // table header
	Selected      lipgloss.Style // the row under the cursor
	Expired       lipgloss.Style // a date that has passed
	State         map[model.State]lipgloss.Style
	Button        lipgloss.Style
	ButtonFocused lipgloss.Style
	Dialog        lipgloss.Style
	DialogTitle   lipgloss.Style
	Toast         lipgloss.Style
	ToastNote     lipgloss.Style
	ToastError    lipgloss.Style
	CalToday      lipgloss.Style
	CalSelected   lipgloss.Style
	CalDisabled   lipgloss.Style
	Help          help.Styles
	Input         textinput.Styles
}

// newStyles builds the styles for a dark or light background; noColor drops
// every colour and keeps only attributes (bold, reverse, strikethrough).
func newStyles(isDark, noColor bool) Styles {
	ld := lipgloss.LightDark(isDark)
	c := func(light, dark string) color.Color {
		if noColor {
			return lipgloss.NoColor{}
		}
		return ld(lipgloss.Color(light), lipgloss.Color(dark))
	}
	accent := c("#5A3FD9", "#A993FF")
	muted := c("#6C6C6C", "#8A8A8A")
	red := c("#C8102E", "#FF6B6B")
	green := c("#1B7F3B", "#5FD787")
	amber := c("#9A6700", "#F2C94C")
	border := c("#BBBBBB", "#444444")

	st := lipgloss.NewStyle
	s := Styles{
		Sidebar:       st().BorderStyle(lipgloss.NormalBorder()).BorderRight(true).BorderForeground(border).PaddingLeft(1),
		SidebarHead:   st().Foreground(muted).Bold(true),
		SidebarActive: st().Foreground(accent).Bold(true),
		Title:         st().Foreground(accent).Bold(true),
		Label:         st().Foreground(muted),
		Muted:         st().Foreground(muted),
		Error:         st().Foreground(red),
		Success:       st().Foreground(green),
		Section:       st().Bold(true).Underline(true),
		Header:        st().Bold(true).Foreground(muted),
		Selected:      st().Reverse(true),
		Expired:       st().Foreground(red),
		State: map[model.State]lipgloss.Style{
			model.StateEnrolled: st().Foreground(green),
			model.StatePending:  st().Foreground(amber),
			model.StateExpired:  st().Foreground(red),
			model.StateNone:     st().Foreground(muted),
		},
		Button:        st(),
		ButtonFocused: st().Reverse(true).Bold(true),
		Dialog:        st().Border(lipgloss.RoundedBorder()).BorderForeground(accent).Padding(0, 1),
		DialogTitle:   st().Bold(true).Foreground(accent),
		Toast:         st().Border(lipgloss.RoundedBorder()).BorderForeground(green).Padding(0, 1),
		ToastNote:     st().Border(lipgloss.RoundedBorder()).BorderForeground(accent).Padding(0, 1),
		ToastError:    st().Border(lipgloss.RoundedBorder()).BorderForeground(red).Padding(0, 1),
		CalToday:      st().Underline(true),
		CalSelected:   st().Reverse(true).Bold(true),
		CalDisabled:   st().Foreground(muted).Strikethrough(true),
		Help:          help.DefaultStyles(isDark),
		Input:         textinput.DefaultStyles(isDark),
	}
	if noColor {
		plain := st()
		s.Help = help.Styles{Ellipsis: plain, ShortKey: st().Bold(true), ShortDesc: plain, ShortSeparator: plain,
			FullKey: st().Bold(true), FullDesc: plain, FullSeparator: plain}
		s.Input = textinput.Styles{
			Focused: textinput.StyleState{Text: plain, Placeholder: plain, Suggestion: plain, Prompt: plain},
			Blurred: textinput.StyleState{Text: plain, Placeholder: plain, Suggestion: plain, Prompt: plain},
			Cursor:  textinput.CursorStyle{Color: lipgloss.NoColor{}, Shape: s.Input.Cursor.Shape},
		}
	}
	// A blinking cursor redraws the screen twice a second for every
	// session; a steady one is as visible.
	s.Input.Cursor.Blink = false
	return s
}

// state renders a state as its word in its colour, so the state stays
// readable without colour.
func (s *Styles) state(st model.State) string {
	return s.State[st].Render(string(st))
}
