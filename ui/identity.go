package ui

import (
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

type identityKeys struct {
	Actions     map[model.Action]*key.Binding
	Reset       key.Binding
	Reissue     key.Binding
	Delete      key.Binding
	Email       key.Binding
	JWT         key.Binding
	QR          key.Binding
	Next, Prev  key.Binding
	Press, Back key.Binding
	Copy        key.Binding // the identity's ID to the clipboard
}

func newIdentityKeys() *identityKeys {
	k := &identityKeys{
		Reset:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reset enrollment")),
		Reissue: key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "reissue enrollment")),
		Delete:  key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "delete enrollment")),
		Email:   key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "send email")),
		JWT:     key.NewBinding(key.WithKeys("j"), key.WithHelp("j", "download JWT")),
		QR:      key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "QR code")),
		Next:    key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("↓/tab", "next action")),
		Prev:    key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("↑/shift+tab", "previous action")),
		Press:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "do action")),
		Back:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Copy:    key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy ID")),
	}
	k.Actions = map[model.Action]*key.Binding{
		model.ActionReset: &k.Reset, model.ActionReissue: &k.Reissue, model.ActionDelete: &k.Delete,
		model.ActionEmail: &k.Email, model.ActionJWT: &k.JWT, model.ActionQR: &k.QR,
	}
	return k
}

// actionOrder is every action in the order of its key in the help.
var actionOrder = []model.Action{model.ActionReset, model.ActionReissue, model.ActionDelete,
	model.ActionEmail, model.ActionJWT, model.ActionQR}

// identityScreen is Edit Identity: the identity's details and its
// Enrollment section, whose actions follow the state (model.Actions). It
// asks for actions with actionRequestedMsg; the action, handover and
// clipboard flows perform them.
type identityScreen struct {
	s       *session
	network string
	ident   model.Identity
	keys    *identityKeys
	actions []model.Action
	focus   int
	busy    string // what is running, e.g. "Resetting enrollment"
	loading bool   // the identity is being (re)loaded
	retry   retry  // reloading it again after the backend was unreachable (retry.go)
	// loadSeq is the latest load of the identity (ordinary or live): only
	// its answer is shown, so a newer load or a change makes older ones moot.
	loadSeq int

	width, height int
}

func newIdentityScreen(s *session, network string, ident model.Identity) *identityScreen {
	v := &identityScreen{s: s, network: network, keys: newIdentityKeys()}
	v.setIdentity(ident)
	return v
}

// reload asks the backend for the identity again, with the spinner; note
// is said once it has come (after a conflict, say).
func (v *identityScreen) reload(note string) tea.Cmd {
	v.loadSeq = v.s.nextSeq()
	v.loading = true
	return loadIdentityCmd(v.s.opts.Backend, v.s.opts.Timeout, v.network, v.ident.ID, v.loadSeq, note)
}

// forget makes the loads under way moot: a change is coming whose answer
// shows the identity.
func (v *identityScreen) forget() {
	v.loadSeq = v.s.nextSeq()
	v.loading = false
}

// setIdentity shows ident (as loaded, or as returned by an action) and
// offers exactly the actions its state allows.
func (v *identityScreen) setIdentity(ident model.Identity) {
	v.ident, v.retry = ident, retry{}
	actions := ident.Actions(v.s.now())
	if !slices.Equal(actions, v.actions) {
		// A new state (the identity opened, or reset, reissued, deleted):
		// the focus starts on a safe action, never on a destructive one.
		v.actions = actions
		v.focus = v.firstSafe()
	}
	v.enableKeys()
}

// firstSafe is the button the focus starts on: the first delivery (after a
// reset or reissue, and whenever the identity has an unused token), else
// the first action that isn't destructive, preferring those this actor may
// take. When every action is destructive (an enrolled identity offers only
// reset) it is the first: enter then still leads to a confirmation whose
// focus is on Cancel.
func (v *identityScreen) firstSafe() int {
	for _, ok := range []func(model.Action) bool{
		func(a model.Action) bool { return a.Delivers() && v.s.unavailable(a) == nil },
		func(a model.Action) bool { return !a.Destructive() && v.s.unavailable(a) == nil },
		func(a model.Action) bool { return !a.Destructive() },
	} {
		for i, a := range v.actions {
			if ok(a) {
				return i
			}
		}
	}
	return 0
}

func (v *identityScreen) enableKeys() {
	for _, a := range actionOrder {
		v.keys.Actions[a].SetEnabled(v.busy == "" && v.ident.Allows(v.s.now(), a) && v.s.refusal(a) == nil)
	}
	has := v.busy == "" && len(v.actions) > 0
	v.keys.Press.SetEnabled(has)
	v.keys.Next.SetEnabled(has && len(v.actions) > 1)
	v.keys.Prev.SetEnabled(has && len(v.actions) > 1)
}

func (v *identityScreen) setBusy(what string) {
	v.busy = what
	v.enableKeys()
}

func (v *identityScreen) Title() string {
	return safetext.Line(v.ident.Name, 30)
}
func (v *identityScreen) Busy() bool       { return v.busy != "" || v.loading }
func (v *identityScreen) Typing() bool     { return false }
func (v *identityScreen) Init() tea.Cmd    { return nil }
func (v *identityScreen) SetSize(w, h int) { v.width, v.height = w, h }

// ShortHelp lists the keys most important first (a narrow help line leaves
// out the last): the destructive delete after the deliveries.
func (v *identityScreen) ShortHelp() []key.Binding {
	k := v.keys
	return []key.Binding{k.Reset, k.Reissue, k.Email, k.JWT, k.QR, k.Delete, k.Copy, k.Back}
}

