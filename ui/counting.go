package ui

import (
	"time"

	tea "charm.land/bubbletea/v2"
)

// A backend may answer the list's Quick query with the page before its
// count (model.Page.Counting: a controller's state filter reads every
// enrollment and authenticator to count a state, seconds at 100,000
// identities, where the page takes one request). The list then:
//
//   - shows the page at once, the total as a lower bound: "1–22 of 166+ ·
//     counting…";
//   - asks the same page without Quick, quietly (no spinner: the status
//     line says what it waits for), whose answer brings the exact total;
//     it may wait up to countTimeout (the count is the backend's, not the
//     page's, and the admin goes on meanwhile); should it fail, the list
//     says nothing and goes on counting: the poll asks exactly again;
//   - never lowers a total it knows exactly for this query to a lower
//     bound a later Quick page brings (a page fetched after the backend's
//     count went stale): the poll, which asks without Quick, keeps it
//     right.

// countTimeout bounds the wait for an exact count (at least the backend
// call's timeout).
const countTimeout = 2 * time.Minute

// counted takes the total of a page that came, and asks for the exact
// count if the page has only a lower bound.
func (s *identitiesScreen) counted(msg pageLoadedMsg) tea.Cmd {
	p := msg.page
	if !p.Counting {
		s.total, s.counting, s.exactFor = p.Total, false, msg.gen
		return nil
	}
	if s.exactFor == msg.gen {
		return nil // the exact total stands
	}
	if s.boundFor != msg.gen {
		s.total = p.Total
	}
	s.total, s.counting, s.boundFor = max(p.Total, s.total), true, msg.gen
	if s.count.on && s.count.gen == msg.gen {
		return nil // asked already
	}
	s.count = quietFetch{offset: msg.offset, gen: msg.gen, on: true}
	s.inflight[msg.offset] = msg.gen
	q := s.query(msg.offset)
	q.Quick = false
	return loadPageCmd(s.s.opts.Backend, max(s.s.opts.Timeout, countTimeout), s.network.ID, msg.gen, q)
}

// countText is the total as the status line says it.
func (s *identitiesScreen) countText() string {
	if s.counting {
		return fmtCount(s.total) + "+ · counting…"
	}
	return fmtCount(s.total)
}
