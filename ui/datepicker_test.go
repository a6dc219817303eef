package ui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/model"
)

func newTestPicker(t *testing.T, a model.Action) *datePicker {
	t.Helper()
	s := &session{opts: testOptions(demoBackend()).withDefaults(), tick: tea.Tick}
	s.styles = newStyles(true, true)
	return newDatePicker(s, a, model.Identity{Name: "laptop-alice"})
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, testLoc) }

// pressOn sends keys to a component and returns the message its last
// command carried (nil if none).
func pressOn(c component, keys ...string) tea.Msg {
	var msg tea.Msg
	for _, k := range keys {
		msg = nil
		if cmd := c.Update(keyMsg(k)); cmd != nil {
			msg = cmd()
		}
	}
	return msg
}

func TestDatePickerMoves(t *testing.T) {
	cases := []struct {
		from time.Time
		keys []string
		want time.Time
	}{
		{day(2026, 6, 30), []string{"right"}, day(2026, 7, 1)},
		{day(2026, 7, 1), []string{"left"}, day(2026, 6, 30)},
		{day(2026, 12, 31), []string{"right"}, day(2027, 1, 1)},
		{day(2026, 6, 28), []string{"down"}, day(2026, 7, 5)},
		{day(2026, 7, 3), []string{"up"}, day(2026, 6, 26)},
		{day(2027, 1, 31), []string{"pgdown"}, day(2027, 2, 28)}, // clamped, not 3 March
		{day(2028, 1, 31), []string{"pgdown"}, day(2028, 2, 29)}, // leap year
		{day(2026, 3, 31), []string{"pgup"}, day(2026, 2, 28)},
		{day(2026, 12, 15), []string{"pgdown"}, day(2027, 1, 15)},
		{day(2026, 1, 15), []string{"pgup"}, day(2025, 12, 15)},
		{day(2026, 9, 9), []string{"t"}, day(2026, 6, 2)},
	}
	for _, c := range cases {
		p := newTestPicker(t, model.ActionReset)
		p.sel = c.from
		pressOn(p, c.keys...)
		if !p.sel.Equal(c.want) {
			t.Errorf("%s %v → %s, want %s", c.from.Format("2006-01-02"), c.keys,
				p.sel.Format("2006-01-02"), c.want.Format("2006-01-02"))
		}
	}
}

func TestDatePickerDefaultAndSubmit(t *testing.T) {
	p := newTestPicker(t, model.ActionReset)
	if !p.sel.Equal(day(2026, 6, 9)) {
		t.Fatalf("default %s, want today + 7 days", p.sel)
	}
	msg, ok := pressOn(p, "enter").(datePickedMsg)
	// 9 June, 23:59:59 in UTC+2.
	if want := time.Date(2026, 6, 9, 21, 59, 59, 0, time.UTC); !ok || !msg.expiresAt.Equal(want) {
		t.Fatalf("submitted %v, want %v", msg.expiresAt, want)
	}
}

func TestDatePickerRefusesDisabledDates(t *testing.T) {
	p := newTestPicker(t, model.ActionReset)
	// Yesterday has passed; today (until its end) is allowed.
	p.sel = day(2026, 6, 1)
	if msg := pressOn(p, "enter"); msg != nil {
		t.Fatalf("yesterday submitted: %v", msg)
	}
	if p.err != "1 Jun 2026 has passed: choose today or a later date." {
		t.Fatalf("err %q", p.err)
	}
	p.sel = day(2026, 6, 2)
	if _, ok := pressOn(p, "enter").(datePickedMsg); !ok {
		t.Fatal("today refused")
	}
	// The policy allows 90 days: 31 Aug 2026 10:00 UTC. The end of 30 Aug
	// in UTC+2 is within it, the end of 31 Aug is not.
	p.sel = day(2026, 8, 30)
	if _, ok := pressOn(p, "enter").(datePickedMsg); !ok {
		t.Fatalf("30 Aug refused: %s", p.err)
	}
	p.sel = day(2026, 8, 31)
	if msg := pressOn(p, "enter"); msg != nil {
		t.Fatalf("31 Aug submitted: %v", msg)
	}
	if p.err != "31 Aug 2026 is too far ahead: the latest allowed is 30 Aug 2026." {
		t.Fatalf("err %q", p.err)
	}
	if !strings.Contains(p.View(), "Dates from 2 Jun 2026 to 30 Aug 2026 can be chosen.") {
		t.Fatalf("range not said:\n%s", p.View())
	}
	if !strings.Contains(p.View(), "(not allowed)") {
		t.Fatalf("disabled selection not said:\n%s", p.View())
	}
}

func TestDatePickerTypingStartsOnFirstKey(t *testing.T) {
	for _, first := range []string{"2", "+", "0", "9"} {
		p := newTestPicker(t, model.ActionReset)
		pressOn(p, first)
		if !p.typing || p.input.Value() != first || !p.input.Focused() {
			t.Fatalf("%q: typing %v value %q focused %v", first, p.typing, p.input.Value(), p.input.Focused())
		}
	}
	// Letters other than the calendar's keys don't start typing.
	p := newTestPicker(t, model.ActionReset)
	pressOn(p, "x")
	if p.typing {
		t.Fatal("x started typing")
	}
	p = newTestPicker(t, model.ActionReset)
	msg := pressOn(p, "+", "3", "d", "enter")
	if got, ok := msg.(datePickedMsg); !ok || !got.expiresAt.Equal(testNow.Add(3*24*time.Hour)) {
		t.Fatalf("+3d gave %v", msg)
	}
}

func TestDatePickerEscCancels(t *testing.T) {
	p := newTestPicker(t, model.ActionReissue)
	if _, ok := pressOn(p, "right", "esc").(cancelledMsg); !ok {
		t.Fatal("esc did not cancel")
	}
}
