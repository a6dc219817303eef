package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// listedNames reads the names of the identities list's rows off the
// screen: the first word after the sidebar of each row that has a state.
func listedNames(screen string) []string {
	var out []string
	for _, l := range strings.Split(screen, "\n") {
		_, row, ok := strings.Cut(l, "│")
		if !ok {
			continue
		}
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(row), "›"))
		if len(f) >= 2 && slices.Contains([]string{"enrolled", "pending", "expired", "none"}, f[1]) {
			out = append(out, f[0])
		}
	}
	return out
}

// cliOrder is the names the CLI lists in an order: what the backend
// serves, for the console to show the same.
func cliOrder(t *testing.T, run func(args ...string) Result, sort string) []string {
	t.Helper()
	r := run("identity", "list", "--sort", sort, "--limit", "100", "--json")
	var names []string
	for _, it := range decode[struct {
		Items []identity `json:"items"`
		Total int        `json:"total"`
	}](t, r).Items {
		names = append(names, it.Name)
	}
	return names
}

// waitOrder waits until the list shows want's first rows, in order.
func waitOrder(t *testing.T, term *Term, want []string) {
	t.Helper()
	Eventually(t, 10*time.Second, "the list in order "+strings.Join(want, ", "), func() bool {
		got := listedNames(term.Screen())
		return len(got) >= len(want) && slices.Equal(got[:len(want)], want)
	})
}

// TestConsoleSortCycles (embedded): o steps the list through name, state,
// expiry, sessions and creation and back, each the backend's order (as the
// CLI lists it), the header saying which.
func TestConsoleSortCycles(t *testing.T) {
	t.Parallel()
	e := NewDB(t)
	MustRun(t, e, "demo", "--identities", "16")
	term := StartTerm(t, e, 120, 40)
	term.WaitFor(10*time.Second, "of 16", "Name▲")
	run := func(args ...string) Result { return MustRun(t, e, args...) }
	byName := cliOrder(t, run, "name")
	waitOrder(t, term, byName)
	for _, c := range []struct{ sort, words string }{
		{"state", "by state"}, {"expires", "by expiry, soonest first"}, {"sessions", "by sessions, most first"},
		{"created", "by creation, oldest first"},
	} {
		want := cliOrder(t, run, c.sort)
		if slices.Equal(want, byName) {
			t.Fatalf("the demo's %s order is its name order: the test can't tell them apart", c.sort)
		}
		term.Send("o")
		term.WaitFor(5*time.Second, c.words)
		waitOrder(t, term, want)
	}
	term.Send("o")
	term.WaitGone(5*time.Second, "by creation")
	term.WaitFor(5*time.Second, "Name▲")
	waitOrder(t, term, byName)
}

// TestConsoleSortReverse (embedded): O shows each order the other way
// round, the CLI's --sort -KEY (and --desc) listing the same rows; the
// header's arrow and the status line say it, and the order stays with
// the network after a visit to the picker.
func TestConsoleSortReverse(t *testing.T) {
	t.Parallel()
	e := NewDB(t)
	MustRun(t, e, "demo", "--identities", "16")
	MustRun(t, e, "network", "create", "lab")
	run := func(args ...string) Result { return MustRun(t, e, append(args, "--network", "demo")...) }
	term := StartTerm(t, e, 120, 40)
	term.WaitFor(10*time.Second, "demo", "lab")
	term.Send("/")
	term.Type("demo")
	term.Send("Enter", "Enter")
	term.WaitFor(10*time.Second, "of 16", "Name▲")
	term.Send("O")
	term.WaitFor(5*time.Second, "Name▼", "by name, Z to A")
	waitOrder(t, term, cliOrder(t, run, "-name"))
	term.Send("o", "o")
	term.WaitFor(5*time.Second, "Expires▼", "by expiry, latest first")
	latest := cliOrder(t, run, "-expiry")
	if slices.Equal(latest, cliOrder(t, run, "expiry")) {
		t.Fatal("the demo's expiry order reads the same both ways: the test can't tell them apart")
	}
	if r := run("identity", "list", "--sort", "expiry", "--desc", "--limit", "100"); !strings.Contains(r.Stdout, latest[0]) {
		t.Fatalf("--desc lists no %s", latest[0])
	}
	waitOrder(t, term, latest)
	term.Send("o", "o")
	term.WaitFor(5*time.Second, "by creation, newest first")
	waitOrder(t, term, cliOrder(t, run, "-created"))
	term.Send("O")
	term.WaitFor(5*time.Second, "by creation, oldest first")
	waitOrder(t, term, cliOrder(t, run, "created"))
	term.Send("O")
	term.WaitFor(5*time.Second, "by creation, newest first")

	// To the picker and back: the order is still the newest first.
	term.Send("Escape")
	term.WaitFor(5*time.Second, "lab")
	term.WaitGone(5*time.Second, "by creation")
	term.Send("/")
	term.Type("demo")
	term.Send("Enter", "Enter")
	term.WaitFor(10*time.Second, "of 16", "by creation, newest first")
	waitOrder(t, term, cliOrder(t, run, "-created"))
}

