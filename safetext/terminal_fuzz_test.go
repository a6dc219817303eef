package safetext

import (
	"fmt"
	"image/color"
	"io"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"
)

// onATerminal writes s to a fresh terminal emulator and reports everything
// the terminal did besides printing characters left to right on the first
// line: a bell, a title, icon or working-directory change, a mode set or
// reset, an alternate screen, a cursor shown, hidden, restyled or moved in
// any other way than by printing, a colour or palette entry changed, a
// reply sent back to the host (an answerback the attacker could make the
// admin's shell read), a sequence the emulator saw but doesn't implement,
// a styled or linked cell, a charset switch, or text it swallowed.
//
// The emulator is the oracle: it parses with its own state machine, so it
// sees sequences the way a terminal does, independently of the sanitizer.
// Some terminals act on a C1 control (U+0080 to U+009F) even when it comes
// UTF-8 encoded; this emulator acts only on the raw byte, so each C1 code
// point is written as its byte, making the emulator such a terminal.
func onATerminal(s string) []string {
	var (
		mu     sync.Mutex
		events []string
	)
	note := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(events) < 10 {
			events = append(events, fmt.Sprintf(format, args...))
		}
	}
	// Wide enough that nothing wraps: a character takes at most two cells.
	width := 2*utf8.RuneCountInString(s) + 16
	emu := vt.NewEmulator(width, 4)
	emu.SetLogger(loggerFunc(func(format string, args ...any) { note("log: "+format, args...) }))
	emu.SetCallbacks(vt.Callbacks{
		Bell:             func() { note("bell") },
		Title:            func(t string) { note("title %q", t) },
		IconName:         func(t string) { note("icon name %q", t) },
		AltScreen:        func(on bool) { note("alt screen %v", on) },
		CursorVisibility: func(v bool) { note("cursor visible %v", v) },
		CursorStyle:      func(st vt.CursorStyle, blink bool) { note("cursor style %v %v", st, blink) },
		CursorColor:      func(c color.Color) { note("cursor colour %v", c) },
		BackgroundColor:  func(c color.Color) { note("background %v", c) },
		ForegroundColor:  func(c color.Color) { note("foreground %v", c) },
		WorkingDirectory: func(d string) { note("working directory %q", d) },
		EnableMode:       func(m ansi.Mode) { note("mode %v set", m) },
		DisableMode:      func(m ansi.Mode) { note("mode %v reset", m) },
		CursorPosition: func(old, new uv.Position) {
			// Printing moves right by the width of what it printed.
			if new.Y != old.Y || new.X < old.X || new.X-old.X > 2 {
				note("cursor moved from %v to %v", old, new)
			}
		},
	})
	emu.RegisterApcHandler(func(data []byte) bool { note("APC %q", data); return true })
	emu.RegisterPmHandler(func(data []byte) bool { note("PM %q", data); return true })
	emu.RegisterSosHandler(func(data []byte) bool { note("SOS %q", data); return true })
	for _, cmd := range []int{52, 4, 104, 5, 105, 9, 99, 133, 777, 1337} {
		emu.RegisterOscHandler(cmd, func(data []byte) bool { note("OSC %d %q", cmd, data); return true })
	}

	// Replies go to the emulator's input pipe, which blocks until read:
	// collect them until a sentinel written after everything else. (Not
	// Close: the emulator's closed flag is not safe to use beside Read.)
	const sentinel = "\x00\xffend of replies\xff"
	replies := make(chan string)
	go func() {
		var b []byte
		buf := make([]byte, 256)
		for !strings.HasSuffix(string(b), sentinel) {
			n, err := emu.Read(buf)
			b = append(b, buf[:n]...)
			if err != nil {
				break
			}
		}
		replies <- strings.TrimSuffix(string(b), sentinel)
	}()

	var palette [256]color.Color
	for i := range palette {
		palette[i] = emu.IndexedColor(i)
	}
	// G1 to G3 hold line drawing before s is written, so a shift (SO, SS2,
	// SS3) in s shows in the probe "qx" printed after it, as "─│".
	emu.WriteString("\x1b)0\x1b*0\x1b+0")
	emu.Write(c1AsBytes(s))
	emu.WriteString("qx")
	io.WriteString(emu.InputPipe(), sentinel)
	if r := <-replies; r != "" {
		note("replied %q", r)
	}

	for i := range palette {
		if c := emu.IndexedColor(i); c != palette[i] {
			note("palette %d changed to %v", i, c)
		}
	}
	if emu.IsAltScreen() {
		note("on the alternate screen")
	}
	if pos := emu.CursorPosition(); pos.Y != 0 {
		note("cursor left on line %d", pos.Y)
	}
	var screen strings.Builder
	for y := 0; y < emu.Height(); y++ {
		for x := 0; x < emu.Width(); x++ {
			c := emu.CellAt(x, y)
			if c == nil || c.Content == "" || c.Content == " " {
				continue
			}
			if y > 0 {
				note("line %d written: %q", y, c.Content)
			}
			if !c.Style.IsZero() || !c.Link.IsZero() {
				note("cell %d,%d %q styled or linked", x, y, c.Content)
			}
			screen.WriteString(strings.ReplaceAll(c.Content, " ", ""))
		}
	}
	printed := strings.ReplaceAll(s, " ", "") + "qx"
	shown := screen.String()
	// What shows came from s, in order (the emulator may drop a cluster of
	// zero width), and every printable ASCII character of s shows.
	if !subsequence(shown, printed) {
		note("screen shows %q, not drawn from %q", shown, printed)
	}
	if a, b := asciiCount(shown), asciiCount(printed); a != b {
		note("screen shows %d ASCII characters of %d: %q for %q", a, b, shown, printed)
	}
	return events
}

