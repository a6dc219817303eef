// Package ui is idcon's console: a Bubble Tea v2 program with a small root
// model that routes between screens (network picker, identities list, Edit
// Identity) and dialogs (date picker, confirmations, the token deliveries:
// QR code, JWT download, registration email), performs the backend calls
// and the deliveries' I/O the screens ask for in tea.Cmds, and draws the
// frame: sidebar, main pane, key help and notifications.
package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/delivery"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// The smallest terminal the console draws in.
const (
	minWidth     = 80
	minHeight    = 24
	sidebarWidth = 22 // including its border
)

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

// flow is the enrollment action under way: r → date → confirm → call,
// i → date → call, d → confirm → call.
type flow struct {
	action    model.Action
	ident     model.Identity // as the admin saw it when confirming
	expiresAt time.Time
}

// App is the root model: it owns the screen stack, the open dialog, the
// notifications and the frame. It is the only model returning a tea.View.
type App struct {
	s *session

	networks []model.Network
	network  model.Network // the open network; ID "" if none
	loading  bool
	loadErr  error
	netRetry retry // the countdown to loading the networks again (retry.go)

	stack  []component
	dialog component
	flow   flow
	bulk   *bulkFlow   // a bulk reset or reissue under way (bulk.go)
	create *createFlow // a Create identity under way (create.go)
	live   liveState   // live updates from other sessions and polling (live.go)

	editSeq int // latest load of the identity being edited
	mutSeq  int // latest enrollment action
	qrSeq   int // latest QR code asked for

	toasts   toasts
	help     help.Model
	keys     globalKeys
	spin     spinner.Model
	spinning bool
	isDark   bool

	width, height int
}

// New returns the console's root model for one session.
func New(opts Options) tea.Model {
	opts = opts.withDefaults()
	s := &session{opts: opts, tick: tea.Tick, term: delivery.TerminalFromEnv(opts.Terminal)}
	if _, err := smtpConfig(opts); err != nil {
		s.smtpErr = err // said on the email button, before the admin asks (identity.go)
	}
	a := &App{s: s, keys: newGlobalKeys(), help: help.New(), isDark: true, loading: true}
	a.toasts.s = s
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
	_, err := tea.NewProgram(New(opts), o...).Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (a *App) restyle(isDark bool) {
	a.isDark = isDark
	a.s.isDark = isDark
	a.s.styles = newStyles(isDark, a.s.opts.NoColor)
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
	cmds := []tea.Cmd{tea.RequestBackgroundColor, askTerminal(), a.loadNetworks()}
	for _, w := range a.s.opts.Warnings {
		cmds = append(cmds, a.toasts.add(w, toastNote))
	}
	return tea.Batch(cmds...)
}

func (a *App) loadNetworks() tea.Cmd {
	a.loading, a.loadErr = true, nil
	return loadNetworksCmd(a.s.opts.Backend, a.s.opts.Timeout, a.s.opts.StateFile)
}

func (a *App) top() component {
	if len(a.stack) == 0 {
		return nil
	}
	return a.stack[len(a.stack)-1]
}

func (a *App) busy() bool {
	if a.loading {
		return true
	}
	for _, c := range a.stack {
		if c.Busy() {
			return true
		}
	}
	return a.dialog != nil && a.dialog.Busy()
}

// Update routes the message and, when something is waiting, keeps the
// spinner turning (and only then: an idle console sends no ticks).
func (a *App) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := tea.Batch(a.update(msg), a.keepLive())
	if a.busy() && !a.spinning {
		a.spinning = true
		cmd = tea.Batch(cmd, a.spin.Tick)
	}
	return a, cmd
}

