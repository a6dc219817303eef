package ui

import (
	"charm.land/bubbles/v2/key"

	"github.com/idcon/idcon/model"
)

type listKeys struct {
	Up, Down, PageUp, PageDown, Home, End key.Binding
	Open, Filter, State, Sort, Create     key.Binding
	Reverse                               key.Binding // O: the order the other way round
	Apply, Clear                          key.Binding // while filtering
	// esc while browsing: clear the applied filter, else (bulk.go) the
	// marks, else go back to the network picker.
	Unfilter, Back key.Binding
	// Move stands for up and down on the help line.
	Move key.Binding
}

func newListKeys() listKeys {
	return listKeys{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "page down")),
		Home:     key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("home", "first")),
		End:      key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("end", "last")),
		Open:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		Filter:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		State:    key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "state filter")),
		Sort:     key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "sort order")),
		Reverse:  key.NewBinding(key.WithKeys("O"), key.WithHelp("O", "reverse order")),
		Create:   key.NewBinding(key.WithKeys("+"), key.WithHelp("+", "new identity")),
		Apply:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "done"), key.WithDisabled()),
		Clear:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter"), key.WithDisabled()),
		Unfilter: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter"), key.WithDisabled()),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "networks"), key.WithDisabled()),
		Move:     key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "move")),
	}
}

// setFiltering switches the bindings between browsing and typing a filter.
func (k *listKeys) setFiltering(on bool) {
	for _, b := range []*key.Binding{&k.Up, &k.Down, &k.PageUp, &k.PageDown, &k.Home, &k.End, &k.Open, &k.Filter, &k.State, &k.Sort, &k.Reverse, &k.Create, &k.Move} {
		b.SetEnabled(!on)
	}
	k.Apply.SetEnabled(on)
	k.Clear.SetEnabled(on)
}

// ShortHelp lists the keys most important first (the help line leaves out
// the last ones on a narrow terminal): the bulk actions once something is
// marked, then opening and filtering.
func (s *identitiesScreen) ShortHelp() []key.Binding {
	s.enableEscKeys()
	k := s.keys
	return append(s.bulkShortHelp(), k.Open, k.Filter, s.createKey(), k.State, k.Sort, k.Apply, k.Clear, k.Unfilter, s.bulk.Clear, k.Move, k.Back)
}

// createKey is + as the help shows it: left out for an actor who may not
// create (pressing it still says why).
func (s *identitiesScreen) createKey() key.Binding {
	k := s.keys.Create
	if s.s.refusal(model.ActionCreate) != nil {
		k.SetEnabled(false)
	}
	return k
}

func (s *identitiesScreen) FullHelp() [][]key.Binding {
	s.enableEscKeys()
	k := s.keys
	b := s.bulkFullHelp()
	esc := key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter, marks, back"))
	esc.SetEnabled(!s.filtering)
	return [][]key.Binding{append([]key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End}, b[0]...),
		append([]key.Binding{k.Open, k.Filter, s.createKey(), k.State, k.Sort, k.Reverse, k.Apply, k.Clear, esc}, b[1]...)}
}

// filtered reports a filter in effect: text, a state, or both.
func (s *identitiesScreen) filtered() bool { return s.filter != "" || s.state != "" }

// enableEscKeys gives esc its one meaning now: clear the filter, else the
// marks (bulk.go), else back to the network picker when there is one to
// choose from.
func (s *identitiesScreen) enableEscKeys() {
	browsing := !s.filtering
	s.keys.Unfilter.SetEnabled(browsing && s.filtered())
	s.keys.Back.SetEnabled(browsing && !s.filtered() && !s.marks.any(s.total) && s.canBack)
}
