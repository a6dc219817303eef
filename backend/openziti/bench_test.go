package openziti

import (
	"fmt"
	"testing"
	"time"

	"github.com/idcon/idcon/model"
)

// BenchmarkIdentitiesPage lists a page of 50 of 500 identities (a third
// enrolled and connected) from the fake controller over loopback TLS,
// reporting the controller requests each page takes.
func BenchmarkIdentitiesPage(b *testing.B) {
	for _, q := range []model.ListQuery{{Limit: 50}, {Limit: 50, Filter: "dev-1"}, {Limit: 50, State: model.StatePending}} {
		b.Run(fmt.Sprintf("filter=%q state=%q", q.Filter, q.State), func(b *testing.B) {
			c, f := newTestClient(b)
			ctx := b.Context()
			for i := range 500 {
				tok, err := c.CreateIdentity(ctx, c.NetworkID(), model.NewIdentity{Name: fmt.Sprintf("dev-%03d", i), ExpiresAt: testEpoch.Add(time.Hour)})
				if err != nil {
					b.Fatal(err)
				}
				if i%3 == 0 {
					f.Enroll(tok.Identity.ID)
					f.AddAPISessions(tok.Identity.ID, 2)
				}
			}
			before := len(f.Requests())
			b.ResetTimer()
			for b.Loop() {
				if _, err := c.Identities(ctx, c.NetworkID(), q); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(f.Requests())-before)/float64(b.N), "requests/op")
		})
	}
}
