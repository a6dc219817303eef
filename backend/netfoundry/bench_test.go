package netfoundry

import (
	"fmt"
	"testing"
	"time"

	"github.com/idcon/idcon/model"
)

// BenchmarkIdentitiesPage is one page of 50 identities through the
// NetFoundry backend once the network is open: the cost over the openziti
// backend's own is the ID translation.
func BenchmarkIdentitiesPage(b *testing.B) {
	w := newWorld(b, worldOptions{controller: true})
	for i := range 200 {
		w.ctrl.CreateIdentity(fmt.Sprintf("device-%03d", i), "", w.now().Add(48*time.Hour))
	}
	ctx := b.Context()
	if _, err := w.b.Identities(ctx, "nf:net-ready", model.ListQuery{Limit: 50}); err != nil {
		b.Fatal(err)
	}
	before, gwBefore := len(w.ctrl.Requests()), len(w.gw.Requests())
	b.ResetTimer()
	for b.Loop() {
		if _, err := w.b.Identities(ctx, "nf:net-ready", model.ListQuery{Limit: 50}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(w.ctrl.Requests())-before)/float64(b.N), "controller-requests/op")
	b.ReportMetric(float64(len(w.gw.Requests())-gwBefore)/float64(b.N), "gateway-requests/op")
}

// BenchmarkNetworks lists an organisation of two networks on two pages
// with a cached token.
func BenchmarkNetworks(b *testing.B) {
	w := newWorld(b, worldOptions{})
	ctx := b.Context()
	for b.Loop() {
		if _, err := w.b.Networks(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
