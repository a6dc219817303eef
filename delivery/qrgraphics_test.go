package delivery

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"github.com/idcon/idcon/delivery/qrtest"
)

// Each graphics protocol's bytes carry an image that decodes, with zbar and
// with gozxing, to exactly the real controller token: read back by the
// test's own parsers of the protocols, not by the encoders.

func decodeBoth(t *testing.T, what string, img image.Image, tok string) {
	t.Helper()
	if got, err := qrtest.DecodeImage(img); err != nil || got != tok {
		t.Errorf("%s: gozxing does not read the token (%v)", what, err)
	}
	if got, err := qrtest.Zbar(img); err != nil || got != tok {
		t.Errorf("%s: zbar does not read the token (%v)", what, err)
	}
}

// checkPNGCode checks a PNG's picture: dark on white, full 4-module quiet
// zone, side pixels a multiple of the module count.
func checkPNGCode(t *testing.T, what string, img image.Image, q QRCode, scale int) {
	t.Helper()
	b := img.Bounds()
	if b.Dx() != b.Dy() || b.Dx() != q.ImageSide()*scale {
		t.Errorf("%s: image %v, want %d px square (%d modules at %d px)", what, b, q.ImageSide()*scale, q.ImageSide(), scale)
	}
	for i := 0; i < 4*scale; i++ {
		for _, p := range []image.Point{{i, i}, {b.Dx() - 1 - i, i}, {i, b.Dy() - 1 - i}} {
			if y := color.GrayModel.Convert(img.At(p.X, p.Y)).(color.Gray).Y; y < 250 {
				t.Fatalf("%s: quiet zone pixel %v has grey %d", what, p, y)
			}
		}
	}
	// The finder's outer ring is black.
	if y := color.GrayModel.Convert(img.At(4*scale, 4*scale)).(color.Gray).Y; y > 5 {
		t.Errorf("%s: finder pixel is grey %d, want black", what, y)
	}
}

func TestQRKittyImage(t *testing.T) {
	t.Parallel() // a server or decoder process each: they overlap (make mutate runs the package per mutant)
	tok := qrtest.RealToken(t)
	q, err := QR(tok)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := q.KittyImage(7, 3, 44, 22)
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := qrtest.KittyImages(seq)
	if err != nil || len(imgs) != 1 {
		t.Fatalf("%d kitty images (%v)", len(imgs), err)
	}
	k := imgs[0]
	for key, want := range map[string]string{"a": "T", "f": "100", "i": "7", "q": "2", "C": "1", "c": "44", "r": "22"} {
		if k.Options[key] != want {
			t.Errorf("kitty option %s=%q, want %q (all: %v)", key, k.Options[key], want, k.Options)
		}
	}
	// The protocol wants the payload in chunks of at most 4096 bytes.
	for _, chunk := range strings.Split(seq, "\x1b_G")[1:] {
		_, data, _ := strings.Cut(chunk, ";")
		if n := len(strings.TrimSuffix(data, "\x1b\\")); n > 4096 {
			t.Errorf("a kitty chunk carries %d bytes", n)
		}
	}
	// A larger image goes in several chunks, read back whole.
	big, err := q.KittyImage(8, 12, 44, 22)
	if err != nil {
		t.Fatal(err)
	}
	if bi, err := qrtest.KittyImages(big); err != nil || len(bi) != 1 || strings.Count(big, "\x1b_G") < 2 {
		t.Errorf("12 px a module: %d images, %d chunks (%v)", len(bi), strings.Count(big, "\x1b_G"), err)
	} else if img, err := png.Decode(bytes.NewReader(bi[0].Data)); err != nil {
		t.Errorf("the chunked payload is not a PNG: %v", err)
	} else {
		decodeBoth(t, "kitty in chunks", img, tok)
	}
	img, err := png.Decode(bytes.NewReader(k.Data))
	if err != nil {
		t.Fatalf("the kitty payload is not a PNG: %v", err)
	}
	checkPNGCode(t, "kitty", img, q, 3)
	decodeBoth(t, "kitty", img, tok)
	t.Logf("kitty: %d bytes for a %d px image", len(seq), img.Bounds().Dx())

	del, err := qrtest.KittyImages(KittyDelete(7))
	if err != nil || len(del) != 1 || del[0].Options["a"] != "d" || del[0].Options["d"] != "I" || del[0].Options["i"] != "7" {
		t.Errorf("KittyDelete(7) = %q", KittyDelete(7))
	}
}

func TestQRITerm2Image(t *testing.T) {
	t.Parallel() // a server or decoder process each: they overlap (make mutate runs the package per mutant)
	tok := qrtest.RealToken(t)
	q, err := QR(tok)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := q.ITerm2Image(3, 44, 22)
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := qrtest.ITerm2Images(seq)
	if err != nil || len(imgs) != 1 {
		t.Fatalf("%d iTerm2 images (%v)", len(imgs), err)
	}
	for key, want := range map[string]string{"inline": "1", "width": "44", "height": "22"} {
		if imgs[0].Args[key] != want {
			t.Errorf("iTerm2 argument %s=%q, want %q", key, imgs[0].Args[key], want)
		}
	}
	img, err := png.Decode(bytes.NewReader(imgs[0].Data))
	if err != nil {
		t.Fatalf("the iTerm2 payload is not a PNG: %v", err)
	}
	checkPNGCode(t, "iTerm2", img, q, 3)
	decodeBoth(t, "iTerm2", img, tok)
}

func TestQRSixelImage(t *testing.T) {
	t.Parallel() // a server or decoder process each: they overlap (make mutate runs the package per mutant)
	tok := qrtest.RealToken(t)
	q, err := QR(tok)
	if err != nil {
		t.Fatal(err)
	}
	for _, scale := range []int{MinImageScale, 3} {
		seq, err := q.SixelImage(scale)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(seq, "\x1bP") || !strings.HasSuffix(seq, "\x1b\\") {
			t.Fatalf("not a DCS sequence: %q…", seq[:min(20, len(seq))])
		}
		imgs, err := qrtest.SixelImages(seq)
		if err != nil || len(imgs) != 1 {
			t.Fatalf("%d sixel images (%v)", len(imgs), err)
		}
		// On a dark terminal: an unpainted pixel would show dark.
		img := qrtest.Flatten(imgs[0], color.Gray{0x1e})
		checkPNGCode(t, "sixel", img, q, scale)
		decodeBoth(t, "sixel", img, tok)
		t.Logf("sixel at %d px a module: %d bytes", scale, len(seq))
	}
}

func TestQRImagesRefuseBadScale(t *testing.T) {
	q, err := QR("x")
	if err != nil {
		t.Fatal(err)
	}
	for _, scale := range []int{0, 1, maxPNGScale + 1} {
		if _, err := q.KittyImage(1, scale, 10, 5); err == nil {
			t.Errorf("kitty at scale %d: no error", scale)
		}
		if _, err := q.SixelImage(scale); err == nil {
			t.Errorf("sixel at scale %d: no error", scale)
		}
	}
	if _, err := (QRCode{}).ITerm2Image(2, 10, 5); err == nil {
		t.Error("iTerm2 image of no code: no error")
	}
}
