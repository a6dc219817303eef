package multi

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/backendtest"
	"github.com/idcon/idcon/backend/embedded"
	"github.com/idcon/idcon/backend/openziti"
	"github.com/idcon/idcon/backend/openziti/zitifake"
	"github.com/idcon/idcon/model"
)

var epoch = time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)

// members is a real embedded store holding one network and a real
// controller client talking to a fake controller, on one clock.
type members struct {
	store   *embedded.Store
	embNet  model.Network
	fake    *zitifake.Controller
	client  *openziti.Client
	backend *Backend
}

func newMembers(t *testing.T) *members {
	t.Helper()
	m := &members{fake: zitifake.Start(t, zitifake.At(epoch), zitifake.AdminUnlisted())}
	s, err := embedded.Open(filepath.Join(t.TempDir(), "idcon.db"), embedded.Options{Now: m.fake.Now})
	if err != nil {
		t.Fatal(err)
	}
	m.store = s
	if m.embNet, err = s.CreateNetwork(t.Context(), "office"); err != nil {
		t.Fatal(err)
	}
	m.client, err = openziti.New(openziti.Config{
		Name: "prod", Controller: m.fake.URL, PinnedCA: m.fake.CAPEM,
		Username: m.fake.Username, Password: m.fake.Password, Now: m.fake.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	m.backend = New(s, m.client)
	t.Cleanup(func() { _ = m.backend.Close() })
	return m
}

// embeddedFixture plays the devices of an embedded network, on the fake
// controller's clock (which the store shares).
type embeddedFixture struct {
	s    *embedded.Store
	fake *zitifake.Controller
}

func (f embeddedFixture) Enroll(t *testing.T, network, id string) {
	t.Helper()
	jwt, err := f.s.TokenJWT(t.Context(), network, id)
	if err != nil {
		t.Fatalf("token of %s: %v", id, err)
	}
	if _, err := embedded.EnrollToDir(t.Context(), f.s, jwt, t.TempDir()); err != nil {
		t.Fatalf("enroll %s: %v", id, err)
	}
}

func (f embeddedFixture) Connect(t *testing.T, network, id string, n int) {
	t.Helper()
	if err := f.s.AddSessions(t.Context(), network, id, n); err != nil {
		t.Fatalf("connect %s: %v", id, err)
	}
}

func (f embeddedFixture) Now() time.Time          { return f.fake.Now() }
func (f embeddedFixture) Advance(d time.Duration) { f.fake.Advance(d) }

// TestConformance runs the shared suite through the join, once on each
// member's network, with the other member beside it.
func TestConformance(t *testing.T) {
	t.Run("controller network", func(t *testing.T) {
		backendtest.Run(t, backendtest.Harness{Unsortable: openziti.Unsortable, New: func(t *testing.T) (backend.Backend, string, backendtest.Fixture) {
			m := newMembers(t)
			return m.backend, m.client.NetworkID(), m.fake.Fixture()
		}})
	})
	t.Run("embedded network", func(t *testing.T) {
		backendtest.Run(t, backendtest.Harness{New: func(t *testing.T) (backend.Backend, string, backendtest.Fixture) {
			m := newMembers(t)
			return m.backend, m.embNet.ID, embeddedFixture{s: m.store, fake: m.fake}
		}})
	})
}

// controllerRequests counts the requests the fake got.
func (m *members) controllerRequests() int { return len(m.fake.Requests()) }

func TestRouting(t *testing.T) {
	m := newMembers(t)
	ctx := t.Context()
	nets, err := m.backend.Networks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range nets {
		names = append(names, n.Name+"/"+n.Kind)
	}
	if !slices.Equal(names, []string{"office/embedded", "prod/openziti"}) {
		t.Fatalf("Networks: %v, want office (embedded) then prod (openziti), in the members' order", names)
	}
	exp := epoch.Add(24 * time.Hour)

	// A call on the embedded network never reaches the controller...
	before := m.controllerRequests()
	tok, err := m.backend.CreateIdentity(ctx, m.embNet.ID, model.NewIdentity{Name: "laptop", ExpiresAt: exp})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.backend.Identity(ctx, m.embNet.ID, tok.Identity.ID); err != nil {
		t.Fatal(err)
	}
	if n := m.controllerRequests() - before; n != 0 {
		t.Errorf("calls on the embedded network sent %d requests to the controller", n)
	}
	if _, ok := m.fake.IdentityByName("laptop"); ok {
		t.Error("an identity created on the embedded network appeared on the controller")
	}

	// ...and one on the controller's network goes there only.
	ztok, err := m.backend.CreateIdentity(ctx, m.client.NetworkID(), model.NewIdentity{Name: "phone", ExpiresAt: exp})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.fake.IdentityByName("phone"); !ok {
		t.Error("an identity created on the controller's network is not on the controller")
	}
	if _, err := m.store.IdentityByName(ctx, m.embNet.ID, "phone"); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("the controller's identity in the embedded store: %v, want not found", err)
	}
	jwt, err := m.backend.TokenJWT(ctx, m.client.NetworkID(), ztok.Identity.ID)
	if err != nil || jwt != ztok.JWT {
		t.Errorf("TokenJWT through the join: %v (same token: %v)", err, jwt == ztok.JWT)
	}

	_, err = m.backend.Identities(ctx, "no-such-network", model.ListQuery{})
	if !errors.Is(err, backend.ErrNotFound) || !strings.Contains(err.Error(), "no-such-network") {
		t.Errorf("an unknown network: %v, want not found naming it", err)
	}
}

// TestNetworkCreatedLater: a network a member gained after the first
// listing is found without listing again by hand.
func TestNetworkCreatedLater(t *testing.T) {
	m := newMembers(t)
	ctx := t.Context()
	if _, err := m.backend.Networks(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := m.store.CreateNetwork(ctx, "lab")
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.backend.Identities(ctx, n.ID, model.ListQuery{})
	if err != nil || p.Total != 0 {
		t.Errorf("Identities of a network created after the listing: %+v, %v", p, err)
	}
}

func TestPartialFailures(t *testing.T) {
	ctx := t.Context()

	t.Run("a controller that is down stays in the list, unopenable", func(t *testing.T) {
		m := newMembers(t)
		m.fake.Close()
		nets, err := m.backend.Networks(ctx)
		if err != nil || len(nets) != 2 {
			t.Fatalf("Networks with the controller down: %+v, %v; want both networks", nets, err)
		}
		if nets[0].Status != "" || nets[1].Status == "" || nets[1].Identities != -1 {
			t.Errorf("Networks: %+v; want office ready and prod with a status", nets)
		}
		if _, err := m.backend.Identities(ctx, m.embNet.ID, model.ListQuery{}); err != nil {
			t.Errorf("the embedded network with the controller down: %v", err)
		}
		_, err = m.backend.Identities(ctx, m.client.NetworkID(), model.ListQuery{})
		if !errors.Is(err, backend.ErrUnavailable) {
			t.Errorf("the controller's network while it is down: %v, want unavailable", err)
		}
	})

	t.Run("a member that fails is left out", func(t *testing.T) {
		m := newMembers(t)
		if err := m.store.Close(); err != nil {
			t.Fatal(err)
		}
		nets, err := m.backend.Networks(ctx)
		if err != nil || len(nets) != 1 || nets[0].ID != m.client.NetworkID() {
			t.Errorf("Networks with the store closed: %+v, %v; want the controller's network alone", nets, err)
		}
	})

	t.Run("when every member fails, the first error comes back", func(t *testing.T) {
		m := newMembers(t)
		if err := m.store.Close(); err != nil {
			t.Fatal(err)
		}
		other, err := embedded.Open(filepath.Join(t.TempDir(), "other.db"), embedded.Options{})
		if err != nil {
			t.Fatal(err)
		}
		other.Close()
		b := New(m.store, other)
		if _, err := b.Networks(ctx); err == nil {
			t.Error("Networks with every member failing: no error")
		}
	})
}

// closeCounter is a member that records being closed and fails to close.
type closeCounter struct {
	backend.Backend
	closed *int
	err    error
}

func (c closeCounter) Close() error { *c.closed++; return c.err }

func TestCloseClosesEveryMember(t *testing.T) {
	m := newMembers(t)
	var closed int
	boom := errors.New("boom")
	b := New(closeCounter{m.store, &closed, boom}, closeCounter{m.client, &closed, nil})
	err := b.Close()
	if closed != 2 || !errors.Is(err, boom) {
		t.Errorf("Close: %d members closed, error %v; want both closed and the failure reported", closed, err)
	}
}
