package safetext

import (
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/charmbracelet/x/ansi"
)

// hostile are the attacks the hardening issue names, and a few more: the
// seeds of the fuzz targets and the inputs of the JSON test.
var hostile = map[string]string{
	"osc52 clipboard":   "a\x1b]52;c;ZXZpbA==\x07b",
	"clear screen":      "a\x1b[2Jb",
	"hyperlink":         "a\x1b]8;;http://x\x07link\x1b]8;;\x07b",
	"osc with ST":       "a\x1b]0;title\x1b\\b",
	"dcs":               "a\x1bPq#0;2;0;0;0\x1b\\b",
	"8-bit csi":         "a\u009b2Jb",
	"8-bit osc":         "a\u009d52;c;x\u009cb",
	"bel backspace del": "a\x07\x08\x7fb",
	"rtl override":      "a\u202eb",
	"bidi isolate":      "a\u2067\u2069b",
	"zero width":        "a\u200b\u200d\ufeffb",
	"c1":                "a\u0085\u008db",
	"charset switch":    "a\x1b(0b",
	"unterminated osc":  "ab\x1b]52;c;ZXZpbA==",
	"apc":               "a\x1b_Gf=100;AAAA\x1b\\b",
	"8-bit apc":         "a\u009fGf=100\u009cb",
	"shift out":         "a\x0eb",
	"tag characters":    "a\U000E0041\U000E0042b",
}

