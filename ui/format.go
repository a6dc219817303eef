package ui

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// Formatting shared by the screens. Widths are terminal cells, measured
// with ansi.StringWidth (never len), so wide and combining characters line up.

// fmtDate is a date as the admin reads it: "3 Dec 2026".
func fmtDate(t time.Time, loc *time.Location) string { return t.In(loc).Format("2 Jan 2006") }

// fmtDateTime adds the time of day: "3 Dec 2026 23:59".
func fmtDateTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2 Jan 2006 15:04")
}

// fmtCount writes n with thousands separators: 103,482.
func fmtCount(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// plural says "1 session", "2 sessions".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmtCount(n) + " " + many
}

// cellWidth is ansi.StringWidth(s), counted directly when s is printable
// ASCII, the console's own marks (oneCellMarks) and SGR sequences (ESC [
// digits and semicolons m), as most of a frame's lines are: a cell a
// character, the sequences none. Measuring by grapheme cluster was a third
// of a frame's time. Anything else is left to ansi.StringWidth.
func cellWidth(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 0x20 && c < 0x7f:
			n++
		case c >= 0x80:
			r, size := utf8.DecodeRuneInString(s[i:])
			if !strings.ContainsRune(oneCellMarks, r) {
				return ansi.StringWidth(s)
			}
			n++
			i += size - 1
		case c == 0x1b && i+1 < len(s) && s[i+1] == '[':
			j := i + 2
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == ';') {
				j++
			}
			if j == len(s) || s[j] != 'm' {
				return ansi.StringWidth(s)
			}
			i = j
		default:
			return ansi.StringWidth(s)
		}
	}
	return n
}

// oneCellMarks are the marks the console draws (cursor, sort, arrows,
// dashes, rules): each one cell wide, and none of them joins a character
// beside it into one grapheme cluster.
const oneCellMarks = "—–›‹•·…▲▼↑↓←→│─✓×"

// padRight pads (or cuts) an already-safe string to exactly w cells.
func padRight(s string, w int) string {
	sw := cellWidth(s)
	if sw > w {
		s = ansi.Truncate(s, w, "…")
		sw = cellWidth(s)
	}
	return s + strings.Repeat(" ", max(0, w-sw))
}

// padLeft right-aligns an already-safe string in w cells.
func padLeft(s string, w int) string {
	sw := cellWidth(s)
	if sw > w {
		return ansi.Truncate(s, w, "…")
	}
	return strings.Repeat(" ", w-sw) + s
}

// fitBlock makes content exactly w cells wide and h lines high: longer lines
// are cut, shorter ones padded, missing lines added, extra lines dropped.
func fitBlock(content string, w, h int) string {
	lines := strings.Split(content, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	for i, l := range lines {
		lines[i] = padRight(l, w)
	}
	return strings.Join(lines, "\n")
}
