package ui

import (
	"context"
	"errors"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// The enrollment action flow, from a key in Edit Identity to the toast:
//
//	r → date picker → confirmation → reset → result
//	i → date picker → reissue → result
//	d → confirmation → delete → result
//
// The result shows in Edit Identity, whose focus then rests on the new
// token's deliveries (the handover flow, handover.go). The flow acts only
// on the answers of the dialogs it opened; a dialog whose identity changed
// meanwhile (identityShownMsg, from the live flow) becomes a stale dialog
// that only closes.

// The action flow's messages.
type (
	// mutationDoneMsg answers reset, reissue or delete.
	mutationDoneMsg struct {
		seq      int
		action   model.Action
		identity model.Identity // the identity as it was when asked
		token    backend.Token  // reset and reissue
		after    model.Identity // delete
		err      error
	}
)

// mutateCmd performs reset, reissue or delete with the revision the admin
// last saw, so a concurrent change is refused as a conflict.
func mutateCmd(b backend.Backend, timeout time.Duration, network string, seq int, a model.Action, ident model.Identity, expiresAt time.Time) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		msg := mutationDoneMsg{seq: seq, action: a, identity: ident}
		switch a {
		case model.ActionReset:
			msg.token, msg.err = b.ResetEnrollment(ctx, network, ident.ID, ident.Revision, expiresAt)
		case model.ActionReissue:
			msg.token, msg.err = b.ReissueEnrollment(ctx, network, ident.ID, ident.Revision, expiresAt)
		case model.ActionDelete:
			msg.after, msg.err = b.DeleteEnrollment(ctx, network, ident.ID, ident.Revision)
		default:
			msg.err = backend.Invalid("%s is not a change", a.Title())
		}
		return msg
	}
}

// identityShownMsg: Edit Identity now shows ident as the backend holds it
// (reloaded, or changed by someone else: by names them when a Change did).
type identityShownMsg struct {
	ident model.Identity
	by    string
}

// actionFlow is the enrollment action under way, if any.
type actionFlow struct {
	st        *stage
	action    model.Action
	ident     model.Identity // as the admin saw it when confirming
	expiresAt time.Time
	dialog    component // the dialog of the flow, while it is open
	seq       int       // the mutation under way
}

func newActionFlow(st *stage) *actionFlow { return &actionFlow{st: st} }

// active reports an action under way (a dialog open or a call in flight).
func (f *actionFlow) active() bool { return f.action != "" }

func (f *actionFlow) end() {
	*f = actionFlow{st: f.st, seq: f.seq}
}

// owns reports whether the dialog on top is the flow's.
func (f *actionFlow) owns() bool { return f.dialog != nil && f.st.dialog == f.dialog }

func (f *actionFlow) open(c component) {
	f.dialog = c
	f.st.openDialog(c)
}

func (f *actionFlow) update(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case actionRequestedMsg:
		if msg.action.Delivers() {
			return nil, false // the handover flow's
		}
		return f.start(msg.action), true
	case datePickedMsg:
		if !f.owns() {
			return nil, false
		}
		return f.datePicked(msg.expiresAt), true
	case confirmedMsg:
		if !f.owns() {
			return nil, false
		}
		f.st.closeDialog()
		f.dialog = nil
		return f.mutate(), true
	case cancelledMsg:
		if !f.owns() {
			return nil, false
		}
		f.st.closeDialog()
		f.end()
		return nil, true
	case mutationDoneMsg:
		if msg.seq != f.seq {
			return nil, true
		}
		return f.done(msg), true
	case identityShownMsg:
		f.checkStale(msg.ident, msg.by)
		return nil, true
	}
	return nil, false
}

// allowedAction is the Edit Identity screen an action may start on, or nil
// (with a toast saying why when the actor may not).
func allowedAction(st *stage, act model.Action) (*identityScreen, tea.Cmd) {
	v := st.editing()
	if v == nil || v.busy != "" || !v.ident.Allows(st.s.now(), act) {
		return nil, nil
	}
	if err := st.s.refusal(act); err != nil { // role.go
		return nil, st.toast(describeErr(err), toastProblem)
	}
	return v, nil
}