func (a *App) update(msg tea.Msg) tea.Cmd {
	if cmd, ok := a.updateBulk(msg); ok {
		return cmd
	}
	if cmd, ok := a.updateCreate(msg); ok {
		return cmd
	}
	if cmd, ok := a.updateLive(msg); ok {
		return cmd
	}
	if cmd, ok := a.updateNetPoll(msg); ok {
		return cmd
	}
	if cmd, ok := a.updateRefresh(msg); ok {
		return cmd
	}
	if cmd, ok := a.updateSCP(msg); ok { // scpdownload.go
		return cmd
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
	case retryTickMsg:
		return a.retryTick(msg)
	case toastExpiredMsg:
		a.toasts.remove(msg.id)
		return nil
	case noteMsg:
		return a.toasts.add(msg.text, msg.kind)
	case copyRequestedMsg:
		return a.copyText(msg) // clipboard.go
	case networksLoadedMsg:
		return a.networksLoaded(msg)
	case networkChosenMsg:
		return a.openNetwork(msg.network, true)
	case stateSavedMsg:
		if msg.err != nil {
			return a.toasts.add("Could not remember the network for next time: "+msg.err.Error(), toastProblem)
		}
		return nil
	case pageLoadedMsg, filterTickMsg:
		if l, ok := a.top().(*identitiesScreen); ok {
			return l.Update(msg)
		}
		return nil
	case openIdentityMsg:
		return a.openIdentity(msg.identity)
	case identityLoadedMsg:
		return a.identityLoaded(msg)
	case backMsg:
		return a.back()
	case actionRequestedMsg:
		return a.startAction(msg.action)
	case datePickedMsg:
		return a.datePicked(msg.expiresAt)
	case confirmedMsg:
		a.dialog = nil
		return a.mutate()
	case cancelledMsg:
		a.dialog, a.flow = nil, flow{}
		return nil
	case mutationDoneMsg:
		return a.mutationDone(msg)
	case qrReadyMsg:
		return a.qrReady(msg)
	case downloadRequestedMsg:
		return a.download(msg)
	case downloadDoneMsg:
		return a.downloadDone(msg)
	case emailRequestedMsg:
		return a.sendEmail(msg)
	case emailDoneMsg:
		return a.emailDone(msg)
	}
	// Anything else (paste, cursor messages) belongs to whoever has the focus.
	if a.dialog != nil {
		return a.dialog.Update(msg)
	}
	if t := a.top(); t != nil {
		return t.Update(msg)
	}
	return nil
}

func (a *App) tooSmall() bool { return a.width < minWidth || a.height < minHeight }

func (a *App) typing() bool {
	if a.dialog != nil {
		return a.dialog.Typing()
	}
	t := a.top()
	return t != nil && t.Typing()
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
		return a.openPicker()
	case key.Matches(msg, a.keys.Refresh):
		return a.refresh() // refresh.go
	}
	var cmd tea.Cmd
	if a.dialog != nil {
		cmd = a.dialog.Update(msg)
	} else if t := a.top(); t != nil {
		cmd = t.Update(msg)
	}
	a.enableGlobalKeys()
	return cmd
}

// layout gives every component its size: the main pane minus the
// breadcrumb line; dialogs get a width that fits inside it.
func (a *App) layout() {
	if a.width == 0 {
		return // the size isn't known yet: no page size, no page request
	}
	w, h := a.mainSize()
	for _, c := range a.stack {
		c.SetSize(w, h-1)
	}
	if _, full := a.dialog.(fullScreener); full {
		a.dialog.SetSize(a.width, a.height)
	} else if a.dialog != nil {
		a.dialog.SetSize(a.dialogWidth(), h)
	}
	a.help.SetWidth(a.width)
}

func (a *App) mainSize() (int, int) {
	return max(1, a.width-sidebarWidth-1), max(1, a.height-1)
}

func (a *App) dialogWidth() int {
	w, _ := a.mainSize()
	return min(64, w-6)
}

func (a *App) push(c component) tea.Cmd {
	a.stack = append(a.stack, c)
	a.layout()
	return c.Init()
}

func (a *App) openDialog(c component) {
	a.dialog = c
	a.layout()
}

