package ui

import (
	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/model"
)

// The smallest terminal the console draws in.
const (
	minWidth     = 80
	minHeight    = 24
	sidebarWidth = 22 // including its border
)

// stage is what the console shows: the open network, the stack of screens
// (the rooms: network picker, identities list, Edit Identity), the dialog
// on top of them, the toasts and the terminal's size. The router (App)
// owns it and draws it (frame.go); the flows open and close screens and
// dialogs on it, and say things in its toasts. It sits below the flows:
// it knows no flow and no router.
type stage struct {
	s             *session
	network       model.Network // the open network; ID "" if none
	stack         []component
	dialog        component
	toasts        toasts
	width, height int
	// nodes are the sidebar's lines for the nodes of network nodesOf, an
	// HA cluster (nodes.go); nil for any other.
	nodes   []string
	nodesOf string
	side    sidebarBlock // the sidebar as last drawn (frame.go)
}

func newStage(s *session) *stage {
	st := &stage{s: s}
	st.toasts.s = s
	return st
}

func (st *stage) top() component {
	if len(st.stack) == 0 {
		return nil
	}
	return st.stack[len(st.stack)-1]
}

// editing is the Edit Identity screen on top, if it is.
func (st *stage) editing() *identityScreen {
	v, _ := st.top().(*identityScreen)
	return v
}

// list is the identities list on top, if it is.
func (st *stage) list() *identitiesScreen {
	l, _ := st.top().(*identitiesScreen)
	return l
}

// picker is the network picker on top, if it is.
func (st *stage) picker() *networksScreen {
	p, _ := st.top().(*networksScreen)
	return p
}

// toast says text in a notification of kind.
func (st *stage) toast(text string, kind toastKind) tea.Cmd { return st.toasts.add(text, kind) }

func (st *stage) push(c component) tea.Cmd {
	st.stack = append(st.stack, c)
	st.layout()
	return c.Init()
}

// openDialog puts c on top of the screens; it takes the keys until closed.
func (st *stage) openDialog(c component) {
	st.dialog = c
	st.layout()
}

func (st *stage) closeDialog() { st.dialog = nil }

// openNetwork replaces every screen with the identities list of n.
func (st *stage) openNetwork(n model.Network, canBack bool) tea.Cmd {
	st.network = n
	st.stack, st.dialog = nil, nil
	l := newIdentitiesScreen(st.s, n)
	l.canBack = canBack
	return st.push(l)
}

// openIdentity opens Edit Identity on ident. The row may be seconds old:
// it shows at once, then what the backend holds now.
func (st *stage) openIdentity(ident model.Identity) tea.Cmd {
	v := newIdentityScreen(st.s, st.network.ID, ident)
	cmd := st.push(v)
	return tea.Batch(cmd, v.reload(""))
}

// pop closes the screen on top, if another is under it; ok is false when
// it is the last.
func (st *stage) pop() (cmd tea.Cmd, ok bool) {
	if len(st.stack) <= 1 {
		return nil, false
	}
	st.stack = st.stack[:len(st.stack)-1]
	if l := st.list(); l != nil {
		return l.refresh(), true
	}
	return nil, true
}

// busy reports a backend call in flight for a screen or the dialog.
func (st *stage) busy() bool {
	for _, c := range st.stack {
		if c.Busy() {
			return true
		}
	}
	return st.dialog != nil && st.dialog.Busy()
}

// typing reports a focused text input, where single letters are text.
func (st *stage) typing() bool {
	if st.dialog != nil {
		return st.dialog.Typing()
	}
	t := st.top()
	return t != nil && t.Typing()
}

// layout gives every component its size: the main pane minus the
// breadcrumb line; dialogs get a width that fits inside it.
func (st *stage) layout() {
	if st.width == 0 {
		return // the size isn't known yet: no page size, no page request
	}
	w, h := st.mainSize()
	for _, c := range st.stack {
		c.SetSize(w, h-1)
	}
	if _, full := st.dialog.(fullScreener); full {
		st.dialog.SetSize(st.width, st.height)
	} else if st.dialog != nil {
		st.dialog.SetSize(st.dialogWidth(), h)
	}
}

func (st *stage) tooSmall() bool { return st.width < minWidth || st.height < minHeight }

func (st *stage) mainSize() (int, int) {
	return max(1, st.width-sidebarWidth-1), max(1, st.height-1)
}

func (st *stage) dialogWidth() int {
	w, _ := st.mainSize()
	return min(64, w-6)
}

// identityCount is the open network's identity count for the sidebar: the
// list's total when it shows the whole network (so the two always agree),
// else the count the networks were last loaded with.
func (st *stage) identityCount() int {
	for _, c := range st.stack {
		if l, ok := c.(*identitiesScreen); ok && l.network.ID == st.network.ID && !l.filtered() && l.total >= 0 {
			return l.total
		}
	}
	return st.network.Identities
}

// focused is the component that takes the keys: the dialog, else the
// screen on top (nil before any).
func (st *stage) focused() component {
	if st.dialog != nil {
		return st.dialog
	}
	return st.top()
}
