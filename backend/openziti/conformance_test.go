package openziti

import (
	"testing"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/backendtest"
	"github.com/idcon/idcon/backend/openziti/zitifake"
)

// testEpoch is the fake controller's starting time: fixed, so that runs
// are repeatable, and away from the real clock, so that nothing reads it.
var testEpoch = time.Date(2031, 3, 14, 15, 9, 26, 535_000_000, time.UTC)

// newFake starts a fake controller on the test's clock.
func newFake(t testing.TB) *zitifake.Controller {
	t.Helper()
	return zitifake.Start(t, zitifake.At(testEpoch), zitifake.AdminUnlisted())
}

// configFor is a client configuration for the fake, on its clock.
func configFor(f *zitifake.Controller) Config {
	return Config{
		Name:       "ziti-test",
		Controller: f.URL,
		PinnedCA:   f.CAPEM,
		Username:   f.Username,
		Password:   f.Password,
		Now:        f.Now,
	}
}

// newTestClient starts a fake controller and a client for it.
func newTestClient(t testing.TB) (*Client, *zitifake.Controller) {
	t.Helper()
	f := newFake(t)
	c, err := New(configFor(f))
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
	backendtest.Run(t, backendtest.Harness{Unsortable: Unsortable, New: func(t *testing.T) (backend.Backend, string, backendtest.Fixture) {
		f := newFake(t)
		c, err := New(configFor(f))
		if err != nil {
			t.Fatal(err)
		}
		return c, c.NetworkID(), f.Fixture()
	}})
}
