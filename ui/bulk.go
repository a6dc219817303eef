package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// Bulk actions: in the identities list, space marks an identity, a marks
// every identity matching the filter, esc clears the marks; r and i then
// reset or reissue every marked identity whose state allows it, after one
// date picker and one confirmation, with a progress dialog that ends in a
// summary. The backend does the work (backend.Bulker): the console holds
// the selection symbolically and never loads the identities it names.

// marks is the list's selection. Either a few identities marked one by one
// (a small map), or every identity matching the query the list showed when
// a was pressed, less the few unmarked since: nothing is loaded for it,
// so marking 100,000 identities costs what marking one does.
type marks struct {
	all    bool
	filter string      // the query all was taken for
	state  model.State //
	ids    map[string]struct{}
	except map[string]struct{}
}

func (m *marks) has(id string) bool {
	if m.all {
		_, out := m.except[id]
		return !out
	}
	_, in := m.ids[id]
	return in
}

// toggle marks or unmarks one identity.
func (m *marks) toggle(id string) {
	set := &m.ids
	if m.all {
		set = &m.except
	}
	if *set == nil {
		*set = map[string]struct{}{}
	}
	if _, ok := (*set)[id]; ok {
		delete(*set, id)
	} else {
		(*set)[id] = struct{}{}
	}
}

func (m *marks) markAll(filter string, state model.State) {
	*m = marks{all: true, filter: filter, state: state}
}

func (m *marks) clear() { *m = marks{} }

// follow keeps the marks in step with the list's query: "all matching" is
// about the query it was taken for, so a new filter or state drops it.
// Identities marked one by one stay marked.
func (m *marks) follow(filter string, state model.State) {
	if m.all && (filter != m.filter || state != m.state) {
		m.clear()
	}
}

// count is how many identities are marked, given how many match the
// list's query now.
func (m *marks) count(total int) int {
	if m.all {
		return max(0, total-len(m.except))
	}
	return len(m.ids)
}

func (m *marks) any(total int) bool { return m.count(total) > 0 }

// selection is the marks as the backend takes them.
func (m *marks) selection() backend.Selection {
	if m.all {
		sel := backend.Selection{All: true, Filter: m.filter, State: m.state}
		for id := range m.except {
			sel.Except = append(sel.Except, id)
		}
		return sel
	}
	sel := backend.Selection{}
	for id := range m.ids {
		sel.IDs = append(sel.IDs, id)
	}
	return sel
}

type bulkKeys struct {
	Mark, MarkAll, Clear, Reset, Reissue key.Binding
	// Act stands for Reset and Reissue on the help line.
	Act key.Binding
}

func newBulkKeys() bulkKeys {
	return bulkKeys{
		Mark:    key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "mark")),
		MarkAll: key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "mark all")),
		Clear:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear marks"), key.WithDisabled()),
		Reset:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reset marked"), key.WithDisabled()),
		Reissue: key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "reissue marked"), key.WithDisabled()),
		Act:     key.NewBinding(key.WithKeys("r", "i"), key.WithHelp("r/i", "reset/reissue marked"), key.WithDisabled()),
	}
}

// enableBulkKeys shows the keys that do something now: marking while
// browsing, the actions and esc only with marks.
func (s *identitiesScreen) enableBulkKeys() {
	browsing := !s.filtering
	marked := s.marks.any(s.total)
	s.bulk.Mark.SetEnabled(browsing)
	s.bulk.MarkAll.SetEnabled(browsing)
	s.bulk.Clear.SetEnabled(browsing && marked && !s.filtered()) // esc clears the filter first
	s.bulk.Reset.SetEnabled(browsing && marked)
	s.bulk.Reissue.SetEnabled(browsing && marked)
	s.bulk.Act.SetEnabled(browsing && marked)
}

// bulkShortHelp is the bulk actions for the help bar, once something is
// marked (how to mark is in the full help; esc clearing the marks is
// listed by the list with its other esc keys).
func (s *identitiesScreen) bulkShortHelp() []key.Binding {
	s.enableBulkKeys()
	return []key.Binding{s.bulk.Act}
}