func (a *App) networksLoaded(msg networksLoadedMsg) tea.Cmd {
	a.loading = false
	if msg.err != nil {
		return a.networksFailed(msg.err)
	}
	a.netRetry = retry{}
	a.networks = msg.networks
	if a.networks == nil {
		a.networks = []model.Network{} // loaded, and none: the picker says what to do
	}
	var open []model.Network
	for _, n := range msg.networks {
		if n.Status == "" {
			open = append(open, n)
		}
		if msg.last != "" && n.ID == msg.last && n.Status == "" {
			return a.openNetwork(n, false)
		}
	}
	if len(msg.networks) == 1 && len(open) == 1 {
		return a.openNetwork(open[0], false)
	}
	return a.push(newNetworksScreen(a.s, a.networks, a.network.ID)) // just loaded
}

func (a *App) openPicker() tea.Cmd {
	if a.networks == nil {
		return a.loadNetworks()
	}
	if _, ok := a.top().(*networksScreen); ok {
		return nil
	}
	// The networks were loaded earlier: ask again at once for those
	// created since (netpoll.go).
	return tea.Batch(a.push(newNetworksScreen(a.s, a.networks, a.network.ID)), a.pollNetworksNow())
}

func (a *App) openNetwork(n model.Network, remember bool) tea.Cmd {
	a.network = n
	a.stack, a.dialog, a.flow = nil, nil, flow{}
	l := newIdentitiesScreen(a.s, n)
	l.canBack = len(a.networks) > 1
	cmd := a.push(l)
	if remember {
		cmd = tea.Batch(cmd, saveLastNetworkCmd(a.s.opts.StateFile, n.ID))
	}
	return cmd
}

func (a *App) back() tea.Cmd {
	if len(a.stack) <= 1 {
		if _, ok := a.top().(*identitiesScreen); ok && len(a.networks) > 1 {
			return a.openPicker() // the list's way back: the network it is of
		}
		return nil
	}
	a.stack = a.stack[:len(a.stack)-1]
	a.editSeq++ // answers for the screen just closed are moot
	if l, ok := a.top().(*identitiesScreen); ok {
		return l.refresh()
	}
	return nil
}

// editing is the Edit Identity screen on top, if it is.
func (a *App) editing() *identityScreen {
	v, _ := a.top().(*identityScreen)
	return v
}

func (a *App) openIdentity(ident model.Identity) tea.Cmd {
	v := newIdentityScreen(a.s, a.network.ID, ident)
	cmd := a.push(v)
	// The row may be seconds old: show it at once, then what the backend
	// holds now.
	return tea.Batch(cmd, a.reload(v, ""))
}

func (a *App) reload(v *identityScreen, note string) tea.Cmd {
	a.editSeq = a.s.nextSeq()
	v.loading = true
	return loadIdentityCmd(a.s.opts.Backend, a.s.opts.Timeout, a.network.ID, v.ident.ID, a.editSeq, note)
}

func (a *App) identityLoaded(msg identityLoadedMsg) tea.Cmd {
	v := a.editing()
	if v == nil || msg.seq != a.editSeq || msg.identity.ID != "" && msg.identity.ID != v.ident.ID {
		return nil
	}
	v.loading = false
	if msg.err != nil {
		return a.identityFailed(v, msg.err)
	}
	v.setIdentity(msg.identity)
	if msg.note != "" {
		return a.toasts.add(msg.note, toastNote)
	}
	return nil
}

func (a *App) startAction(act model.Action) tea.Cmd {
	v := a.editing()
	if v == nil || v.busy != "" || !v.ident.Allows(a.s.now(), act) {
		return nil
	}
	if err := a.s.refusal(act); err != nil { // role.go
		return a.toasts.add(describeErr(err), toastProblem)
	}
	a.flow = flow{action: act, ident: v.ident}
	switch act {
	case model.ActionReset:
		a.openDialog(newDatePicker(a.s, act, v.ident))
		// The confirmation must show the sessions active right now.
		return a.reload(v, "")
	case model.ActionReissue:
		a.openDialog(newDatePicker(a.s, act, v.ident))
		return nil
	case model.ActionDelete:
		a.openDialog(newDeleteConfirm(a.s, v.ident))
		return nil
	}
	// The deliveries. Each fetches the token when it is about to be used,
	// through the backend's audited Token where it has one.
	a.flow = flow{}
	switch act {
	case model.ActionQR:
		a.qrSeq = a.s.nextSeq()
		v.setBusy("Preparing the QR code")
		return qrCmd(a.s.opts.Backend, a.s.opts.Timeout, a.network.ID, v.ident, a.qrSeq)
	case model.ActionJWT:
		if a.s.opts.RemoteDownload != nil {
			a.openDialog(newSCPDialog(a.s, a.network, v.ident)) // over SSH: scpdownload.go
			return nil
		}
		a.openDialog(newDownloadDialog(a.s, v.ident))
	case model.ActionEmail:
		cfg, err := smtpConfig(a.s.opts)
		if err != nil {
			return a.toasts.add(describeDeliveryErr("The email can't be sent", err), toastProblem)
		}
		a.openDialog(newEmailDialog(a.s, v.ident, cfg))
	}
	return nil
}

