package ui

import (
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/model"
)

// filterDebounce is how long the filter must be still before the backend
// is asked: typing "alice" asks once, not five times.
const filterDebounce = 150 * time.Millisecond

// keepPages bounds the pages kept around the cursor's page, so memory stays
// constant however far the admin scrolls.
const keepPages = 2

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

	// canBack is set by the networks flow when there is a network picker to go
	// back to (more than one network).
	canBack bool
	quiet   quietFetch    // the poll's request, if one is in flight (refresh.go)
	took    time.Duration // how long the last page took to come
	// counting: total is a lower bound, the backend still counting (a
	// controller's state filter answers a Quick page before its count);
	// count is the exact query asked for then; exactFor and boundFor are
	// the gens whose total is known exactly, or as a lower bound (-1:
	// none) (counting.go).
	counting           bool
	count              quietFetch
	exactFor, boundFor int

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
		exactFor: -1, boundFor: -1,
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
	s.counting = false
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

// query is the page at offset as the list asks for it: Quick, so a
// backend that counts slowly answers the page first (counting.go).
func (s *identitiesScreen) query(offset int) model.ListQuery {
	return model.ListQuery{Filter: s.filter, State: s.state, Sort: s.sort, Desc: s.desc, Offset: offset, Limit: s.pageSize, Quick: true}
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
	if s.count.is(msg.offset, msg.gen) { // the exact count (counting.go)
		s.count = quietFetch{}
		if msg.err != nil {
			return nil // said nothing of: the poll asks again
		}
	} else {
		s.took = msg.took // the count's wait is not the page's
	}
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
	countCmd := s.counted(msg) // counting.go: sets total
	if s.total > 0 && s.cursor >= s.total {
		s.cursor = s.total - 1
	} else if s.total == 0 {
		s.cursor = 0
	}
	return tea.Batch(countCmd, s.ensurePage())
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
		return msgCmd(createRequestedMsg{}) // create.go; the create flow says no to a viewer
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
