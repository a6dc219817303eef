package openziti

import (
	"testing"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/backendtest"
)

// testEpoch is the fake controller's starting time: fixed, so that runs
// are repeatable, and away from the real clock, so that nothing reads it.
var testEpoch = time.Date(2031, 3, 14, 15, 9, 26, 535_000_000, time.UTC)

// newTestClient starts a fake controller and a client for it.
func newTestClient(t testing.TB) (*Client, *fakeController) {
	t.Helper()
	f := newFakeController(t, testEpoch)
	c, err := New(f.config())
	if err != nil {
		t.Fatal(err)
	}
	c.rateWait = time.Millisecond
	t.Cleanup(func() { _ = c.Close() })
	return c, f
}

// TestConformance runs the shared backend suite against the client and
// the fake controller.
func TestConformance(t *testing.T) {
	backendtest.Run(t, backendtest.Harness{New: func(t *testing.T) (backend.Backend, string, backendtest.Fixture) {
		f := newFakeController(t, testEpoch)
		c, err := New(f.config())
		if err != nil {
			t.Fatal(err)
		}
		return c, c.NetworkID(), f
	}})
}
