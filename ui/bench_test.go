package ui

import (
	"testing"
)

// BenchmarkListKeyAndView measures one cursor move and one full redraw of
// the list on a network of 103,482 identities: the cost must not depend on
// the number of identities (compare with the 1,000 case).
func BenchmarkListKeyAndView(b *testing.B) {
	for _, n := range []int{1000, 103482} {
		b.Run(fmtCount(n), func(b *testing.B) {
			t := &testing.T{}
			hs, _ := syntheticHarness(t, n, 100, 30)
			down, up := keyMsg("j"), keyMsg("k")
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				k := down
				if i%2 == 1 {
					k = up
				}
				hs.app.Update(k)
				_ = hs.app.View()
			}
		})
	}
}
