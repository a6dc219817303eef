package sshserver

import (
	"fmt"
	"runtime/debug"
	"sync/atomic"

	tea "charm.land/bubbletea/v2"
)

// guardedModel contains a panic in the console's Init, Update or View to
// its own session: the panic is logged with its stack, the session is ended
// with a message, and the other sessions go on. (Bubble Tea would catch it
// too, but the client would then see the console vanish without a word.)
type guardedModel struct {
	m        tea.Model
	st       *session
	panicked *atomic.Bool
}

func guard(m tea.Model, st *session) tea.Model {
	return guardedModel{m: m, st: st, panicked: new(atomic.Bool)}
}

func (g guardedModel) caught(r any) {
	if g.panicked.Swap(true) {
		return
	}
	g.st.srv.log.Error("panic in a console: closed it; the others go on", "actor", g.st.actor.Name,
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
	return g.m.View()
}
