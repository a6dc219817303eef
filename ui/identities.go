package ui

import (
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// filterDebounce is how long the filter must be still before the backend
// is asked: typing "alice" asks once, not five times.
const filterDebounce = 150 * time.Millisecond

// keepPages bounds the pages kept around the cursor's page, so memory stays
// constant however far the admin scrolls.
const keepPages = 2

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

// stateCycle is the order s steps through: all → enrolled → pending →
// expired → none → all.
var stateCycle = []model.State{"", model.StateEnrolled, model.StatePending, model.StateExpired, model.StateNone}

type cachedPage struct {
	gen   int
	items []model.Identity
}

// identitiesScreen lists a network's identities one page at a time. The
// page is the visible rows; the cursor's page is fetched (and the next one
// prefetched), never the whole network, so Update and View cost the same
// for ten identities or a hundred thousand.
type identitiesScreen struct {
	s       *session
	network model.Network
	keys    listKeys

	input     textinput.Model
	filtering bool
	filterSeq int
	filter    string      // the filter in effect
	state     model.State // "" means all
	sort      model.SortField
	desc      bool // the order reversed (O)
	// unsortable are the orders the backend refused (sort.go).
	unsortable map[model.SortField]bool

	gen      int // bumps with every change of query; older answers are stale
	total    int // -1 until the first answer
	cursor   int
	pageSize int
	pages    map[int]cachedPage // by page offset, at most 2*keepPages+1 entries
	inflight map[int]int        // page offset → gen asked for
	err      error
	retry    retry // asking again for a page the backend couldn't serve (retry.go)

	marks marks    // for the bulk actions (bulk.go)
	bulk  bulkKeys //

	// canBack is set by the root when there is a network picker to go
	// back to (more than one network).
	canBack bool
	quiet   quietFetch    // the poll's request, if one is in flight (refresh.go)
	took    time.Duration // how long the last page took to come

	width, height int
}

func newIdentitiesScreen(s *session, n model.Network) *identitiesScreen {
	in := textinput.New()
	in.Prompt = "/ "
	in.Placeholder = "name or email"
	in.CharLimit = model.MaxNameLen
	in.SetStyles(s.styles.Input)
	noClipboard(&in)
	o := s.orders[n.ID] // the order this network's list was left in
	return &identitiesScreen{
		s: s, network: n, keys: newListKeys(), input: in, bulk: newBulkKeys(),
		sort: o.sort, desc: o.desc,
		total: -1, pages: map[int]cachedPage{}, inflight: map[int]int{},
	}
}

func (s *identitiesScreen) Title() string { return "Identities" }
func (s *identitiesScreen) Busy() bool    { return s.busy() } // refresh.go
func (s *identitiesScreen) Typing() bool  { return s.filtering }
func (s *identitiesScreen) restyle()      { s.input.SetStyles(s.s.styles.Input) }
func (s *identitiesScreen) Init() tea.Cmd { return s.ensurePage() }

// The screen's layout: a status line, the header, then the rows.
const listChrome = 2

func (s *identitiesScreen) SetSize(w, h int) {
	s.width, s.height = w, h
	s.input.SetWidth(max(10, w/2))
	ps := max(1, h-listChrome)
	if ps != s.pageSize {
		// Pages are aligned to the page size: a new size is a new query.
		s.pageSize = ps
		s.resetQuery()
	}
}

// resetQuery drops every page: the query (filter, state, page size) changed.
func (s *identitiesScreen) resetQuery() {
	s.marks.follow(s.filter, s.state)
	s.gen++
	clear(s.pages)
	clear(s.inflight)
	s.err = nil
}

// refresh asks again for the cursor's page, still showing the old rows
// until the answer comes (used when coming back from an identity that may
// have changed).
func (s *identitiesScreen) refresh() tea.Cmd {
	s.gen++
	clear(s.inflight)
	for off := range s.pages {
		if off != s.pageStart() {
			delete(s.pages, off)
		}
	}
	return s.ensurePage()
}

func (s *identitiesScreen) pageStart() int {
	if s.pageSize <= 0 {
		return 0
	}
	return s.cursor / s.pageSize * s.pageSize
}

func (s *identitiesScreen) query(offset int) model.ListQuery {
	return model.ListQuery{Filter: s.filter, State: s.state, Sort: s.sort, Desc: s.desc, Offset: offset, Limit: s.pageSize}
}

// fetch asks for the page at offset unless it is loaded or asked for.
func (s *identitiesScreen) fetch(offset int) tea.Cmd {
	if p, ok := s.pages[offset]; ok && p.gen == s.gen {
		return nil
	}
	if g, ok := s.inflight[offset]; ok && g == s.gen {
		return nil
	}
	s.inflight[offset] = s.gen
	return loadPageCmd(s.s.opts.Backend, s.s.opts.Timeout, s.network.ID, s.gen, s.query(offset))
}

// ensurePage fetches the cursor's page, prefetches the next one once the
// total is known, and forgets pages far from the cursor.
func (s *identitiesScreen) ensurePage() tea.Cmd {
	if s.pageSize <= 0 {
		return nil
	}
	start := s.pageStart()
	cmds := []tea.Cmd{s.fetch(start)}
	if p, ok := s.pages[start]; ok && p.gen == s.gen && start+s.pageSize < s.total {
		cmds = append(cmds, s.fetch(start+s.pageSize))
	}
	for off := range s.pages {
		if off < start-keepPages*s.pageSize || off > start+keepPages*s.pageSize {
			delete(s.pages, off)
		}
	}
	return tea.Batch(cmds...)
}

func (s *identitiesScreen) move(delta int) {
	if s.total <= 0 {
		return
	}
	s.cursor = min(max(0, s.cursor+delta), s.total-1)
}

// current is the identity under the cursor, if its page is loaded.
func (s *identitiesScreen) current() (model.Identity, bool) {
	p, ok := s.pages[s.pageStart()]
	i := s.cursor - s.pageStart()
	if !ok || i < 0 || i >= len(p.items) {
		return model.Identity{}, false
	}
	return p.items[i], true
}

func (s *identitiesScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case pageLoadedMsg:
		return s.pageLoaded(msg)
	case filterTickMsg:
		if msg.seq != s.filterSeq || s.input.Value() == s.filter {
			return nil // a newer keystroke follows, or nothing changed
		}
		return s.applyFilter(s.input.Value())
	case tea.KeyPressMsg:
		if s.filtering {
			return s.updateFilter(msg)
		}
		return s.updateKeys(msg)
	case tea.WindowSizeMsg:
		return s.ensurePage()
	}
	if s.filtering {
		var cmd tea.Cmd
		s.input, cmd = s.input.Update(msg)
		return cmd
	}
	return nil
}

