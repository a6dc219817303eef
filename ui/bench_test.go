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

// BenchmarkQRViewFrame measures one redraw with the QR code on screen: the
// code was rendered when the token was fetched, so a frame only hands the
// placed string over.
func BenchmarkQRViewFrame(b *testing.B) {
	t := &testing.T{}
	hs := newHarness(t, testOptions(demoBackend()), 120, 50)
	hs.openByName("phone-bob")
	hs.press("c")
	if _, ok := hs.app.dialog.(*qrView); !ok {
		b.Fatal("no QR view")
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = hs.app.View()
	}
}
