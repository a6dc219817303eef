package backendtest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

const day = 24 * time.Hour

// env is one subtest's fresh backend, its network and the fixture that
// plays the devices and the clock. Its methods are the steps the cases are
// written in; they fail the test with a message naming the step.
type env struct {
	t   *testing.T
	b   backend.Backend
	net string
	fx  Fixture
	ctx context.Context
}

// start builds a fresh backend for one subtest and closes it when the
// subtest ends.
func start(t *testing.T, h Harness) *env {
	t.Helper()
	b, net, fx := h.New(t)
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &env{t: t, b: b, net: net, fx: fx, ctx: t.Context()}
}

// at is an expiry d from the backend's now, in whole seconds (so a backend
// that keeps seconds only still returns exactly what was asked).
func (e *env) at(d time.Duration) time.Time {
	return e.fx.Now().Add(d).Truncate(time.Second)
}

// now is the backend's current time.
func (e *env) now() time.Time { return e.fx.Now() }

// create makes an identity whose token expires expiresIn from now.
func (e *env) create(name, email string, expiresIn time.Duration) backend.Token {
	e.t.Helper()
	tok, err := e.b.CreateIdentity(e.ctx, e.net, model.NewIdentity{Name: name, Email: email, ExpiresAt: e.at(expiresIn)})
	if err != nil {
		e.t.Fatalf("create %q: %v", name, err)
	}
	return tok
}

// get re-reads an identity.
func (e *env) get(id string) model.Identity {
	e.t.Helper()
	got, err := e.b.Identity(e.ctx, e.net, id)
	if err != nil {
		e.t.Fatalf("read identity %s: %v", id, err)
	}
	return got
}

// mustState re-reads an identity and fails unless it is in state want.
func (e *env) mustState(step, id string, want model.State) model.Identity {
	e.t.Helper()
	got := e.get(id)
	if st := got.State(e.now()); st != want {
		e.t.Fatalf("%s: identity %q is %s, want %s", step, got.Name, st, want)
	}
	return got
}

// The states an identity can be driven into through the contract and the
// fixture. Each returns the identity as the backend now reports it.

func (e *env) pending(name string) model.Identity {
	e.t.Helper()
	tok := e.create(name, "", 30*day)
	return e.mustState("create "+name, tok.Identity.ID, model.StatePending)
}

// enrolled also opens a session, so a refusal that drops sessions shows.
func (e *env) enrolled(name string) model.Identity {
	e.t.Helper()
	tok := e.create(name, "", 30*day)
	e.fx.Enroll(e.t, e.net, tok.Identity.ID)
	e.fx.Connect(e.t, e.net, tok.Identity.ID, 1)
	return e.mustState("enroll "+name, tok.Identity.ID, model.StateEnrolled)
}

// expired moves the clock on by two hours; other identities made by these
// steps expire in days, so they keep their state.
func (e *env) expired(name string) model.Identity {
	e.t.Helper()
	tok := e.create(name, "", time.Hour)
	e.fx.Advance(2 * time.Hour)
	return e.mustState("let "+name+" expire", tok.Identity.ID, model.StateExpired)
}

func (e *env) none(name string) model.Identity {
	e.t.Helper()
	id := e.pending(name)
	if _, err := e.b.DeleteEnrollment(e.ctx, e.net, id.ID, id.Revision); err != nil {
		e.t.Fatalf("delete enrollment of %q: %v", name, err)
	}
	return e.mustState("delete enrollment of "+name, id.ID, model.StateNone)
}

func (e *env) inState(name string, st model.State) model.Identity {
	e.t.Helper()
	switch st {
	case model.StatePending:
		return e.pending(name)
	case model.StateEnrolled:
		return e.enrolled(name)
	case model.StateExpired:
		return e.expired(name)
	case model.StateNone:
		return e.none(name)
	}
	e.t.Fatalf("no step leads to state %q", st)
	return model.Identity{}
}

// snapshot is what a refused call must leave exactly as it was.
type snapshot struct {
	id    model.Identity
	state model.State
	jwt   string // the token while pending, else empty
}

