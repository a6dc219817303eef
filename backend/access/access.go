// Package access puts role enforcement and auditing in front of a Backend:
// every front end (the local console, the CLI, each SSH session) talks to the
// shared backend through one access.Backend that knows who is acting, refuses
// what the actor's role forbids, writes one audit line per mutation and token
// delivery, and tells other sessions what changed.
package access

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"sync"
	"time"

	"github.com/idcon/idcon/audit"
	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// Role is what an actor may do.
type Role string

// The roles. An admin may do everything; a viewer may browse but not change
// anything or see a token.
const (
	RoleAdmin  Role = "admin"
	RoleViewer Role = "viewer"
)

// ParseRole reads a role's name.
func ParseRole(s string) (Role, error) {
	switch Role(s) {
	case RoleAdmin, RoleViewer:
		return Role(s), nil
	}
	return "", fmt.Errorf("unknown role %q: use admin or viewer", s)
}

// Actor is who acts through a Backend.
type Actor struct {
	Name        string
	Fingerprint string // SHA256 fingerprint of the SSH key ("SHA256:…"); empty for a local run
	Role        Role
	Via         string // "ssh" or "local"
}

// The values of Actor.Via.
const (
	ViaSSH   = "ssh"
	ViaLocal = "local"
)

// LocalActor is the actor of a local run: the OS user, as admin.
func LocalActor() Actor {
	name := ""
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if name == "" {
		name = os.Getenv("USER")
	}
	if name == "" {
		name = "unknown"
	}
	return Actor{Name: name, Role: RoleAdmin, Via: ViaLocal}
}

func (a Actor) audit() audit.Actor {
	return audit.Actor{Name: a.Name, Fingerprint: a.Fingerprint, Role: string(a.Role), Via: a.Via}
}

// Option configures a Backend.
type Option func(*Backend)

// WithChanges makes the Backend publish each successful mutation to c.
func WithChanges(c *Changes) Option { return func(b *Backend) { b.changes = c } }

// WithInflight makes the Backend hold g open around each mutation and token
// delivery, so a shutdown can wait for them (see Inflight).
func WithInflight(g *Inflight) Option { return func(b *Backend) { b.inflight = g } }

// Backend is a backend.Backend that enforces the actor's role, audits and
// publishes changes. It is cheap: make one per session. Its Close does not
// close the shared backend it wraps.
type Backend struct {
	b        backend.Backend
	actor    Actor
	log      *audit.Log
	now      func() time.Time
	changes  *Changes
	inflight *Inflight

	mu       sync.Mutex
	netNames map[string]string // network ID → name, for audit lines
}

var _ backend.Backend = (*Backend)(nil)

