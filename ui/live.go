package ui

import (
	"context"
	"fmt"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// Live updates: what another admin changes shows here without a keypress.
//
//   - Under the SSH server every session's changes reach the others through
//     Options.Changes. A change to the network shown refetches the list's
//     visible page; a change to the identity open in Edit Identity reloads
//     it. Changes that come in a burst (a bulk action elsewhere) are
//     gathered for liveDelay and acted on once.
//   - Changes made outside this process (the CLI in another terminal, a
//     controller's own web console) are caught by polling: while Edit
//     Identity is open, the identity is reloaded every PollInterval, one
//     indexed query; while the list is open, its visible page is (see
//     refresh.go for how that is paced).
//
// A date picker or confirmation open on an identity that has since changed
// says so and refuses to go on (the backend's revision check would refuse
// too, but only after the admin confirmed something they no longer see).

// Change says that an identity changed. Empty fields widen it: no
// IdentityID means anything in Network, no Network means anything at all.
type Change struct {
	Network    string // network ID
	IdentityID string
	By         string // who changed it, as the audit log names them
}

// Polling intervals when Options.PollInterval is zero: a local database
// answers an indexed query in microseconds; a controller is a round trip
// away and shared with others.
const (
	pollLocal  = time.Second
	pollRemote = 5 * time.Second
	// liveDelay gathers a burst of changes into one refetch.
	liveDelay = 100 * time.Millisecond
)

// liveState is the root's bookkeeping for live updates.
type liveState struct {
	listening bool // a command is waiting on Options.Changes
	flushing  bool // a liveDelay timer is set
	polling   bool // a poll timer is set
	reloading bool // a live reload of the open identity is under way
	// netPolling: a timer to ask for the networks again is set;
	// netAsking: the asking is under way (netpoll.go).
	netPolling, netAsking bool
	listPolling           bool // a timer to poll the list's page is set (refresh.go)
	list                  bool // the list's page should be refetched
	ident                 bool // the open identity should be reloaded
	lastErr               string

	// by is who last changed the identity byID, as a Change said.
	by, byID string
}

type (
	// changeMsg carries one Change; ok is false once the channel closed.
	changeMsg struct {
		change Change
		ok     bool
	}
	liveFlushMsg struct{}
	pollMsg      struct{}
	// liveLoadedMsg answers a live reload of the identity being edited. It
	// shares the sequence of the ordinary reloads (App.editSeq), so a
	// mutation or a newer load makes it moot.
	liveLoadedMsg struct {
		seq      int
		identity model.Identity
		err      error
	}
)

func waitChangeCmd(ch <-chan Change) tea.Cmd {
	return func() tea.Msg {
		c, ok := <-ch
		return changeMsg{change: c, ok: ok}
	}
}

func liveLoadCmd(b backend.Backend, timeout time.Duration, network, id string, seq int) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		ident, err := b.Identity(ctx, network, id)
		return liveLoadedMsg{seq: seq, identity: ident, err: err}
	}
}

// keepLive starts what must be running now: the wait on the changes of
// other sessions, once, and the poll timer while an identity is open.
func (a *App) keepLive() tea.Cmd {
	var cmds []tea.Cmd
	if !a.live.listening && a.s.opts.Changes != nil {
		a.live.listening = true
		cmds = append(cmds, waitChangeCmd(a.s.opts.Changes))
	}
	if d := a.pollInterval(); !a.live.polling && d > 0 && a.editing() != nil {
		a.live.polling = true
		cmds = append(cmds, a.s.tick(d, func(time.Time) tea.Msg { return pollMsg{} }))
	}
	cmds = append(cmds, a.keepNetworksPolled(), a.keepListPolled()) // netpoll.go, refresh.go
	return tea.Batch(cmds...)
}

func (a *App) pollInterval() time.Duration {
	switch d := a.s.opts.PollInterval; {
	case d < 0:
		return 0
	case d > 0:
		return d
	case a.network.Kind == "" || a.network.Kind == "embedded":
		return pollLocal
	}
	return pollRemote
}

// updateLive handles the messages of live updates, and the ordinary
// identity reload so that a dialog on a stale identity learns of it.
func (a *App) updateLive(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case changeMsg:
		if !msg.ok {
			return nil, true // the session is ending
		}
		a.noteChange(msg.change)
		var cmd tea.Cmd
		if a.s.opts.Changes != nil {
			cmd = waitChangeCmd(a.s.opts.Changes) // the next one
		}
		if (a.live.list || a.live.ident) && !a.live.flushing {
			a.live.flushing = true
			cmd = tea.Batch(cmd, a.s.tick(liveDelay, func(time.Time) tea.Msg { return liveFlushMsg{} }))
		}
		return cmd, true
	case liveFlushMsg:
		a.live.flushing = false
		var cmds []tea.Cmd
		if a.live.list {
			a.live.list = false
			// Only the list in view: one left below Edit Identity refetches
			// when the admin comes back to it.
			if l, ok := a.top().(*identitiesScreen); ok {
				cmds = append(cmds, l.refresh())
			}
		}
		if a.live.ident {
			cmds = append(cmds, a.reloadLive())
		}
		return tea.Batch(cmds...), true
	case pollMsg:
		a.live.polling = false // keepLive sets the next one while it is needed
		if a.editing() == nil {
			return nil, true
		}
		a.live.ident = true
		return a.reloadLive(), true
	case liveLoadedMsg:
		return a.liveLoaded(msg), true
	case identityLoadedMsg:
		v := a.editing()
		applied := v != nil && msg.seq == a.editSeq && msg.err == nil && msg.identity.ID == v.ident.ID
		cmd := a.identityLoaded(msg)
		if applied {
			cmd = tea.Batch(cmd, a.checkStale(msg.identity))
		}
		if a.live.ident {
			cmd = tea.Batch(cmd, a.reloadLive()) // a change came in while it loaded
		}
		return cmd, true
	}
	return nil, false
}

