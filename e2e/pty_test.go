package e2e

import (
	"bytes"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/vt"
	"github.com/creack/pty"

	"github.com/idcon/idcon/delivery"
	"github.com/idcon/idcon/delivery/qrtest"
)

// PtyTerm is the real binary on a pseudo-terminal whose other end this test
// plays: it answers the terminal queries the way a given terminal does
// (tmux cannot answer the kitty graphics query, so the graphics tests run
// here), keeps every byte the program writes, to read images from, and
// draws the text on a screen (charmbracelet/x/vt) to wait for.
type PtyTerm struct {
	t       testing.TB
	f       *os.File
	mu      sync.Mutex
	out     bytes.Buffer
	screen  *vt.Emulator
	answers []ptyAnswer
	done    chan struct{}
}

// ptyAnswer is a query the terminal answers, with its answer.
type ptyAnswer struct{ query, reply string }

// kittyAnswers are kitty's answers: the graphics query, the cell size (10×20
// pixels), DA1 without sixel, and a dark background.
var kittyAnswers = []ptyAnswer{
	{"\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\", "\x1b_Gi=31;OK\x1b\\"},
	{"\x1b[16t", "\x1b[6;20;10t"},
	{"\x1b[c", "\x1b[?62;22c"},
	{"\x1b]11;?\a", "\x1b]11;rgb:1e1e/1e1e/1e1e\x1b\\"},
}

// plainAnswers are a plain terminal's (xterm without sixel): DA1 and the
// background only; the graphics query and the cell size go unanswered.
var plainAnswers = []ptyAnswer{
	{"\x1b[c", "\x1b[?62;22c"},
	{"\x1b]11;?\a", "\x1b]11;rgb:1e1e/1e1e/1e1e\x1b\\"},
}

// StartPty runs idcon with args on a w×h pseudo-terminal answering as
// answers say. TERM is xterm-256color: the answers alone tell the program
// what the terminal draws.
func StartPty(t testing.TB, e Env, w, h int, answers []ptyAnswer, args ...string) *PtyTerm {
	t.Helper()
	return startPty(t, e, w, h, answers, nil, args...)
}

// StartPtyStderr is StartPty with the program's standard error in a file
// of its own instead of on the terminal: stderr reads it once the program
// has ended (WaitExit).
func StartPtyStderr(t testing.TB, e Env, w, h int, answers []ptyAnswer, args ...string) (pt *PtyTerm, stderr func() string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stderr")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	pt = startPty(t, e, w, h, answers, f, args...)
	return pt, func() string {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
}

// WaitExit waits up to d for the program to end and its last output to be
// read.
func (pt *PtyTerm) WaitExit(d time.Duration) {
	pt.t.Helper()
	select {
	case <-pt.done:
	case <-time.After(d):
		pt.t.Fatalf("the program did not end in %v:\n%s", d, pt.Screen())
	}
}

func startPty(t testing.TB, e Env, w, h int, answers []ptyAnswer, stderr *os.File, args ...string) *PtyTerm {
	t.Helper()
	cmd := exec.Command(binary, e.Args(args...)...)
	cmd.Env = append(e.Environ(t), "TERM=xterm-256color")
	cmd.Dir = t.TempDir()
	if stderr != nil {
		cmd.Stderr = stderr
	}
	return startPtyCmd(t, cmd, w, h, answers)
}

// startPtyCmd runs cmd (made ready by the caller) on a w×h
// pseudo-terminal answering as answers say.
func startPtyCmd(t testing.TB, cmd *exec.Cmd, w, h int, answers []ptyAnswer) *PtyTerm {
	t.Helper()
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(w), Rows: uint16(h)})
	if err != nil {
		t.Fatal(err)
	}
	pt := &PtyTerm{t: t, f: f, answers: answers, done: make(chan struct{}), screen: vt.NewEmulator(w, h)}
	// The emulator answers queries too, into a pipe: drained and dropped,
	// the answers are ours.
	go func() { _, _ = io.Copy(io.Discard, pt.screen) }()
	go pt.read()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		f.Close()
		<-pt.done
		// The emulator is not closed: x/vt v0.1.0's Close races with the
		// Read draining it. Its goroutine ends with the test binary.
	})
	return pt
}

