package zitifake

import (
	"testing"
	"time"

	"github.com/idcon/idcon/backend/backendtest"
)

// Fixture returns the fake as the conformance suite's device side: Enroll
// and Connect act on the controller's state directly, as devices would
// through the client API, and Now and Advance are the fake's clock (give
// the client under test the same clock: Config.Now = f.Now).
func (f *Controller) Fixture() backendtest.Fixture { return fixture{f} }

type fixture struct{ f *Controller }

func (x fixture) Enroll(t *testing.T, _ string, id string) {
	t.Helper()
	x.f.enroll(t, id)
}

func (x fixture) Connect(t *testing.T, _ string, id string, n int) {
	t.Helper()
	x.f.addSessions(t, id, n)
}

func (x fixture) Now() time.Time          { return x.f.Now() }
func (x fixture) Advance(d time.Duration) { x.f.Advance(d) }
