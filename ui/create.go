package ui

import (
	"context"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// Create identity: + in the list opens the form (name, email, role
// attributes), enter goes on to the date picker reset and reissue use,
// and its date creates the identity; its Edit Identity view then opens on
// the new token's deliveries. The form keeps what was typed through the
// date picker (esc there comes back to it) and through a refusal (a name
// already taken is said under the name, nothing made).

type (
	// createRequestedMsg: the admin pressed + in the list.
	createRequestedMsg struct{}
	// createFilledMsg: the form was submitted with valid fields.
	createFilledMsg struct{ req model.NewIdentity }
	// identityCreatedMsg answers the create.
	identityCreatedMsg struct {
		seq   int
		token backend.Token
		err   error
	}
)

// createFlow is a create under way: the form, kept while the date picker
// is open, and the request it made.
type createFlow struct {
	st   *stage
	form *createDialog // nil when none is under way
	req  model.NewIdentity
}

func newCreateFlow(st *stage) *createFlow { return &createFlow{st: st} }

// active reports a create under way.
func (c *createFlow) active() bool { return c.form != nil }

func (c *createFlow) end() { c.form, c.req = nil, model.NewIdentity{} }

// update performs the create flow's messages; ok is false for those that
// aren't its own.
func (c *createFlow) update(msg tea.Msg) (tea.Cmd, bool) {
	st, f := c.st, c.form
	switch msg := msg.(type) {
	case createRequestedMsg:
		return c.start(), true
	case createFilledMsg:
		if f == nil || st.dialog != component(f) {
			return nil, true
		}
		c.req = msg.req
		st.openDialog(newDatePicker(st.s, model.ActionCreate, model.Identity{Name: msg.req.Name}))
		return nil, true
	case datePickedMsg:
		if p, ok := st.dialog.(*datePicker); !ok || f == nil || p.action != model.ActionCreate {
			return nil, false
		}
		c.req.ExpiresAt = msg.expiresAt
		st.openDialog(f)
		f.running, f.err, f.errAt = true, "", -1
		f.seq = st.s.nextSeq()
		return createCmd(st.s.opts.Backend, st.s.opts.Timeout, st.network.ID, c.req, f.seq), true
	case cancelledMsg:
		if f == nil {
			return nil, false
		}
		if p, ok := st.dialog.(*datePicker); ok && p.action == model.ActionCreate {
			st.openDialog(f) // back to what was typed
			return nil, true
		}
		if st.dialog == component(f) {
			st.closeDialog()
			c.end()
			return nil, true
		}
		c.end() // left behind (the screens were replaced): not ours
		return nil, false
	case identityCreatedMsg:
		if f == nil || msg.seq != f.seq {
			return nil, true
		}
		if msg.err != nil {
			f.failed(msg.err)
			return nil, true
		}
		st.closeDialog()
		c.end()
		tok := msg.token
		text := fmt.Sprintf("Created %s: its token expires %s", safetext.Line(tok.Identity.Name, 40), fmtDate(tok.ExpiresAt, st.s.opts.Location))
		return tea.Batch(st.openIdentity(tok.Identity), st.toast(text, toastDone)), true
	}
	return nil, false
}

// start opens the form, unless the actor may not create (said in a toast,
// before anything is typed) or something else is open.
func (c *createFlow) start() tea.Cmd {
	st := c.st
	if st.list() == nil || st.dialog != nil || st.network.ID == "" {
		return nil
	}
	if err := st.s.refusal(model.ActionCreate); err != nil { // role.go
		return st.toast(describeErr(err), toastProblem)
	}
	c.form = newCreateDialog(st.s, st.network)
	st.openDialog(c.form)
	return nil
}

// createCmd creates the identity, which the backend does whole or not at
// all.
func createCmd(b backend.Backend, timeout time.Duration, network string, req model.NewIdentity, seq int) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		tok, err := b.CreateIdentity(ctx, network, req)
		return identityCreatedMsg{seq: seq, token: tok, err: err}
	}
}
