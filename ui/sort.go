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
var listSorts = []model.SortField{model.SortName, model.SortState, model.SortExpires, model.SortSessions, model.SortCreated}

// listOrder is how a network's list is sorted: the key (o) and whether it
// is reversed (O). The session keeps one a network, so that a list opened
// again is in the order it was left in.
type listOrder struct {
	sort model.SortField
	desc bool
}

// sortWords is how the status line says the order.
func sortWords(f model.SortField, desc bool) string {
	pick := func(asc, rev string) string {
		if desc {
			return rev
		}
		return asc
	}
	switch f {
	case model.SortState:
		return pick("by state", "by state, reversed")
	case model.SortExpires:
		return pick("by expiry, soonest first", "by expiry, latest first")
	case model.SortSessions:
		return pick("by sessions, most first", "by sessions, fewest first")
	case model.SortCreated:
		return pick("by creation, oldest first", "by creation, newest first")
	}
	return pick("by name", "by name, Z to A")
}

// keepOrder records the list's order for its network (listOrder).
func (s *identitiesScreen) keepOrder() {
	if s.s.orders == nil {
		s.s.orders = map[string]listOrder{}
	}
	s.s.orders[s.network.ID] = listOrder{sort: s.sort, desc: s.desc}
}

// reverseSort is O: the same key, the other way round.
func (s *identitiesScreen) reverseSort() tea.Cmd {
	s.desc = !s.desc
	s.keepOrder()
	s.cursor = 0
	s.resetQuery()
	return s.ensurePage()
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
	s.keepOrder()
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
	s.keepOrder()
	s.cursor = 0
	s.resetQuery()
	note := msgCmd(noteMsg{text: describeErr(err) + " Listed by name instead; o skips that order now.", kind: toastNote})
	return tea.Batch(note, s.ensurePage()), true
}

// sortMark is a column's header, with an arrow when the list is sorted
// by it: ▲ for values going up (A to Z, the soonest expiry, the oldest),
// ▼ going down.
func (s *identitiesScreen) sortMark(title string, f model.SortField) string {
	if s.sort == f || f == model.SortName && s.sort == "" {
		return title + s.arrow()
	}
	return title
}

// sessionsMark is the separator before the right-aligned Sessions header:
// the arrow there when the list is sorted by sessions.
func (s *identitiesScreen) sessionsMark() string {
	if s.sort == model.SortSessions {
		return s.arrow()
	}
	return " "
}

// arrow is the direction of the values down the list. Sessions' own order
// is the most first: down, unless reversed.
func (s *identitiesScreen) arrow() string {
	if s.desc != (s.sort == model.SortSessions) {
		return "▼"
	}
	return "▲"
}
