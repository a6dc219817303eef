package ui

import (
	"fmt"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/idcon/idcon/safetext"
)

// The frame: the sidebar, the breadcrumbs over the main pane, the help bar
// under both, and over them the full help, the dialog and the toasts.

// draw lays the frame out around main (the main pane's content) and bar
// (the help bar), with full (the full help, or "") over it.
func (st *stage) draw(main, bar, full string) string {
	mw, mh := st.mainSize()
	side := st.s.styles.Sidebar.Render(fitBlock(st.sidebar(), sidebarWidth-2, mh))
	main = fitBlock(st.breadcrumbs(mw)+"\n"+main, mw, mh)
	main = lipgloss.NewStyle().PaddingLeft(1).Render(main)
	frame := lipgloss.JoinHorizontal(lipgloss.Top, side, main) + "\n" + bar

	layers := []*lipgloss.Layer{lipgloss.NewLayer(frame)}
	if full != "" {
		x := max(0, min(sidebarWidth+1, st.width-lipgloss.Width(full))) // over the sidebar if it must, never off the screen
		layers = append(layers, lipgloss.NewLayer(full).X(x).Y(max(0, mh-lipgloss.Height(full))).Z(3))
	}
	var dialogAt *box
	if st.dialog != nil {
		d := st.s.styles.Dialog.Render(st.dialog.View())
		x := sidebarWidth + 1 + max(0, (mw-lipgloss.Width(d))/2)
		y := max(1, (mh-lipgloss.Height(d))/2)
		dialogAt = &box{x, y, lipgloss.Width(d), lipgloss.Height(d)}
		layers = append(layers, lipgloss.NewLayer(d).X(x).Y(y).Z(1))
	}
	if t, x, y, ok := st.toasts.place(min(50, mw-2), st.width, mh, dialogAt); ok { // toast.go
		layers = append(layers, lipgloss.NewLayer(t).X(x).Y(y).Z(2))
	}
	if len(layers) == 1 {
		return frame
	}
	return lipgloss.NewCompositor(layers...).Render()
}

// tooSmallView says the terminal is too small, instead of a frame.
func (st *stage) tooSmallView() string {
	msg := fmt.Sprintf("terminal is %d×%d; idcon needs at least %d×%d", st.width, st.height, minWidth, minHeight)
	return lipgloss.Place(st.width, st.height, lipgloss.Center, lipgloss.Center,
		lipgloss.Wrap(msg, st.width, " "))
}

func (st *stage) sidebar() string {
	sty := &st.s.styles
	w := sidebarWidth - 2
	var b strings.Builder
	b.WriteString(sty.Title.Render("idcon") + "\n\n")
	if who := st.s.opts.SignedIn; who != "" {
		b.WriteString(sty.SidebarHead.Render("SIGNED IN") + "\n" + safetext.Line(who, w) + "\n\n")
	}
	b.WriteString(sty.SidebarHead.Render("NETWORK") + sty.Muted.Render("  (n)") + "\n")
	if st.network.ID == "" {
		b.WriteString(sty.Muted.Render("none open") + "\n")
	} else {
		b.WriteString(safetext.Line(st.network.Name, w) + "\n")
		if n := st.identityCount(); n >= 0 {
			b.WriteString(sty.Muted.Render(plural(n, "identity", "identities")) + "\n")
		}
		b.WriteString(st.nodesSidebar()) // an HA cluster's nodes (nodes.go)
	}
	b.WriteString("\n" + sty.SidebarHead.Render("MENU") + "\n")
	if st.network.ID == "" {
		b.WriteString(sty.Muted.Render("  Identities"))
	} else {
		b.WriteString(sty.SidebarActive.Render("› Identities"))
	}
	return b.String()
}

func (st *stage) breadcrumbs(w int) string {
	var parts []string
	if st.network.ID != "" {
		parts = append(parts, safetext.Line(st.network.Name, 24))
	}
	for _, c := range st.stack {
		if _, ok := c.(*networksScreen); ok {
			parts = []string{c.Title()}
			continue
		}
		parts = append(parts, c.Title())
	}
	if len(parts) == 0 {
		parts = []string{"idcon"}
	}
	return st.s.styles.Title.Render(safetext.Line(strings.Join(parts, " › "), w))
}
