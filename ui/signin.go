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

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/openziti"
	"github.com/idcon/idcon/safetext"
)

// Signing in to a controller from the console (README "Sign in"): a login
// that needs a password the config doesn't give, or a TOTP code, asks
// through a SignIn, which the console answers with a field dialog (masked;
// esc cancels; a refused answer is said and asked again). SignIn also keeps
// the last requests made to controllers for the requests pane (R).

// maxRequests is how many requests the pane keeps.
const maxRequests = 200

// askWait bounds how long a login waits for the admin to answer.
const askWait = 5 * time.Minute

// SignIn joins the controllers' logins to a console: Ask is their
// openziti.Asker and Observe their Config.Observe. Make one per console
// (NewSignIn), pass it as Options.SignIn, and Close it when the console
// ends. Never under the SSH server: there no admin is asked.
type SignIn struct {
	asks chan signInAsk
	done chan struct{}
	once sync.Once

	mu   sync.Mutex
	reqs []openziti.Exchange // the last maxRequests, oldest first
}

type signInAsk struct {
	ctx    context.Context
	prompt openziti.Prompt
	reply  chan signInAnswer
}

type signInAnswer struct {
	value string
	err   error
}

// NewSignIn makes a SignIn for one console.
func NewSignIn() *SignIn {
	return &SignIn{asks: make(chan signInAsk), done: make(chan struct{})}
}

// errSignInCancelled is the answer when the admin pressed esc.
var errSignInCancelled = backend.Invalid("the sign-in was cancelled: nothing was sent to the controller")

// Ask puts the question to the admin and waits for the answer (at most
// askWait, and not past the console's end).
func (b *SignIn) Ask(ctx context.Context, p openziti.Prompt) (string, error) {
	reply := make(chan signInAnswer, 1)
	select {
	case b.asks <- signInAsk{ctx: ctx, prompt: p, reply: reply}:
	case <-ctx.Done():
		return "", ctx.Err()
	case <-b.done:
		return "", errSignInCancelled
	}
	t := time.NewTimer(askWait)
	defer t.Stop()
	select {
	case a := <-reply:
		return a.value, a.err
	case <-t.C:
		return "", backend.Invalid("nobody answered the sign-in within %s", askWait)
	case <-b.done:
		return "", errSignInCancelled
	}
}

// Observe keeps one request for the pane.
func (b *SignIn) Observe(e openziti.Exchange) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.reqs) == maxRequests {
		copy(b.reqs, b.reqs[1:])
		b.reqs = b.reqs[:maxRequests-1]
	}
	b.reqs = append(b.reqs, e)
}

// Requests is the last requests, oldest first (a copy of at most
// maxRequests: cheap enough for Update).
func (b *SignIn) Requests() []openziti.Exchange {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]openziti.Exchange(nil), b.reqs...)
}

// Close ends the questions: a login still asking gets a cancellation.
func (b *SignIn) Close() { b.once.Do(func() { close(b.done) }) }

// --- the flow ---

type signInAskMsg struct{ ask signInAsk }
type signInSubmitMsg struct{ value string }
type signInClosedMsg struct{}

// signinFlow answers SignIn's questions with a dialog over whatever is
// open, and puts that back afterwards.
type signinFlow struct {
	st   *stage
	b    *SignIn
	cur  *signInAsk
	dlg  *fieldDialog
	prev component
}

func newSigninFlow(st *stage) *signinFlow { return &signinFlow{st: st, b: st.s.opts.SignIn} }

// listen waits for the next question.
func (f *signinFlow) listen() tea.Cmd {
	if f.b == nil {
		return nil
	}
	asks, done := f.b.asks, f.b.done
	return func() tea.Msg {
		select {
		case a := <-asks:
			return signInAskMsg{a}
		case <-done:
			return signInClosedMsg{}
		}
	}
}

// requestsKey is R, which opens the requests pane: enabled (and so listed
// in ?) when the console has a SignIn and nothing takes the key.
func (f *signinFlow) requestsKey() key.Binding {
	k := key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "controller requests"))
	k.SetEnabled(f.b != nil && f.st.dialog == nil && !f.st.typing())
	return k
}

func (f *signinFlow) update(msg tea.Msg) (tea.Cmd, bool) {
	if km, ok := msg.(tea.KeyPressMsg); ok && key.Matches(km, f.requestsKey()) {
		f.st.openDialog(newRequestsDialog(f.st.s, f.b.Requests()))
		return nil, true
	}
	if f.cur != nil && f.st.dialog != f.dlg {
		// Something else replaced the dialog meanwhile: the question
		// comes back on top, what replaced it after.
		f.prev = f.st.dialog
		f.st.openDialog(f.dlg)
	}
	switch m := msg.(type) {
	case signInAskMsg:
		f.open(m.ask)
		return nil, true
	case signInClosedMsg:
		return nil, true
	case signInSubmitMsg:
		if f.cur == nil {
			return nil, true
		}
		return f.answer(signInAnswer{value: m.value}), true
	case cancelledMsg:
		if f.cur == nil || f.st.dialog != f.dlg {
			return nil, false
		}
		return f.answer(signInAnswer{err: errSignInCancelled}), true
	}
	return nil, false
}

