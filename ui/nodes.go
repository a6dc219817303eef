package ui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/backend/openziti"
	"github.com/idcon/idcon/safetext"
)

// The nodes flow: for a network that is an OpenZiti HA cluster
// (docs/CONTROLLERS.md "An HA cluster"), the sidebar shows its nodes,
// which one calls go to and which are down, and a toast says when a node
// goes down or comes back. Calls fail over by themselves (the client does
// it); nothing here interrupts the admin. While such a network is open the
// flow asks its client how the nodes stand every nodesPoll (the client
// then asks the nodes known to be down whether they answer again). A
// network of one node shows nothing: the console looks as it always did.

// nodesPoll is how often the nodes of the open cluster are checked.
const nodesPoll = 3 * time.Second

// Clusters gives the console the controller clients whose nodes it shows,
// by network ID. The CLI adds each controller's client; nil (the SSH
// server's sessions, tests) shows none.
type Clusters struct {
	mu      sync.Mutex
	clients map[string]*openziti.Client
}

// NewClusters makes an empty registry.
func NewClusters() *Clusters { return &Clusters{clients: map[string]*openziti.Client{}} }

// Add registers a controller's client under its network ID.
func (c *Clusters) Add(cl *openziti.Client) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clients[cl.NetworkID()] = cl
}

func (c *Clusters) client(networkID string) *openziti.Client {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.clients[networkID]
}

type (
	// nodesPollMsg: time to check the open cluster's nodes.
	nodesPollMsg struct{}
	// nodesCheckedMsg answers a check: the nodes of network as they stand.
	nodesCheckedMsg struct {
		network string
		nodes   []openziti.NodeStatus
	}
)

func checkNodesCmd(c *openziti.Client, network string, timeout time.Duration) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return nodesCheckedMsg{network: network, nodes: c.CheckNodes(ctx)}
	}
}

type nodesFlow struct {
	st      *stage
	polling bool // a timer is set
	asking  bool // a check is under way
	network string
	last    []openziti.NodeStatus
}

func newNodesFlow(st *stage) *nodesFlow { return &nodesFlow{st: st} }

// keep sets the next check while a controller network is open.
func (f *nodesFlow) keep() tea.Cmd {
	if f.polling || f.asking || f.st.s.opts.Clusters.client(f.st.network.ID) == nil {
		return nil
	}
	f.polling = true
	return f.st.s.tick(nodesPoll, func(time.Time) tea.Msg { return nodesPollMsg{} })
}

func (f *nodesFlow) update(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case nodesPollMsg:
		f.polling = false
		c := f.st.s.opts.Clusters.client(f.st.network.ID)
		if c == nil {
			return nil, true
		}
		f.asking = true
		return checkNodesCmd(c, f.st.network.ID, f.st.s.opts.Timeout), true
	case nodesCheckedMsg:
		f.asking = false
		if msg.network != f.st.network.ID {
			return nil, true
		}
		return f.show(msg.network, msg.nodes), true
	}
	return nil, false
}

// show puts the nodes in the sidebar and toasts what changed.
func (f *nodesFlow) show(network string, nodes []openziti.NodeStatus) tea.Cmd {
	if len(nodes) <= 1 {
		f.st.nodes = nil
		return nil
	}
	f.st.nodesOf = network
	var cmds []tea.Cmd
	if f.network == network {
		was := map[string]openziti.NodeStatus{}
		for _, n := range f.last {
			was[n.URL] = n
		}
		for _, n := range nodes {
			o, ok := was[n.URL]
			switch {
			case ok && o.Up && !n.Up:
				cmds = append(cmds, f.st.toast(safetext.Line(fmt.Sprintf("controller node %s is down: calls go to %s", n.Name, inUse(nodes)), 60), toastProblem))
			case ok && !o.Up && n.Up:
				cmds = append(cmds, f.st.toast(safetext.Line(fmt.Sprintf("controller node %s is back", n.Name), 60), toastDone))
			}
		}
	}
	f.network, f.last = network, nodes
	lines := make([]string, 0, len(nodes))
	for _, n := range nodes {
		mark, state := "  ", ""
		if n.InUse {
			mark = "› "
		}
		if !n.Up {
			state = " down"
		}
		lines = append(lines, mark+safetext.Line(n.Name, sidebarWidth-4-len(state))+state)
	}
	f.st.nodes = lines
	return tea.Batch(cmds...)
}

func inUse(nodes []openziti.NodeStatus) string {
	for _, n := range nodes {
		if n.InUse {
			return n.Name
		}
	}
	return "another node"
}

// nodesSidebar is the sidebar's NODES section ("" for no cluster).
func (st *stage) nodesSidebar() string {
	if len(st.nodes) == 0 || st.network.ID == "" || st.nodesOf != st.network.ID {
		return ""
	}
	sty := &st.s.styles
	var b strings.Builder
	b.WriteString("\n" + sty.SidebarHead.Render("NODES") + "\n")
	for _, l := range st.nodes {
		if strings.HasSuffix(l, " down") {
			b.WriteString(sty.Error.Render(l) + "\n")
		} else {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
