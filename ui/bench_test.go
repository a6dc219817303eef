package ui

import (
	"testing"

	tea "charm.land/bubbletea/v2"
)

// BenchmarkListKeyAndView measures one cursor move and one full redraw of
// the list on a network of 103,482 identities: the cost must not depend on
// the number of identities (compare with the 1,000 case).
func BenchmarkListKeyAndView(b *testing.B) {
	for _, n := range []int{1000, 103482} {
		b.Run(fmtCount(n), func(b *testing.B) {
			t := &testing.T{}
			hs, _ := syntheticHarness(t, n, 100, 30)
			alternateKeys(b, hs, keyMsg("j"), keyMsg("k"))
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

// BenchmarkFilterKeyAndView measures one key typed into the filter (a
// letter, then backspace) and the redraw after it at 120×40, the size
// the bench's filter figure (2) types at.
func BenchmarkFilterKeyAndView(b *testing.B) {
	t := &testing.T{}
	hs, _ := syntheticHarness(t, 103482, 120, 40)
	hs.press("/")
	hs.typeText("ali")
	alternateKeys(b, hs, keyMsg("c"), keyMsg("backspace"))
}

// alternateKeys times b.N presses, one and other in turn, each followed
// by a View.
func alternateKeys(b *testing.B, hs *harness, one, other tea.KeyPressMsg) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		k := one
		if i%2 == 1 {
			k = other
		}
		hs.app.Update(k)
		_ = hs.app.View()
	}
}
