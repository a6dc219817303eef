package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

type networkKeys struct {
	Up, Down, PageUp, PageDown, Home, End key.Binding
	Choose, Filter, Back                  key.Binding
	Apply, Clear                          key.Binding // while filtering
}

func newNetworkKeys() networkKeys {
	return networkKeys{
		Up:   key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down: key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		// As in the identities list.
		PageUp:   key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "page down")),
		Home:     key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("home", "first")),
		End:      key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("end", "last")),
		Choose:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		Filter:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back"), key.WithDisabled()),
		Apply:    key.NewBinding(key.WithKeys("enter", "down"), key.WithHelp("enter", "done"), key.WithDisabled()),
		Clear:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter"), key.WithDisabled()),
	}
}

// networksScreen is the network picker: a filterable list of the networks
// with their identity counts, scrolled like the identities list. A network
// with a Status can't be opened and says why. The filter matches what the
// picker draws (the name and the status), never the IDs it doesn't.
type networksScreen struct {
	s         *session
	keys      networkKeys
	nets      []model.Network
	shown     []int // indexes into nets matching the filter
	cursor    int
	offset    int    // the first row drawn, so that the cursor's is
	current   string // the open network, if any
	input     textinput.Model
	filtering bool
	note      string // why the chosen network can't be opened

	width, height int
}

func newNetworksScreen(s *session, nets []model.Network, current string) *networksScreen {
	in := textinput.New()
	in.Prompt = "/ "
	in.Placeholder = "network name"
	in.SetStyles(s.styles.Input)
	noClipboard(&in)
	n := &networksScreen{s: s, keys: newNetworkKeys(), nets: nets, current: current, input: in}
	n.refilter()
	n.setFiltering(false)
	for i, idx := range n.shown {
		if nets[idx].ID == current {
			n.cursor = i
		}
	}
	n.follow()
	return n
}

func (n *networksScreen) Title() string { return "Networks" }
func (n *networksScreen) Busy() bool    { return false }
func (n *networksScreen) Typing() bool  { return n.filtering }
func (n *networksScreen) Init() tea.Cmd { return nil }
func (n *networksScreen) restyle()      { n.input.SetStyles(n.s.styles.Input) }
func (n *networksScreen) SetSize(w, h int) {
	n.width, n.height = w, h
	n.input.SetWidth(max(10, w/2))
	n.follow()
}
func (n *networksScreen) ShortHelp() []key.Binding {
	k := n.keys
	return []key.Binding{k.Choose, k.Filter, k.Back, k.Apply, k.Clear, k.Up, k.Down}
}
func (n *networksScreen) FullHelp() [][]key.Binding {
	k := n.keys
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End}, {k.Choose, k.Filter, k.Back, k.Apply, k.Clear}}
}

// rows is how many networks fit under the header line (and the note).
func (n *networksScreen) rows() int {
	r := n.height - 2
	if n.note != "" {
		r -= 2
	}
	return max(1, r)
}

// follow scrolls so that the cursor's row is drawn.
func (n *networksScreen) follow() {
	n.cursor = min(max(0, n.cursor), max(0, len(n.shown)-1))
	r := n.rows()
	switch {
	case n.cursor < n.offset:
		n.offset = n.cursor
	case n.cursor >= n.offset+r:
		n.offset = n.cursor - r + 1
	}
	n.offset = max(0, min(n.offset, len(n.shown)-r))
}

func (n *networksScreen) move(delta int) {
	n.cursor += delta
	n.follow()
}

// setNetworks shows the networks as polled now (netpoll.go), the cursor
// staying on the network it was on.
func (n *networksScreen) setNetworks(nets []model.Network) {
	var at string
	if len(n.shown) > 0 {
		at = n.nets[n.shown[n.cursor]].ID
	}
	n.nets = nets
	n.refilter()
	n.setFiltering(n.filtering)
	for i, idx := range n.shown {
		if nets[idx].ID == at {
			n.cursor = i
		}
	}
	n.follow()
}

func (n *networksScreen) refilter() {
	f := strings.ToLower(n.input.Value())
	n.shown = n.shown[:0]
	for i, nw := range n.nets {
		// What a row draws, cleaned as drawn: the name and the status.
		drawn := strings.ToLower(safetext.Clean(nw.Name) + "\x00" + safetext.Clean(nw.Status))
		if f == "" || strings.Contains(drawn, f) {
			n.shown = append(n.shown, i)
		}
	}
	n.follow()
}

