package ui

import (
	"errors"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// listSorts is the order o steps through in the identities list. Each is
// served by the backend (an index of the embedded store, the controller's
// sort, or a bounded scan), never by sorting a page here.
var listSorts = []model.SortField{model.SortName, model.SortState, model.SortExpires, model.SortSessions}

// sortWords is how the status line says the order.
func sortWords(f model.SortField) string {
	switch f {
	case model.SortState:
		return "by state"
	case model.SortExpires:
		return "by expiry, soonest first"
	case model.SortSessions:
		return "by sessions, most first"
	}
	return "by name"
}

// cycleSort steps to the next sort, skipping those the backend refused
// for this list.
func (s *identitiesScreen) cycleSort() tea.Cmd {
	i := 0
	for j, f := range listSorts {
		if f == s.sort {
			i = j
		}
	}
	for range listSorts {
		i = (i + 1) % len(listSorts)
		if !s.unsortable[listSorts[i]] {
			break
		}
	}
	if listSorts[i] == s.sort {
		return nil
	}
	s.sort = listSorts[i]
	s.cursor = 0
	s.resetQuery()
	return s.ensurePage()
}

// sortRefused handles a backend that can't sort by the order asked for (a
// controller has no session counts): the list says why in a toast, goes
// back to name order, and o skips that order from then on.
func (s *identitiesScreen) sortRefused(err error) (tea.Cmd, bool) {
	if !errors.Is(err, backend.ErrSortUnsupported) || s.sort == model.SortName {
		return nil, false
	}
	if s.unsortable == nil {
		s.unsortable = map[model.SortField]bool{}
	}
	s.unsortable[s.sort] = true
	s.sort = model.SortName
	s.cursor = 0
	s.resetQuery()
	note := msgCmd(noteMsg{text: describeErr(err) + " Listed by name instead; o skips that order now.", kind: toastNote})
	return tea.Batch(note, s.ensurePage()), true
}

// sortMark is a column's header, with ▾ when the list is sorted by it.
func (s *identitiesScreen) sortMark(title string, f model.SortField) string {
	if s.sort == f || f == model.SortName && s.sort == "" {
		return title + "▾"
	}
	return title
}

// sessionsMark is the separator before the right-aligned Sessions header:
// ▾ there when the list is sorted by sessions.
func (s *identitiesScreen) sessionsMark() string {
	if s.sort == model.SortSessions {
		return "▾"
	}
	return " "
}