func (a *App) datePicked(t time.Time) tea.Cmd {
	a.dialog = nil
	a.flow.expiresAt = t
	switch a.flow.action {
	case model.ActionReset:
		// The identity as reloaded when r was pressed, if it has come.
		if v := a.editing(); v != nil && v.ident.ID == a.flow.ident.ID {
			a.flow.ident = v.ident
		}
		a.openDialog(newResetConfirm(a.s, a.flow.ident, fmtTime(fmtDateTime(t, a.s.opts.Location))))
		return nil
	case model.ActionReissue:
		// Reissue replaces a token that already stopped working: nothing in
		// use changes, so it needs no confirmation beyond Submit.
		return a.mutate()
	}
	a.flow = flow{}
	return nil
}

// mutate performs the flow's action with the revision the admin saw.
func (a *App) mutate() tea.Cmd {
	f := a.flow
	v := a.editing()
	if f.action == "" || v == nil {
		a.flow = flow{}
		return nil
	}
	a.mutSeq = a.s.nextSeq()
	a.editSeq++ // a reload still under way would show the state before the change
	v.loading = false
	v.setBusy(map[model.Action]string{
		model.ActionReset:   "Resetting enrollment",
		model.ActionReissue: "Reissuing enrollment",
		model.ActionDelete:  "Deleting enrollment",
	}[f.action])
	return mutateCmd(a.s.opts.Backend, a.s.opts.Timeout, a.network.ID, a.mutSeq, f.action, f.ident, f.expiresAt)
}

func (a *App) mutationDone(msg mutationDoneMsg) tea.Cmd {
	if msg.seq != a.mutSeq {
		return nil
	}
	a.flow = flow{}
	v := a.editing()
	if v != nil && v.ident.ID != msg.identity.ID {
		v = nil
	}
	if v != nil {
		v.setBusy("")
	}
	name := safetext.Line(msg.identity.Name, 40)
	if msg.err != nil {
		cmd := a.toasts.add(describeErr(msg.err), toastProblem)
		if errors.Is(msg.err, backend.ErrConflict) && v != nil {
			cmd = tea.Batch(cmd, a.reload(v, name+" was reloaded: check its state before trying again."))
		}
		return cmd
	}
	var text string
	after := msg.token.Identity
	exp := fmtDate(msg.token.ExpiresAt, a.s.opts.Location)
	switch msg.action {
	case model.ActionReset:
		text = fmt.Sprintf("Enrollment reset for %s: %s dropped, token expires %s",
			name, plural(msg.token.SessionsDropped, "session", "sessions"), exp)
	case model.ActionReissue:
		text = fmt.Sprintf("Enrollment reissued for %s: token expires %s", name, exp)
	case model.ActionDelete:
		after = msg.after
		text = fmt.Sprintf("Enrollment deleted for %s: it has no token now", name)
	}
	if v != nil {
		v.setIdentity(after)
	}
	return a.toasts.add(text, toastDone)
}

