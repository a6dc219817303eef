// Package ui is idcon's console: a Bubble Tea v2 program whose root model
// (App, this file) routes messages between the stage (stage.go: the
// screens and the dialog on top) and the flows that own the console's
// work, each in its own file: the enrollment action (action.go), the
// token's handover (handover.go), bulk actions (bulk.go), Create identity
// (create.go), live updates (live.go), refresh and the list's poll
// (refresh.go), the networks (netpoll.go), the clipboard and SCP delivery
// (clipboard.go). docs/ARCHITECTURE.md draws the map.
package ui

import (
	"context"
	"errors"
	"io"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/idcon/idcon/delivery"
)

// App is the root model, the router: the terminal's size and colours, the
// stage, the global keys and help, the spinner, and the flows in the order
// they are asked. It is the only model returning a tea.View.
type App struct {
	*stage

	nets    *networksFlow
	live    *liveFlow
	refresh *refreshFlow
	bulk    *bulkFlow
	create  *createFlow
	action  *actionFlow
	nodes   *nodesFlow
	flows   []flow

	help     help.Model
	keys     globalKeys
	signin   *signinFlow
	spin     spinner.Model
	spinning bool
	isDark   bool
}

// New returns the console's root model for one session.
func New(opts Options) tea.Model {
	opts = opts.withDefaults()
	s := &session{opts: opts, tick: tea.Tick, term: delivery.TerminalFromEnv(opts.Terminal)}
	if _, err := smtpConfig(opts); err != nil {
		s.smtpErr = err // said on the email button, before the admin asks (identity.go)
	}
	st := newStage(s)
	a := &App{stage: st, keys: newGlobalKeys(), help: help.New(), isDark: true,
		nets: newNetworksFlow(st), live: newLiveFlow(st), refresh: newRefreshFlow(st),
		bulk: newBulkFlow(st), create: newCreateFlow(st), action: newActionFlow(st), nodes: newNodesFlow(st)}
	// Bulk and create before the action flow: they take the date picker's
	// and the confirmation's answers while they are under way; the
	// clipboard flow takes Download JWT under the SSH server before the
	// handover flow would.
	a.signin = newSigninFlow(st) // first: its dialog goes over any other
	a.flows = []flow{a.signin, a.nodes, a.bulk, a.create, a.live, a.nets, a.refresh, newClipboardFlow(st), a.action, newHandoverFlow(st)}
	a.spin = spinner.New(spinner.WithSpinner(spinner.MiniDot))
	a.restyle(true)
	return a
}

// Run runs the console on in and out until the admin quits or ctx ends.
// Bubble Tea's panic catching stays on, so the terminal is restored on
// every exit path, panics included.
func Run(ctx context.Context, opts Options, in io.Reader, out io.Writer, extra ...tea.ProgramOption) error {
	if opts.Backend == nil {
		return errors.New("ui: no backend configured")
	}
	o := append([]tea.ProgramOption{tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out)}, extra...)
	m, err := tea.NewProgram(New(opts), o...).Run()
	if a, ok := m.(*App); ok {
		a.bulk.stop() // ctrl+c mid-run: its last changes, and their audit lines, are written before the console returns
	}
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (a *App) restyle(isDark bool) {
	a.isDark = isDark
	a.s.isDark = isDark
	a.s.styles = newStyles(isDark, a.s.opts.NoColor)
	a.s.restyled++
	a.help.Styles = a.s.styles.Help
	a.spin.Style = a.s.styles.Muted
	a.s.spinner = a.spin.View()
	for _, c := range a.stack {
		if r, ok := c.(restyler); ok {
			r.restyle()
		}
	}
	if r, ok := a.dialog.(restyler); ok {
		r.restyle()
	}
}

func (a *App) Init() tea.Cmd {
	cmds := []tea.Cmd{tea.RequestBackgroundColor, askTerminal(), a.nets.load(), a.signin.listen()}
	for _, w := range a.s.opts.Warnings {
		cmds = append(cmds, a.toasts.add(w, toastNote))
	}
	return tea.Batch(cmds...)
}

func (a *App) busy() bool { return a.nets.loading || a.stage.busy() }

// Update routes the message, keeps the flows' timers set and, when
// something is waiting, the spinner turning (and only then: an idle
// console sends no ticks).
func (a *App) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := tea.Batch(a.update(msg), tea.Batch(a.live.keep(), a.nets.keep(), a.refresh.keep(), a.nodes.keep()))
	if a.busy() && !a.spinning {
		a.spinning = true
		cmd = tea.Batch(cmd, a.spin.Tick)
	}
	return a, cmd
}

