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

func (a *App) listPollInterval() time.Duration {
	switch d := a.s.opts.PollInterval; {
	case d < 0:
		return 0
	case d > 0:
		return d
	case a.network.Kind == "" || a.network.Kind == "embedded":
		return pollLocal
	}
	return listPollRemote
}

// keepListPolled sets the next poll while the list is on top.
func (a *App) keepListPolled() tea.Cmd {
	d := a.listPollInterval()
	if a.live.listPolling || d <= 0 {
		return nil
	}
	l, ok := a.top().(*identitiesScreen)
	if !ok {
		return nil
	}
	d = max(d, pollCostFactor*l.took)
	a.live.listPolling = true
	return a.s.tick(d, func(time.Time) tea.Msg { return listPollMsg{} })
}

// updateRefresh handles the list's polls; ok is false for anything else.
func (a *App) updateRefresh(msg tea.Msg) (tea.Cmd, bool) {
	if _, ok := msg.(listPollMsg); !ok {
		return nil, false
	}
	a.live.listPolling = false // keepListPolled sets the next one
	if l, ok := a.top().(*identitiesScreen); ok {
		return l.poll(), true
	}
	return nil, true
}

// refresh is ctrl+r: the screen on top asks the backend again.
func (a *App) refresh() tea.Cmd {
	switch t := a.top().(type) {
	case *identitiesScreen:
		return t.refresh()
	case *identityScreen:
		if t.busy != "" || t.loading {
			return nil // its answer is coming
		}
		return a.reload(t, "")
	case *networksScreen:
		return a.pollNetworksNow()
	case nil:
		if !a.loading {
			return a.loadNetworks()
		}
	}
	return nil
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
	return loadPageCmd(s.s.opts.Backend, s.s.opts.Timeout, s.network.ID, s.gen, s.query(off))
}

// busy reports a page request in flight other than a poll's.
func (s *identitiesScreen) busy() bool {
	for off, g := range s.inflight {
		if !s.quiet.on || off != s.quiet.offset || g != s.quiet.gen {
			return true
		}
	}
	return false
}

// identityCount is the open network's identity count for the sidebar: the
// list's total when it shows the whole network (so the two always agree),
// else the count the networks were last loaded with.
func (a *App) identityCount() int {
	for _, c := range a.stack {
		if l, ok := c.(*identitiesScreen); ok && l.network.ID == a.network.ID && !l.filtered() && l.total >= 0 {
			return l.total
		}
	}
	return a.network.Identities
}