// bulkFullHelp is the bulk keys for the full help's two columns: every
// one, those that wait for marks too, so that ? tells how bulk actions go
// before anything is marked (esc is with the list's, in listEscHelp).
func (s *identitiesScreen) bulkFullHelp() [2][]key.Binding {
	s.enableBulkKeys()
	b := s.bulk
	if !s.filtering {
		for _, k := range []*key.Binding{&b.Reset, &b.Reissue} {
			k.SetEnabled(true) // b is a copy: the keys themselves stay as they are
		}
	}
	return [2][]key.Binding{{b.Mark, b.MarkAll}, {b.Reset, b.Reissue}}
}

// updateBulkKeys handles the bulk keys while browsing; ok is false for any
// other key.
func (s *identitiesScreen) updateBulkKeys(msg tea.KeyPressMsg) (tea.Cmd, bool) {
	s.enableBulkKeys()
	b := s.bulk
	switch {
	case key.Matches(msg, b.Mark):
		if ident, ok := s.current(); ok {
			s.marks.toggle(ident.ID)
			s.move(1) // like a file manager: mark and go on
			return s.ensurePage(), true
		}
		return nil, true
	case key.Matches(msg, b.MarkAll):
		if s.total > 0 {
			s.marks.markAll(s.filter, s.state)
		}
		return nil, true
	case key.Matches(msg, b.Clear):
		s.marks.clear()
		return nil, true
	case key.Matches(msg, b.Reset):
		return s.requestBulk(model.ActionReset), true
	case key.Matches(msg, b.Reissue):
		return s.requestBulk(model.ActionReissue), true
	}
	return nil, false
}

func (s *identitiesScreen) requestBulk(a model.Action) tea.Cmd {
	return msgCmd(bulkRequestedMsg{action: a, sel: s.marks.selection(), marked: s.marks.count(s.total)})
}

// rowMarker is a row's first two cells: the cursor, then the mark.
func (s *identitiesScreen) rowMarker(id string, selected bool) string {
	cur, mark := " ", " "
	if selected {
		cur = "›"
	}
	if s.marks.has(id) {
		mark = "✓"
	}
	return cur + mark
}

// marksStatus is the status line's part about the marks, or "".
func (s *identitiesScreen) marksStatus() string {
	n := s.marks.count(s.total)
	if n == 0 {
		return ""
	}
	if s.marks.all && len(s.marks.except) == 0 {
		return fmtCount(n) + " marked (all matching)"
	}
	return fmtCount(n) + " marked"
}

// The bulk flow's messages.
type (
	// bulkRequestedMsg: the admin pressed r or i with marks.
	bulkRequestedMsg struct {
		action model.Action
		sel    backend.Selection
		marked int
	}
	// bulkSummaryMsg answers the count of what the action would do.
	bulkSummaryMsg struct {
		seq int
		sum backend.BulkSummary
		err error
	}
	// bulkProgressMsg reports how far the run has got.
	bulkProgressMsg struct {
		seq  int
		tick bulkTally
	}
	// bulkFinishedMsg ends the run.
	bulkFinishedMsg struct {
		seq      int
		tick     bulkTally
		failures []bulkFailure
		err      error // what stopped the whole run, if anything
	}
	// bulkCancelMsg: the admin asked the run to stop.
	bulkCancelMsg struct{}
	// bulkClosedMsg: the admin closed the summary.
	bulkClosedMsg struct{}
)

// bulkStage is where the bulk flow stands.
type bulkStage int

const (
	bulkPicking    bulkStage = iota // the date picker is open
	bulkConfirming                  // the confirmation is open
	bulkRunning                     // the progress dialog is open
	bulkDone                        // the summary is open
)

// bulkFlow is the bulk action under way: r/i → date → confirm → run →
// summary.
type bulkFlow struct {
	action    model.Action
	sel       backend.Selection
	marked    int
	network   model.Network
	seq       int
	stage     bulkStage
	expiresAt time.Time
	summary   *backend.BulkSummary // nil until counted
	cancel    context.CancelFunc
	run       *bulkRun
}