func (pt *PtyTerm) read() {
	defer close(pt.done)
	buf := make([]byte, 64<<10)
	answered := 0 // bytes of output already searched for queries
	for {
		n, err := pt.f.Read(buf)
		if n > 0 {
			pt.mu.Lock()
			pt.out.Write(buf[:n])
			_, _ = pt.screen.Write(buf[:n])
			// Answer each query once per time it is asked, in order.
			s := pt.out.String()
			from := max(0, answered-16) // a query split across reads
			var replies []string
			type hit struct {
				at    int
				reply string
			}
			var hits []hit
			for _, a := range pt.answers {
				for i := from; ; {
					j := strings.Index(s[i:], a.query)
					if j < 0 {
						break
					}
					if i+j+len(a.query) > answered {
						hits = append(hits, hit{i + j, a.reply})
					}
					i += j + len(a.query)
				}
			}
			for len(hits) > 0 { // by position: answers come in the order asked
				k := 0
				for i := range hits {
					if hits[i].at < hits[k].at {
						k = i
					}
				}
				replies = append(replies, hits[k].reply)
				hits = append(hits[:k], hits[k+1:]...)
			}
			answered = len(s)
			pt.mu.Unlock()
			for _, r := range replies {
				_, _ = pt.f.Write([]byte(r))
			}
		}
		if err != nil {
			return
		}
	}
}

// Output is every byte written so far.
func (pt *PtyTerm) Output() string {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	return pt.out.String()
}

// Screen is the text the terminal shows now.
func (pt *PtyTerm) Screen() string {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	return pt.screen.String()
}

// ScreenColors is the screen as text with each cell's colours as 24-bit
// SGR sequences (reverse video applied), for reading a QR code back. A cell
// without a colour of its own gets none: the theme's.
func (pt *PtyTerm) ScreenColors(w, h int) string {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	var b strings.Builder
	sgr := func(base int, c color.Color) string {
		if c == nil {
			return fmt.Sprintf("\x1b[%dm", base+1) // 39 or 49: the default
		}
		r, g, bl, _ := c.RGBA()
		return fmt.Sprintf("\x1b[%d;2;%d;%d;%dm", base, r>>8, g>>8, bl>>8)
	}
	for y := 0; y < h; y++ {
		if y > 0 {
			b.WriteByte('\n')
		}
		for x := 0; x < w; x++ {
			c := pt.screen.CellAt(x, y)
			if c == nil || c.Width == 0 {
				continue
			}
			fg, bg := c.Style.Fg, c.Style.Bg
			if c.Style.Attrs&uv.AttrReverse != 0 {
				b.WriteString("\x1b[7m")
			} else {
				b.WriteString("\x1b[27m")
			}
			b.WriteString(sgr(38, fg) + sgr(48, bg))
			content := c.Content
			if content == "" {
				content = " "
			}
			b.WriteString(content)
		}
		b.WriteString("\x1b[m")
	}
	return b.String()
}

// Mark is the output's length now, for WaitFor to look only past it.
func (pt *PtyTerm) Mark() int { return len(pt.Output()) }