// qrReady opens the QR code fetched for the identity still being edited.
func (a *App) qrReady(msg qrReadyMsg) tea.Cmd {
	v := a.editing()
	if msg.seq != a.qrSeq || v == nil || v.ident.ID != msg.identity.ID {
		return nil
	}
	v.setBusy("")
	if msg.err != nil {
		return a.toasts.add(describeDeliveryErr("The QR code can't be shown", msg.err), toastProblem)
	}
	qv := newQRView(a.s, msg.identity, msg.code)
	a.openDialog(qv)
	return qv.redraw()
}

func (a *App) download(msg downloadRequestedMsg) tea.Cmd {
	d, ok := a.dialog.(*downloadDialog)
	if !ok || d.Busy() {
		return nil
	}
	d.running(a.s.nextSeq())
	// The folder proposed is made on first use; one the admin typed isn't.
	proposed := msg.dir != "" && filepath.Clean(msg.dir) == filepath.Clean(expandHome(a.s.opts.Downloads, a.s.opts.Getenv))
	return downloadCmd(a.s.opts.Backend, a.s.opts.Timeout, a.network.ID, d.ident, msg.dir, msg.overwrite, proposed, d.seq)
}

// downloadDone closes the dialog with the path in a toast and the token on
// the admin's clipboard (OSC 52: it reaches the admin's terminal through
// SSH and tmux), or shows the dialog what went wrong.
func (a *App) downloadDone(msg downloadDoneMsg) tea.Cmd {
	d, ok := a.dialog.(*downloadDialog)
	if !ok || d.seq != msg.seq || !d.Busy() {
		return nil
	}
	if msg.err != nil {
		d.failed(msg.err)
		return nil
	}
	a.dialog = nil
	text := fmt.Sprintf("Token of %s saved to %s and %s", safetext.Line(d.ident.Name, 40), msg.path, a.s.clipboardWords())
	return tea.Batch(a.toasts.add(text, toastDone), tea.SetClipboard(string(msg.Token)))
}

func (a *App) sendEmail(msg emailRequestedMsg) tea.Cmd {
	d, ok := a.dialog.(*emailDialog)
	if !ok || d.Busy() {
		return nil
	}
	d.running(a.s.nextSeq())
	o := a.s.opts
	return emailCmd(o.Backend, o.Timeout, o.SendTimeout, d.cfg, a.network, d.ident, msg.to, o.Location, d.seq)
}

func (a *App) emailDone(msg emailDoneMsg) tea.Cmd {
	d, ok := a.dialog.(*emailDialog)
	if !ok || d.seq != msg.seq || !d.Busy() {
		return nil
	}
	if msg.err != nil {
		d.failed(msg.err)
		return nil
	}
	a.dialog = nil
	return a.toasts.add("Registration email sent to "+msg.to, toastDone)
}

// View draws the frame. Only the root returns a tea.View.
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
		msg := fmt.Sprintf("terminal is %d×%d; idcon needs at least %d×%d", a.width, a.height, minWidth, minHeight)
		return lipgloss.Place(a.width, a.height, lipgloss.Center, lipgloss.Center,
			lipgloss.Wrap(msg, a.width, " "))
	}
	a.enableGlobalKeys()
	if _, full := a.dialog.(fullScreener); full {
		return a.dialog.View()
	}
	mw, mh := a.mainSize()
	side := a.s.styles.Sidebar.Render(fitBlock(a.sidebar(), sidebarWidth-2, mh))
	main := fitBlock(a.breadcrumbs(mw)+"\n"+a.mainView(), mw, mh)
	main = lipgloss.NewStyle().PaddingLeft(1).Render(main)
	frame := lipgloss.JoinHorizontal(lipgloss.Top, side, main) + "\n" + a.helpView()

	layers := []*lipgloss.Layer{lipgloss.NewLayer(frame)}
	if a.help.ShowAll {
		full := a.s.styles.Dialog.Render(a.help.View(a.helpKeys()))
		x := max(0, min(sidebarWidth+1, a.width-lipgloss.Width(full))) // over the sidebar if it must, never off the screen
		layers = append(layers, lipgloss.NewLayer(full).X(x).Y(max(0, mh-lipgloss.Height(full))).Z(3))
	}
	var dialogAt *box
	if a.dialog != nil {
		d := a.s.styles.Dialog.Render(a.dialog.View())
		x := sidebarWidth + 1 + max(0, (mw-lipgloss.Width(d))/2)
		y := max(1, (mh-lipgloss.Height(d))/2)
		dialogAt = &box{x, y, lipgloss.Width(d), lipgloss.Height(d)}
		layers = append(layers, lipgloss.NewLayer(d).X(x).Y(y).Z(1))
	}
	if t, x, y, ok := a.toasts.place(min(50, mw-2), a.width, mh, dialogAt); ok { // toast.go
		layers = append(layers, lipgloss.NewLayer(t).X(x).Y(y).Z(2))
	}
	if len(layers) == 1 {
		return frame
	}
	return lipgloss.NewCompositor(layers...).Render()
}

