// Package stocklist is the benchmarks' baseline: the approach most Bubble
// Tea apps take, the stock bubbles list holding every identity of the
// network in memory, with its default delegate and fuzzy filter.
package stocklist

import (
	"context"
	"time"

	"charm.land/bubbles/v2/list"
	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// item is one identity as the stock list shows it: the name, then the
// state and email.
type item struct{ title, desc string }

func (i item) Title() string       { return i.title }
func (i item) Description() string { return i.desc }
func (i item) FilterValue() string { return i.title }

// Load reads every identity of the network, a page at a time as the
// backend allows, and makes them list items.
func Load(ctx context.Context, b backend.Backend, network string, now time.Time) ([]list.Item, error) {
	var items []list.Item
	for off := 0; ; off += model.MaxPageSize {
		p, err := b.Identities(ctx, network, model.ListQuery{Offset: off, Limit: model.MaxPageSize})
		if err != nil {
			return nil, err
		}
		if items == nil {
			items = make([]list.Item, 0, p.Total)
		}
		for _, x := range p.Items {
			items = append(items, item{title: x.Name, desc: string(x.State(now)) + " · " + x.Email})
		}
		if len(p.Items) == 0 || off+len(p.Items) >= p.Total {
			return items, nil
		}
	}
}

// App is a program showing the list full screen.
type App struct {
	List list.Model
}

// New makes the list of items at the size of the terminal.
func New(items []list.Item, width, height int) *App {
	l := list.New(items, list.NewDefaultDelegate(), width, height)
	l.Title = "Identities"
	return &App{List: l}
}

func (a *App) Init() tea.Cmd { return nil }

func (a *App) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		a.List.SetSize(msg.Width, msg.Height)
	case tea.KeyPressMsg:
		if msg.String() == "ctrl+c" {
			return a, tea.Quit
		}
	}
	var cmd tea.Cmd
	a.List, cmd = a.List.Update(msg)
	return a, cmd
}

func (a *App) View() tea.View {
	v := tea.NewView(a.List.View())
	v.AltScreen = true
	return v
}