func (s *identitiesScreen) pageLoaded(msg pageLoadedMsg) tea.Cmd {
	if msg.gen != s.gen {
		return nil // answer to an older query
	}
	if g, ok := s.inflight[msg.offset]; ok && g == msg.gen {
		delete(s.inflight, msg.offset)
	}
	polled := s.quiet.on && s.quiet.offset == msg.offset && s.quiet.gen == msg.gen
	if polled {
		s.quiet = quietFetch{}
	}
	s.took = msg.took
	if msg.err != nil {
		if cmd, ok := s.sortRefused(msg.err); ok { // sort.go
			return cmd
		}
		s.err = msg.err
		return s.pageFailed(msg.err)
	}
	s.err, s.retry = nil, retry{}
	if polled && msg.page.Total != s.total {
		// Identities came or went: the other pages' rows have moved.
		clear(s.pages)
	}
	s.pages[msg.offset] = cachedPage{gen: msg.gen, items: msg.page.Items}
	s.total = msg.page.Total
	if s.total > 0 && s.cursor >= s.total {
		s.cursor = s.total - 1
	} else if s.total == 0 {
		s.cursor = 0
	}
	return s.ensurePage()
}

func (s *identitiesScreen) updateKeys(msg tea.KeyPressMsg) tea.Cmd {
	s.enableEscKeys()
	if key.Matches(msg, s.keys.Unfilter) {
		// As in the stock list, k9s and lazygit: the next / starts afresh.
		s.input.SetValue("")
		s.state = ""
		return s.applyFilter("")
	}
	if cmd, ok := s.updateBulkKeys(msg); ok {
		return cmd
	}
	k := s.keys
	switch {
	case key.Matches(msg, k.Back):
		return msgCmd(backMsg{})
	case key.Matches(msg, k.Up):
		s.move(-1)
	case key.Matches(msg, k.Down):
		s.move(1)
	case key.Matches(msg, k.PageUp):
		s.move(-s.pageSize)
	case key.Matches(msg, k.PageDown):
		s.move(s.pageSize)
	case key.Matches(msg, k.Home):
		s.move(-s.cursor)
	case key.Matches(msg, k.End):
		s.move(s.total)
	case key.Matches(msg, k.Open):
		if ident, ok := s.current(); ok {
			return msgCmd(openIdentityMsg{identity: ident})
		}
		return nil
	case key.Matches(msg, k.Filter):
		s.filtering = true
		s.keys.setFiltering(true)
		return s.input.Focus()
	case key.Matches(msg, k.State):
		for i, st := range stateCycle {
			if st == s.state {
				s.state = stateCycle[(i+1)%len(stateCycle)]
				break
			}
		}
		s.cursor = 0
		s.resetQuery()
	case key.Matches(msg, k.Sort):
		return s.cycleSort() // sort.go
	case key.Matches(msg, k.Reverse):
		return s.reverseSort() // sort.go
	case key.Matches(msg, k.Create):
		return msgCmd(createRequestedMsg{}) // create.go; the root says no to a viewer
	default:
		return nil
	}
	return s.ensurePage()
}

func (s *identitiesScreen) updateFilter(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, s.keys.Apply):
		s.stopFiltering()
		if s.input.Value() != s.filter {
			return s.applyFilter(s.input.Value())
		}
		return nil
	case key.Matches(msg, s.keys.Clear):
		s.stopFiltering()
		s.input.SetValue("")
		if s.filter != "" {
			return s.applyFilter("")
		}
		return nil
	}
	before := s.input.Value()
	var cmd tea.Cmd
	s.input, cmd = s.input.Update(msg)
	if s.input.Value() == before {
		return cmd
	}
	s.filterSeq++
	seq := s.filterSeq
	return tea.Batch(cmd, s.s.tick(filterDebounce, func(time.Time) tea.Msg { return filterTickMsg{seq: seq} }))
}

func (s *identitiesScreen) stopFiltering() {
	s.filtering = false
	s.keys.setFiltering(false)
	s.input.Blur()
}

func (s *identitiesScreen) applyFilter(f string) tea.Cmd {
	s.filter = f
	s.filterSeq++ // a pending debounce tick is now moot
	s.cursor = 0
	s.resetQuery()
	return s.ensurePage()
}

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
		pos := fmtCount(start+1) + "–" + fmtCount(end) + " of " + fmtCount(s.total)
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