func (a *App) sidebar() string {
	st := &a.s.styles
	w := sidebarWidth - 2
	var b strings.Builder
	b.WriteString(st.Title.Render("idcon") + "\n\n")
	if who := a.s.opts.SignedIn; who != "" {
		b.WriteString(st.SidebarHead.Render("SIGNED IN") + "\n" + safetext.Line(who, w) + "\n\n")
	}
	b.WriteString(st.SidebarHead.Render("NETWORK") + st.Muted.Render("  (n)") + "\n")
	if a.network.ID == "" {
		b.WriteString(st.Muted.Render("none open") + "\n")
	} else {
		b.WriteString(safetext.Line(a.network.Name, w) + "\n")
		if n := a.identityCount(); n >= 0 {
			b.WriteString(st.Muted.Render(plural(n, "identity", "identities")) + "\n")
		}
	}
	b.WriteString("\n" + st.SidebarHead.Render("MENU") + "\n")
	if a.network.ID == "" {
		b.WriteString(st.Muted.Render("  Identities"))
	} else {
		b.WriteString(st.SidebarActive.Render("› Identities"))
	}
	return b.String()
}

func (a *App) breadcrumbs(w int) string {
	var parts []string
	if a.network.ID != "" {
		parts = append(parts, safetext.Line(a.network.Name, 24))
	}
	for _, c := range a.stack {
		if _, ok := c.(*networksScreen); ok {
			parts = []string{c.Title()}
			continue
		}
		parts = append(parts, c.Title())
	}
	if len(parts) == 0 {
		parts = []string{"idcon"}
	}
	return a.s.styles.Title.Render(safetext.Line(strings.Join(parts, " › "), w))
}

func (a *App) mainView() string {
	st := &a.s.styles
	switch {
	case a.loadErr != nil:
		return st.Error.Render("Could not load the networks.") + "\n" +
			safetext.Clean(describeErr(a.loadErr)) + "\n\n" + a.networksRetryView() + st.Muted.Render("Press n to try again, q to quit.")
	case a.loading && len(a.stack) == 0:
		return a.s.spinner + " Loading networks…"
	case len(a.stack) == 0:
		return ""
	}
	return a.top().View()
}

// helpKeys composes the focused component's keys with the global ones.
func (a *App) helpKeys() help.KeyMap {
	var c help.KeyMap
	if a.dialog != nil {
		c = a.dialog
	} else if t := a.top(); t != nil {
		c = t
	}
	// ctrl+c quits everywhere: the full help always says so.
	force := a.keys.ForceQuit
	force.SetEnabled(true)
	return composedKeys{c: c, g: []key.Binding{a.keys.Networks, a.keys.Refresh, a.keys.Help, a.keys.Quit, force}}
}

func (a *App) helpView() string {
	essential := []key.Binding{a.keys.Help, a.keys.Quit, a.keys.ForceQuit}
	if a.help.ShowAll {
		return a.help.ShortHelpView(essential)
	}
	var comp []key.Binding
	if a.dialog != nil {
		comp = a.dialog.ShortHelp()
	} else if t := a.top(); t != nil {
		comp = t.ShortHelp()
	}
	return a.help.ShortHelpView(fitHelp(a.help, comp, []key.Binding{a.keys.Networks, a.keys.Refresh}, essential, a.width)) // helpbar.go
}

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