// WaitFor polls until the screen shows every one of texts; raw texts
// (starting with ESC) are looked for in the bytes written since mark.
func (pt *PtyTerm) WaitFor(d time.Duration, mark int, texts ...string) {
	pt.t.Helper()
	deadline := time.Now().Add(d)
	for {
		raw := pt.Output()[mark:]
		plain := pt.Screen()
		missing := ""
		for _, s := range texts {
			hay := plain
			if strings.HasPrefix(s, "\x1b") {
				hay = raw
			}
			if !strings.Contains(hay, s) {
				missing = s
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			pt.t.Fatalf("the terminal never showed %q within %v; it shows:\n%s", missing, d, plain)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitGone polls until the screen no longer shows text.
func (pt *PtyTerm) WaitGone(d time.Duration, text string) {
	pt.t.Helper()
	deadline := time.Now().Add(d)
	for strings.Contains(pt.Screen(), text) {
		if time.Now().After(deadline) {
			pt.t.Fatalf("the terminal still shows %q after %v:\n%s", text, d, pt.Screen())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Type writes keys as the terminal would send them.
func (pt *PtyTerm) Type(keys string) {
	pt.t.Helper()
	if _, err := pt.f.Write([]byte(keys)); err != nil {
		pt.t.Fatal(err)
	}
}

// openQRPty opens Show QR code for name on the network picked by typing
// network ("" when the console opens the network it remembers).
func openQRPty(t *testing.T, pt *PtyTerm, network, name string) {
	t.Helper()
	if network != "" {
		// The picker itself, not just the name (keys typed while the
		// networks load are not the picker's).
		pt.WaitFor(10*time.Second, 0, "Choose the network", network)
		m := pt.Mark()
		pt.Type("/" + network + "\r")
		pt.WaitGone(5*time.Second, "enter done")
		m = pt.Mark()
		pt.Type("\r")
		pt.WaitFor(10*time.Second, m, name)
	} else {
		pt.WaitFor(10*time.Second, 0, name)
	}
	m := pt.Mark()
	pt.Type("/" + name)
	pt.WaitFor(5*time.Second, m, "1–1 of 1")
	m = pt.Mark()
	pt.Type("\r") // done filtering
	pt.WaitGone(5*time.Second, "enter done")
	// Enter opens the row once the filtered page is in: pressed again
	// until Edit Identity shows (a press while the page loads is dropped).
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(pt.Screen(), "Show QR code (c)") {
		if time.Now().After(deadline) {
			t.Fatalf("Edit Identity never opened:\n%s", pt.Screen())
		}
		pt.Type("\r")
		time.Sleep(200 * time.Millisecond)
	}
}

// TestConsoleQRImageAt80x24: in a terminal that answers the kitty
// graphics query, Show QR code shows the real 1 kB controller token at
// 80×24 as an image that decodes, deletes it on esc; in one that answers
// nothing, the same terminal size gets the size it would need instead.
func TestConsoleQRImageAt80x24(t *testing.T) {
	t.Parallel()
	ctrl := newCtrlEnv(t, nil, nil)
	ctrl.seed(t)
	real := qrtest.RealToken(t)
	if !ctrl.fake.SetEnrollmentJWT("sso-carol", real) {
		t.Fatal("sso-carol has no token")
	}

	pt := StartPty(t, ctrl.Env, 80, 24, kittyAnswers, "--config", ctrl.config)
	openQRPty(t, pt, "ctrl", "sso-carol")
	m := pt.Mark()
	pt.Type("c")
	pt.WaitFor(10*time.Second, m, "kitty graphics", "\x1b_Gf=100")
	// The last chunk: m=0, or the only one.
	deadline := time.Now().Add(10 * time.Second)
	var img qrtest.KittyImage
	for {
		imgs, err := qrtest.KittyImages(pt.Output()[m:])
		if err == nil {
			for _, k := range imgs {
				if k.Options["a"] == "T" && k.Options["i"] == "1709" {
					img = k
				}
			}
		}
		if img.Data != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no whole kitty image within 10s (%v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if c, r := img.Options["c"], img.Options["r"]; c == "" || r == "" || atoi(t, c) > 80 || atoi(t, r) > 22 {
		t.Errorf("the image covers %s×%s cells: it must fit 80×22, above the two lines of text", c, r)
	}
	decoded, err := png.Decode(bytes.NewReader(img.Data))
	if err != nil {
		t.Fatalf("the kitty payload is not a PNG: %v", err)
	}
	if got, err := qrtest.DecodeImage(decoded); err != nil || got != real {
		t.Errorf("gozxing reads the token %v (%v)", got == real, err)
	}
	if got, err := qrtest.Zbar(decoded); err != nil || got != real {
		t.Errorf("zbar reads the token %v (%v)", got == real, err)
	}
	t.Logf("kitty image: %dx%d px over %s×%s cells", decoded.Bounds().Dx(), decoded.Bounds().Dy(), img.Options["c"], img.Options["r"])

	m = pt.Mark()
	pt.Type("\x1b")
	pt.WaitFor(5*time.Second, m, delivery.KittyDelete(1709))

	plain := StartPty(t, ctrl.Env, 80, 24, plainAnswers, "--config", ctrl.config)
	openQRPty(t, plain, "", "sso-carol") // the console remembers ctrl
	m = plain.Mark()
	plain.Type("c")
	plain.WaitFor(10*time.Second, m, "the QR code needs 113×58; this terminal is 80×24")
	if strings.Contains(plain.Output()[m:], "\x1b_Gf=100") {
		t.Error("a terminal that ignored the kitty query got a kitty image")
	}
}

// TestConsoleQRTextAt120x40Pty: at 120×40 in a terminal that answers
// nothing but DA1, read back from an emulator's cells (colours included):
// an embedded token's code in half blocks, the real token's in sextants
// after +, each by zbar and gozxing.
func TestConsoleQRTextAt120x40Pty(t *testing.T) {
	t.Parallel()
	e, tok := deliveryDB(t)
	pt := StartPty(t, e, 120, 40, plainAnswers)
	openQRPty(t, pt, "", "laptop-alice")
	pt.Type("c")
	pt.WaitFor(10*time.Second, 0, "laptop-alice · half blocks")
	if got, err := qrtest.DecodeBoth(settled(t, func() string { return pt.ScreenColors(120, 40) }), qrtest.DarkTheme); err != nil || got != tok {
		t.Fatalf("the embedded token's code reads the token %v (%v):\n%s", got == tok, err, pt.Screen())
	}

	ctrl := newCtrlEnv(t, nil, nil)
	ctrl.seed(t)
	real := qrtest.RealToken(t)
	if !ctrl.fake.SetEnrollmentJWT("sso-carol", real) {
		t.Fatal("sso-carol has no token")
	}
	ct := StartPty(t, ctrl.Env, 120, 40, plainAnswers, "--config", ctrl.config)
	openQRPty(t, ct, "ctrl", "sso-carol")
	ct.Type("c")
	ct.WaitFor(10*time.Second, 0, "+ shows it in sextants")
	ct.Type("+")
	ct.WaitFor(5*time.Second, 0, "sso-carol · sextants")
	if got, err := qrtest.DecodeBoth(settled(t, func() string { return ct.ScreenColors(120, 40) }), qrtest.DarkTheme); err != nil || got != real {
		t.Fatalf("the real token's sextant code reads the token %v (%v):\n%s", got == real, err, ct.Screen())
	}
}

// TestQRCommandOnATerminal: 'enrollment qr' on a terminal makes the
// console's choice from the environment: a kitty image in WezTerm at 80×24,
// sextants in GNOME Terminal (VTE) at 100×30 when half blocks don't fit, and
// the smallest size that would where nothing fits.
func TestQRCommandOnATerminal(t *testing.T) {
	t.Parallel()
	e, tok := deliveryDB(t)

	wez := e
	wez.Vars = append(slices.Clone(e.Vars), "TERM_PROGRAM=WezTerm")
	pt := StartPty(t, wez, 80, 24, nil, "enrollment", "qr", "laptop-alice")
	pt.WaitExit(10 * time.Second)
	imgs, err := qrtest.KittyImages(pt.Output())
	if err != nil || len(imgs) != 1 {
		t.Fatalf("WezTerm: %d kitty images (%v)", len(imgs), err)
	}
	img, err := png.Decode(bytes.NewReader(imgs[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := qrtest.Zbar(img); err != nil || got != tok {
		t.Errorf("WezTerm: zbar reads the token %v (%v)", got == tok, err)
	}

	vte := e
	vte.Vars = append(slices.Clone(e.Vars), "VTE_VERSION=7800")
	pt = StartPty(t, vte, 100, 30, nil, "enrollment", "qr", "laptop-alice")
	pt.WaitExit(10 * time.Second)
	g, err := qrtest.ParseGrid(pt.ScreenColors(100, 30), qrtest.DarkTheme, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := qrtest.Zbar(g.Image(qrtest.DarkTheme, qrtest.CellWidth, qrtest.CellHeight, 2)); err != nil || got != tok {
		t.Errorf("VTE at 100×30: zbar reads the token %v (%v):\n%s", got == tok, err, pt.Screen())
	}
	if !strings.ContainsFunc(pt.Output(), func(r rune) bool { return r >= 0x1FB00 && r <= 0x1FB3B }) {
		t.Error("VTE at 100×30: no sextant drawn")
	}

	// Nothing fits: the smallest size that would, the sextants' and the
	// line above them.
	pt = StartPty(t, e, 80, 24, nil, "enrollment", "qr", "laptop-alice")
	pt.WaitFor(10*time.Second, 0, "the QR code needs 39×27 (in sextants); this terminal is 80×24")
}

// TestQRNoColorOnADarkTerminal: with NO_COLOR, 'enrollment qr' on a
// terminal (dark background assumed) draws no colours, and the code is
// still dark modules on a light field: it decodes without inverting it.
func TestQRNoColorOnADarkTerminal(t *testing.T) {
	t.Parallel()
	e, tok := deliveryDB(t)
	nc := e
	nc.Vars = append(slices.Clone(e.Vars), "NO_COLOR=1")
	pt := StartPty(t, nc, 100, 50, nil, "enrollment", "qr", "laptop-alice")
	pt.WaitExit(10 * time.Second)
	if strings.Contains(pt.Output(), "38;2;") || strings.Contains(pt.Output(), "38;5;") {
		t.Error("NO_COLOR, yet colours were written")
	}
	if got, err := qrtest.DecodeBoth(settled(t, func() string { return pt.ScreenColors(100, 50) }), qrtest.DarkTheme); err != nil || got != tok {
		t.Fatalf("NO_COLOR on a dark terminal: reads the token %v (%v)", got == tok, err)
	}
}
