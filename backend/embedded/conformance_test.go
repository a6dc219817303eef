package embedded

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/backendtest"
)

// TestConformance runs the shared backend suite against a Store on a real
// SQLite file, with devices enrolling through EnrollToDir.
func TestConformance(t *testing.T) {
	backendtest.Run(t, backendtest.Harness{New: func(t *testing.T) (backend.Backend, string, backendtest.Fixture) {
		clock := newFakeClock(time.Date(2030, 6, 1, 9, 30, 15, 250_000_000, time.UTC))
		s := openStore(t, filepath.Join(t.TempDir(), "idcon.db"), clock)
		n, err := s.CreateNetwork(t.Context(), "conformance")
		if err != nil {
			t.Fatalf("create network: %v", err)
		}
		return s, n.ID, &fixture{s: s, clock: clock}
	}})
}

// fakeClock is a settable clock shared by a Store and its test.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// openStore opens a Store on path with the clock (nil: the real one) and
// closes it when the test ends... unless the test closes it first.
func openStore(t testing.TB, path string, clock *fakeClock) *Store {
	t.Helper()
	var opts Options
	if clock != nil {
		opts.Now = clock.Now
	}
	s, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fixture plays the devices: enrolling really uses the token and a CSR.
type fixture struct {
	s     *Store
	clock *fakeClock
}

func (f *fixture) Enroll(t *testing.T, network, id string) {
	t.Helper()
	jwt, err := f.s.TokenJWT(t.Context(), network, id)
	if err != nil {
		t.Fatalf("fixture: token of %s: %v", id, err)
	}
	if _, err := EnrollToDir(t.Context(), f.s, jwt, t.TempDir()); err != nil {
		t.Fatalf("fixture: enroll %s: %v", id, err)
	}
}

func (f *fixture) Connect(t *testing.T, network, id string, n int) {
	t.Helper()
	if err := f.s.AddSessions(t.Context(), network, id, n); err != nil {
		t.Fatalf("fixture: connect %s: %v", id, err)
	}
}

func (f *fixture) Now() time.Time          { return f.clock.Now() }
func (f *fixture) Advance(d time.Duration) { f.clock.Advance(d) }