func (e *env) snap(id string) snapshot {
	e.t.Helper()
	s := snapshot{id: e.get(id)}
	s.state = s.id.State(e.now())
	if s.state == model.StatePending {
		jwt, err := e.b.TokenJWT(e.ctx, e.net, id)
		if err != nil {
			e.t.Fatalf("token of pending identity %q: %v", s.id.Name, err)
		}
		s.jwt = jwt
	}
	return s
}

// unchanged fails unless the identity is as it was in before: same
// revision, state, token, expiry, credential and sessions.
func (e *env) unchanged(step string, before snapshot) {
	e.t.Helper()
	after := e.snap(before.id.ID)
	a, b := after.id, before.id
	var diffs []string
	if a.Revision != b.Revision {
		diffs = append(diffs, "revision moved")
	}
	if after.state != before.state {
		diffs = append(diffs, "state "+string(before.state)+" became "+string(after.state))
	}
	if a.HasCredential != b.HasCredential {
		diffs = append(diffs, "credential changed")
	}
	if a.ActiveSessions != b.ActiveSessions {
		diffs = append(diffs, "sessions changed")
	}
	if (a.Enrollment == nil) != (b.Enrollment == nil) {
		diffs = append(diffs, "enrollment added or removed")
	} else if a.Enrollment != nil && (a.Enrollment.ID != b.Enrollment.ID || !a.Enrollment.ExpiresAt.Equal(b.Enrollment.ExpiresAt)) {
		diffs = append(diffs, "enrollment replaced or its expiry moved")
	}
	if after.jwt != before.jwt {
		diffs = append(diffs, "token changed") // never print tokens: they are secrets
	}
	if len(diffs) > 0 {
		e.t.Errorf("%s: a refused call changed identity %q: %s", step, b.Name, strings.Join(diffs, "; "))
	}
}

// total is how many identities the network holds.
func (e *env) total() int {
	e.t.Helper()
	p, err := e.b.Identities(e.ctx, e.net, model.ListQuery{Limit: 1})
	if err != nil {
		e.t.Fatalf("list identities: %v", err)
	}
	return p.Total
}

// agree reads the identity three ways (by ID, by name, in the list) and
// fails unless the three agree; it returns the one read by ID.
func (e *env) agree(step, id string) model.Identity {
	e.t.Helper()
	got := e.get(id)
	if got.ID != id {
		e.t.Errorf("%s: Identity(%s) returned ID %s", step, id, got.ID)
	}
	if got.NetworkID != e.net {
		e.t.Errorf("%s: identity %q has network %q, want %q", step, got.Name, got.NetworkID, e.net)
	}
	byName, err := e.b.IdentityByName(e.ctx, e.net, got.Name)
	if err != nil {
		e.t.Fatalf("%s: IdentityByName(%q): %v", step, got.Name, err)
	}
	e.same(step+": by name vs by ID", byName, got)
	page, err := e.b.Identities(e.ctx, e.net, model.ListQuery{Filter: got.Name, Limit: model.MaxPageSize})
	if err != nil {
		e.t.Fatalf("%s: list filtered by %q: %v", step, got.Name, err)
	}
	i := slices.IndexFunc(page.Items, func(x model.Identity) bool { return x.ID == id })
	if i < 0 {
		e.t.Errorf("%s: identity %q missing from the list filtered by its name", step, got.Name)
	} else {
		e.same(step+": listed vs by ID", page.Items[i], got)
	}
	return got
}

