package ui

import (
	"fmt"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/idcon/idcon/safetext"
)

// The frame: the sidebar, the breadcrumbs over the main pane, the help bar
// under both, and over them the full help, the dialog and the toasts.

// draw lays the frame out around main (the main pane's content) and bar
// (the help bar), with full (the full help, or "") over it.
func (st *stage) draw(main, bar, full string) string {
	mw, mh := st.mainSize()
	frame := st.frame(main, bar)

	// The frame is a layer only when something is drawn over it: a layer
	// measures every line of what it holds.
	var layers []*lipgloss.Layer
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
	if len(layers) == 0 {
		return frame
	}
	return lipgloss.NewCompositor(append([]*lipgloss.Layer{lipgloss.NewLayer(frame)}, layers...)...).Render()
}

// frame is the sidebar beside the breadcrumbs over main, and the help bar
// under both.
func (st *stage) frame(main, bar string) string {
	mw, mh := st.mainSize()
	return st.join(st.side.lines(st, mh), fitBlock(st.breadcrumbs(mw)+"\n"+main, mw, mh), mh, bar)
}

// join lays the sidebar's lines and the main pane (fitted to the pane, mh
// lines) side by side, a space between, with the help bar under them: what
// lipgloss.JoinHorizontal of the sidebar and the pane padded left by one
// gives, without measuring every line again (a frame is drawn after every
// message; measuring and re-styling it was most of a filter key's Update
// and View, and most of its garbage). Each line fitBlock returns is the
// pane's width exactly, and the sidebar's are padded to one width, so no
// line needs padding; a pane with a tab or a carriage return, which the
// style would rewrite, is left to lipgloss.
func (st *stage) join(side []string, main string, mh int, bar string) string {
	if len(side) != mh || strings.ContainsAny(main, "\t\r") {
		return lipgloss.JoinHorizontal(lipgloss.Top, strings.Join(side, "\n"), lipgloss.NewStyle().PaddingLeft(1).Render(main)) + "\n" + bar
	}
	n := len(main) + len(bar) + 2*mh + 1
	for _, l := range side {
		n += len(l)
	}
	var b strings.Builder
	b.Grow(n)
	i := 0
	for line := range strings.SplitSeq(main, "\n") {
		if i == mh {
			break // fitBlock gave mh lines
		}
		b.WriteString(side[i])
		b.WriteByte(' ')
		b.WriteString(line)
		b.WriteByte('\n')
		i++
	}
	b.WriteString(bar)
	return b.String()
}

// sidebarBlock is the sidebar as last drawn, kept while its content, the
// frame's height and the styles are the same: it changes far less often
// than the frame is drawn.
type sidebarBlock struct {
	content  string
	h        int
	restyled int      // session.restyled when drawn
	drawn    []string // its lines, each padded to the widest
}

// lines is the sidebar h lines high, styled, each line as wide as the
// widest, as JoinHorizontal would pad them.
func (sb *sidebarBlock) lines(st *stage, h int) []string {
	content := st.sidebar()
	if sb.drawn != nil && sb.content == content && sb.h == h && sb.restyled == st.s.restyled {
		return sb.drawn
	}
	lines := strings.Split(st.s.styles.Sidebar.Render(fitBlock(content, sidebarWidth-2, h)), "\n")
	w := 0
	for _, l := range lines {
		w = max(w, ansi.StringWidth(l))
	}
	for i, l := range lines {
		lines[i] = l + strings.Repeat(" ", w-ansi.StringWidth(l))
	}
	*sb = sidebarBlock{content: content, h: h, restyled: st.s.restyled, drawn: lines}
	return lines
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
