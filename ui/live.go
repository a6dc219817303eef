package ui

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
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

// liveFlow keeps Edit Identity and the list current with what others
// change, and performs the loads of the identity being edited.
type liveFlow struct {
	st        *stage
	listening bool // a command is waiting on Options.Changes
	flushing  bool // a liveDelay timer is set
	polling   bool // a poll timer is set
	reloading bool // a live reload of the open identity is under way
	list      bool // the list's page should be refetched
	ident     bool // the open identity should be reloaded
	lastErr   string

	// by is who last changed the identity byID, as a Change said.
	by, byID string
}

func newLiveFlow(st *stage) *liveFlow { return &liveFlow{st: st} }

type (
	// changeMsg carries one Change; ok is false once the channel closed.
	changeMsg struct {
		change Change
		ok     bool
	}
	liveFlushMsg struct{}
	pollMsg      struct{}
	// liveLoadedMsg answers a live reload of the identity being edited. It
	// shares the sequence of the ordinary reloads (identityScreen.loadSeq),
	// so a mutation or a newer load makes it moot.
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

// keep starts what must be running now: the wait on the changes of other
// sessions, once, and the poll timer while an identity is open.
func (f *liveFlow) keep() tea.Cmd {
	var cmds []tea.Cmd
	s := f.st.s
	if !f.listening && s.opts.Changes != nil {
		f.listening = true
		cmds = append(cmds, waitChangeCmd(s.opts.Changes))
	}
	if d := pollInterval(s, f.st.network, pollRemote); !f.polling && d > 0 && f.st.editing() != nil {
		f.polling = true
		cmds = append(cmds, s.tick(d, func(time.Time) tea.Msg { return pollMsg{} }))
	}
	return tea.Batch(cmds...)
}

// pollInterval is how often a screen of network n asks again: as set, else
// pollLocal on a local database and remote on a controller.
func pollInterval(s *session, n model.Network, remote time.Duration) time.Duration {
	switch d := s.opts.PollInterval; {
	case d < 0:
		return 0
	case d > 0:
		return d
	case n.Kind == "" || n.Kind == "embedded":
		return pollLocal
	}
	return remote
}

// update handles the messages of live updates and the loads of the
// identity being edited (so that a dialog on a stale identity learns of
// them).
func (f *liveFlow) update(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case changeMsg:
		if !msg.ok {
			return nil, true // the session is ending
		}
		f.noteChange(msg.change)
		var cmd tea.Cmd
		if ch := f.st.s.opts.Changes; ch != nil {
			cmd = waitChangeCmd(ch) // the next one
		}
		if (f.list || f.ident) && !f.flushing {
			f.flushing = true
			cmd = tea.Batch(cmd, f.st.s.tick(liveDelay, func(time.Time) tea.Msg { return liveFlushMsg{} }))
		}
		return cmd, true
	case liveFlushMsg:
		f.flushing = false
		var cmds []tea.Cmd
		if f.list {
			f.list = false
			// Only the list in view: one left below Edit Identity refetches
			// when the admin comes back to it.
			if l := f.st.list(); l != nil {
				cmds = append(cmds, l.refresh())
			}
		}
		if f.ident {
			cmds = append(cmds, f.reloadLive())
		}
		return tea.Batch(cmds...), true
	case pollMsg:
		f.polling = false // keep sets the next one while it is needed
		if f.st.editing() == nil {
			return nil, true
		}
		f.ident = true
		return f.reloadLive(), true
	case liveLoadedMsg:
		return f.liveLoaded(msg), true
	case identityLoadedMsg:
		cmd := f.identityLoaded(msg)
		if f.ident {
			cmd = tea.Batch(cmd, f.reloadLive()) // a change came in while it loaded
		}
		return cmd, true
	case retryTickMsg:
		if msg.target != retryIdentity {
			return nil, false
		}
		return f.retryTick(msg), true
	}
	return nil, false
}

