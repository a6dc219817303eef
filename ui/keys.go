package ui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
)

// The global keys, which work on every screen (the router's), and the
// help that composes them with the focused component's.

type globalKeys struct {
	Networks, Refresh, Help, Quit, ForceQuit key.Binding
}

func newGlobalKeys() globalKeys {
	return globalKeys{
		Networks:  key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "networks")),
		Refresh:   key.NewBinding(key.WithKeys("ctrl+r"), key.WithHelp("ctrl+r", "refresh")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "more keys")),
		Quit:      key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		ForceQuit: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
	}
}

// composedKeys is the focused component's keys, then the global ones.
type composedKeys struct {
	c help.KeyMap
	g []key.Binding
}

func (k composedKeys) ShortHelp() []key.Binding {
	if k.c == nil {
		return k.g
	}
	return append(k.c.ShortHelp(), k.g...)
}

func (k composedKeys) FullHelp() [][]key.Binding {
	if k.c == nil {
		return [][]key.Binding{k.g}
	}
	return append(k.c.FullHelp(), k.g)
}
