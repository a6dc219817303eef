package ui

import (
	"strings"
	"time"

	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// Column widths of the table, from the pane width.
type listColumns struct{ name, state, expires, sessions, email int }

// Names get the room before emails: up to nameRoom cells, and the email
// column only what is left, shown when at least minEmail cells are (at 80
// columns it isn't; Edit Identity shows the email).
const (
	nameRoom = 24
	minEmail = 10
)

func (s *identitiesScreen) columns() listColumns {
	c := listColumns{state: 8, expires: 13, sessions: 8}
	rest := max(10, s.width-2-c.state-c.expires-c.sessions-4)
	c.name = min(rest, nameRoom)
	if c.email = rest - c.name; c.email < minEmail {
		c.name, c.email = rest+1, 0 // the email's separator too
	}
	return c
}

// emailCell is the email column's " " and cell, or "" when it isn't shown.
func (c listColumns) emailCell(s string) string {
	if c.email == 0 {
		return ""
	}
	return " " + padRight(s, c.email)
}

func (s *identitiesScreen) View() string {
	st := &s.s.styles
	var b strings.Builder
	b.WriteString(s.statusLine())
	b.WriteByte('\n')
	c := s.columns()
	b.WriteString(st.Header.Render("  " + padRight(s.sortMark("Name", model.SortName), c.name) + " " + padRight(s.sortMark("State", model.SortState), c.state) + " " +
		padRight(s.sortMark("Expires", model.SortExpires), c.expires) + s.sessionsMark() + padLeft("Sessions", c.sessions) + c.emailCell("Email")))
	start := s.pageStart()
	page, loaded := s.pages[start]
	now := s.s.now()
	for i := 0; i < s.pageSize; i++ {
		idx := start + i
		if s.total >= 0 && idx >= s.total {
			break
		}
		b.WriteByte('\n')
		if !loaded || i >= len(page.items) {
			if i == 0 || idx == s.cursor {
				b.WriteString(st.Muted.Render("  " + s.s.spinner + " loading…"))
			}
			continue
		}
		b.WriteString(s.row(page.items[i], c, idx == s.cursor, now))
	}
	if s.total == 0 {
		b.WriteString("\n\n  " + st.Muted.Render(s.emptyText()))
	}
	return b.String()
}

func (s *identitiesScreen) emptyText() string {
	if s.filtered() {
		return "No identities match this filter: press esc to clear it."
	}
	return "This network has no identities yet."
}

func (s *identitiesScreen) row(id model.Identity, c listColumns, selected bool, now time.Time) string {
	st := &s.s.styles
	state := id.State(now)
	expires, expired := "—", false
	if id.Enrollment != nil {
		expires = model.Relative(id.Enrollment.ExpiresAt, now)
		expired = !now.Before(id.Enrollment.ExpiresAt)
	}
	name := padRight(safetext.Line(id.Name, c.name), c.name)
	email := c.emailCell(safetext.Line(id.Email, max(1, c.email)))
	stateCell := padRight(string(state), c.state)
	expCell := padRight(expires, c.expires)
	sessions := padLeft(fmtCount(id.ActiveSessions), c.sessions)
	if selected {
		// One style over the whole row: nested colours would end the
		// reverse video half-way. The marker says "selected" without colour.
		return st.Selected.Render(s.rowMarker(id.ID, true) + name + " " + stateCell + " " + expCell + " " + sessions + email)
	}
	if expired {
		expCell = st.Expired.Render(expCell)
	}
	return s.rowMarker(id.ID, false) + name + " " + st.State[state].Render(stateCell) + " " + expCell + " " + sessions + email
}

func (s *identitiesScreen) statusLine() string {
	st := &s.s.styles
	var parts []string
	switch {
	case s.total < 0:
		parts = append(parts, s.s.spinner+" loading…")
	case s.total == 0:
		parts = append(parts, "0 of 0")
	default:
		start := s.pageStart()
		end := min(start+s.pageSize, s.total)
		pos := fmtCount(start+1) + "–" + fmtCount(end) + " of " + s.countText()
		if s.Busy() {
			pos += " " + s.s.spinner
		}
		parts = append(parts, pos)
	}
	state := "all"
	if s.state != "" {
		state = string(s.state)
	}
	parts = append(parts, "state: "+state)
	if s.sort != model.SortName && s.sort != "" || s.desc {
		parts = append(parts, sortWords(s.sort, s.desc)) // by name, A to Z: the header's arrow alone says it
	}
	if m := s.marksStatus(); m != "" {
		parts = append(parts, m)
	}
	var line string
	if s.filtering {
		line = s.input.View() + "  " + st.Muted.Render(strings.Join(parts, " · "))
	} else {
		if s.filter != "" {
			parts = append(parts, "filter: "+safetext.Line(s.filter, 24))
		}
		line = strings.Join(parts, " · ")
	}
	if s.err != nil {
		line += "  " + st.Error.Render(safetext.Line(s.errText(), max(10, s.width-len(line)-2)))
	}
	return line
}
