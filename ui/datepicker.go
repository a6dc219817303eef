package ui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

type dateKeys struct {
	Left, Right, Up, Down, PrevMonth, NextMonth, Today key.Binding
	Type, Submit, Cancel, Calendar                     key.Binding
}

func newDateKeys() dateKeys {
	return dateKeys{
		Left:      key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/→", "day")),
		Right:     key.NewBinding(key.WithKeys("right", "l")),
		Up:        key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/↓", "week")),
		Down:      key.NewBinding(key.WithKeys("down", "j")),
		PrevMonth: key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup/pgdn", "month")),
		NextMonth: key.NewBinding(key.WithKeys("pgdown")),
		Today:     key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "today")),
		Type:      key.NewBinding(key.WithKeys("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "+"), key.WithHelp("0-9/+", "type a date")),
		Submit:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "submit")),
		Cancel:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		Calendar:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back to calendar"), key.WithDisabled()),
	}
}

// datePicker is the "Date enrollment expires" dialog of reset and reissue:
// a month calendar, or a typed date that starts with the first digit or
// "+". Dates are civil dates held at noon in the admin's zone (noon keeps
// day arithmetic clear of DST changes); a date means the end of that day.
type datePicker struct {
	s      *session
	action model.Action
	ident  model.Identity
	keys   dateKeys
	today  time.Time
	sel    time.Time
	input  textinput.Model
	typing bool
	err    string
	width  int
}

func newDatePicker(s *session, a model.Action, ident model.Identity) *datePicker {
	loc := s.opts.Location
	in := textinput.New()
	in.Prompt = "> "
	in.Placeholder = "2026-12-31 or +7d"
	in.CharLimit = 40
	in.SetStyles(s.styles.Input)
	noClipboard(&in)
	in.SetWidth(24)
	now := s.now()
	return &datePicker{
		s: s, action: a, ident: ident, keys: newDateKeys(), input: in,
		today: civil(now, loc),
		sel:   civil(now.Add(s.opts.DefaultExpiry), loc),
	}
}

// civil is t's calendar day in loc, at noon.
func civil(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 12, 0, 0, 0, loc)
}

// addMonths moves by whole months, keeping the day where the month has it
// and the month's last day otherwise (31 Jan + 1 month = 28 or 29 Feb).
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, 12, 0, 0, 0, t.Location())
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}

// expiry is the token expiry a calendar day stands for.
func (p *datePicker) expiry(day time.Time) time.Time { return model.EndOfDay(day, p.s.opts.Location) }

// why says why a day can't be chosen, or "" if it can.
func (p *datePicker) why(day time.Time) string {
	err := p.s.opts.Policy.Validate(p.s.now(), p.expiry(day))
	return p.refusal(err, day)
}

func (p *datePicker) refusal(err error, day time.Time) string {
	loc := p.s.opts.Location
	switch {
	case err == nil:
		return ""
	case errors.Is(err, model.ErrExpiryPast):
		return fmt.Sprintf("%s has passed: choose today or a later date.", fmtDate(day, loc))
	case errors.Is(err, model.ErrExpiryTooFar):
		return fmt.Sprintf("%s is too far ahead: the latest allowed is %s.", fmtDate(day, loc), fmtDate(p.latestDay(), loc))
	}
	return safetext.Clean(err.Error())
}

// latestDay is the last day whose end the policy allows.
func (p *datePicker) latestDay() time.Time {
	loc := p.s.opts.Location
	d := civil(p.s.opts.Policy.Latest(p.s.now()), loc)
	if p.expiry(d).After(p.s.opts.Policy.Latest(p.s.now())) {
		d = d.AddDate(0, 0, -1)
	}
	return d
}

func (p *datePicker) Title() string { return p.action.Title() }
func (p *datePicker) Busy() bool    { return false }
func (p *datePicker) Typing() bool  { return p.typing }
func (p *datePicker) Init() tea.Cmd { return nil }
func (p *datePicker) restyle()      { p.input.SetStyles(p.s.styles.Input) }
func (p *datePicker) SetSize(w, _ int) {
	p.width = w
}

func (p *datePicker) ShortHelp() []key.Binding {
	k := p.keys
	return []key.Binding{k.Left, k.Up, k.PrevMonth, k.Today, k.Type, k.Submit, k.Cancel, k.Calendar}
}
func (p *datePicker) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

func (p *datePicker) setTyping(on bool) {
	p.typing = on
	for _, b := range []*key.Binding{&p.keys.Left, &p.keys.Right, &p.keys.Up, &p.keys.Down,
		&p.keys.PrevMonth, &p.keys.NextMonth, &p.keys.Today, &p.keys.Type, &p.keys.Cancel} {
		b.SetEnabled(!on)
	}
	p.keys.Calendar.SetEnabled(on)
	if on {
		p.input.Focus()
	} else {
		p.input.Blur()
		p.input.SetValue("")
	}
}