// noteChange marks what a change makes out of date.
func (f *liveFlow) noteChange(c Change) {
	if c.Network != "" && c.Network != f.st.network.ID {
		return
	}
	f.list = true
	v := f.st.editing()
	if v == nil || c.IdentityID != "" && c.IdentityID != v.ident.ID {
		return
	}
	f.ident = true
	if c.IdentityID != "" && c.By != "" {
		f.by, f.byID = c.By, c.IdentityID
	}
}

// shown says that Edit Identity shows ident now, for the action flow's
// dialog to check it is not stale.
func (f *liveFlow) shown(ident model.Identity) tea.Cmd {
	by := ""
	if f.byID == ident.ID {
		by = f.by
	}
	return msgCmd(identityShownMsg{ident: ident, by: by})
}

// reloadLive reloads the open identity unless something else is loading
// or changing it (then the flag stays, for when that ends or the next
// poll).
func (f *liveFlow) reloadLive() tea.Cmd {
	v := f.st.editing()
	if v == nil {
		f.ident = false
		return nil
	}
	// While the backend is unreachable its countdown (retry.go) reloads,
	// with backoff: polling meanwhile would hammer it every interval.
	if v.busy != "" || v.loading || f.reloading || v.retry.waiting() {
		return nil
	}
	f.ident = false
	f.reloading = true
	v.loadSeq = f.st.s.nextSeq()
	o := f.st.s.opts
	return liveLoadCmd(o.Backend, o.Timeout, f.st.network.ID, v.ident.ID, v.loadSeq)
}

// liveLoaded shows the reloaded identity. Unlike an ordinary reload it
// draws no spinner, and a failure is said once rather than every second.
func (f *liveFlow) liveLoaded(msg liveLoadedMsg) tea.Cmd {
	f.reloading = false
	v := f.st.editing()
	if v == nil || msg.seq != v.loadSeq || msg.err == nil && msg.identity.ID != v.ident.ID {
		return nil
	}
	if msg.err != nil {
		text := describeErr(msg.err)
		if text == f.lastErr {
			return nil
		}
		f.lastErr = text
		return f.st.toast(text, toastProblem)
	}
	f.lastErr = ""
	v.setIdentity(msg.identity)
	cmd := f.shown(msg.identity)
	if f.ident {
		cmd = tea.Batch(cmd, f.reloadLive())
	}
	return cmd
}

// identityLoaded shows the identity an ordinary (re)load brought.
func (f *liveFlow) identityLoaded(msg identityLoadedMsg) tea.Cmd {
	v := f.st.editing()
	if v == nil || msg.seq != v.loadSeq || msg.identity.ID != "" && msg.identity.ID != v.ident.ID {
		return nil
	}
	v.loading = false
	if msg.err != nil {
		return f.identityFailed(v, msg.err)
	}
	v.setIdentity(msg.identity)
	cmd := f.shown(msg.identity)
	if msg.note != "" {
		cmd = tea.Batch(f.st.toast(msg.note, toastNote), cmd)
	}
	return cmd
}

// identityFailed handles a failed (re)load of the identity being edited:
// an unreachable backend starts a countdown shown on the screen; any other
// failure is said once in a notification.
func (f *liveFlow) identityFailed(v *identityScreen, err error) tea.Cmd {
	if !retryable(err) {
		v.retry = retry{}
		return f.st.toast(describeErr(err), toastProblem)
	}
	return v.retry.schedule(f.st.s, retryIdentity, f.st.network.Kind, err)
}

// retryTick counts down to reloading the identity being edited.
func (f *liveFlow) retryTick(msg retryTickMsg) tea.Cmd {
	v := f.st.editing()
	if v == nil {
		return nil
	}
	cmd, due := v.retry.count(f.st.s, msg)
	if !due {
		return cmd
	}
	if v.busy != "" {
		// A change is under way: its answer shows the identity.
		v.retry = retry{}
		return nil
	}
	return v.reload("")
}