// updateBulk performs the bulk flow's messages, and the dialogs' answers
// while a bulk flow is open; ok is false for anything else.
func (a *App) updateBulk(msg tea.Msg) (tea.Cmd, bool) {
	f := a.bulk
	switch msg := msg.(type) {
	case bulkRequestedMsg:
		return a.startBulk(msg), true
	case bulkSummaryMsg:
		if f == nil || msg.seq != f.seq {
			return nil, true
		}
		return a.bulkCounted(msg), true
	case bulkProgressMsg:
		if f == nil || msg.seq != f.seq || f.stage != bulkRunning {
			return nil, true
		}
		if d, ok := a.dialog.(*progressDialog); ok {
			d.progress(msg.tick, a.s.now())
		}
		return waitBulkCmd(f.run, f.seq), true
	case bulkFinishedMsg:
		if f == nil || msg.seq != f.seq {
			return nil, true
		}
		return a.bulkFinished(msg), true
	case bulkCancelMsg:
		if f != nil && f.stage == bulkRunning && f.cancel != nil {
			f.cancel()
			if d, ok := a.dialog.(*progressDialog); ok {
				d.cancelling = true
			}
		}
		return nil, true
	case bulkClosedMsg:
		a.dialog, a.bulk = nil, nil
		return nil, true
	case tea.KeyPressMsg:
		// ctrl+c quits even during a run: stop the run too, before the next
		// identity, rather than let it go on with nobody watching (under
		// the SSH server the process outlives the session).
		if msg.String() == "ctrl+c" && f != nil && f.cancel != nil {
			f.cancel()
		}
		return nil, false
	}
	if f == nil {
		return nil, false
	}
	switch msg := msg.(type) {
	case datePickedMsg:
		if f.stage != bulkPicking {
			return nil, false
		}
		f.expiresAt = msg.expiresAt
		f.stage = bulkConfirming
		a.openDialog(a.bulkConfirm())
		return nil, true
	case confirmedMsg:
		if f.stage != bulkConfirming || f.summary == nil || f.summary.Eligible == 0 {
			return nil, true // nothing counted yet, or nothing to do
		}
		return a.runBulk(), true
	case cancelledMsg:
		if f.stage == bulkPicking || f.stage == bulkConfirming {
			a.dialog, a.bulk = nil, nil
			return nil, true
		}
	}
	return nil, false
}

func (a *App) bulkList() *identitiesScreen {
	l, _ := a.top().(*identitiesScreen)
	return l
}

func (a *App) startBulk(msg bulkRequestedMsg) tea.Cmd {
	if a.bulk != nil || a.dialog != nil || a.bulkList() == nil || msg.marked == 0 {
		return nil
	}
	f := &bulkFlow{action: msg.action, sel: msg.sel, marked: msg.marked, network: a.network, seq: a.s.nextSeq()}
	a.bulk = f
	// The date picker names what it is for; the identity is only a title.
	what := model.Identity{Name: plural(msg.marked, "marked identity", "marked identities")}
	a.openDialog(newDatePicker(a.s, msg.action, what))
	// Counted while the admin picks the date.
	return bulkSummaryCmd(a.bulker(), a.s.opts.Timeout, a.network.ID, f.sel, f.action, f.seq)
}

func (a *App) bulker() backend.Bulker { return backend.Bulk(a.s.opts.Backend, a.s.opts.Now) }

func (a *App) bulkCounted(msg bulkSummaryMsg) tea.Cmd {
	f := a.bulk
	if msg.err != nil {
		if f.stage != bulkRunning {
			a.dialog, a.bulk = nil, nil
		}
		return a.toasts.add("Could not count the marked identities: "+describeErr(msg.err), toastProblem)
	}
	f.summary = &msg.sum
	if f.stage == bulkConfirming {
		a.openDialog(a.bulkConfirm())
	}
	return nil
}