func (v *identityScreen) FullHelp() [][]key.Binding {
	k := v.keys
	return [][]key.Binding{{k.Reset, k.Reissue, k.Delete, k.Email, k.JWT, k.QR}, {k.Next, k.Prev, k.Press, k.Copy, k.Back}}
}

func (v *identityScreen) Update(msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil
	}
	k := v.keys
	switch {
	case key.Matches(km, k.Back):
		return msgCmd(backMsg{})
	case key.Matches(km, k.Copy):
		return msgCmd(copyRequestedMsg{what: "The ID of " + safetext.Line(v.ident.Name, 40), text: v.ident.ID})
	case key.Matches(km, k.Next):
		v.focus = (v.focus + 1) % len(v.actions)
		return nil
	case key.Matches(km, k.Prev):
		v.focus = (v.focus + len(v.actions) - 1) % len(v.actions)
		return nil
	case key.Matches(km, k.Press):
		return msgCmd(actionRequestedMsg{action: v.actions[v.focus]})
	}
	for _, a := range actionOrder {
		if key.Matches(km, *k.Actions[a]) || v.busy == "" && v.refusedKey(km, a) {
			return msgCmd(actionRequestedMsg{action: a})
		}
	}
	return nil
}

func (v *identityScreen) View() string {
	st := &v.s.styles
	loc := v.s.opts.Location
	now := v.s.now()
	id := v.ident
	valW := max(10, v.width-14)
	var b strings.Builder
	field := func(label, value string) {
		b.WriteString(st.Label.Render(padRight(label, 12)) + "  " + value + "\n")
	}
	field("Name", safetext.Line(id.Name, valW))
	field("ID", safetext.Line(id.ID, valW))
	email := safetext.Line(id.Email, valW)
	if email == "" {
		email = st.Muted.Render("none")
	}
	field("Email", email)
	attrs := make([]string, 0, len(id.Attributes))
	for _, a := range id.Attributes {
		attrs = append(attrs, safetext.Clean(a))
	}
	at := safetext.Line(strings.Join(attrs, ", "), valW)
	if at == "" {
		at = st.Muted.Render("none")
	}
	field("Attributes", at)
	if id.Type != "" {
		field("Type", safetext.Line(id.Type, valW))
	}
	if id.AuthPolicy != "" {
		field("Auth policy", safetext.Line(id.AuthPolicy, valW))
	}
	if !id.CreatedAt.IsZero() {
		field("Created", fmtDateTime(id.CreatedAt, loc)+" ("+model.Relative(id.CreatedAt, now)+")")
	}

	b.WriteString("\n" + st.Section.Render("Enrollment") + "\n")
	state := id.State(now)
	field("State", st.state(state))
	switch {
	case id.Enrollment == nil:
		field("Token", st.Muted.Render("none"))
	case !id.TokenValid(now):
		exp := id.Enrollment.ExpiresAt
		field("Token", st.Expired.Render("expired "+fmtDateTime(exp, loc)+" ("+model.Relative(exp, now)+")"))
	default:
		exp := id.Enrollment.ExpiresAt
		field("Token", "expires "+fmtDateTime(exp, loc)+" ("+model.Relative(exp, now)+")")
	}
	if state == model.StateEnrolled && id.Enrollment != nil {
		// Both facts: the credential still logs in (only Reset ends it),
		// and an unused token is outstanding beside it.
		field("", st.Muted.Render("an unused token is outstanding beside the credential, which still works until reset"))
	}
	if id.EnrolledAt.IsZero() {
		field("Enrolled", st.Muted.Render("never"))
	} else {
		field("Enrolled", fmtDateTime(id.EnrolledAt, loc)+" ("+model.Relative(id.EnrolledAt, now)+")")
	}
	field("Sessions", plural(id.ActiveSessions, "active session", "active sessions"))

	if why := id.Refusal(now, model.ActionReset); id.SignedIn && why != "" {
		b.WriteString("\n" + st.Muted.Width(max(20, v.width-2)).Render("Reset isn't offered: "+why) + "\n")
	}
	b.WriteString("\n")
	if len(v.actions) == 0 {
		// State none: what it means and what can be done, in words.
		b.WriteString(st.Muted.Width(max(20, v.width-2)).Render(model.NoneExplained))
	}
	for i, a := range v.actions {
		label := " " + a.Title() + " (" + v.keys.Actions[a].Help().Key + ") "
		if why := v.s.refusal(a); why != nil {
			// Offered but not to this actor: say why, in words.
			marker := "  "
			if i == v.focus && v.busy == "" {
				marker = "› "
			}
			b.WriteString(marker + st.Muted.Render("["+label+"] ("+shortRefusal(why)+")") + "\n")
			continue
		}
		if a == model.ActionEmail && v.s.smtpErr != nil {
			// Said before the admin presses it: there is no mail server.
			marker := "  "
			if i == v.focus && v.busy == "" {
				marker = "› "
			}
			b.WriteString(marker + st.Muted.Render("["+label+"] (no mail server set up)") + "\n")
			continue
		}
		if i == v.focus && v.busy == "" {
			b.WriteString("› " + st.ButtonFocused.Render("["+label+"]") + "\n")
		} else {
			b.WriteString("  " + st.Button.Render("["+label+"]") + "\n")
		}
	}
	switch {
	case v.busy != "":
		b.WriteString("\n" + v.s.spinner + " " + v.busy + "…")
	case v.loading:
		b.WriteString("\n" + st.Muted.Render(v.s.spinner+" reloading…"))
	case v.retry.waiting():
		b.WriteString("\n" + v.retryView())
	}
	return strings.TrimRight(b.String(), "\n")
}
