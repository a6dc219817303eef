package safetext

import (
	"fmt"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// JSON rewrites, in encoded JSON, the characters encoding/json leaves raw
// but a terminal acts on or hides (DEL, C1 controls such as the 8-bit CSI
// U+009B, bidirectional overrides, zero-width and other format characters)
// as \u escapes. The JSON stays equivalent: decoding it gives back exactly
// the same strings, so scripts still see names as the backend holds them,
// while `idcon ... --json` on a terminal can't be used against its reader.
// b must be valid JSON as encoding/json writes it (which already escapes
// C0 controls and replaces invalid UTF-8).
func JSON(b []byte) []byte {
	clean := true
	for _, c := range b {
		if c >= 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r >= 0x20 && dropped(r) { // DEL, C1 and Cf: encoding/json escapes C0 in strings, and between tokens it is JSON's white space
			// Above U+FFFF, JSON needs a UTF-16 surrogate pair; EncodeRune
			// says U+FFFD for a rune that needs none.
			if r1, r2 := utf16.EncodeRune(r); r1 != unicode.ReplacementChar {
				out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
			} else {
				out = fmt.Appendf(out, `\u%04x`, r)
			}
		} else {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}