// cleanCases are hostile inputs and exactly what Clean must make of them,
// worked out by hand from Clean's contract (not by running it): escape
// sequences and control strings vanish whole, other controls vanish, tabs
// and line breaks become one space each, bidi and invisible format
// characters vanish, invalid UTF-8 becomes U+FFFD.
var cleanCases = []struct {
	name, in, want string
}{
	// 7-bit escape sequences
	{"CSI erase display", "a\x1b[2Jb", "ab"},
	{"CSI SGR with params", "a\x1b[1;31;48;5;196mb", "ab"},
	{"CSI private mode (alt screen)", "a\x1b[?1049hb", "ab"},
	{"CSI cursor position", "a\x1b[10;20Hb", "ab"},
	{"CSI with intermediate (cursor style)", "a\x1b[2 qb", "ab"},
	{"CSI aborted by a control", "a\x1b[3\x07b", "ab"},
	{"CSI unterminated", "ab\x1b[12;", "ab"},
	{"lone ESC at the end", "ab\x1b", "ab"},
	{"ESC charset G0 line drawing", "a\x1b(0b", "ab"},
	{"ESC full reset", "a\x1bcb", "ab"},
	{"ESC save cursor", "a\x1b7b", "ab"},
	{"ESC keypad mode", "a\x1b=b", "ab"},
	{"ESC SP F (7-bit controls)", "a\x1b Fb", "ab"},
	{"ESC with the last intermediate byte", "a\x1b/Bb", "ab"},
	{"ESC with the first final byte", "a\x1b0b", "ab"},
	{"ESC with the last final byte (LS1R)", "a\x1b~b", "ab"},
	{"ESC intermediate at the end", "ab\x1b(", "ab"},
	{"CSI with the first final byte (ICH)", "a\x1b[2@b", "ab"},
	{"CSI with the last final byte", "a\x1b[2~b", "ab"},
	{"OSC 52 clipboard, BEL", "a\x1b]52;c;ZXZpbA==\x07b", "ab"},
	{"OSC 0 title, ST", "a\x1b]0;title\x1b\\b", "ab"},
	{"OSC 4 palette", "a\x1b]4;1;rgb:ff/00/00\x07b", "ab"},
	{"OSC 8 hyperlink keeps its text", "a\x1b]8;;http://x\x07link\x1b]8;;\x07b", "alinkb"},
	{"OSC cut by a lone ESC", "a\x1b]2;t\x1bb", "ab"},
	{"OSC unterminated", "ab\x1b]52;c;ZXZpbA==", "ab"},
	{"OSC cut by ESC at the very end", "ab\x1b]0;t\x1b", "ab"},
	{"DCS sixel", "a\x1bPq#0;2;0;0;0\x1b\\b", "ab"},
	{"SOS", "a\x1bXhidden\x1b\\b", "ab"},
	{"PM", "a\x1b^hidden\x1b\\b", "ab"},
	{"APC kitty graphics", "a\x1b_Gf=100;AAAA\x1b\\b", "ab"},
	{"APC unterminated", "ab\x1b_Gf=100", "ab"},

	// 8-bit (C1) introducers, as UTF-8 encoded code points
	{"8-bit CSI erase", "a\u009b2Jb", "ab"},
	{"8-bit CSI SGR", "a\u009b1;31mb", "ab"},
	{"8-bit CSI unterminated", "ab\u009b", "ab"},
	{"8-bit OSC 52, 8-bit ST", "a\u009d52;c;ZXZpbA==\u009cb", "ab"},
	{"8-bit OSC title, BEL", "a\u009d0;title\x07b", "ab"},
	{"8-bit OSC title, ESC \\", "a\u009d2;title\x1b\\b", "ab"},
	{"8-bit DCS", "a\u0090q#0\u009cb", "ab"},
	{"8-bit SOS", "a\u0098hidden\u009cb", "ab"},
	{"8-bit PM", "a\u009ehidden\u009cb", "ab"},
	{"8-bit APC", "a\u009fGf=100;AAAA\u009cb", "ab"},
	{"8-bit APC unterminated", "ab\u009fGf=100", "ab"},
	{"lone 8-bit ST", "a\u009cb", "ab"},
	{"NEL", "a\u0085b", "ab"},
	{"C1 PAD and SCI", "a\u0080\u009ab", "ab"},

	// C0 controls: each one goes, except that tab, LF and CR become a space
	{"NUL", "a\x00b", "ab"},
	{"BEL", "a\x07b", "ab"},
	{"BS", "a\x08b", "ab"},
	{"HT", "a\tb", "a b"},
	{"LF", "a\nb", "a b"},
	{"VT", "a\x0bb", "ab"},
	{"FF", "a\x0cb", "ab"},
	{"CR", "a\rb", "a b"},
	{"CRLF is two spaces", "a\r\nb", "a  b"},
	{"SO", "a\x0eb", "ab"},
	{"SI", "a\x0fb", "ab"},
	{"DLE", "a\x10b", "ab"},
	{"DC1 (XON)", "a\x11b", "ab"},
	{"DC3 (XOFF)", "a\x13b", "ab"},
	{"CAN", "a\x18b", "ab"},
	{"SUB", "a\x1ab", "ab"},
	{"FS", "a\x1cb", "ab"},
	{"US", "a\x1fb", "ab"},
	{"all of 0x0e-0x1f but ESC", "a\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1c\x1d\x1e\x1fb", "ab"},

	// DEL, alone among printable ASCII (the fast path) and among other text
	{"DEL in ASCII", "a\x7fb", "ab"},
	{"DEL at the end", "ab\x7f", "ab"},
	{"DEL beside non-ASCII", "ä\x7fb", "äb"},

	// bidi controls and invisible format characters (Unicode class Cf)
	{"RLO", "a\u202eb", "ab"},
	{"LRE RLE PDF LRO", "a\u202a\u202b\u202c\u202db", "ab"},
	{"isolates", "a\u2066\u2067\u2068\u2069b", "ab"},
	{"LRM RLM ALM", "a\u200e\u200f\u061cb", "ab"},
	{"ZWSP ZWNJ ZWJ", "a\u200b\u200c\u200db", "ab"},
	{"word joiner", "a\u2060b", "ab"},
	{"invisible math operators", "a\u2061\u2062\u2063\u2064b", "ab"},
	{"deprecated format controls", "a\u206a\u206fb", "ab"},
	{"BOM", "\ufeffab", "ab"},
	{"soft hyphen", "a\u00adb", "ab"},
	{"interlinear annotation", "a\ufff9x\ufffa\ufffbb", "axb"},
	{"Arabic number sign", "\u0600ab", "ab"},
	{"Mongolian vowel separator", "a\u180eb", "ab"},
	{"tag characters (ASCII smuggling)", "a\U000E0001\U000E0069\U000E0067\U000E007Fb", "ab"},
	{"musical format control", "a\U0001D173b", "ab"},

	// text that stays
	{"plain", "laptop-alice", "laptop-alice"},
	{"accents", "Zoë's phone", "Zoë's phone"},
	{"combining mark", "a\u0301b", "a\u0301b"},
	{"CJK", "日本語", "日本語"},
	{"emoji", "emoji 🙂", "emoji 🙂"},
	{"invalid UTF-8", "bad\xffbyte", "bad\ufffdbyte"},
	{"raw 0x9b byte is invalid UTF-8, not CSI", "a\x9b2Jb", "a\ufffd2Jb"},
	{"truncated UTF-8 at the end", "ab\xc2", "ab\ufffd"},
	{"empty", "", ""},
}