// New wraps the shared backend b for actor. log may be nil only in tests
// that don't care about the trail (mutations are then not audited); now nil
// means time.Now.
func New(b backend.Backend, actor Actor, log *audit.Log, now func() time.Time, opts ...Option) *Backend {
	if now == nil {
		now = time.Now
	}
	a := &Backend{b: b, actor: actor, log: log, now: now}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Actor is who this Backend acts for.
func (a *Backend) Actor() Actor { return a.actor }

// Changes is the hub this Backend publishes to (nil if none); front ends
// subscribe to it to refresh what other sessions changed.
func (a *Backend) Changes() *Changes { return a.changes }

// what says an action in the words of a refusal: "viewers can't <what>".
var what = map[model.Action]string{
	model.ActionReset:   "reset enrollments",
	model.ActionReissue: "reissue enrollments",
	model.ActionDelete:  "delete enrollments",
	model.ActionEmail:   "send registration emails",
	model.ActionJWT:     "download tokens",
	model.ActionQR:      "see QR codes",
	model.ActionCreate:  "create identities",
	actionToken:         "see tokens",
}

// actionToken is the pseudo-action of a plain token read, which has no
// model.Action.
const actionToken model.Action = "token"

// Can reports whether the actor may do action, as nil or as the
// backend.ErrForbidden error that says why not. Front ends use it to disable
// a key with its reason; the Backend checks again on every call.
func (a *Backend) Can(action model.Action) error {
	if a.actor.Role == RoleAdmin {
		return nil
	}
	w := what[action]
	if w == "" {
		w = string(action)
	}
	role := a.actor.Role
	if role == "" {
		role = "no role"
	}
	return backend.Forbidden("viewers can't %s: ask an admin (you are %s, %s)", w, a.actor.Name, role)
}

// --- reads: open to every role ---

// Networks lists the networks.
func (a *Backend) Networks(ctx context.Context) ([]model.Network, error) {
	nets, err := a.b.Networks(ctx)
	if err == nil {
		a.mu.Lock()
		if a.netNames == nil {
			a.netNames = map[string]string{}
		}
		for _, n := range nets {
			a.netNames[n.ID] = n.Name
		}
		a.mu.Unlock()
	}
	return nets, err
}

// Identities returns one page of a network's identities.
func (a *Backend) Identities(ctx context.Context, network string, q model.ListQuery) (model.Page, error) {
	return a.b.Identities(ctx, network, q)
}

// Identity returns one identity.
func (a *Backend) Identity(ctx context.Context, network, id string) (model.Identity, error) {
	return a.b.Identity(ctx, network, id)
}

// IdentityByName returns the identity with this name.
func (a *Backend) IdentityByName(ctx context.Context, network, name string) (model.Identity, error) {
	return a.b.IdentityByName(ctx, network, name)
}

// Close does nothing: the wrapped backend is shared and its owner closes it.
func (a *Backend) Close() error { return nil }

// --- mutations: admins only, each audited ---

// CreateIdentity creates an identity (admins only).
func (a *Backend) CreateIdentity(ctx context.Context, network string, req model.NewIdentity) (backend.Token, error) {
	var tok backend.Token
	err := a.mutate(ctx, model.ActionCreate, audit.ActionCreate, network, "", req.Name, func() (string, error) {
		var err error
		tok, err = a.b.CreateIdentity(ctx, network, req)
		return tok.Identity.ID, err
	})
	return tok, err
}

// ResetEnrollment resets an enrolled identity (admins only).
func (a *Backend) ResetEnrollment(ctx context.Context, network, id string, revision int64, expiresAt time.Time) (backend.Token, error) {
	var tok backend.Token
	err := a.mutate(ctx, model.ActionReset, audit.ActionReset, network, id, "", func() (string, error) {
		var err error
		tok, err = a.b.ResetEnrollment(ctx, network, id, revision, expiresAt)
		return id, err
	})
	return tok, err
}

// ReissueEnrollment reissues an expired token (admins only).
func (a *Backend) ReissueEnrollment(ctx context.Context, network, id string, revision int64, expiresAt time.Time) (backend.Token, error) {
	var tok backend.Token
	err := a.mutate(ctx, model.ActionReissue, audit.ActionReissue, network, id, "", func() (string, error) {
		var err error
		tok, err = a.b.ReissueEnrollment(ctx, network, id, revision, expiresAt)
		return id, err
	})
	return tok, err
}

// DeleteEnrollment removes an unused token (admins only).
func (a *Backend) DeleteEnrollment(ctx context.Context, network, id string, revision int64) (model.Identity, error) {
	var ident model.Identity
	err := a.mutate(ctx, model.ActionDelete, audit.ActionDelete, network, id, "", func() (string, error) {
		var err error
		ident, err = a.b.DeleteEnrollment(ctx, network, id, revision)
		return id, err
	})
	return ident, err
}

// mutate runs one guarded, audited mutation. do returns the identity's ID
// (known only after a create).
func (a *Backend) mutate(ctx context.Context, check model.Action, action, network, id, name string, do func() (string, error)) error {
	done, err := a.inflight.begin()
	if err != nil {
		a.record(ctx, network, id, name, action, err)
		return err
	}
	defer done()
	if err := a.Can(check); err != nil {
		a.record(ctx, network, id, name, action, err)
		return err
	}
	gotID, err := do()
	if gotID != "" {
		id = gotID
	}
	if backend.DryRunOf(ctx) != nil {
		return err // a dry run changed nothing: no audit line, no change event
	}
	a.record(ctx, network, id, name, action, err)
	if err == nil && a.changes != nil {
		a.changes.PublishEvent(ChangeEvent{Network: network, IdentityID: id, Action: action, By: a.actor.Name})
	}
	return err
}

// --- tokens: admins only, each delivery audited ---

// TokenJWT returns the identity's current token (admins only). Front ends
// should call Token with the delivery's purpose instead; this plain form is
// audited as "token read" so no token leaves unrecorded.
func (a *Backend) TokenJWT(ctx context.Context, network, id string) (string, error) {
	return a.token(ctx, network, id, actionToken, audit.ActionTokenRead, true)
}

// Token is the way front ends fetch a token for a delivery: purpose is
// model.ActionQR, ActionJWT or ActionEmail. It checks the role and audits
// "qr shown" or "jwt downloaded" with the result. For ActionEmail it audits
// only a refusal or failure: the caller records the outcome of the send with
// Record once it is known.
func (a *Backend) Token(ctx context.Context, network, id string, purpose model.Action) (string, error) {
	var action string
	switch purpose {
	case model.ActionQR:
		action = audit.ActionQRShown
	case model.ActionJWT:
		action = audit.ActionJWTDownloaded
	case model.ActionEmail:
		action = audit.ActionEmailSent
	default:
		return "", backend.Invalid("%q is not a token delivery: use qr, jwt or email", purpose)
	}
	return a.token(ctx, network, id, purpose, action, purpose != model.ActionEmail)
}

func (a *Backend) token(ctx context.Context, network, id string, check model.Action, action string, auditOK bool) (string, error) {
	done, err := a.inflight.begin()
	if err != nil {
		a.record(ctx, network, id, "", action, err)
		return "", err
	}
	defer done()
	if err := a.Can(check); err != nil {
		a.record(ctx, network, id, "", action, err)
		return "", err
	}
	jwt, err := a.b.TokenJWT(ctx, network, id)
	if err != nil || auditOK {
		a.record(ctx, network, id, "", action, err)
	}
	return jwt, err
}

// Record audits a delivery whose outcome is known only later, such as an
// email sent (result "ok") or failed (the error in words). action is the
// delivery (model.ActionEmail, ActionJWT, ActionQR); identity is the
// identity's ID.
func (a *Backend) Record(ctx context.Context, network, identity string, action model.Action, result string) {
	name := string(action)
	switch action {
	case model.ActionEmail:
		name = audit.ActionEmailSent
	case model.ActionJWT:
		name = audit.ActionJWTDownloaded
	case model.ActionQR:
		name = audit.ActionQRShown
	}
	if result == "" {
		result = audit.ResultOK
	}
	a.appendEntry(ctx, network, identity, "", name, result)
}

// record audits action with err's words, or "ok".
func (a *Backend) record(ctx context.Context, network, id, name, action string, err error) {
	result := audit.ResultOK
	if err != nil {
		result = err.Error()
	}
	a.appendEntry(ctx, network, id, name, action, result)
}

// appendEntry writes one audit line, looking up the names it lacks. A
// failure to audit is not the caller's failure (the change is done) but it
// must not pass silently: it goes to stderr.
func (a *Backend) appendEntry(ctx context.Context, network, id, name, action, result string) {
	if a.log == nil {
		return
	}
	e := audit.Entry{
		Time:     a.now(),
		Actor:    a.actor.audit(),
		Network:  audit.Ref{ID: network, Name: a.networkName(ctx, network)},
		Identity: audit.Ref{ID: id, Name: name},
		Action:   action,
		Result:   result,
	}
	if e.Identity.Name == "" && id != "" {
		lctx, cancel := lookupContext(ctx)
		if ident, err := a.b.Identity(lctx, network, id); err == nil {
			e.Identity.Name = ident.Name
		}
		cancel()
	}
	if err := a.log.Append(e); err != nil {
		fmt.Fprintf(os.Stderr, "idcon: audit: %v\n", err)
	}
}

func (a *Backend) networkName(ctx context.Context, id string) string {
	a.mu.Lock()
	name, ok := a.netNames[id]
	a.mu.Unlock()
	if ok || id == "" {
		return name
	}
	lctx, cancel := lookupContext(ctx)
	defer cancel()
	_, _ = a.Networks(lctx)
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.netNames[id]
}

// lookupContext bounds the name look-ups of an audit line, and outlives a
// cancelled caller: the line must be written even if the session just went.
func lookupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
}
