package ui

import (
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/idcon/idcon/safetext"
)

// How long notifications stay; errors stay longer, to be read.
const (
	toastTTL      = 5 * time.Second
	errorToastTTL = 10 * time.Second
	maxToasts     = 3
)

// toastKind says what a notification is, in a word as well as a colour.
type toastKind int

const (
	toastDone toastKind = iota
	toastNote
	toastProblem
)

type toast struct {
	id   int
	text string // already safe
	kind toastKind
}

// toasts are the notifications in the bottom right corner of the main pane.
type toasts struct {
	s     *session
	items []toast
	next  int
}

// add shows text (cleaned here) and returns the timer that removes it.
func (t *toasts) add(text string, kind toastKind) tea.Cmd {
	t.next++
	id := t.next
	t.items = append(t.items, toast{id: id, text: safetext.Clean(text), kind: kind})
	if len(t.items) > maxToasts {
		t.items = t.items[len(t.items)-maxToasts:]
	}
	ttl := toastTTL
	if kind == toastProblem {
		ttl = errorToastTTL
	}
	return t.s.tick(ttl, func(time.Time) tea.Msg { return toastExpiredMsg{id: id} })
}

func (t *toasts) remove(id int) {
	for i, x := range t.items {
		if x.id == id {
			t.items = append(t.items[:i], t.items[i+1:]...)
			return
		}
	}
}

// view stacks the toasts, newest at the bottom, each at most width wide.
func (t *toasts) view(width int) string { return t.newest(len(t.items), width) }

// newest stacks the n newest toasts.
func (t *toasts) newest(n, width int) string {
	if n <= 0 || len(t.items) == 0 {
		return ""
	}
	st := &t.s.styles
	var boxes []string
	for _, x := range t.items[max(0, len(t.items)-n):] {
		style, word := st.Toast, "Done"
		switch x.kind {
		case toastNote:
			style, word = st.ToastNote, "Note"
		case toastProblem:
			style, word = st.ToastError, "Problem"
		}
		body := wrapWords(x.text, max(10, width-4))
		boxes = append(boxes, style.Render(strings.TrimRight(st.Label.Render(word)+"\n"+body, "\n")))
	}
	return lipgloss.JoinVertical(lipgloss.Right, boxes...)
}

// box is a rectangle of the screen, in cells.
type box struct{ x, y, w, h int }

func (b box) overlaps(o box) bool {
	return b.x < o.x+o.w && o.x < b.x+b.w && b.y < o.y+o.h && o.y < b.y+b.h
}

// place lays the toasts out in the bottom right corner of the main pane
// (rows 0 to rows-1 of a screen cols wide), never over the open dialog's
// box (nil if none): below it, above it or beside it, whichever is free,
// leaving out the oldest toasts until the others fit. Toasts that can't
// be shown stay until their time is up or the dialog closes. ok is false
// when none is shown.
func (t *toasts) place(width, cols, rows int, dialog *box) (view string, x, y int, ok bool) {
	for n := len(t.items); n > 0; n-- {
		v := t.newest(n, width)
		w, h := lipgloss.Width(v), lipgloss.Height(v)
		x = cols - w - 1
		if h > rows {
			continue
		}
		if dialog == nil {
			return v, x, rows - h, true
		}
		// Lowest first: the bottom corner, then just above the dialog.
		for _, y := range []int{rows - h, dialog.y - h} {
			if y >= 0 && !(box{x, y, w, h}).overlaps(*dialog) {
				return v, x, y, true
			}
		}
	}
	return "", 0, 0, false
}

// wrapWords wraps plain text at its spaces to lines of at most w cells. A
// word longer than a line (a path, mostly) is broken after one of its
// slashes, so that no folder's or file's name is cut, and only cut where
// a single name is longer than a line.
func wrapWords(s string, w int) string {
	var lines []string
	line := ""
	put := func(word string) {
		switch {
		case line == "":
			line = word
		case ansi.StringWidth(line)+1+ansi.StringWidth(word) <= w:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	for _, word := range strings.Fields(s) {
		for ansi.StringWidth(word) > w {
			// The longest head that ends with a slash and fits on what is
			// left of the line, else on a line of its own, else cut.
			room := w
			if line != "" {
				room = w - ansi.StringWidth(line) - 1
			}
			cut := lastSlashWithin(word, room)
			if cut <= 0 && line != "" {
				lines = append(lines, line)
				line, room = "", w
				cut = lastSlashWithin(word, room)
			}
			if cut <= 0 {
				cut = len(ansi.Truncate(word, w, ""))
			}
			put(word[:cut])
			lines = append(lines, line)
			line, word = "", word[cut:]
		}
		if word != "" {
			put(word)
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// lastSlashWithin is the byte length of word's longest head that ends
// with "/" and is at most room cells wide, or 0.
func lastSlashWithin(word string, room int) int {
	best := 0
	for i, r := range word {
		if r == '/' && ansi.StringWidth(word[:i+1]) <= room {
			best = i + 1
		}
	}
	return best
}
