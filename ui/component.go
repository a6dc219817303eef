package ui

import (
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/delivery"
	"github.com/idcon/idcon/model"
)

// component is what every screen and dialog implements. Only the root
// returns a tea.View; components return strings sized by SetSize, and emit
// what the admin asked for as messages (commands) for a flow to perform.
type component interface {
	help.KeyMap
	Init() tea.Cmd
	Update(msg tea.Msg) tea.Cmd
	View() string
	SetSize(width, height int)
	// Title names the component in the breadcrumbs.
	Title() string
	// Busy reports a backend call in flight (the spinner turns).
	Busy() bool
	// Typing reports a focused text input: single-letter keys are text then.
	Typing() bool
}

// flow is one of the console's flows: the router hands it every message in
// turn until one takes it (ok); it talks to the rest through messages and
// the stage, and never sees the router.
type flow interface {
	update(msg tea.Msg) (cmd tea.Cmd, ok bool)
}

// restyler is implemented by components holding bubbles whose styles must
// be replaced when the terminal's background is learned.
type restyler interface{ restyle() }

// session is what the components of one console session share: the
// options, the styles (rebuilt in place, so every component sees the new
// ones), the sequence counter and the timer. One per program: never global.
type session struct {
	opts   Options
	styles Styles
	// restyled counts the times styles were rebuilt, for what is kept
	// drawn in them (the sidebar, frame.go).
	restyled int
	seq      int
	// tick is tea.Tick; tests replace it to fire timers at once.
	tick func(d time.Duration, fn func(time.Time) tea.Msg) tea.Cmd
	// spinner is the current spinner frame, drawn next to whatever waits.
	spinner string
	// isDark is the terminal's background as last learned; monochrome is
	// set when its colour profile shows no colours (the QR code then
	// relies on its glyphs).
	isDark, monochrome bool
	// term is what the admin's terminal can draw (termcaps.go).
	term delivery.Terminal
	// terminal is the terminal's answer to XTVERSION, if it gave one
	// (clipboard.go).
	terminal string
	// smtpErr says why registration emails can't be sent (no mail server
	// set up), or is nil; worked out once, when the session starts.
	smtpErr error
	// orders is each network's list order (sort.go), by network ID, kept
	// for the session.
	orders map[string]listOrder
}

// unavailable is why this session can't take action: the actor may not
// (a refusal), or nothing is set up for it (email without SMTP); nil when
// it can.
func (s *session) unavailable(a model.Action) error {
	if err := s.refusal(a); err != nil {
		return err
	}
	if a == model.ActionEmail {
		return s.smtpErr
	}
	return nil
}

func (s *session) nextSeq() int {
	s.seq++
	return s.seq
}

// now is the clock in the admin's zone: relative times count calendar days
// there (model.Relative).
func (s *session) now() time.Time { return s.opts.Now().In(s.opts.Location) }

func msgCmd(m tea.Msg) tea.Cmd { return func() tea.Msg { return m } }

// noClipboard turns off textinput's ctrl+v, which reads the clipboard of
// the machine running idcon: under the SSH server that is the server's, not
// the admin's. Bracketed paste from the admin's terminal still works.
func noClipboard(in *textinput.Model) { in.KeyMap.Paste.SetEnabled(false) }