func (p *datePicker) Update(msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		if p.typing {
			var cmd tea.Cmd
			p.input, cmd = p.input.Update(msg)
			return cmd
		}
		return nil
	}
	k := p.keys
	if p.typing {
		switch {
		case key.Matches(km, k.Submit):
			return p.submitTyped()
		case key.Matches(km, k.Calendar):
			p.err = ""
			p.setTyping(false)
			return nil
		}
		var cmd tea.Cmd
		p.input, cmd = p.input.Update(km)
		p.err = ""
		return cmd
	}
	p.err = ""
	switch {
	case key.Matches(km, k.Left):
		p.sel = p.sel.AddDate(0, 0, -1)
	case key.Matches(km, k.Right):
		p.sel = p.sel.AddDate(0, 0, 1)
	case key.Matches(km, k.Up):
		p.sel = p.sel.AddDate(0, 0, -7)
	case key.Matches(km, k.Down):
		p.sel = p.sel.AddDate(0, 0, 7)
	case key.Matches(km, k.PrevMonth):
		p.sel = addMonths(p.sel, -1)
	case key.Matches(km, k.NextMonth):
		p.sel = addMonths(p.sel, 1)
	case key.Matches(km, k.Today):
		p.sel = p.today
	case key.Matches(km, k.Type):
		// The key that starts typing is the first character typed.
		p.setTyping(true)
		p.input.SetValue(km.String())
		p.input.CursorEnd()
		return nil
	case key.Matches(km, k.Submit):
		if why := p.why(p.sel); why != "" {
			p.err = why
			return nil
		}
		return msgCmd(datePickedMsg{expiresAt: p.expiry(p.sel)})
	case key.Matches(km, k.Cancel):
		return msgCmd(cancelledMsg{})
	}
	return nil
}

func (p *datePicker) submitTyped() tea.Cmd {
	loc := p.s.opts.Location
	now := p.s.now()
	t, err := model.ParseExpiry(p.input.Value(), now, loc)
	if err != nil {
		p.err = safetext.Clean(err.Error())
		return nil
	}
	if err := p.s.opts.Policy.Validate(now, t); err != nil {
		p.err = p.refusal(err, t)
		return nil
	}
	return msgCmd(datePickedMsg{expiresAt: t})
}

func (p *datePicker) View() string {
	st := &p.s.styles
	loc := p.s.opts.Location
	now := p.s.now()
	var b strings.Builder
	name := safetext.Line(p.ident.Name, 30)
	title := p.action.Title() + " of " + name
	if p.action == model.ActionCreate {
		title = "Create identity " + name
	}
	b.WriteString(st.DialogTitle.Render(title) + "\n")
	if p.action == model.ActionReissue && p.ident.Enrollment != nil {
		exp := p.ident.Enrollment.ExpiresAt
		b.WriteString(st.Expired.Render("The token expired "+fmtDateTime(exp, loc)+" ("+model.Relative(exp, now)+").") + "\n")
	}
	b.WriteString("\n" + st.Label.Render("Date enrollment expires") + "\n")
	if p.typing {
		b.WriteString(p.input.View() + "\n")
		b.WriteString(st.Muted.Render("A date (2026-12-31) or a time from now (+7d, +36h).") + "\n")
	} else {
		sel := p.sel
		line := sel.Format("Mon 2 Jan 2006") + ", end of day (" + model.Relative(p.expiry(sel), now) + ")"
		if why := p.why(sel); why != "" {
			line = sel.Format("Mon 2 Jan 2006") + " (not allowed)"
		}
		b.WriteString(line + "\n\n")
		b.WriteString(p.calendar())
		b.WriteString("\n" + st.Muted.Render("Dates from "+fmtDate(p.today, loc)+" to "+fmtDate(p.latestDay(), loc)+" can be chosen.") + "\n")
	}
	if p.err != "" {
		b.WriteString(st.Error.Render(p.err) + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// calendar draws the selected date's month, Monday first. The selected
// day is in brackets, today is underlined and days that can't be chosen
// are dimmed and struck through.
func (p *datePicker) calendar() string {
	st := &p.s.styles
	var b strings.Builder
	first := time.Date(p.sel.Year(), p.sel.Month(), 1, 12, 0, 0, 0, p.sel.Location())
	title := first.Format("January 2006")
	b.WriteString(strings.Repeat(" ", max(0, (28-len(title))/2)) + title + "\n")
	b.WriteString(st.Muted.Render(" Mo  Tu  We  Th  Fr  Sa  Su") + "\n")
	lead := (int(first.Weekday()) + 6) % 7 // Monday = 0
	days := first.AddDate(0, 1, -1).Day()
	col := 0
	b.WriteString(strings.Repeat("    ", lead))
	col = lead
	for d := 1; d <= days; d++ {
		day := first.AddDate(0, 0, d-1)
		cell := fmt.Sprintf(" %2d ", d)
		switch {
		case d == p.sel.Day():
			cell = st.CalSelected.Render(fmt.Sprintf("[%2d]", d))
		case p.why(day) != "":
			cell = " " + st.CalDisabled.Render(fmt.Sprintf("%2d", d)) + " "
		case day.Equal(p.today):
			cell = " " + st.CalToday.Render(fmt.Sprintf("%2d", d)) + " "
		}
		b.WriteString(cell)
		col++
		if col == 7 && d < days {
			b.WriteString("\n")
			col = 0
		}
	}
	return b.String()
}
