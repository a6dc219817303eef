package ui

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// While the network picker is shown, the networks are asked for again
// every poll interval, so a network created meanwhile (idcon network
// create in another terminal, on the first run above all) appears without
// a keypress, and on a first run with no network at all the first one
// opens by itself.

type (
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

// picker is the network picker on top, if it is.
func (a *App) picker() *networksScreen {
	p, _ := a.top().(*networksScreen)
	return p
}

// netPollInterval is how often the picker asks for the networks: as often
// as an open identity is polled on a local database, less often when a
// controller is among them.
func (a *App) netPollInterval() time.Duration {
	switch d := a.s.opts.PollInterval; {
	case d < 0:
		return 0
	case d > 0:
		return d
	}
	for _, n := range a.networks {
		if n.Kind != "" && n.Kind != "embedded" {
			return pollRemote
		}
	}
	return pollLocal
}

// keepNetworksPolled sets the next poll while the picker is shown.
func (a *App) keepNetworksPolled() tea.Cmd {
	d := a.netPollInterval()
	if a.live.netPolling || d <= 0 || a.picker() == nil {
		return nil
	}
	a.live.netPolling = true
	return a.s.tick(d, func(time.Time) tea.Msg { return netPollMsg{} })
}

// pollNetworksNow asks for the networks unless that is under way.
func (a *App) pollNetworksNow() tea.Cmd {
	if a.live.netAsking {
		return nil
	}
	a.live.netAsking = true
	return pollNetworksCmd(a.s.opts.Backend, a.s.opts.Timeout)
}

// updateNetPoll handles the polls' messages; ok is false for any other.
func (a *App) updateNetPoll(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case netPollMsg:
		a.live.netPolling = false // keepNetworksPolled sets the next one while needed
		if a.picker() == nil {
			return nil, true
		}
		return a.pollNetworksNow(), true
	case networksPolledMsg:
		a.live.netAsking = false
		if msg.err != nil {
			return nil, true // the picker keeps what it shows; the next poll asks again
		}
		return a.networksPolled(msg.networks), true
	}
	return nil, false
}

func (a *App) networksPolled(nets []model.Network) tea.Cmd {
	if nets == nil {
		nets = []model.Network{}
	}
	wasEmpty := len(a.networks) == 0
	a.networks = nets
	for _, n := range nets {
		if n.ID == a.network.ID {
			a.network.Identities = n.Identities // the sidebar's count when the list is filtered
		}
	}
	for _, c := range a.stack {
		if l, ok := c.(*identitiesScreen); ok {
			l.canBack = len(nets) > 1
		}
	}
	p := a.picker()
	if p == nil {
		return nil
	}
	// The first network of a first run opens as it would have at start.
	if wasEmpty && a.network.ID == "" && len(nets) == 1 && nets[0].Status == "" {
		return a.openNetwork(nets[0], false)
	}
	p.setNetworks(nets)
	return nil
}
