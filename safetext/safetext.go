// Package safetext makes untrusted text (names, emails and errors from a
// backend, text an admin typed) safe to put on a terminal: it is the one
// sanitizer the console, the CLI and the audit output share.
package safetext

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// Clean returns s as one line of plain text: escape sequences (CSI, OSC,
// DCS, SOS, PM, APC, in their 7-bit and 8-bit forms) are dropped whole;
// other C0 and C1 controls and DEL are dropped, except that tabs and line
// breaks become a space; bidirectional controls and zero-width characters
// are dropped; invalid UTF-8 becomes U+FFFD.
func Clean(s string) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(unicode.ReplacementChar)
			i++
			continue
		}
		switch {
		case r == 0x1b: // ESC
			i = skipEscape(s, i+size)
			continue
		case r == 0x9b: // 8-bit CSI
			i = skipCSI(s, i+size)
			continue
		case r == 0x90 || r == 0x9d || r == 0x98 || r == 0x9e || r == 0x9f: // 8-bit DCS, OSC, SOS, PM, APC
			i = skipString(s, i+size)
			continue
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case dropped(r):
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// Line cleans s and cuts it to at most width terminal cells, ending with
// "…" when it was cut. A width of 0 or less means no limit.
func Line(s string, width int) string {
	s = Clean(s)
	if width <= 0 {
		return s
	}
	return ansi.Truncate(s, width, "…") // s itself when it fits
}

// Width is the number of terminal cells s takes once cleaned.
func Width(s string) int { return ansi.StringWidth(Clean(s)) }

// isPlain reports whether s is printable ASCII only, the common case, which
// needs no work.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// dropped reports whether r is a control or an invisible formatting
// character. Unicode's Cc class is exactly the C0 controls, DEL and the C1
// controls; its Cf class holds the bidi embeddings, overrides, isolates and
// marks (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C), the
// zero-width characters (U+200B-U+200D, U+2060, U+FEFF), the soft hyphen,
// the interlinear annotations (U+FFF9-U+FFFB) and the tag characters
// (U+E0001, U+E0020-U+E007F). TestCleanTable lists each, so a change in
// Go's Unicode tables would show.
func dropped(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}

// skipEscape skips the rest of an escape sequence whose ESC ended before i.
func skipEscape(s string, i int) int {
	if i >= len(s) {
		return i
	}
	switch s[i] {
	case '[':
		return skipCSI(s, i+1)
	case ']', 'P', 'X', '^', '_':
		return skipString(s, i+1)
	}
	// Intermediate bytes, then one final byte (e.g. ESC ( B, ESC c).
	for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
		i++
	}
	if i < len(s) && s[i] >= 0x30 && s[i] <= 0x7e {
		i++
	}
	return i
}

// skipCSI skips parameter and intermediate bytes and the final byte.
func skipCSI(s string, i int) int {
	for i < len(s) {
		c := s[i]
		i++
		if c >= 0x40 && c <= 0x7e {
			return i
		}
		if c < 0x20 {
			// A control inside a CSI aborts it.
			return i
		}
	}
	return i
}

// skipString skips a control string up to and including its terminator:
// BEL, ESC \ or the 8-bit ST. An unterminated string runs to the end.
func skipString(s string, i int) int {
	for i < len(s) {
		if s[i] == 0x07 {
			return i + 1
		}
		if s[i] == 0x1b {
			if i+1 < len(s) && s[i+1] == '\\' {
				return i + 2
			}
			return i + 1
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == 0x9c {
			return i + size
		}
		i += size
	}
	return i
}