// open shows the question.
func (f *signinFlow) open(a signInAsk) {
	p := a.prompt
	where := safetext.Clean(p.Network)
	spec := fieldDialogSpec{
		Name:       "Sign in",
		Title:      "Sign in to " + where,
		SubmitHelp: "sign in",
		Request:    func(v string, _ bool) tea.Msg { return signInSubmitMsg{v} },
		Progress:   func(string, int) string { return "signing in…" },
	}
	who := safetext.Clean(fmt.Sprintf("%s at %s", p.Username, p.Controller))
	if p.Kind == openziti.PromptCode {
		spec.Title = "Second factor for " + where
		spec.Field = fieldSpec{Label: "TOTP code", Placeholder: "123456", Limit: 8, Secret: true, Check: totpOrRecovery}
		spec.Hint = func() string {
			return "The 6-digit code of your authenticator app for " + who + ", or a recovery code."
		}
	} else {
		spec.Field = fieldSpec{Label: "Password", Secret: true, Check: required("the password")}
		spec.Hint = func() string { return "The controller password of " + who + ". It is sent once and kept nowhere." }
	}
	d := newFieldDialog(f.st.s, spec)
	if p.Retry != "" {
		d.errMsg = p.Retry + ": try again."
	}
	f.cur, f.dlg, f.prev = &a, d, f.st.dialog
	f.st.openDialog(d)
	d.SetSize(f.st.dialogWidth(), 0)
}

// answer replies, puts back what was open and waits for the next
// question; a login whose call ran out of time meanwhile is retried by a
// refresh once it has its session.
func (f *signinFlow) answer(a signInAnswer) tea.Cmd {
	cur := f.cur
	cur.reply <- a
	f.cur, f.dlg = nil, nil
	if f.prev != nil {
		f.st.openDialog(f.prev)
	} else {
		f.st.closeDialog()
	}
	f.prev = nil
	cmds := []tea.Cmd{f.listen()}
	if a.err == nil && cur.ctx.Err() != nil {
		cmds = append(cmds, f.st.s.tick(time.Second, func(time.Time) tea.Msg { return refreshMsg{} }))
	}
	return tea.Batch(cmds...)
}

// totpOrRecovery takes a 6-digit TOTP code or a recovery code (6–8
// letters and digits).
func totpOrRecovery(v string) (string, error) {
	v = strings.TrimSpace(v)
	if len(v) < 6 || len(v) > 8 {
		return "", errors.New("Type the 6-digit code, or a recovery code.")
	}
	for _, r := range v {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			return "", errors.New("A code holds only digits (a recovery code letters too).")
		}
	}
	return v, nil
}

// --- the requests pane ---

// requestsDialog lists the last controller requests (R).
type requestsDialog struct {
	keyDialog
	lines []string
	close key.Binding
}

func newRequestsDialog(s *session, reqs []openziti.Exchange) *requestsDialog {
	d := &requestsDialog{keyDialog: keyDialog{s: s},
		close: key.NewBinding(key.WithKeys("esc", "enter", "R"), key.WithHelp("esc", "close"))}
	for _, e := range reqs {
		d.lines = append(d.lines, e.Network+"  "+e.String())
	}
	d.binds = []keyAction{sends(&d.close, cancelledMsg{})}
	return d
}

func (d *requestsDialog) Title() string             { return "Requests" }
func (d *requestsDialog) ShortHelp() []key.Binding  { return []key.Binding{d.close} }
func (d *requestsDialog) FullHelp() [][]key.Binding { return oneColumn(d) }
func (d *requestsDialog) View() string {
	st, w := &d.s.styles, d.textWidth()
	var b strings.Builder
	b.WriteString(st.DialogTitle.Render("Controller requests") + "\n\n")
	if len(d.lines) == 0 {
		b.WriteString(st.Muted.Render("No request to a controller yet."))
		return b.String()
	}
	const shown = 12 // the newest, so the dialog fits 80×24
	lines := d.lines
	if len(lines) > shown {
		b.WriteString(st.Muted.Render(fmt.Sprintf("the last %d of %d (newest last)", shown, len(lines))) + "\n")
		lines = lines[len(lines)-shown:]
	}
	for _, l := range lines {
		b.WriteString(safetext.Line(l, w) + "\n")
	}
	b.WriteString(st.Muted.Render("Secrets (passwords, tokens, codes) are never shown."))
	return b.String()
}
