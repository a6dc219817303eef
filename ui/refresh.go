package ui

import (
	"time"

	tea "charm.land/bubbletea/v2"
)

// Keeping screens current with what other processes change (the CLI in
// another terminal, another server on the same database, a controller's
// own console), which no Change reports:
//
//   - ctrl+r asks the backend again at once, on every screen: the list's
//     page, the identity being edited, the networks of the picker.
//   - The open list's visible page is asked for again every poll interval
//     (1 s on a local database, 2 s on a remote one), quietly: no spinner,
//     the rows stay until the answer replaces them. One page query, whose
//     count also keeps the header's total (and the sidebar's, which
//     follows it) right. A filter counts its matches by scanning the
//     network (about 0.1 s for 100,000 identities on the embedded
//     backend), so the poll waits at least ten times as long as the last
//     page took: polling never takes more than a tenth of the backend's
//     time, and the list is current within 2 s while a page takes less
//     than 0.2 s.

// listPollMsg: time to ask for the list's visible page again.
type listPollMsg struct{}

// listPollRemote is the list's poll interval on a remote network: within
// two seconds, as for a local one, at half the rate.
const listPollRemote = 2 * time.Second

// pollCostFactor bounds the list's polling to a tenth of the backend's time.
const pollCostFactor = 10

// refreshMsg is ctrl+r: the screen on top asks the backend again.
type refreshMsg struct{}

// refreshFlow keeps the list's visible page current, and performs ctrl+r
// on the list and on Edit Identity (the networks flow, netpoll.go, on the
// picker).
type refreshFlow struct {
	st      *stage
	polling bool // a timer to poll the list's page is set
}

func newRefreshFlow(st *stage) *refreshFlow { return &refreshFlow{st: st} }

// keep sets the next poll while the list is on top.
func (f *refreshFlow) keep() tea.Cmd {
	d := pollInterval(f.st.s, f.st.network, listPollRemote)
	if f.polling || d <= 0 {
		return nil
	}
	l := f.st.list()
	if l == nil {
		return nil
	}
	d = max(d, pollCostFactor*l.took)
	f.polling = true
	return f.st.s.tick(d, func(time.Time) tea.Msg { return listPollMsg{} })
}

func (f *refreshFlow) update(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case listPollMsg:
		f.polling = false // keep sets the next one
		if l := f.st.list(); l != nil {
			return l.poll(), true
		}
		return nil, true
	case refreshMsg:
		switch t := f.st.top().(type) {
		case *identitiesScreen:
			return t.refresh(), true
		case *identityScreen:
			if t.busy != "" || t.loading {
				return nil, true // its answer is coming
			}
			return t.reload(""), true
		}
	case retryTickMsg:
		if msg.target != retryList {
			return nil, false
		}
		// The list counts down even under another screen; it asks again
		// only when shown (coming back to it asks anyway).
		stack := f.st.stack
		for i := len(stack) - 1; i >= 0; i-- {
			if l, ok := stack[i].(*identitiesScreen); ok {
				return l.retryTick(msg, i == len(stack)-1), true
			}
		}
		return nil, true
	}
	return nil, false
}

// quietFetch is a poll's page request: it draws no spinner.
type quietFetch struct {
	offset, gen int
	on          bool
}

// poll asks again for the visible page, unless a page is being fetched
// anyway. It keeps the query (no new gen), so its answer simply replaces
// the page it asked for.
func (s *identitiesScreen) poll() tea.Cmd {
	if len(s.inflight) > 0 || s.pageSize <= 0 || s.retry.waiting() {
		return nil
	}
	off := s.pageStart()
	s.inflight[off] = s.gen
	s.quiet = quietFetch{offset: off, gen: s.gen, on: true}
	// Not Quick: in the background, the exact count is worth its wait, and
	// a total known exactly never drops back to a lower bound.
	q := s.query(off)
	q.Quick = false
	return loadPageCmd(s.s.opts.Backend, s.s.opts.Timeout, s.network.ID, s.gen, q)
}

// busy reports a page request in flight other than a poll's or a count's.
func (s *identitiesScreen) busy() bool {
	for off, g := range s.inflight {
		if !s.quiet.is(off, g) && !s.count.is(off, g) {
			return true
		}
	}
	return false
}

func (q quietFetch) is(offset, gen int) bool { return q.on && q.offset == offset && q.gen == gen }
