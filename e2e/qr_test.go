package e2e

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcon/idcon/delivery/qrtest"
)

// The QR code forms from the command line: forced text forms, images and
// the PNG file, each read back by zbar and gozxing.

func TestQRFormatsFromTheCommandLine(t *testing.T) {
	t.Parallel()
	e, tok := deliveryDB(t)

	// --format png -o FILE: a PNG readable by its owner only.
	file := filepath.Join(t.TempDir(), "alice.png")
	r := MustRun(t, e, "enrollment", "qr", "laptop-alice", "--format", "png", "-o", file)
	if !strings.Contains(r.Stdout, "wrote the QR code of laptop-alice in "+file+" (readable by you only)") {
		t.Errorf("stdout: %q", r.Stdout)
	}
	info, err := os.Stat(file)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the PNG: %v, mode %v; want 0600", err, info.Mode())
	}
	data, _ := os.ReadFile(file)
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if got, err := qrtest.DecodeImage(img); err != nil || got != tok {
		t.Errorf("the PNG: gozxing reads the token %v (%v)", got == tok, err)
	}
	if got, err := qrtest.Zbar(img); err != nil || got != tok {
		t.Errorf("the PNG: zbar reads the token %v (%v)", got == tok, err)
	}

	// Forced text forms, piped: no escape sequences, dark glyphs. The token
	// is random: zbar reads every form; gozxing is asked only about half
	// blocks (it misses a few percent of sextant codes and every quadrant
	// one, see delivery/qrtest).
	for _, form := range []string{"text", "sextant", "quadrant"} {
		r := MustRun(t, e, "enrollment", "qr", "laptop-alice", "--format", form)
		if strings.ContainsRune(r.Stdout, 0x1b) {
			t.Errorf("--format %s piped holds escape sequences", form)
		}
		g, err := qrtest.ParseGrid(r.Stdout, qrtest.LightTheme, false)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := qrtest.Zbar(g.Image(qrtest.LightTheme, qrtest.CellWidth, qrtest.CellHeight, 2)); err != nil || got != tok {
			t.Errorf("--format %s: zbar reads the token %v (%v)", form, got == tok, err)
		}
		if form == "text" {
			if got, err := qrtest.Decode(r.Stdout, qrtest.LightTheme); err != nil || got != tok {
				t.Errorf("--format text: gozxing reads the token %v (%v)", got == tok, err)
			}
		}
	}

	// A forced image, piped (the admin's terminal will draw it).
	r = MustRun(t, e, "enrollment", "qr", "laptop-alice", "--format", "kitty")
	imgs, err := qrtest.KittyImages(r.Stdout)
	if err != nil || len(imgs) != 1 {
		t.Fatalf("--format kitty: %d images (%v)", len(imgs), err)
	}
	kimg, err := png.Decode(bytes.NewReader(imgs[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := qrtest.Zbar(kimg); err != nil || got != tok {
		t.Errorf("--format kitty: zbar reads the token %v (%v)", got == tok, err)
	}

	// Bad combinations: one line each, and no token fetched.
	wantError(t, Run(t, e, "enrollment", "qr", "laptop-alice", "--format", "png"), 2, "-o FILE")
	wantError(t, Run(t, e, "enrollment", "qr", "laptop-alice", "-o", file+"2"), 2, "--format png")
	wantError(t, Run(t, e, "enrollment", "qr", "laptop-alice", "--format", "jpeg"), 2, "unknown QR code format")
	if _, err := os.Stat(file + "2"); err == nil {
		t.Error("-o without --format png wrote a file")
	}
	wantError(t, Run(t, e, "enrollment", "qr", "laptop-alice", "--format", "png", "-o", t.TempDir()), 1, "is a folder")
	// A link in the way is refused, not replaced (delivery.Output).
	link := filepath.Join(t.TempDir(), "link.png")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	wantError(t, Run(t, e, "enrollment", "qr", "laptop-alice", "--format", "png", "-o", link), 1, "symbolic link")
	// -o -: the PNG itself on standard output, nothing else.
	r = MustRun(t, e, "enrollment", "qr", "laptop-alice", "--format", "png", "-o", "-")
	if sp, err := png.Decode(strings.NewReader(r.Stdout)); err != nil {
		t.Errorf("-o -: stdout is not a PNG: %v", err)
	} else if got, err := qrtest.Zbar(sp); err != nil || got != tok {
		t.Errorf("-o -: zbar reads the token %v (%v)", got == tok, err)
	}
}