func (n *networksScreen) setFiltering(on bool) {
	n.filtering = on
	for _, b := range []*key.Binding{&n.keys.Up, &n.keys.Down, &n.keys.PageUp, &n.keys.PageDown,
		&n.keys.Home, &n.keys.End, &n.keys.Choose, &n.keys.Filter} {
		b.SetEnabled(!on && len(n.nets) > 0) // with none, only waiting makes sense
	}
	n.keys.Back.SetEnabled(!on && n.current != "")
	n.keys.Apply.SetEnabled(on)
	n.keys.Clear.SetEnabled(on)
	if on {
		n.input.Focus()
	} else {
		n.input.Blur()
	}
}

func (n *networksScreen) Update(msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		if n.filtering {
			var cmd tea.Cmd
			n.input, cmd = n.input.Update(msg)
			return cmd
		}
		return nil
	}
	k := n.keys
	if n.filtering {
		switch {
		case key.Matches(km, k.Apply):
			n.setFiltering(false)
		case key.Matches(km, k.Clear):
			n.input.SetValue("")
			n.refilter()
			n.setFiltering(false)
		default:
			var cmd tea.Cmd
			n.input, cmd = n.input.Update(km)
			n.refilter()
			return cmd
		}
		return nil
	}
	n.note = ""
	defer n.follow() // the note may come or go
	switch {
	case key.Matches(km, k.Up):
		n.move(-1)
	case key.Matches(km, k.Down):
		n.move(1)
	case key.Matches(km, k.PageUp):
		n.move(-n.rows())
	case key.Matches(km, k.PageDown):
		n.move(n.rows())
	case key.Matches(km, k.Home):
		n.move(-len(n.shown))
	case key.Matches(km, k.End):
		n.move(len(n.shown))
	case key.Matches(km, k.Filter):
		n.setFiltering(true)
	case key.Matches(km, k.Back):
		return msgCmd(backMsg{})
	case key.Matches(km, k.Choose):
		if len(n.shown) == 0 {
			return nil
		}
		nw := n.nets[n.shown[n.cursor]]
		if nw.Status != "" {
			n.note = safetext.Line(nw.Name, 40) + " can't be opened: " + safetext.Line(nw.Status, 40) + "."
			return nil
		}
		return msgCmd(networkChosenMsg{network: nw})
	}
	return nil
}

func (n *networksScreen) View() string {
	st := &n.s.styles
	var b strings.Builder
	switch {
	case n.filtering || n.input.Value() != "":
		b.WriteString(n.input.View())
	case len(n.nets) == 0:
		b.WriteString(n.firstRun())
		return b.String()
	default:
		b.WriteString(st.Muted.Render("Choose the network to manage."))
	}
	if len(n.shown) > n.rows() {
		b.WriteString(st.Muted.Render("  " + fmtCount(n.cursor+1) + " of " + fmtCount(len(n.shown))))
	}
	b.WriteString("\n")
	countW := 18
	nameW := max(10, n.width-2-countW-2)
	end := min(len(n.shown), n.offset+n.rows())
	for i := n.offset; i < end; i++ {
		nw := n.nets[n.shown[i]]
		count := "? identities"
		if nw.Identities >= 0 {
			count = plural(nw.Identities, "identity", "identities")
		}
		if nw.Status != "" {
			count = "(" + safetext.Line(nw.Status, countW-2) + ")"
		}
		name := safetext.Line(nw.Name, nameW)
		if nw.ID == n.current {
			name = safetext.Line(nw.Name+" (open)", nameW)
		}
		line := padRight(name, nameW) + "  " + padLeft(count, countW)
		switch {
		case i == n.cursor:
			b.WriteString("\n" + st.Selected.Render("› "+line))
		case nw.Status != "":
			b.WriteString("\n  " + st.Muted.Render(line))
		default:
			b.WriteString("\n  " + line)
		}
	}
	if len(n.shown) == 0 {
		b.WriteString("\n" + st.Muted.Render("No network matches the filter."))
	}
	if n.note != "" {
		b.WriteString("\n\n" + st.Error.Render(n.note))
	}
	return b.String()
}

// firstRun is what the picker says when there is no network at all: what
// to do, as the CLI says it. The picker keeps asking (netpoll.go), so the
// network created meanwhile opens by itself.
func (n *networksScreen) firstRun() string {
	st := &n.s.styles
	create := n.s.opts.CreateNetwork
	if create == "" {
		create = "idcon network create NAME"
	}
	w := max(20, n.width-2)
	return lipgloss.Wrap(st.Title.Render("No networks yet.")+"\n\n"+
		"Create one in another terminal:\n  "+safetext.Clean(create)+"\n\n"+
		"Or quit (q) and try the demo network, in a database of its own:\n  idcon --demo\n\n"+
		st.Muted.Render("This page shows the new network as soon as it exists."), w, " ")
}