// TestConsoleSortOnController: on a controller o sorts by state, expiry
// and creation as the CLI does, and O reverses them; sessions, which a
// controller can't sort by, is said in a toast, the list goes back to name
// order, and the next o skips it.
func TestConsoleSortOnController(t *testing.T) {
	t.Parallel()
	e := newCtrlEnv(t, nil, nil)
	term := e.openInConsole(t, 120, 40)
	run := func(args ...string) Result { return e.mustRun(t, append(args, "--network", "ctrl")...) }
	waitOrder(t, term, cliOrder(t, run, "name"))

	term.Send("o")
	term.WaitFor(5*time.Second, "by state")
	waitOrder(t, term, []string{"laptop-alice", "sso-carol", "tablet-dave", "phone-bob", "printer-erin"})
	term.Send("o")
	term.WaitFor(5*time.Second, "by expiry, soonest first")
	waitOrder(t, term, cliOrder(t, run, "expires"))
	if r := e.run(t, "identity", "list", "--network", "ctrl", "--sort", "sessions"); r.Code == 0 || !strings.Contains(r.Stderr, "can't sort identities by sessions") {
		t.Errorf("the CLI sorting a controller by sessions:\n%s", r)
	}
	term.Send("o")
	var screen string
	Eventually(t, 10*time.Second, "a toast saying sessions can't be sorted by", func() bool {
		screen = term.Screen()
		f := flatScreen(screen)
		return strings.Contains(f, "can't sort identities by sessions") && strings.Contains(f, "Listed by name instead")
	})
	if strings.Contains(screen, "by sessions, most first") {
		t.Errorf("the header still says sessions:\n%s", screen)
	}
	term.WaitFor(5*time.Second, "Name▲")
	waitOrder(t, term, cliOrder(t, run, "name"))
	term.Send("o")
	term.WaitFor(5*time.Second, "by state")
	term.Send("o")
	term.WaitFor(5*time.Second, "by expiry")
	// O: the controller's reverse order, as the CLI's -expiry lists it.
	term.Send("O")
	term.WaitFor(5*time.Second, "Expires▼", "by expiry, latest first")
	waitOrder(t, term, cliOrder(t, run, "-expiry"))
	term.Send("O")
	term.WaitFor(5*time.Second, "Expires▲", "by expiry, soonest first")
	term.Send("o") // sessions skipped: creation
	term.WaitFor(5*time.Second, "by creation, oldest first")
	waitOrder(t, term, cliOrder(t, run, "created"))
	term.Send("o")
	term.WaitGone(5*time.Second, "by creation")
	term.WaitFor(5*time.Second, "Name▲")
}

// flatScreen is a screen's words in one line, box borders dropped, so a
// sentence wrapped in a toast can be searched.
func flatScreen(screen string) string {
	screen = strings.NewReplacer("│", " ", "╭", " ", "╮", " ", "╰", " ", "╯", " ", "─", " ").Replace(screen)
	return strings.Join(strings.Fields(screen), " ")
}