// noteChange marks what a change makes out of date.
func (a *App) noteChange(c Change) {
	if c.Network != "" && c.Network != a.network.ID {
		return
	}
	a.live.list = true
	v := a.editing()
	if v == nil || c.IdentityID != "" && c.IdentityID != v.ident.ID {
		return
	}
	a.live.ident = true
	if c.IdentityID != "" && c.By != "" {
		a.live.by, a.live.byID = c.By, c.IdentityID
	}
}

// reloadLive reloads the open identity unless something else is loading
// or changing it (then the flag stays, for when that ends or the next
// poll).
func (a *App) reloadLive() tea.Cmd {
	v := a.editing()
	if v == nil {
		a.live.ident = false
		return nil
	}
	// While the backend is unreachable its countdown (retry.go) reloads,
	// with backoff: polling meanwhile would hammer it every interval.
	if v.busy != "" || v.loading || a.live.reloading || v.retry.waiting() {
		return nil
	}
	a.live.ident = false
	a.live.reloading = true
	a.editSeq = a.s.nextSeq()
	return liveLoadCmd(a.s.opts.Backend, a.s.opts.Timeout, a.network.ID, v.ident.ID, a.editSeq)
}

// liveLoaded shows the reloaded identity. Unlike an ordinary reload it
// draws no spinner, and a failure is said once rather than every second.
func (a *App) liveLoaded(msg liveLoadedMsg) tea.Cmd {
	a.live.reloading = false
	v := a.editing()
	if v == nil || msg.seq != a.editSeq || msg.err == nil && msg.identity.ID != v.ident.ID {
		return nil
	}
	if msg.err != nil {
		text := describeErr(msg.err)
		if text == a.live.lastErr {
			return nil
		}
		a.live.lastErr = text
		return a.toasts.add(text, toastProblem)
	}
	a.live.lastErr = ""
	v.setIdentity(msg.identity)
	cmd := a.checkStale(msg.identity)
	if a.live.ident {
		cmd = tea.Batch(cmd, a.reloadLive())
	}
	return cmd
}

// checkStale puts a note over the date picker or confirmation of an
// enrollment action when the identity it was opened for has changed since,
// and keeps it from going on.
func (a *App) checkStale(ident model.Identity) tea.Cmd {
	f := a.flow
	if f.action == "" || a.dialog == nil || ident.ID != f.ident.ID || ident.Revision == f.ident.Revision {
		return nil
	}
	if _, done := a.dialog.(*staleDialog); done {
		return nil
	}
	by := ""
	if a.live.byID == ident.ID && a.live.by != "" {
		by = " by " + safetext.Line(a.live.by, 30)
	}
	text := fmt.Sprintf("%s was changed%s meanwhile: press esc and look again.", safetext.Line(ident.Name, 40), by)
	a.openDialog(newStaleDialog(a.s, a.dialog, text))
	return nil
}

// staleDialog is a dialog whose identity changed under it: it still shows
// what the admin was doing, says what happened, and only closes.
type staleDialog struct {
	s     *session
	inner component
	text  string
	keys  struct{ Close key.Binding }
	width int
}

func newStaleDialog(s *session, inner component, text string) *staleDialog {
	d := &staleDialog{s: s, inner: inner, text: text}
	d.keys.Close = key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close and look again"))
	return d
}

func (d *staleDialog) Title() string             { return d.inner.Title() }
func (d *staleDialog) Busy() bool                { return false }
func (d *staleDialog) Typing() bool              { return false }
func (d *staleDialog) Init() tea.Cmd             { return nil }
func (d *staleDialog) ShortHelp() []key.Binding  { return []key.Binding{d.keys.Close} }
func (d *staleDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }
func (d *staleDialog) SetSize(w, h int)          { d.width = w; d.inner.SetSize(w, h) }

func (d *staleDialog) restyle() {
	if r, ok := d.inner.(restyler); ok {
		r.restyle()
	}
}

func (d *staleDialog) Update(msg tea.Msg) tea.Cmd {
	if km, ok := msg.(tea.KeyPressMsg); ok && key.Matches(km, d.keys.Close) {
		return msgCmd(cancelledMsg{})
	}
	return nil
}

func (d *staleDialog) View() string {
	w := d.width
	if w <= 0 {
		w = 56
	}
	return d.inner.View() + "\n\n" + d.s.styles.Error.Render(lipgloss.Wrap(d.text, w, " "))
}
