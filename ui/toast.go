package ui

import (
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

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
func (t *toasts) view(width int) string {
	if len(t.items) == 0 {
		return ""
	}
	st := &t.s.styles
	var boxes []string
	for _, x := range t.items {
		style, word := st.Toast, "Done"
		switch x.kind {
		case toastNote:
			style, word = st.ToastNote, "Note"
		case toastProblem:
			style, word = st.ToastError, "Problem"
		}
		body := lipgloss.Wrap(x.text, max(10, width-4), " ")
		boxes = append(boxes, style.Render(strings.TrimRight(st.Label.Render(word)+"\n"+body, "\n")))
	}
	return lipgloss.JoinVertical(lipgloss.Right, boxes...)
}
