package main

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
)

// driver runs a model the way a tea.Program does, but on the caller's
// goroutine, and times a key press up to the frame it asked for: Update,
// the View after it, and the commands it causes (a backend query is part
// of the work), each message followed by its View, until the View that
// shows what the key asked for. What follows that frame (a prefetch of
// the next page) runs uncounted, as it would on another goroutine. Time
// spent waiting on a timer (the filter's debounce) is not work and is
// left out.
type driver struct {
	m tea.Model

	counting  bool
	work, own time.Duration // all the work, and Update+View alone
	until     func(msg tea.Msg, view string) bool
}

// noPolling turns the console's polling off in the driven models: a
// program polls on its own goroutines between key presses, so a poll is
// not part of any figure, and a poll timer as long as longTimer would
// otherwise race it and keep the driver following polls for ever (as it
// did on a loaded CI machine: 18 minutes in TestSmoke).
const noPolling = -1

// longTimer is how long a command may take before it is taken for a timer
// nobody waits on (a notification's expiry): it is then dropped.
const longTimer = time.Second

// measure delivers msg and returns the work until a View for which until
// holds (nil: the View right after msg), and the part of it spent in
// Update and View.
func (d *driver) measure(msg tea.Msg, until func(msg tea.Msg, view string) bool) (work, own time.Duration) {
	d.counting, d.work, d.own, d.until = true, 0, 0, until
	d.send(msg)
	d.counting = false
	return d.work, d.own
}

// send delivers msg and everything that follows from it.
func (d *driver) send(msg tea.Msg) {
	t0 := time.Now()
	_, cmd := d.m.Update(msg)
	v := d.m.View().Content
	if took := time.Since(t0); d.counting {
		d.work += took
		d.own += took
		if d.until == nil || d.until(msg, v) {
			d.counting = false
		}
	}
	d.exec(cmd)
}

// view is what the model shows now.
func (d *driver) view() string { return d.m.View().Content }

func (d *driver) exec(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	ch := make(chan tea.Msg, 1)
	t0 := time.Now()
	go func() { ch <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-ch:
	case <-time.After(longTimer):
		return
	}
	took := time.Since(t0)
	switch m := msg.(type) {
	case tea.BatchMsg:
		for _, c := range m {
			d.exec(c)
		}
		return
	case spinner.TickMsg:
		return // it only animates the spinner
	}
	if d.counting && !isTimer(msg) {
		d.work += took // the wait of a timer is not work
	}
	if msg == nil || strings.Contains(typeName(msg), "Blink") {
		return // a text cursor blinking: animation, and endless
	}
	d.send(msg)
}

func typeName(msg tea.Msg) string { return fmt.Sprintf("%T", msg) }

// isTimer tells the messages timers send: their types are named ...Tick...
// (idcon's filter debounce, the spinners') or ...Blink... (a text cursor's).
func isTimer(msg tea.Msg) bool {
	return strings.Contains(typeName(msg), "Tick") || strings.Contains(typeName(msg), "Blink")
}

// key is a key press as the program would read it.
func key(s string) tea.KeyPressMsg {
	switch s {
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	}
	r := []rune(s)
	return tea.KeyPressMsg{Code: r[0], Text: s}
}