func (a *App) update(msg tea.Msg) tea.Cmd {
	for _, f := range a.flows {
		if cmd, ok := f.update(msg); ok {
			return cmd
		}
	}
	if v, ok := msg.(tea.TerminalVersionMsg); ok {
		a.s.terminal = v.Name // the clipboard's words (clipboard.go); learnTerminal takes it too
	}
	if ok, cmd := learnTerminal(&a.s.term, msg); ok {
		return cmd
	}
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		a.width, a.height = msg.Width, msg.Height
		a.layout()
		a.help.SetWidth(a.width)
		var cmd tea.Cmd
		if d, ok := a.dialog.(imageDialog); ok {
			cmd = d.redraw()
		}
		if t := a.top(); t != nil {
			return tea.Batch(cmd, t.Update(msg))
		}
		return cmd
	case tea.BackgroundColorMsg:
		a.restyle(msg.IsDark())
		return nil
	case tea.ColorProfileMsg:
		// Without colours the QR code must be drawn by its glyphs alone.
		a.s.monochrome = msg.Profile == colorprofile.NoTTY || msg.Profile == colorprofile.ASCII
		a.restyle(a.isDark)
		return nil
	case spinner.TickMsg:
		if !a.busy() {
			a.spinning = false
			return nil
		}
		var cmd tea.Cmd
		a.spin, cmd = a.spin.Update(msg)
		a.s.spinner = a.spin.View()
		return cmd
	case tea.KeyPressMsg:
		return a.updateKey(msg)
	case toastExpiredMsg:
		a.toasts.remove(msg.id)
		return nil
	case noteMsg:
		return a.toasts.add(msg.text, msg.kind)
	case pageLoadedMsg, filterTickMsg:
		if l := a.list(); l != nil {
			return l.Update(msg)
		}
		return nil
	case openIdentityMsg:
		return a.openIdentity(msg.identity)
	case backMsg:
		cmd, _ := a.pop()
		return cmd
	case cancelledMsg, confirmedMsg:
		a.closeDialog() // a dialog no flow owns: a delivery's
		return nil
	}
	// Anything else (paste, cursor messages) belongs to whoever has the focus.
	if c := a.focused(); c != nil {
		return c.Update(msg)
	}
	return nil
}

// enableGlobalKeys keeps single-letter keys out of the way of text inputs,
// and q and n out of dialogs (esc closes a dialog; q leaving the whole
// program from a half-filled date picker is a trap), so the help shows only
// what works.
func (a *App) enableGlobalKeys() {
	typing := a.typing()
	_, full := a.dialog.(fullScreener)
	a.keys.Quit.SetEnabled(!typing && a.dialog == nil)
	a.keys.Help.SetEnabled(!typing && !full)
	a.keys.Networks.SetEnabled(!typing && a.dialog == nil && a.picker() == nil)
	a.keys.ForceQuit.SetEnabled(typing || a.dialog != nil)
	a.keys.Refresh.SetEnabled(a.dialog == nil)
}

func (a *App) updateKey(msg tea.KeyPressMsg) tea.Cmd {
	if msg.String() == "ctrl+c" {
		return tea.Quit
	}
	a.enableGlobalKeys()
	if a.tooSmall() {
		if key.Matches(msg, a.keys.Quit) {
			return tea.Quit
		}
		return nil
	}
	switch {
	case key.Matches(msg, a.keys.Quit):
		return tea.Quit
	case key.Matches(msg, a.keys.Help):
		a.help.ShowAll = !a.help.ShowAll
		if a.help.ShowAll {
			a.keys.Help.SetHelp("?", "close help")
		} else {
			a.keys.Help.SetHelp("?", "more keys")
		}
		return nil
	case key.Matches(msg, a.keys.Networks):
		return a.nets.openPicker()
	case key.Matches(msg, a.keys.Refresh):
		return a.update(refreshMsg{}) // refresh.go, netpoll.go
	}
	var cmd tea.Cmd
	if c := a.focused(); c != nil {
		cmd = c.Update(msg)
	}
	a.enableGlobalKeys()
	return cmd
}

// View draws the frame (frame.go). Only the root returns a tea.View.
func (a *App) View() tea.View {
	v := tea.NewView(a.render())
	v.AltScreen = true
	v.WindowTitle = "idcon"
	return v
}

func (a *App) render() string {
	if a.width == 0 {
		return ""
	}
	if a.tooSmall() {
		return a.tooSmallView()
	}
	a.enableGlobalKeys()
	if _, full := a.dialog.(fullScreener); full {
		return a.dialog.View()
	}
	main := a.nets.view() // loading, or why the networks could not be
	if a.nets.loadErr == nil && len(a.stack) > 0 {
		main = a.top().View()
	}
	var fullHelp string
	if a.help.ShowAll {
		fullHelp = a.s.styles.Dialog.Render(a.help.View(a.helpKeys()))
	}
	return a.draw(main, a.helpView(), fullHelp)
}

// helpKeys composes the focused component's keys with the global ones.
func (a *App) helpKeys() help.KeyMap {
	var c help.KeyMap
	if f := a.focused(); f != nil {
		c = f
	}
	// ctrl+c quits everywhere: the full help always says so.
	force := a.keys.ForceQuit
	force.SetEnabled(true)
	return composedKeys{c: c, g: []key.Binding{a.keys.Networks, a.keys.Refresh, a.signin.requestsKey(), a.keys.Help, a.keys.Quit, force}}
}

func (a *App) helpView() string {
	essential := []key.Binding{a.keys.Help, a.keys.Quit, a.keys.ForceQuit}
	if a.help.ShowAll {
		return a.help.ShortHelpView(essential)
	}
	var comp []key.Binding
	if f := a.focused(); f != nil {
		comp = f.ShortHelp()
	}
	return a.help.ShortHelpView(fitHelp(a.help, comp, []key.Binding{a.keys.Networks, a.keys.Refresh}, essential, a.width)) // helpbar.go
}