// same fails unless two reads of an identity agree on everything the
// console shows and acts on.
func (e *env) same(step string, got, want model.Identity) {
	e.t.Helper()
	now := e.now()
	switch {
	case got.ID != want.ID:
		e.t.Errorf("%s: ID %s, want %s", step, got.ID, want.ID)
	case got.Name != want.Name || got.Email != want.Email:
		e.t.Errorf("%s: name/email %q/%q, want %q/%q", step, got.Name, got.Email, want.Name, want.Email)
	case got.Revision != want.Revision:
		e.t.Errorf("%s: revision %d, want %d", step, got.Revision, want.Revision)
	case got.State(now) != want.State(now):
		e.t.Errorf("%s: state %s, want %s", step, got.State(now), want.State(now))
	case got.HasCredential != want.HasCredential:
		e.t.Errorf("%s: HasCredential %v, want %v", step, got.HasCredential, want.HasCredential)
	case got.ActiveSessions != want.ActiveSessions:
		e.t.Errorf("%s: %d active sessions, want %d", step, got.ActiveSessions, want.ActiveSessions)
	case (got.Enrollment == nil) != (want.Enrollment == nil):
		e.t.Errorf("%s: enrollment %v, want %v", step, got.Enrollment, want.Enrollment)
	case got.Enrollment != nil && !sameSecond(got.Enrollment.ExpiresAt, want.Enrollment.ExpiresAt):
		e.t.Errorf("%s: token expires %s, want %s", step, got.Enrollment.ExpiresAt, want.Enrollment.ExpiresAt)
	}
}

// jwt fetches the identity's token, failing the step if refused.
func (e *env) jwt(step, id string) string {
	e.t.Helper()
	jwt, err := e.b.TokenJWT(e.ctx, e.net, id)
	if err != nil {
		e.t.Fatalf("%s: TokenJWT: %v", step, err)
	}
	return jwt
}

// noJWT fails unless TokenJWT refuses: a token that isn't valid and unused
// is never handed out.
func (e *env) noJWT(step, id string) {
	e.t.Helper()
	_, err := e.b.TokenJWT(e.ctx, e.net, id)
	wantErr(e.t, step+": TokenJWT", err, backend.ErrConflict, backend.ErrNotFound)
}

// wantErr fails unless err is of one of the classes.
func wantErr(t *testing.T, step string, err error, classes ...error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded, want an error (%v)", step, classes)
		return
	}
	for _, c := range classes {
		if errors.Is(err, c) {
			return
		}
	}
	t.Errorf("%s: got %q (class %v), want class %v", step, err, backend.Kind(err), classes)
}

// checkToken fails unless a token result carries a well-formed JWT that
// expires when asked.
func checkToken(t *testing.T, step string, tok backend.Token, expires time.Time) {
	t.Helper()
	checkJWT(t, step, tok.JWT)
	if !sameSecond(tok.ExpiresAt, expires) {
		t.Errorf("%s: Token.ExpiresAt %s, want %s", step, tok.ExpiresAt, expires)
	}
	if en := tok.Identity.Enrollment; en == nil {
		t.Errorf("%s: Token.Identity has no enrollment", step)
	} else if !sameSecond(en.ExpiresAt, expires) {
		t.Errorf("%s: Token.Identity's enrollment expires %s, want %s", step, en.ExpiresAt, expires)
	}
}

// checkJWT fails unless jwt has the shape of a signed JWT: three base64url
// parts, the first a header naming a signing algorithm. The token is never
// printed.
func checkJWT(t *testing.T, step, jwt string) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Errorf("%s: token is not a JWT (%d bytes, %d dot-separated parts, want 3)", step, len(jwt), len(parts))
		return
	}
	for i, p := range parts {
		if _, err := base64.RawURLEncoding.DecodeString(p); p == "" || err != nil {
			t.Errorf("%s: part %d of the JWT is empty or not base64url", step, i+1)
			return
		}
	}
	raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var hdr struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(raw, &hdr); err != nil || hdr.Alg == "" || strings.EqualFold(hdr.Alg, "none") {
		t.Errorf("%s: the JWT's header names no signing algorithm", step)
	}
}

func sameSecond(a, b time.Time) bool {
	return a.Truncate(time.Second).Equal(b.Truncate(time.Second))
}

// names lists the names of identities in order.
func names(ids []model.Identity) []string {
	out := make([]string, len(ids))
	for i, x := range ids {
		out[i] = x.Name
	}
	return out
}
