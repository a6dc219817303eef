package backendtest

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// TestMemoryConformance runs the suite against memBackend, a small
// in-memory reference implementation of the contract. It proves the suite
// is self-consistent; break a rule in memBackend and the suite says which.
func TestMemoryConformance(t *testing.T) {
	Run(t, Harness{New: func(t *testing.T) (backend.Backend, string, Fixture) {
		b := newMemBackend(time.Date(2030, 6, 1, 9, 30, 15, 250_000_000, time.UTC))
		return b, "net-1", memFixture{b}
	}})
}

// memBackend keeps one network's identities in a map behind a mutex.
type memBackend struct {
	mu     sync.Mutex
	now    time.Time
	net    model.Network
	ids    map[string]*memIdentity
	serial int
	policy model.ExpiryPolicy
}

type memIdentity struct {
	model.Identity
	jwt string // the current token while there is an enrollment
}

func newMemBackend(now time.Time) *memBackend {
	return &memBackend{
		now: now,
		net: model.Network{ID: "net-1", Name: "Test network", Kind: "memory"},
		ids: map[string]*memIdentity{},
	}
}

func (b *memBackend) nextID(prefix string) string {
	b.serial++
	return fmt.Sprintf("%s%04d", prefix, b.serial)
}

func newJWT() string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc([]byte(`{"sub":"`+rand.Text()+`"}`)) + "." + enc([]byte(rand.Text()))
}

// begin locks the backend after checking the context and the network.
func (b *memBackend) begin(ctx context.Context, network string) error {
	if err := ctx.Err(); err != nil {
		return backend.Unavailable("cancelled: %v", err)
	}
	if network != b.net.ID {
		return backend.NotFound("no network %q", network)
	}
	b.mu.Lock()
	return nil
}

func (b *memBackend) find(id string) (*memIdentity, error) {
	x, ok := b.ids[id]
	if !ok {
		return nil, backend.NotFound("no identity %q", id)
	}
	return x, nil
}

// mutable finds an identity the caller may change: current revision, a
// state allowing action a and a valid new expiry (when one is given).
func (b *memBackend) mutable(id string, rev int64, a model.Action, expires *time.Time) (*memIdentity, error) {
	x, err := b.find(id)
	if err != nil {
		return nil, err
	}
	if expires != nil {
		if err := b.policy.Validate(b.now, *expires); err != nil {
			return nil, backend.Invalid("%v", err)
		}
	}
	if x.Revision != rev {
		return nil, backend.Conflict("%s changed since you looked", x.Name)
	}
	if st := x.State(b.now); !model.Allows(st, a) {
		return nil, backend.Conflict("%s is %s: %s not possible", x.Name, st, a)
	}
	return x, nil
}

func (x *memIdentity) issue(id string, now, expires time.Time) {
	x.Enrollment = &model.Enrollment{ID: id, CreatedAt: now, ExpiresAt: expires}
	x.jwt = newJWT()
	x.Revision++
}

func (x *memIdentity) copy() model.Identity {
	c := x.Identity
	c.Attributes = slices.Clone(x.Attributes)
	if x.Enrollment != nil {
		en := *x.Enrollment
		c.Enrollment = &en
	}
	return c
}

func (x *memIdentity) token(dropped int) backend.Token {
	return backend.Token{Identity: x.copy(), JWT: x.jwt, ExpiresAt: x.Enrollment.ExpiresAt, SessionsDropped: dropped}
}

func (b *memBackend) Networks(ctx context.Context) ([]model.Network, error) {
	if err := b.begin(ctx, b.net.ID); err != nil {
		return nil, err
	}
	defer b.mu.Unlock()
	n := b.net
	n.Identities = len(b.ids)
	return []model.Network{n}, nil
}

