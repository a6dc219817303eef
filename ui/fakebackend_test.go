package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// fakeBackend is a small in-memory Backend for Update/View tests, used
// while the embedded SQLite backend can't run in the test (the flow test
// uses the real one). It counts calls so tests can assert that nothing
// changed.
type fakeBackend struct {
	mu       sync.Mutex
	now      time.Time
	networks []model.Network
	ids      map[string][]model.Identity // network → identities, sorted by name
	calls    []string
	failNext error // returned by the next mutation, then cleared
	// synthetic, when set, makes every network hold that many generated
	// identities (device-000000 ...), made page by page like a database would.
	synthetic int
	// unsortable are the sorts Identities refuses as a controller does.
	unsortable map[model.SortField]bool
	// countsSlowly makes a Quick query for a state answer as a
	// controller's state filter does before its count: the page, a total
	// of the page's end and Counting. beforeExact, if set, is called
	// (without the lock) when a query for a state comes without Quick;
	// asked logs "quick STATE OFFSET" or "exact STATE OFFSET" for each.
	countsSlowly bool
	beforeExact  func()
	asked        []string
	failExact    int // this many exact queries for a state fail, as a count past its deadline
}

func newFakeBackend(now time.Time) *fakeBackend {
	return &fakeBackend{now: now, ids: map[string][]model.Identity{}}
}

func (f *fakeBackend) addNetwork(n model.Network, ids ...model.Identity) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n.Identities = len(ids)
	f.networks = append(f.networks, n)
	for i := range ids {
		ids[i].NetworkID = n.ID
		if ids[i].Revision == 0 {
			ids[i].Revision = 1
		}
	}
	slices.SortFunc(ids, func(a, b model.Identity) int { return strings.Compare(a.Name, b.Name) })
	f.ids[n.ID] = ids
}

func (f *fakeBackend) record(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeBackend) mutations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if strings.HasPrefix(c, "Reset") || strings.HasPrefix(c, "Reissue") || strings.HasPrefix(c, "Delete") {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeBackend) callsWith(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeBackend) Networks(context.Context) ([]model.Network, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("Networks")
	return slices.Clone(f.networks), nil
}

