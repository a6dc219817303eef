package delivery_test

import (
	"testing"

	"github.com/idcon/idcon/delivery"
	"github.com/idcon/idcon/delivery/qrtest"
)

// TestPickDensestSmallest: the real 1,009-character token at 120×40 on a
// terminal known to draw no image and no sextant: nothing known fits (half
// blocks need 57 rows), the densest form that fits is sextants, and at
// 60×20 nothing fits, the smallest being the sextants' size. The sizes are
// worked out here from the module count: 2×3 modules a sextant cell, 1×2
// a half block.
func TestPickDensestSmallest(t *testing.T) {
	q, err := delivery.QR(qrtest.RealToken(t))
	if err != nil {
		t.Fatal(err)
	}
	side := q.Modules + 2*q.QuietZone
	sextCols, sextRows := (side+1)/2, (side+2)/3
	var plain delivery.Terminal
	choices, def, _ := q.Pick(plain, 120, 40)
	if def >= 0 {
		t.Fatalf("at 120×40 a known form fits: %v", choices[def])
	}
	d := delivery.Densest(choices)
	if d < 0 || choices[d].IsImage() || choices[d].Form != delivery.Sextants || choices[d].Cols != sextCols || choices[d].Rows != sextRows {
		t.Fatalf("the densest of %v is %d, want sextants %d×%d", choices, d, sextCols, sextRows)
	}
	if choices, _, _ := q.Pick(plain, 60, 20); delivery.Densest(choices) >= 0 {
		t.Errorf("at 60×20 something fits: %v", choices)
	}
	if form, c, r := q.Smallest(plain); form != "sextants" || c != sextCols || r != sextRows {
		t.Errorf("smallest: %s %d×%d, want sextants %d×%d", form, c, r, sextCols, sextRows)
	}
	// A terminal known to draw sextants: Pick itself chooses them.
	if choices, def, lines := q.Pick(delivery.Terminal{Sextants: true}, 120, 40); def < 0 || choices[def].Form != delivery.Sextants || lines != 2 {
		t.Errorf("with sextants known: %v %d lines %d", choices, def, lines)
	}
}
