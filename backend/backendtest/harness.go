// Package backendtest is the conformance suite every Backend passes: each
// lifecycle transition, each refusal, paging, filtering and not-found,
// written once against the backend.Backend interface.
package backendtest

import (
	"testing"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// Harness builds fresh backends for the suite.
type Harness struct {
	// New returns a new backend holding one empty network (whose ID it
	// returns) and the fixture that drives the device side of it. The
	// backend's clock must be the fixture's: Now and Advance.
	New func(t *testing.T) (b backend.Backend, network string, fx Fixture)
	// Unsortable lists the sorts the backend refuses (a controller has no
	// session count to sort by): the suite wants each refused with
	// backend.ErrSortUnsupported, and every other sort served.
	Unsortable []model.SortField
}

// Fixture does what the console can't: what devices do (enroll, connect)
// and the passing of time. Each backend's test supplies its own.
type Fixture interface {
	// Enroll uses the identity's current token as a device would, so the
	// identity becomes enrolled.
	Enroll(t *testing.T, network, id string)
	// Connect opens n active sessions for the (enrolled) identity.
	Connect(t *testing.T, network, id string, n int)
	// Now is the backend's current time.
	Now() time.Time
	// Advance moves the backend's clock forward by d.
	Advance(d time.Duration)
}
