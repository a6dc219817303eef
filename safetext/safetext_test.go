package safetext

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// hostile are the attacks the hardening issue names, and a few more.
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
}

func TestCleanRemovesControls(t *testing.T) {
	for name, in := range hostile {
		got := Clean(in)
		if !strings.HasPrefix(got, "a") || !strings.Contains(got, "b") {
			t.Errorf("%s: Clean(%q) = %q lost the visible text", name, in, got)
		}
		for _, r := range got {
			if r < 0x20 || (r >= 0x7f && r <= 0x9f) || dropped(r) {
				t.Errorf("%s: Clean(%q) = %q still holds %U", name, in, got, r)
			}
		}
	}
}

func TestCleanKeepsOrdinaryText(t *testing.T) {
	for _, s := range []string{"laptop-alice", "Zoë's phone", "日本語のラップトップ", "emoji 🙂", "a\u0301b"} {
		if got := Clean(s); got != s {
			t.Errorf("Clean(%q) = %q, want it unchanged", s, got)
		}
	}
	if got := Clean("two\nlines\tand tab\r"); got != "two lines and tab " {
		t.Errorf("line breaks and tabs: got %q", got)
	}
	if got := Clean("bad\xffbyte"); got != "bad\ufffdbyte" {
		t.Errorf("invalid UTF-8: got %q", got)
	}
}

func TestLineTruncatesByDisplayWidth(t *testing.T) {
	long := strings.Repeat("x", 10000)
	got := Line(long, 20)
	if w := ansi.StringWidth(got); w != 20 || !strings.HasSuffix(got, "…") {
		t.Errorf("Line(10000 x, 20) = %q (width %d)", got, w)
	}
	wide := strings.Repeat("日", 30)
	got = Line(wide, 21)
	if w := ansi.StringWidth(got); w > 21 || w < 19 {
		t.Errorf("wide text cut to width %d: %q", w, got)
	}
	if got := Line("short", 20); got != "short" {
		t.Errorf("short text changed: %q", got)
	}
	if got := Line("a\x1b[2Jb", 0); got != "ab" {
		t.Errorf("no limit still cleans: %q", got)
	}
	if Width("a\x1b[31mb") != 2 {
		t.Error("Width counts escape bytes")
	}
}

// FuzzClean checks the sanitizer's promise on any input: the output is
// valid UTF-8 holding no control character, no escape introducer and no
// bidi or zero-width control, and cleaning it again changes nothing.
func FuzzClean(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
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
		for _, r := range got {
			if r < 0x20 || (r >= 0x7f && r <= 0x9f) || dropped(r) {
				t.Fatalf("Clean(%q) = %q holds %U", s, got, r)
			}
		}
		if again := Clean(got); again != got {
			t.Fatalf("Clean is not idempotent: %q then %q", got, again)
		}
		if w := ansi.StringWidth(Line(s, 10)); w > 10 {
			t.Fatalf("Line(%q, 10) is %d cells wide", s, w)
		}
	})
}
