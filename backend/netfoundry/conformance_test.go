package netfoundry

import (
	"testing"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/backendtest"
	"github.com/idcon/idcon/backend/openziti"
)

// TestConformance runs the shared backend suite through the NetFoundry
// backend: a fake gateway exchanging sessions on the spec-checking fake
// controller of the network under test.
func TestConformance(t *testing.T) {
	backendtest.Run(t, backendtest.Harness{Unsortable: openziti.Unsortable, New: func(t *testing.T) (backend.Backend, string, backendtest.Fixture) {
		w := newWorld(t, worldOptions{controller: true})
		return w.b, "nf:net-ready", w.ctrl.Fixture()
	}})
}
