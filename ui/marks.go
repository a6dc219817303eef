package ui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// Bulk actions: in the identities list, space marks an identity, a marks
// every identity matching the filter, esc clears the marks; r and i then
// reset or reissue every marked identity whose state allows it, after one
// date picker and one confirmation, with a progress dialog that ends in a
// summary. The backend does the work (backend.Bulker): the console holds
// the selection symbolically and never loads the identities it names.

// marks is the list's selection. Either a few identities marked one by one
// (a small map), or every identity matching the query the list showed when
// a was pressed, less the few unmarked since: nothing is loaded for it,
// so marking 100,000 identities costs what marking one does.
type marks struct {
	all    bool
	filter string      // the query all was taken for
	state  model.State //
	ids    map[string]struct{}
	except map[string]struct{}
}

func (m *marks) has(id string) bool {
	if m.all {
		_, out := m.except[id]
		return !out
	}
	_, in := m.ids[id]
	return in
}

// toggle marks or unmarks one identity.
func (m *marks) toggle(id string) {
	set := &m.ids
	if m.all {
		set = &m.except
	}
	if *set == nil {
		*set = map[string]struct{}{}
	}
	if _, ok := (*set)[id]; ok {
		delete(*set, id)
	} else {
		(*set)[id] = struct{}{}
	}
}

func (m *marks) markAll(filter string, state model.State) {
	*m = marks{all: true, filter: filter, state: state}
}

func (m *marks) clear() { *m = marks{} }

// follow keeps the marks in step with the list's query: "all matching" is
// about the query it was taken for, so a new filter or state drops it.
// Identities marked one by one stay marked.
func (m *marks) follow(filter string, state model.State) {
	if m.all && (filter != m.filter || state != m.state) {
		m.clear()
	}
}

// count is how many identities are marked, given how many match the
// list's query now.
func (m *marks) count(total int) int {
	if m.all {
		return max(0, total-len(m.except))
	}
	return len(m.ids)
}

func (m *marks) any(total int) bool { return m.count(total) > 0 }

// selection is the marks as the backend takes them.
func (m *marks) selection() backend.Selection {
	if m.all {
		sel := backend.Selection{All: true, Filter: m.filter, State: m.state}
		for id := range m.except {
			sel.Except = append(sel.Except, id)
		}
		return sel
	}
	sel := backend.Selection{}
	for id := range m.ids {
		sel.IDs = append(sel.IDs, id)
	}
	return sel
}

type bulkKeys struct {
	Mark, MarkAll, Clear, Reset, Reissue key.Binding
	// Act stands for Reset and Reissue on the help line.
	Act key.Binding
}

func newBulkKeys() bulkKeys {
	return bulkKeys{
		Mark:    key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "mark")),
		MarkAll: key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "mark all")),
		Clear:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear marks"), key.WithDisabled()),
		Reset:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reset marked"), key.WithDisabled()),
		Reissue: key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "reissue marked"), key.WithDisabled()),
		Act:     key.NewBinding(key.WithKeys("r", "i"), key.WithHelp("r/i", "reset/reissue marked"), key.WithDisabled()),
	}
}

// enableBulkKeys shows the keys that do something now: marking while
// browsing, the actions and esc only with marks.
func (s *identitiesScreen) enableBulkKeys() {
	browsing := !s.filtering
	marked := s.marks.any(s.total)
	s.bulk.Mark.SetEnabled(browsing)
	s.bulk.MarkAll.SetEnabled(browsing)
	s.bulk.Clear.SetEnabled(browsing && marked && !s.filtered()) // esc clears the filter first
	s.bulk.Reset.SetEnabled(browsing && marked)
	s.bulk.Reissue.SetEnabled(browsing && marked)
	s.bulk.Act.SetEnabled(browsing && marked)
}

// bulkShortHelp is the bulk actions for the help bar, once something is
// marked (how to mark is in the full help; esc clearing the marks is
// listed by the list with its other esc keys).
func (s *identitiesScreen) bulkShortHelp() []key.Binding {
	s.enableBulkKeys()
	return []key.Binding{s.bulk.Act}
}

// bulkFullHelp is the bulk keys for the full help's two columns: every
// one, those that wait for marks too, so that ? tells how bulk actions go
// before anything is marked (esc is with the list's, in listEscHelp).
func (s *identitiesScreen) bulkFullHelp() [2][]key.Binding {
	s.enableBulkKeys()
	b := s.bulk
	if !s.filtering {
		for _, k := range []*key.Binding{&b.Reset, &b.Reissue} {
			k.SetEnabled(true) // b is a copy: the keys themselves stay as they are
		}
	}
	return [2][]key.Binding{{b.Mark, b.MarkAll}, {b.Reset, b.Reissue}}
}

// updateBulkKeys handles the bulk keys while browsing; ok is false for any
// other key.
func (s *identitiesScreen) updateBulkKeys(msg tea.KeyPressMsg) (tea.Cmd, bool) {
	s.enableBulkKeys()
	b := s.bulk
	switch {
	case key.Matches(msg, b.Mark):
		if ident, ok := s.current(); ok {
			s.marks.toggle(ident.ID)
			s.move(1) // like a file manager: mark and go on
			return s.ensurePage(), true
		}
		return nil, true
	case key.Matches(msg, b.MarkAll):
		if s.total > 0 {
			s.marks.markAll(s.filter, s.state)
		}
		return nil, true
	case key.Matches(msg, b.Clear):
		s.marks.clear()
		return nil, true
	case key.Matches(msg, b.Reset):
		return s.requestBulk(model.ActionReset), true
	case key.Matches(msg, b.Reissue):
		return s.requestBulk(model.ActionReissue), true
	}
	return nil, false
}

func (s *identitiesScreen) requestBulk(a model.Action) tea.Cmd {
	return msgCmd(bulkRequestedMsg{action: a, sel: s.marks.selection(), marked: s.marks.count(s.total)})
}

// rowMarker is a row's first two cells: the cursor, then the mark.
func (s *identitiesScreen) rowMarker(id string, selected bool) string {
	cur, mark := " ", " "
	if selected {
		cur = "›"
	}
	if s.marks.has(id) {
		mark = "✓"
	}
	return cur + mark
}

// marksStatus is the status line's part about the marks, or "".
func (s *identitiesScreen) marksStatus() string {
	n := s.marks.count(s.total)
	if n == 0 {
		return ""
	}
	if s.marks.all && len(s.marks.except) == 0 {
		return fmtCount(n) + " marked (all matching)"
	}
	return fmtCount(n) + " marked"
}