// bulkConfirm is the one confirmation of a bulk action: the totals the
// backend counted, or a wait while it counts.
func (a *App) bulkConfirm() component {
	f := a.bulk
	st := &a.s.styles
	need, _ := backend.BulkState(f.action)
	verb := map[model.Action]string{model.ActionReset: "Reset", model.ActionReissue: "Reissue"}[f.action]
	c := &confirmDialog{s: a.s, focus: 1, keys: newConfirmKeys(strings.ToLower(verb), "cancel")}
	exp := fmtDateTime(f.expiresAt, a.s.opts.Location)
	if f.summary == nil {
		c.title = fmt.Sprintf("%s enrollment of %s?", verb, plural(f.marked, "marked identity", "marked identities"))
		c.body = []string{a.s.spinner + " Counting the marked identities…"}
		c.buttons = [2]string{"…", "Cancel"}
		return c
	}
	sum := *f.summary
	if sum.Eligible == 0 {
		return newNoticeDialog(a.s, "Nothing to "+strings.ToLower(verb), fmt.Sprintf("None of the %s is %s, so none can be %s. They are: %s.",
			plural(sum.Selected, "marked identity", "marked identities"), need, bulkPastTense(f.action), byStateLine(sum)))
	}
	c.title = fmt.Sprintf("%s enrollment of %s?", verb, plural(sum.Eligible, "identity", "identities"))
	if f.action == model.ActionReset {
		c.body = append(c.body, st.Error.Render("Warning:")+" every active connection of these identities drops the moment you confirm, and their current credentials stop working.",
			st.Error.Render(fmt.Sprintf("Sessions that will drop: %s.", fmtCount(sum.Sessions))))
	} else {
		c.body = append(c.body, "Each gets a new token in place of the one that expired unused.")
	}
	if sum.Skipped > 0 {
		c.body = append(c.body, fmt.Sprintf("Skipped: %s whose state doesn't allow it (%s).",
			plural(sum.Skipped, "identity", "identities"), byStateLine(sum, need)))
	}
	c.body = append(c.body, "The new tokens will expire "+exp+".")
	c.buttons = [2]string{fmt.Sprintf("%s %s", verb, plural(sum.Eligible, "identity", "identities")), "Cancel"}
	return c
}

// byStateLine says how many of the selection are in each state, leaving
// out the states in skip: "3 pending, 1 expired".
func byStateLine(sum backend.BulkSummary, skip ...model.State) string {
	var parts []string
	for _, st := range model.States {
		if n := sum.ByState[st]; n > 0 && !containsState(skip, st) {
			parts = append(parts, fmtCount(n)+" "+string(st))
		}
	}
	return strings.Join(parts, ", ")
}

func containsState(sts []model.State, st model.State) bool {
	for _, x := range sts {
		if x == st {
			return true
		}
	}
	return false
}

func bulkPastTense(a model.Action) string {
	if a == model.ActionReissue {
		return "reissued"
	}
	return "reset"
}

// runBulk starts the run and opens its progress dialog.
func (a *App) runBulk() tea.Cmd {
	f := a.bulk
	f.stage = bulkRunning
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	f.run = newBulkRun()
	a.openDialog(newProgressDialog(a.s, f.action, f.summary.Eligible, f.summary.Skipped, a.s.now()))
	return tea.Batch(
		bulkApplyCmd(ctx, cancel, a.bulker(), f.run, f.network.ID, f.sel, f.action, f.expiresAt, f.seq),
		waitBulkCmd(f.run, f.seq),
	)
}

func (a *App) bulkFinished(msg bulkFinishedMsg) tea.Cmd {
	f := a.bulk
	f.stage = bulkDone
	f.cancel()
	if d, ok := a.dialog.(*progressDialog); ok {
		d.finish(msg.tick, msg.failures, msg.err, a.s.now())
	}
	// The marks named what was to be done; it is done.
	var cmd tea.Cmd
	if l := a.bulkList(); l != nil {
		l.marks.clear()
		cmd = l.refresh()
	}
	return cmd
}

// bulkTally is how far a run has got.
type bulkTally struct {
	done, failed, dropped int
}

// bulkFailure is one identity the run could not change, and why.
type bulkFailure struct {
	name, reason string // both already safe to draw
}

// maxFailuresKept bounds the failures a run keeps for its summary: the
// count is exact, the list shows the first ones.
const maxFailuresKept = 100

// bulkRun is what the goroutine doing a run shares with the console: the
// tally so far, and a wake-up channel of one slot, so however fast results
// come the console gets at most one progress message per frame it draws.
// The new tokens are NOT kept: the console doesn't hold thousands of
// secrets; the CLI's bulk reset writes them to a file.
type bulkRun struct {
	mu       sync.Mutex
	tally    bulkTally
	failures []bulkFailure
	wake     chan struct{}
	done     chan struct{}
}