func (b *memBackend) Identities(ctx context.Context, network string, q model.ListQuery) (model.Page, error) {
	if q.Offset < 0 || q.Limit < 0 {
		return model.Page{}, backend.Invalid("offset and limit must not be negative")
	}
	if _, ok := model.ParseState(string(q.State)); q.State != "" && !ok {
		return model.Page{}, backend.Invalid("no state %q", q.State)
	}
	if err := b.begin(ctx, network); err != nil {
		return model.Page{}, err
	}
	defer b.mu.Unlock()
	filter := strings.ToLower(q.Filter)
	var match []model.Identity
	for _, x := range b.ids {
		if q.State != "" && x.State(b.now) != q.State {
			continue
		}
		if !strings.Contains(strings.ToLower(x.Name), filter) && !strings.Contains(strings.ToLower(x.Email), filter) {
			continue
		}
		match = append(match, x.copy())
	}
	if _, ok := model.ParseSortField(string(q.Sort)); q.Sort != "" && !ok {
		return model.Page{}, backend.Invalid("can't sort by %q", q.Sort)
	}
	byName := func(a, c model.Identity) int {
		return cmp.Or(cmp.Compare(model.NameKey(a.Name), model.NameKey(c.Name)), cmp.Compare(a.ID, c.ID))
	}
	slices.SortFunc(match, func(a, c model.Identity) int {
		if q.Sort == model.SortExpires {
			// The tokenless last, by name, either way.
			switch {
			case a.Enrollment == nil && c.Enrollment == nil:
				return byName(a, c)
			case a.Enrollment == nil:
				return 1
			case c.Enrollment == nil:
				return -1
			}
		}
		r := 0
		switch q.Sort {
		case model.SortExpires:
			r = expiryOf(a).Compare(expiryOf(c))
		case model.SortCreated:
			r = a.CreatedAt.Compare(c.CreatedAt)
		case model.SortState:
			r = cmp.Compare(model.StateRank(a.State(b.now)), model.StateRank(c.State(b.now)))
		case model.SortSessions:
			r = cmp.Compare(c.ActiveSessions, a.ActiveSessions) // the most first
		}
		if r == 0 {
			r = byName(a, c)
		}
		if q.Desc {
			r = -r
		}
		return r
	})
	limit := q.Limit
	if limit == 0 {
		limit = 50
	}
	limit = min(limit, model.MaxPageSize)
	from := min(q.Offset, len(match))
	to := min(from+limit, len(match))
	return model.Page{Items: match[from:to], Total: len(match)}, nil
}

func expiryOf(i model.Identity) time.Time {
	if i.Enrollment == nil {
		return time.Time{}
	}
	return i.Enrollment.ExpiresAt
}

func (b *memBackend) Identity(ctx context.Context, network, id string) (model.Identity, error) {
	if err := b.begin(ctx, network); err != nil {
		return model.Identity{}, err
	}
	defer b.mu.Unlock()
	x, err := b.find(id)
	if err != nil {
		return model.Identity{}, err
	}
	return x.copy(), nil
}

func (b *memBackend) IdentityByName(ctx context.Context, network, name string) (model.Identity, error) {
	if err := b.begin(ctx, network); err != nil {
		return model.Identity{}, err
	}
	defer b.mu.Unlock()
	for _, x := range b.ids {
		if x.Name == name {
			return x.copy(), nil
		}
	}
	return model.Identity{}, backend.NotFound("no identity named %q", name)
}

func (b *memBackend) CreateIdentity(ctx context.Context, network string, req model.NewIdentity) (backend.Token, error) {
	if err := model.ValidateName(req.Name); err != nil {
		return backend.Token{}, backend.Invalid("%v", err)
	}
	if err := model.ValidateEmail(req.Email); err != nil {
		return backend.Token{}, backend.Invalid("%v", err)
	}
	for _, a := range req.Attributes {
		if err := model.ValidateAttribute(a); err != nil {
			return backend.Token{}, backend.Invalid("%v", err)
		}
	}
	if err := b.begin(ctx, network); err != nil {
		return backend.Token{}, err
	}
	defer b.mu.Unlock()
	if err := b.policy.Validate(b.now, req.ExpiresAt); err != nil {
		return backend.Token{}, backend.Invalid("%v", err)
	}
	for _, x := range b.ids {
		if x.Name == req.Name {
			return backend.Token{}, backend.Conflict("the name %q is taken", req.Name)
		}
	}
	x := &memIdentity{Identity: model.Identity{
		ID: b.nextID("id"), NetworkID: b.net.ID, Name: req.Name, Email: req.Email,
		Attributes: slices.Clone(req.Attributes), CreatedAt: b.now,
	}}
	x.issue(b.nextID("en"), b.now, req.ExpiresAt)
	b.ids[x.ID] = x
	return x.token(0), nil
}

