package model

import (
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// NameKey is the key identities are sorted by in name order, so that names
// sort as people read them: case and accents ignored ("Émile" beside
// "emile"), numbers by their value ("build-2" before "build-10"). Keys
// compare bytewise (Go's string order, SQLite's BINARY collation), which
// lets a database index them.
//
// Each run of ASCII digits is written as its length in two digits, then the
// digits without leading zeros: "build-2" → "build-012", "build-10" →
// "build-0210". Digits in a name always come out that way, so an encoded
// number can't be mistaken for the name's own text; a length sorts before
// any letter, as a digit does.
func NameKey(name string) string {
	var b strings.Builder
	folded := strings.ToLower(stripMarks(name))
	for i := 0; i < len(folded); {
		c := folded[i]
		if c < '0' || c > '9' {
			b.WriteByte(c)
			i++
			continue
		}
		j := i
		for j < len(folded) && folded[j] >= '0' && folded[j] <= '9' {
			j++
		}
		digits := strings.TrimLeft(folded[i:j], "0")
		if digits == "" {
			digits = "0"
		}
		n := min(len(digits), 99) // longer numbers than that sort among themselves by their digits
		if n < 10 {
			b.WriteByte('0')
		}
		b.WriteString(strconv.Itoa(n))
		b.WriteString(digits)
		i = j
	}
	return b.String()
}

// stripMarks drops the accents and other combining marks of s, as they
// come apart in Unicode's canonical decomposition: "Émile" → "Emile".
func stripMarks(s string) string {
	d := norm.NFD.String(s)
	return strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Mn, r) {
			return -1
		}
		return r
	}, d)
}