func newBulkRun() *bulkRun {
	return &bulkRun{wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (r *bulkRun) record(res backend.BulkResult) {
	r.mu.Lock()
	if res.Err != nil {
		r.tally.failed++
		if len(r.failures) < maxFailuresKept {
			r.failures = append(r.failures, bulkFailure{
				name: safetext.Line(res.Identity.Name, 40), reason: safetext.Clean(describeBulkErr(res.Err)),
			})
		}
	} else {
		r.tally.done++
		r.tally.dropped += res.Token.SessionsDropped
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default: // a wake-up is already waiting
	}
}

// undo takes back the results of a batch that was reported and then not
// kept: they count as failures, with the reason.
func (r *bulkRun) undo(u *backend.UndoneError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, res := range u.Results {
		r.tally.done--
		r.tally.dropped -= res.Token.SessionsDropped
		r.tally.failed++
		if len(r.failures) < maxFailuresKept {
			r.failures = append(r.failures, bulkFailure{
				name:   safetext.Line(res.Identity.Name, 40),
				reason: safetext.Clean("not kept: " + describeBulkErr(u.Err)),
			})
		}
	}
}

func (r *bulkRun) snapshot() bulkTally {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tally
}

// describeBulkErr says why one identity was not changed, shorter than
// describeErr: the summary lists many.
func describeBulkErr(err error) string {
	var be *backend.Error
	if errors.As(err, &be) {
		return be.Msg
	}
	return err.Error()
}

// bulkSummaryCmd counts what the action would do to the selection.
func bulkSummaryCmd(b backend.Bulker, timeout time.Duration, network string, sel backend.Selection, a model.Action, seq int) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		sum, err := b.Summarize(ctx, network, sel, a)
		return bulkSummaryMsg{seq: seq, sum: sum, err: err}
	}
}

// bulkApplyCmd runs the bulk action to its end (or until ctx is
// cancelled: the backend stops before the next identity) and reports the
// outcome. It has no deadline: a run over a large network takes minutes,
// and the admin can cancel it.
func bulkApplyCmd(ctx context.Context, cancel context.CancelFunc, b backend.Bulker, run *bulkRun, network string,
	sel backend.Selection, a model.Action, expiresAt time.Time, seq int) tea.Cmd {
	return func() tea.Msg {
		defer cancel()
		err := b.BulkApply(ctx, network, sel, a, expiresAt, func(res backend.BulkResult) bool {
			run.record(res) // the token is dropped here
			return true
		})
		var u *backend.UndoneError
		if errors.As(err, &u) {
			run.undo(u) // reported done, then not kept: the summary must say so
		}
		close(run.done)
		run.mu.Lock()
		defer run.mu.Unlock()
		return bulkFinishedMsg{seq: seq, tick: run.tally, failures: run.failures, err: err}
	}
}

// waitBulkCmd waits for the run's next progress, or its end.
func waitBulkCmd(run *bulkRun, seq int) tea.Cmd {
	return func() tea.Msg {
		select {
		case <-run.wake:
			return bulkProgressMsg{seq: seq, tick: run.snapshot()}
		case <-run.done:
			return nil // bulkFinishedMsg carries the end
		}
	}
}

// noticeDialog says something the admin reads and closes (enter or esc,
// which cancels the flow that opened it).
type noticeDialog struct {
	s           *session
	title, body string // already safe
	close       key.Binding
	width       int
}

func newNoticeDialog(s *session, title, body string) *noticeDialog {
	return &noticeDialog{s: s, title: title, body: body,
		close: key.NewBinding(key.WithKeys("enter", "esc"), key.WithHelp("enter/esc", "close"))}
}

func (d *noticeDialog) Title() string             { return d.title }
func (d *noticeDialog) Busy() bool                { return false }
func (d *noticeDialog) Typing() bool              { return false }
func (d *noticeDialog) Init() tea.Cmd             { return nil }
func (d *noticeDialog) SetSize(w, _ int)          { d.width = w }
func (d *noticeDialog) ShortHelp() []key.Binding  { return []key.Binding{d.close} }
func (d *noticeDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }
func (d *noticeDialog) Update(msg tea.Msg) tea.Cmd {
	if km, ok := msg.(tea.KeyPressMsg); ok && key.Matches(km, d.close) {
		return msgCmd(cancelledMsg{})
	}
	return nil
}
func (d *noticeDialog) View() string {
	w := d.width
	if w <= 0 {
		w = 56
	}
	return d.s.styles.DialogTitle.Render(d.title) + "\n\n" + lipgloss.Wrap(d.body, w, " ")
}