func (b *memBackend) ResetEnrollment(ctx context.Context, network, id string, rev int64, expires time.Time) (backend.Token, error) {
	if err := b.begin(ctx, network); err != nil {
		return backend.Token{}, err
	}
	defer b.mu.Unlock()
	x, err := b.mutable(id, rev, model.ActionReset, &expires)
	if err != nil {
		return backend.Token{}, err
	}
	dropped := x.ActiveSessions
	x.ActiveSessions, x.HasCredential = 0, false
	x.issue(b.nextID("en"), b.now, expires)
	return x.token(dropped), nil
}

func (b *memBackend) ReissueEnrollment(ctx context.Context, network, id string, rev int64, expires time.Time) (backend.Token, error) {
	if err := b.begin(ctx, network); err != nil {
		return backend.Token{}, err
	}
	defer b.mu.Unlock()
	x, err := b.mutable(id, rev, model.ActionReissue, &expires)
	if err != nil {
		return backend.Token{}, err
	}
	x.issue(b.nextID("en"), b.now, expires)
	return x.token(0), nil
}

func (b *memBackend) DeleteEnrollment(ctx context.Context, network, id string, rev int64) (model.Identity, error) {
	if err := b.begin(ctx, network); err != nil {
		return model.Identity{}, err
	}
	defer b.mu.Unlock()
	x, err := b.mutable(id, rev, model.ActionDelete, nil)
	if err != nil {
		return model.Identity{}, err
	}
	x.Enrollment, x.jwt = nil, ""
	x.Revision++
	return x.copy(), nil
}

func (b *memBackend) TokenJWT(ctx context.Context, network, id string) (string, error) {
	if err := b.begin(ctx, network); err != nil {
		return "", err
	}
	defer b.mu.Unlock()
	x, err := b.find(id)
	if err != nil {
		return "", err
	}
	if st := x.State(b.now); st != model.StatePending {
		return "", backend.Conflict("%s is %s: it has no usable token", x.Name, st)
	}
	return x.jwt, nil
}

func (b *memBackend) Close() error { return nil }

// memFixture plays the devices and the clock for memBackend.
type memFixture struct{ b *memBackend }

func (f memFixture) Enroll(t *testing.T, network, id string) {
	t.Helper()
	b := f.b
	b.mu.Lock()
	defer b.mu.Unlock()
	x, ok := b.ids[id]
	if !ok || x.State(b.now) != model.StatePending {
		t.Fatalf("fixture: can't enroll %s: not a pending identity", id)
	}
	x.Enrollment, x.jwt = nil, ""
	x.HasCredential, x.EnrolledAt = true, b.now
	x.Revision++
}

func (f memFixture) Connect(t *testing.T, network, id string, n int) {
	t.Helper()
	b := f.b
	b.mu.Lock()
	defer b.mu.Unlock()
	x, ok := b.ids[id]
	if !ok || x.State(b.now) != model.StateEnrolled {
		t.Fatalf("fixture: can't connect %s: not an enrolled identity", id)
	}
	x.ActiveSessions += n
}

func (f memFixture) Now() time.Time {
	f.b.mu.Lock()
	defer f.b.mu.Unlock()
	return f.b.now
}

func (f memFixture) Advance(d time.Duration) {
	f.b.mu.Lock()
	defer f.b.mu.Unlock()
	f.b.now = f.b.now.Add(d)
}
