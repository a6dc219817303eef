package sshserver

import (
	"fmt"
	"math"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// guardedModel contains a panic in the console's Init, Update or View to
// its own session: the panic is logged with its stack, the session is ended
// with a message, and the other sessions go on. (Bubble Tea would catch it
// too, but the client would then see the console vanish without a word.)
//
// It also carries the server's notice that it is stopping: a countdown on
// the console's first line, over whatever the console draws there, until
// the grace period is out.
type guardedModel struct {
	m        tea.Model
	st       *session
	panicked *atomic.Bool
	width    *atomic.Int64
}

func guard(m tea.Model, st *session) tea.Model {
	return guardedModel{m: m, st: st, panicked: new(atomic.Bool), width: new(atomic.Int64)}
}

// stoppingMsg redraws the console's notice that the server is stopping,
// once a second.
type stoppingMsg struct{}

func tickStopping() tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return stoppingMsg{} })
}

// stoppingLine is the notice, fitted to the width, in reverse video.
func (g guardedModel) stoppingLine(at time.Time) string {
	left := int(math.Ceil(time.Until(at).Seconds()))
	text := fmt.Sprintf(" idcon: the server is stopping: finish what you are doing; this console closes in %ds ", max(left, 0))
	if w := int(g.width.Load()); w > 0 {
		text = ansi.Truncate(text, w, "…")
		if pad := w - ansi.StringWidth(text); pad > 0 {
			text += strings.Repeat(" ", pad)
		}
	}
	return "\x1b[7m" + text + "\x1b[0m"
}

func (g guardedModel) caught(r any) {
	if g.panicked.Swap(true) {
		return
	}
	g.st.srv.log.Error("panic in a console: closed it; the others go on", "admin", g.st.actor.Name,
		"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	g.st.end("internal error: this session was closed; please report it")
}

func (g guardedModel) Init() (cmd tea.Cmd) {
	defer func() {
		if r := recover(); r != nil {
			g.caught(r)
			cmd = tea.Quit
		}
	}()
	return g.m.Init()
}

func (g guardedModel) Update(msg tea.Msg) (next tea.Model, cmd tea.Cmd) {
	if g.panicked.Load() {
		return g, tea.Quit
	}
	defer func() {
		if r := recover(); r != nil {
			g.caught(r)
			next, cmd = g, tea.Quit
		}
	}()
	switch msg := msg.(type) {
	case stoppingMsg:
		if _, ok := g.st.stopping(); ok {
			return g, tickStopping() // the view redraws the countdown
		}
		return g, nil
	case tea.WindowSizeMsg:
		g.width.Store(int64(msg.Width))
	}
	m, cmd := g.m.Update(msg)
	g.m = m
	return g, cmd
}

func (g guardedModel) View() (v tea.View) {
	if g.panicked.Load() {
		return tea.NewView("")
	}
	defer func() {
		if r := recover(); r != nil {
			g.caught(r)
			v = tea.NewView("")
		}
	}()
	v = g.m.View()
	if at, ok := g.st.stopping(); ok {
		line := g.stoppingLine(at)
		if _, rest, found := strings.Cut(v.Content, "\n"); found {
			v.Content = line + "\n" + rest
		} else {
			v.Content = line
		}
	}
	return v
}