func (f *actionFlow) start(act model.Action) tea.Cmd {
	v, cmd := allowedAction(f.st, act)
	if v == nil {
		return cmd
	}
	f.end()
	f.action, f.ident = act, v.ident
	switch act {
	case model.ActionReset:
		f.open(newDatePicker(f.st.s, act, v.ident))
		// The confirmation must show the sessions active right now.
		return v.reload("")
	case model.ActionReissue:
		f.open(newDatePicker(f.st.s, act, v.ident))
	case model.ActionDelete:
		f.open(newDeleteConfirm(f.st.s, v.ident))
	default:
		f.end()
	}
	return nil
}

func (f *actionFlow) datePicked(t time.Time) tea.Cmd {
	f.st.closeDialog()
	f.dialog = nil
	f.expiresAt = t
	switch f.action {
	case model.ActionReset:
		// The identity as reloaded when r was pressed, if it has come.
		if v := f.st.editing(); v != nil && v.ident.ID == f.ident.ID {
			f.ident = v.ident
		}
		f.open(newResetConfirm(f.st.s, f.ident, fmtTime(fmtDateTime(t, f.st.s.opts.Location))))
		return nil
	case model.ActionReissue:
		// Reissue replaces a token that already stopped working: nothing in
		// use changes, so it needs no confirmation beyond Submit.
		return f.mutate()
	}
	f.end()
	return nil
}

// mutate performs the flow's action with the revision the admin saw.
func (f *actionFlow) mutate() tea.Cmd {
	v := f.st.editing()
	if f.action == "" || v == nil {
		f.end()
		return nil
	}
	f.seq = f.st.s.nextSeq()
	v.forget() // a reload still under way would show the state before the change
	v.setBusy(map[model.Action]string{
		model.ActionReset:   "Resetting enrollment",
		model.ActionReissue: "Reissuing enrollment",
		model.ActionDelete:  "Deleting enrollment",
	}[f.action])
	o := f.st.s.opts
	return mutateCmd(o.Backend, o.Timeout, f.st.network.ID, f.seq, f.action, f.ident, f.expiresAt)
}

// done shows the result in Edit Identity and says it in a toast.
func (f *actionFlow) done(msg mutationDoneMsg) tea.Cmd {
	f.end()
	v := f.st.editing()
	if v != nil && v.ident.ID != msg.identity.ID {
		v = nil
	}
	if v != nil {
		v.setBusy("")
	}
	name := safetext.Line(msg.identity.Name, 40)
	if msg.err != nil {
		cmd := f.st.toast(describeErr(msg.err), toastProblem)
		if errors.Is(msg.err, backend.ErrConflict) && v != nil {
			cmd = tea.Batch(cmd, v.reload(name+" was reloaded: check its state before trying again."))
		}
		return cmd
	}
	var text string
	after := msg.token.Identity
	exp := fmtDate(msg.token.ExpiresAt, f.st.s.opts.Location)
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
	return f.st.toast(text, toastDone)
}

// checkStale puts a note over the flow's date picker or confirmation when
// the identity it was opened for has changed since, and keeps it from
// going on.
func (f *actionFlow) checkStale(ident model.Identity, who string) {
	if !f.owns() || ident.ID != f.ident.ID || ident.Revision == f.ident.Revision {
		return
	}
	if _, done := f.dialog.(*staleDialog); done {
		return
	}
	by := ""
	if who != "" {
		by = " by " + safetext.Line(who, 30)
	}
	text := fmt.Sprintf("%s was changed%s meanwhile: press esc and look again.", safetext.Line(ident.Name, 40), by)
	f.open(newStaleDialog(f.st.s, f.dialog, text))
}