func TestCleanTable(t *testing.T) {
	for _, c := range cleanCases {
		if got := Clean(c.in); got != c.want {
			t.Errorf("%s: Clean(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

// TestCleanCoversEveryControl checks each C0 and C1 control and DEL one by
// one, between two letters: the expectation is spelled out per byte, so a
// range that Clean forgets shows up as the one code point it lets through.
func TestCleanCoversEveryControl(t *testing.T) {
	for r := rune(0); r <= 0x9f; r++ {
		if r >= 0x20 && r < 0x7f {
			continue
		}
		in := "a" + string(r) + "b"
		want := "ab"
		switch r {
		case '\t', '\n', '\r':
			want = "a b"
		case 0x1b: // ESC b is an escape sequence: the b is its final byte
			want = "a"
		case 0x90, 0x98, 0x9d, 0x9e, 0x9f: // string introducers: unterminated, they run to the end
			want = "a"
		case 0x9b: // CSI b: b is its final byte
			want = "a"
		}
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCleanReturnsPlainTextAsIs: printable ASCII, the common case, comes
// back as the very same string, not a copy.
func TestCleanReturnsPlainTextAsIs(t *testing.T) {
	for _, s := range []string{"laptop-alice", "a b ~!", " ", "~"} {
		if got := Clean(s); got != s || unsafe.StringData(got) != unsafe.StringData(s) {
			t.Errorf("Clean(%q) = %q, a copy", s, got)
		}
	}
}

func TestLine(t *testing.T) {
	cases := []struct {
		in    string
		width int
		want  string
	}{
		{"short", 20, "short"},
		{"abcd", 4, "abcd"},
		{"abcde", 4, "abc…"},
		{"abcde", 0, "abcde"},
		{"abcde", -1, "abcde"},
		{"a\x1b[2Jb", 0, "ab"},
		{"\x1b[31mabcdef\x1b[0m", 4, "abc…"},
		{"\x1b[31mabcd\x1b[0m", 4, "abcd"},
		{"a\tb\nc", 5, "a b c"},
		{"日本語テキスト", 5, "日本…"},
		{"日本語", 6, "日本語"},
		{"ab\u202ecd\u200bef", 5, "abcd…"},
	}
	for _, c := range cases {
		if got := Line(c.in, c.width); got != c.want {
			t.Errorf("Line(%q, %d) = %q, want %q", c.in, c.width, got, c.want)
		}
	}
	long := strings.Repeat("x", 10000)
	if got := Line(long, 20); got != strings.Repeat("x", 19)+"…" {
		t.Errorf("Line(10000 x, 20) = %q", got)
	}
}

// TestWidthCountsCleanedText: Width measures what Clean leaves, so a tab
// counts as the space it becomes and an 8-bit sequence counts as nothing.
func TestWidthCountsCleanedText(t *testing.T) {
	cases := map[string]int{
		"":                          0,
		"abc":                       3,
		"a\x1b[31mb":                2,
		"a\tb":                      3,
		"a\r\nb":                    4,
		"a\u009b31mb":               2,
		"a\u009d0;title\u009cb":     2,
		"a\u009fGf=100;AAAA\u009cb": 2,
		"日本":                        4,
		"日本\x1b]0;x\x07":            4,
	}
	for in, want := range cases {
		if got := Width(in); got != want {
			t.Errorf("Width(%q) = %d, want %d", in, got, want)
		}
	}
}

// visibleOnly is the test's own definition of what may reach a terminal:
// no control character (Unicode Cc: C0, DEL, C1) and no format character
// (Unicode Cf: bidi controls, zero-width characters, tags), written from
// Unicode's classes rather than from the sanitizer's code.
func visibleOnly(s string) error {
	for i, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return fmt.Errorf("%U at byte %d", r, i)
		}
	}
	return nil
}

// FuzzClean checks the sanitizer's promise on any input: the output is
// valid UTF-8 holding no control or format character, cleaning it again
// changes nothing, and Line keeps to its width.
func FuzzClean(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	for _, c := range cleanCases {
		f.Add(c.in)
	}
	f.Add("plain")
	f.Add("\x1b")
	f.Add("\x1b[")
	f.Add("\xc2\x9b31m")
	f.Fuzz(func(t *testing.T, s string) {
		got := Clean(s)
		if !utf8.ValidString(got) {
			t.Fatalf("Clean(%q) = %q is not valid UTF-8", s, got)
		}
		if err := visibleOnly(got); err != nil {
			t.Fatalf("Clean(%q) = %q holds %v", s, got, err)
		}
		if again := Clean(got); again != got {
			t.Fatalf("Clean is not idempotent: %q then %q", got, again)
		}
		if w := ansi.StringWidth(Line(s, 10)); w > 10 {
			t.Fatalf("Line(%q, 10) is %d cells wide", s, w)
		}
	})
}