func (f *fakeBackend) Identities(_ context.Context, network string, q model.ListQuery) (model.Page, error) {
	if q.State != "" && f.countsSlowly {
		kind := "quick"
		if !q.Quick {
			kind = "exact"
			if f.beforeExact != nil {
				f.beforeExact()
			}
		}
		f.mu.Lock()
		f.asked = append(f.asked, fmt.Sprintf("%s %s %d", kind, q.State, q.Offset))
		fail := kind == "exact" && f.failExact > 0
		if fail {
			f.failExact--
		}
		f.mu.Unlock()
		if fail {
			return model.Page{}, backend.Unavailable("the controller did not answer in time (limit 15s)")
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	desc := ""
	if q.Desc {
		desc = " desc"
	}
	if q.Sort != "" {
		f.record("Identities %s filter=%q state=%q offset=%d limit=%d sort=%s%s", network, q.Filter, q.State, q.Offset, q.Limit, q.Sort, desc)
	} else {
		f.record("Identities %s filter=%q state=%q offset=%d limit=%d%s", network, q.Filter, q.State, q.Offset, q.Limit, desc)
	}
	if f.unsortable[q.Sort] {
		return model.Page{}, backend.SortUnsupported("the fake can't sort by %s", q.Sort)
	}
	if f.synthetic > 0 {
		p := model.Page{Total: f.synthetic}
		for i := q.Offset; i < min(f.synthetic, q.Offset+q.Limit); i++ {
			p.Items = append(p.Items, model.Identity{ID: fmt.Sprintf("id-%06d", i), NetworkID: network,
				Name: fmt.Sprintf("device-%06d", i), HasCredential: true, Revision: 1})
		}
		return p, nil
	}
	var match []model.Identity
	for _, id := range f.ids[network] {
		if q.Filter != "" && !strings.Contains(strings.ToLower(id.Name+" "+id.Email), strings.ToLower(q.Filter)) {
			continue
		}
		if q.State != "" && id.State(f.now) != q.State {
			continue
		}
		match = append(match, id)
	}
	switch q.Sort { // enough of each order for the tests to tell them apart
	case model.SortState:
		slices.SortStableFunc(match, func(a, b model.Identity) int {
			return model.StateRank(a.State(f.now)) - model.StateRank(b.State(f.now))
		})
	case model.SortSessions:
		slices.SortStableFunc(match, func(a, b model.Identity) int { return b.ActiveSessions - a.ActiveSessions })
	}
	if q.Desc {
		slices.Reverse(match)
	}
	p := model.Page{Total: len(match)}
	if q.Offset < len(match) {
		p.Items = slices.Clone(match[q.Offset:min(len(match), q.Offset+q.Limit)])
	}
	if q.State != "" && f.countsSlowly && q.Quick {
		p.Total, p.Counting = q.Offset+len(p.Items), true
	}
	return p, nil
}

func (f *fakeBackend) find(network, id string) (*model.Identity, error) {
	for i := range f.ids[network] {
		if f.ids[network][i].ID == id {
			return &f.ids[network][i], nil
		}
	}
	return nil, backend.NotFound("no identity %q", id)
}

func (f *fakeBackend) Identity(_ context.Context, network, id string) (model.Identity, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("Identity %s", id)
	x, err := f.find(network, id)
	if err != nil {
		return model.Identity{}, err
	}
	return *x, nil
}

func (f *fakeBackend) IdentityByName(context.Context, string, string) (model.Identity, error) {
	return model.Identity{}, backend.NotFound("not in the fake")
}

// CreateIdentity adds a pending identity, refusing a taken name as the
// backends do.
func (f *fakeBackend) CreateIdentity(_ context.Context, network string, req model.NewIdentity) (backend.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("Create %s email=%q attrs=%q expires=%s", req.Name, req.Email, req.Attributes, req.ExpiresAt.UTC().Format(time.RFC3339))
	for _, x := range f.ids[network] {
		if x.Name == req.Name {
			return backend.Token{}, backend.Conflict("an identity named %q already exists in network Acme production: choose another name", req.Name)
		}
	}
	x := model.Identity{ID: "id-new-" + req.Name, NetworkID: network, Name: req.Name, Email: req.Email,
		Attributes: req.Attributes, Revision: 1, CreatedAt: f.now,
		Enrollment: &model.Enrollment{ID: "en-new", CreatedAt: f.now, ExpiresAt: req.ExpiresAt}}
	f.ids[network] = append(f.ids[network], x)
	slices.SortFunc(f.ids[network], func(a, b model.Identity) int { return strings.Compare(a.Name, b.Name) })
	return backend.Token{Identity: x, JWT: fakeToken(x.ID), ExpiresAt: req.ExpiresAt}, nil
}

// mutate applies change to the identity after the checks every mutation makes.
func (f *fakeBackend) mutate(call, network, id string, rev int64, allowed model.State, change func(*model.Identity)) (model.Identity, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("%s %s rev=%d", call, id, rev)
	if err := f.failNext; err != nil {
		f.failNext = nil
		return model.Identity{}, 0, err
	}
	x, err := f.find(network, id)
	if err != nil {
		return model.Identity{}, 0, err
	}
	if x.Revision != rev {
		return model.Identity{}, 0, backend.Conflict("%s changed since revision %d", x.Name, rev)
	}
	if x.State(f.now) != allowed {
		return model.Identity{}, 0, backend.Conflict("%s is %s", x.Name, x.State(f.now))
	}
	dropped := x.ActiveSessions
	change(x)
	x.Revision++
	return *x, dropped, nil
}

func (f *fakeBackend) ResetEnrollment(_ context.Context, network, id string, rev int64, exp time.Time) (backend.Token, error) {
	ident, dropped, err := f.mutate("Reset", network, id, rev, model.StateEnrolled, func(x *model.Identity) {
		x.HasCredential, x.ActiveSessions = false, 0
		x.Enrollment = &model.Enrollment{ID: "enr-new", CreatedAt: f.now, ExpiresAt: exp}
	})
	return backend.Token{Identity: ident, JWT: "secret", ExpiresAt: exp, SessionsDropped: dropped}, err
}

func (f *fakeBackend) ReissueEnrollment(_ context.Context, network, id string, rev int64, exp time.Time) (backend.Token, error) {
	ident, _, err := f.mutate("Reissue", network, id, rev, model.StateExpired, func(x *model.Identity) {
		x.Enrollment = &model.Enrollment{ID: "enr-new", CreatedAt: f.now, ExpiresAt: exp}
	})
	return backend.Token{Identity: ident, JWT: "secret", ExpiresAt: exp}, err
}

func (f *fakeBackend) DeleteEnrollment(_ context.Context, network, id string, rev int64) (model.Identity, error) {
	ident, _, err := f.mutate("Delete", network, id, rev, model.StatePending, func(x *model.Identity) {
		x.Enrollment = nil
	})
	return ident, err
}

// TokenJWT returns a made-up token, the same for the same identity, while
// the identity is pending.
func (f *fakeBackend) TokenJWT(_ context.Context, network, id string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("TokenJWT %s", id)
	x, err := f.find(network, id)
	if err != nil {
		return "", err
	}
	if st := x.State(f.now); st != model.StatePending {
		return "", backend.Conflict("%s is %s: it has no unused token", x.Name, st)
	}
	return fakeToken(id), nil
}

// fakeToken is the fake's token of an identity: shaped like a JWT, short
// enough for its QR code to fit 100×30 but not 80×24.
func fakeToken(id string) string {
	return "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiI" + id + "In0.c2lnbmF0dXJlLW9mLXRoZS1mYWtl"
}

func (f *fakeBackend) Close() error { return nil }

// bump changes an identity behind the console's back (another admin).
func (f *fakeBackend) bump(network, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	x, _ := f.find(network, id)
	x.Revision++
	x.ActiveSessions++
}