// c1AsBytes is s with each C1 code point written as its single byte.
func c1AsBytes(s string) []byte {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r >= 0x80 && r <= 0x9f {
			b = append(b, byte(r))
		} else {
			b = utf8.AppendRune(b, r)
		}
	}
	return b
}

type loggerFunc func(format string, args ...any)

func (f loggerFunc) Printf(format string, args ...any) { f(format, args...) }

// subsequence reports whether the runes of a appear in b in order.
func subsequence(a, b string) bool {
	rb := []rune(b)
	j := 0
	for _, r := range a {
		for j < len(rb) && rb[j] != r {
			j++
		}
		if j == len(rb) {
			return false
		}
		j++
	}
	return true
}

func asciiCount(s string) int {
	n := 0
	for _, r := range s {
		if r > ' ' && r < 0x7f {
			n++
		}
	}
	return n
}

// TestTerminalOracleSeesAttacks checks the oracle itself: raw, each attack
// makes the emulator do something besides printing; cleaned, none does.
func TestTerminalOracleSeesAttacks(t *testing.T) {
	attacks := map[string]string{
		"title":          "a\x1b]0;pwned\x07b",
		"clipboard":      "a\x1b]52;c;ZXZpbA==\x07b",
		"palette":        "a\x1b]4;1;rgb:ff/00/00\x07b",
		"alt screen":     "a\x1b[?1049hb",
		"hide cursor":    "a\x1b[?25lb",
		"cursor jump":    "a\x1b[3;1Hb",
		"colour":         "a\x1b[31mb",
		"hyperlink":      "a\x1b]8;;http://x\x07link\x1b]8;;\x07b",
		"apc":            "a\x1b_Gf=100\x1b\\b",
		"device status":  "a\x1b[6nb",
		"bell":           "a\x07b",
		"backspace":      "ab\x08c",
		"carriage ret":   "ab\rc",
		"newline":        "a\nb",
		"shift out":      "a\x0eb",
		"charset":        "a\x1b(0b",
		"tab":            "a\tb",
		"unterminated":   "a\x1b]0;swallow the rest",
		"reset terminal": "a\x1bcb",
		"8-bit csi":      "ab\u009b2Jc",
		"8-bit osc":      "a\u009d0;pwned\u009cb",
		"8-bit apc":      "a\u009fGf=100\u009cb",
		"del":            "a\x7fb",
		"nel":            "a\u0085b",
	}
	for name, s := range attacks {
		if ev := onATerminal(s); len(ev) == 0 {
			t.Errorf("%s: the oracle saw nothing in %q", name, s)
		}
		if ev := onATerminal(Clean(s)); len(ev) != 0 {
			t.Errorf("%s: Clean(%q) = %q still makes the terminal act: %v", name, s, Clean(s), ev)
		}
	}
	if ev := onATerminal("Zoë 日本 🙂 a\u0301"); len(ev) != 0 {
		t.Errorf("plain text made the oracle complain: %v", ev)
	}
}

// FuzzCleanOnATerminal: whatever goes in, Clean's output written to a
// terminal emulator changes nothing but printable cells of one line.
func FuzzCleanOnATerminal(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	for _, c := range cleanCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Clean(s)
		if ev := onATerminal(out); len(ev) != 0 {
			t.Fatalf("Clean(%q) = %q makes the terminal act: %v", s, out, ev)
		}
	})
}
