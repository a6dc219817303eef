package ui

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// The networks flow: the networks loaded at start (counted down and asked
// again while the backend is unreachable, retry.go), the network picker
// and the network chosen in it, remembered for next time. While the
// picker is shown, the networks are asked for again every poll interval, so a network created meanwhile (idcon network
// create in another terminal, on the first run above all) appears without
// a keypress, and on a first run with no network at all the first one
// opens by itself.

// The networks flow's messages.
type (
	// networksLoadedMsg answers the start-up load: the networks and the
	// network remembered from the last run ("" if none).
	networksLoadedMsg struct {
		networks []model.Network
		last     string
		err      error
	}
	// networkChosenMsg: the admin picked a network in the picker.
	networkChosenMsg struct{ network model.Network }
	// stateSavedMsg reports the writing of the state file.
	stateSavedMsg struct{ err error }
	// netPollMsg: time to ask for the networks again.
	netPollMsg struct{}
	// networksPolledMsg answers a poll of the networks.
	networksPolledMsg struct {
		networks []model.Network
		err      error
	}
)

func pollNetworksCmd(b backend.Backend, timeout time.Duration) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		nets, err := b.Networks(ctx)
		return networksPolledMsg{networks: nets, err: err}
	}
}

// networksFlow holds the networks as last loaded and opens the one chosen.
type networksFlow struct {
	st       *stage
	networks []model.Network // nil until loaded
	loading  bool
	loadErr  error
	retry    retry // the countdown to loading the networks again
	polling  bool  // a timer to ask for the networks again is set
	asking   bool  // the asking is under way
}

func newNetworksFlow(st *stage) *networksFlow { return &networksFlow{st: st, loading: true} }

// load asks for the networks and the one remembered from the last run.
func (f *networksFlow) load() tea.Cmd {
	f.loading, f.loadErr = true, nil
	o := f.st.s.opts
	return loadNetworksCmd(o.Backend, o.Timeout, o.StateFile)
}

func (f *networksFlow) canBack() bool { return len(f.networks) > 1 }

// interval is how often the picker asks for the networks: as often as an
// open identity is polled on a local database, less often when a
// controller is among them.
func (f *networksFlow) interval() time.Duration {
	switch d := f.st.s.opts.PollInterval; {
	case d < 0:
		return 0
	case d > 0:
		return d
	}
	for _, n := range f.networks {
		if n.Kind != "" && n.Kind != "embedded" {
			return pollRemote
		}
	}
	return pollLocal
}

// keep sets the next poll while the picker is shown.
func (f *networksFlow) keep() tea.Cmd {
	d := f.interval()
	if f.polling || d <= 0 || f.st.picker() == nil {
		return nil
	}
	f.polling = true
	return f.st.s.tick(d, func(time.Time) tea.Msg { return netPollMsg{} })
}

// pollNow asks for the networks unless that is under way.
func (f *networksFlow) pollNow() tea.Cmd {
	if f.asking {
		return nil
	}
	f.asking = true
	o := f.st.s.opts
	return pollNetworksCmd(o.Backend, o.Timeout)
}

func (f *networksFlow) update(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case networksLoadedMsg:
		return f.loaded(msg), true
	case networkChosenMsg:
		return tea.Batch(f.st.openNetwork(msg.network, f.canBack()), saveLastNetworkCmd(f.st.s.opts.StateFile, msg.network.ID)), true
	case stateSavedMsg:
		if msg.err != nil {
			return f.st.toast("Could not remember the network for next time: "+msg.err.Error(), toastProblem), true
		}
		return nil, true
	case retryTickMsg:
		if msg.target != retryNetworks {
			return nil, false
		}
		cmd, due := f.retry.count(f.st.s, msg)
		if due {
			return f.load(), true
		}
		return cmd, true
	case netPollMsg:
		f.polling = false // keep sets the next one while needed
		if f.st.picker() == nil {
			return nil, true
		}
		return f.pollNow(), true
	case networksPolledMsg:
		f.asking = false
		if msg.err != nil {
			return nil, true // the picker keeps what it shows; the next poll asks again
		}
		return f.polled(msg.networks), true
	case refreshMsg:
		switch f.st.top().(type) {
		case *networksScreen:
			return f.pollNow(), true
		case nil:
			if !f.loading {
				return f.load(), true
			}
			return nil, true
		}
	case backMsg:
		// The list's way back, when it is the only screen: the network it is of.
		if len(f.st.stack) <= 1 {
			if f.st.list() != nil && f.canBack() {
				return f.openPicker(), true
			}
			return nil, true
		}
	}
	return nil, false
}

func (f *networksFlow) loaded(msg networksLoadedMsg) tea.Cmd {
	f.loading = false
	if msg.err != nil {
		return f.failed(msg.err)
	}
	f.retry = retry{}
	f.networks = msg.networks
	if f.networks == nil {
		f.networks = []model.Network{} // loaded, and none: the picker says what to do
	}
	var open []model.Network
	for _, n := range msg.networks {
		if n.Status == "" {
			open = append(open, n)
		}
		if msg.last != "" && n.ID == msg.last && n.Status == "" {
			return f.st.openNetwork(n, f.canBack())
		}
	}
	if len(msg.networks) == 1 && len(open) == 1 {
		return f.st.openNetwork(open[0], f.canBack())
	}
	return f.st.push(newNetworksScreen(f.st.s, f.networks, f.st.network.ID)) // just loaded
}

// failed records why the networks couldn't be loaded and, when the
// backend was unreachable, starts the countdown to the next try.
func (f *networksFlow) failed(err error) tea.Cmd {
	f.loadErr = err
	if !retryable(err) {
		f.retry = retry{}
		return nil
	}
	return f.retry.schedule(f.st.s, retryNetworks, "", err)
}

// openPicker is n: the network picker, loading the networks first if they
// never were.
func (f *networksFlow) openPicker() tea.Cmd {
	if f.networks == nil {
		return f.load()
	}
	if f.st.picker() != nil {
		return nil
	}
	// The networks were loaded earlier: ask again at once for those
	// created since.
	return tea.Batch(f.st.push(newNetworksScreen(f.st.s, f.networks, f.st.network.ID)), f.pollNow())
}

func (f *networksFlow) polled(nets []model.Network) tea.Cmd {
	if nets == nil {
		nets = []model.Network{}
	}
	wasEmpty := len(f.networks) == 0
	f.networks = nets
	st := f.st
	for _, n := range nets {
		if n.ID == st.network.ID {
			st.network.Identities = n.Identities // the sidebar's count when the list is filtered
		}
	}
	for _, c := range st.stack {
		if l, ok := c.(*identitiesScreen); ok {
			l.canBack = len(nets) > 1
		}
	}
	p := st.picker()
	if p == nil {
		return nil
	}
	// The first network of a first run opens as it would have at start.
	if wasEmpty && st.network.ID == "" && len(nets) == 1 && nets[0].Status == "" {
		return st.openNetwork(nets[0], f.canBack())
	}
	p.setNetworks(nets)
	return nil
}

// view is the main pane while no screen is open: loading, or why the
// networks could not be loaded.
func (f *networksFlow) view() string {
	st := &f.st.s.styles
	switch {
	case f.loadErr != nil:
		countdown := ""
		if f.retry.waiting() {
			countdown = st.Error.Render(f.retry.text()) + "\n"
		}
		return st.Error.Render("Could not load the networks.") + "\n" +
			safetext.Clean(describeErr(f.loadErr)) + "\n\n" + countdown + st.Muted.Render("Press n to try again, q to quit.")
	case f.loading:
		return f.st.s.spinner + " Loading networks…"
	}
	return ""
}
