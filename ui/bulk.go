package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

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

// bulkJob is the bulk action under way: r/i → date → confirm → run →
// summary.
type bulkJob struct {
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

// bulkFlow performs the bulk actions of the identities list.
type bulkFlow struct {
	st  *stage
	job *bulkJob // nil when none is under way
}

func newBulkFlow(st *stage) *bulkFlow { return &bulkFlow{st: st} }

// stop cancels a run under way and waits for its end: the backend stops
// after the identity under way, keeps what it did and writes its audit
// lines. The console calls it when it quits (ctrl+c quits even mid-run),
// so the process never ends with changes made and not yet audited.
func (b *bulkFlow) stop() {
	f := b.job
	if f == nil || f.run == nil {
		return
	}
	if f.cancel != nil {
		f.cancel()
	}
	<-f.run.done
}

// active reports a bulk action under way, from its date picker to its
// summary.
func (b *bulkFlow) active() bool { return b.job != nil }

// update performs the bulk flow's messages, and the dialogs' answers while
// a bulk action is under way; ok is false for anything else.
func (b *bulkFlow) update(msg tea.Msg) (tea.Cmd, bool) {
	f := b.job
	switch msg := msg.(type) {
	case bulkRequestedMsg:
		return b.start(msg), true
	case bulkSummaryMsg:
		if f == nil || msg.seq != f.seq {
			return nil, true
		}
		return b.counted(msg), true
	case bulkProgressMsg:
		if f == nil || msg.seq != f.seq || f.stage != bulkRunning {
			return nil, true
		}
		if d, ok := b.st.dialog.(*progressDialog); ok {
			d.progress(msg.tick, b.st.s.now())
		}
		return waitBulkCmd(f.run, f.seq), true
	case bulkFinishedMsg:
		if f == nil || msg.seq != f.seq {
			return nil, true
		}
		return b.finished(msg), true
	case bulkCancelMsg:
		if f != nil && f.stage == bulkRunning && f.cancel != nil {
			f.cancel()
			if d, ok := b.st.dialog.(*progressDialog); ok {
				d.cancelling = true
			}
		}
		return nil, true
	case bulkClosedMsg:
		b.st.closeDialog()
		b.job = nil
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
		b.st.openDialog(b.confirm())
		return nil, true
	case confirmedMsg:
		if f.stage != bulkConfirming || f.summary == nil || f.summary.Eligible == 0 {
			return nil, true // nothing counted yet, or nothing to do
		}
		return b.run(), true
	case cancelledMsg:
		if f.stage == bulkPicking || f.stage == bulkConfirming {
			b.st.closeDialog()
			b.job = nil
			return nil, true
		}
	}
	return nil, false
}

func (b *bulkFlow) start(msg bulkRequestedMsg) tea.Cmd {
	if b.job != nil || b.st.dialog != nil || b.st.list() == nil || msg.marked == 0 {
		return nil
	}
	f := &bulkJob{action: msg.action, sel: msg.sel, marked: msg.marked, network: b.st.network, seq: b.st.s.nextSeq()}
	b.job = f
	// The date picker names what it is for; the identity is only a title.
	what := model.Identity{Name: plural(msg.marked, "marked identity", "marked identities")}
	b.st.openDialog(newDatePicker(b.st.s, msg.action, what))
	// Counted while the admin picks the date.
	return bulkSummaryCmd(b.bulker(), b.st.s.opts.Timeout, b.st.network.ID, f.sel, f.action, f.seq)
}

func (b *bulkFlow) bulker() backend.Bulker { return backend.Bulk(b.st.s.opts.Backend, b.st.s.opts.Now) }

func (b *bulkFlow) counted(msg bulkSummaryMsg) tea.Cmd {
	f := b.job
	if msg.err != nil {
		if f.stage != bulkRunning {
			b.st.closeDialog()
			b.job = nil
		}
		return b.st.toast("Could not count the marked identities: "+describeErr(msg.err), toastProblem)
	}
	f.summary = &msg.sum
	if f.stage == bulkConfirming {
		b.st.openDialog(b.confirm())
	}
	return nil
}

// bulkConfirm is the one confirmation of a bulk action: the totals the
// backend counted, or a wait while it counts.
func (b *bulkFlow) confirm() component {
	f := b.job
	st := &b.st.s.styles
	need, _ := backend.BulkState(f.action)
	verb := map[model.Action]string{model.ActionReset: "Reset", model.ActionReissue: "Reissue"}[f.action]
	c := newConfirm(b.st.s, newConfirmKeys(strings.ToLower(verb), "cancel"), "", nil, [2]string{})
	exp := fmtDateTime(f.expiresAt, b.st.s.opts.Location)
	if f.summary == nil {
		c.title = fmt.Sprintf("%s enrollment of %s?", verb, plural(f.marked, "marked identity", "marked identities"))
		c.body = []string{b.st.s.spinner + " Counting the marked identities…"}
		c.buttons = [2]string{"…", "Cancel"}
		return c
	}
	sum := *f.summary
	if sum.Eligible == 0 {
		return newNoticeDialog(b.st.s, "Nothing to "+strings.ToLower(verb), fmt.Sprintf("None of the %s is %s, so none can be %s. They are: %s.",
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
func (b *bulkFlow) run() tea.Cmd {
	f := b.job
	f.stage = bulkRunning
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	f.run = newBulkRun()
	b.st.openDialog(newProgressDialog(b.st.s, f.action, f.summary.Eligible, f.summary.Skipped, b.st.s.now()))
	return tea.Batch(
		bulkApplyCmd(ctx, cancel, b.bulker(), f.run, f.network.ID, f.sel, f.action, f.expiresAt, f.seq),
		waitBulkCmd(f.run, f.seq),
	)
}

func (b *bulkFlow) finished(msg bulkFinishedMsg) tea.Cmd {
	f := b.job
	f.stage = bulkDone
	f.cancel()
	if d, ok := b.st.dialog.(*progressDialog); ok {
		d.finish(msg.tick, msg.failures, msg.err, b.st.s.now())
	}
	// The marks named what was to be done; it is done.
	var cmd tea.Cmd
	if l := b.st.list(); l != nil {
		l.marks.clear()
		cmd = l.refresh()
	}
	return cmd
}
