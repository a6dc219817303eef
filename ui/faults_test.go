package ui

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// unreachableErr is what the OpenZiti client says when nothing listens on
// the controller's port.
var unreachableErr = backend.Unavailable("controller unreachable: dial tcp 127.0.0.1:1: connect: connection refused")

// downBackend is the fake with a controller that can go away: while down,
// every call fails as unreachable; with hang set, reads wait until their
// deadline instead (a controller that accepts and never answers). It
// counts what was asked of it while down too.
type downBackend struct {
	*fakeBackend
	mu        sync.Mutex
	down      bool
	hang      bool
	started   chan struct{} // a hanging call has started (buffered)
	reads     int
	mutations int
}

func newDownBackend() *downBackend {
	return &downBackend{fakeBackend: demoBackend(), started: make(chan struct{}, 100)}
}

func (d *downBackend) setDown(on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.down = on
}

func (d *downBackend) count(mutation bool) (down, hang bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if mutation {
		d.mutations++
	} else {
		d.reads++
	}
	return d.down, d.hang
}

func (d *downBackend) numReads() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.reads
}

func (d *downBackend) numMutations() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.mutations
}

// read fails or hangs as the controller would.
func (d *downBackend) read(ctx context.Context) error {
	down, hang := d.count(false)
	if hang {
		d.started <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}
	if down {
		return unreachableErr
	}
	return nil
}

func (d *downBackend) Networks(ctx context.Context) ([]model.Network, error) {
	if err := d.read(ctx); err != nil {
		return nil, err
	}
	return d.fakeBackend.Networks(ctx)
}

func (d *downBackend) Identities(ctx context.Context, network string, q model.ListQuery) (model.Page, error) {
	if err := d.read(ctx); err != nil {
		return model.Page{}, err
	}
	return d.fakeBackend.Identities(ctx, network, q)
}

func (d *downBackend) Identity(ctx context.Context, network, id string) (model.Identity, error) {
	if err := d.read(ctx); err != nil {
		return model.Identity{}, err
	}
	return d.fakeBackend.Identity(ctx, network, id)
}

func (d *downBackend) ResetEnrollment(ctx context.Context, network, id string, rev int64, exp time.Time) (backend.Token, error) {
	if down, _ := d.count(true); down {
		return backend.Token{}, unreachableErr
	}
	return d.fakeBackend.ResetEnrollment(ctx, network, id, rev, exp)
}

// fireUntil fires the timers, one round at a time, until cond holds; it
// returns how many rounds (seconds of countdown) that took.
func (hs *harness) fireUntil(what string, cond func() bool) int {
	hs.t.Helper()
	for rounds := 1; rounds <= 100; rounds++ {
		hs.fireTimers()
		if cond() {
			return rounds
		}
	}
	hs.t.Fatalf("%s never happened; the screen shows:\n%s", what, hs.screen())
	return 0
}

// TestListRetriesWhileControllerUnreachable: a page the controller can't
// serve says so with a countdown, is asked for again after 2, 4, 8, 16
// and then 30 seconds, the console answers keys all along, and the rows
// come back as soon as the controller does.
func TestListRetriesWhileControllerUnreachable(t *testing.T) {
	db := newDownBackend()
	opts := testOptions(db.fakeBackend)
	opts.Backend = db
	opts.PollInterval = -1 // the countdown's reads only, not the list's poll (refresh.go)
	hs := newHarness(t, opts, 100, 30)
	hs.press("s") // a new query: enrolled identities
	if !strings.Contains(hs.screen(), "laptop-alice") {
		t.Fatalf("the list didn't load:\n%s", hs.screen())
	}

	db.setDown(true)
	hs.press("s") // pending identities: the controller is gone
	screen := hs.screen()
	if !strings.Contains(screen, "controller unreachable, retrying in 2s") || !strings.Contains(hs.list().errText(), "connection refused") {
		t.Fatalf("no countdown after the controller went away:\n%s", screen)
	}
	hs.fireTimers()
	if !strings.Contains(hs.screen(), "controller unreachable, retrying in 1s") {
		t.Fatalf("the countdown doesn't count:\n%s", hs.screen())
	}
	hs.fireTimers()
	if !strings.Contains(hs.screen(), "retrying in 4s") {
		t.Fatalf("after the retry failed, want a 4 s wait:\n%s", hs.screen())
	}
	// The waits grow: 4, 8, 16, then 30 seconds, 30 again.
	for _, want := range []int{4, 8, 16, 30, 30} {
		reads := db.numReads()
		got := hs.fireUntil("a retry", func() bool { return db.numReads() > reads })
		if got != want {
			t.Errorf("retried after %d s, want %d", got, want)
		}
		if db.numReads() != reads+1 {
			t.Errorf("one retry asked %d times", db.numReads()-reads)
		}
	}

	// Keys still work during the countdown: help, moving, filtering.
	hs.press("?")
	if !hs.app.help.ShowAll {
		t.Error("? was not answered while retrying")
	}
	hs.press("?", "/")
	hs.typeText("bob")
	if hs.list().input.Value() != "bob" {
		t.Errorf("typing a filter while retrying: %q", hs.list().input.Value())
	}
	hs.press("esc")

	// The controller comes back: the next try shows the rows.
	db.setDown(false)
	hs.fireUntil("the rows coming back", func() bool { return strings.Contains(hs.screen(), "phone-bob") })
	if s := hs.screen(); strings.Contains(s, "unreachable") || strings.Contains(s, "retrying") {
		t.Errorf("the countdown is still shown after the controller came back:\n%s", s)
	}
	// Nothing more is scheduled once it works.
	reads := db.numReads()
	for range 40 {
		hs.fireTimers()
	}
	if db.numReads() != reads {
		t.Errorf("%d more reads after the list loaded", db.numReads()-reads)
	}
	hs.press("ctrl+c")
	if !hs.quit {
		t.Error("ctrl+c did not quit")
	}
}

// TestIdentityRetriesButMutationsNever: Edit Identity reloads by itself
// when the controller was unreachable, but a reset that failed because of
// it is reported and never sent again: the admin decides.
func TestIdentityRetriesButMutationsNever(t *testing.T) {
	db := newDownBackend()
	opts := testOptions(db.fakeBackend)
	opts.Backend = db
	hs := newHarness(t, opts, 100, 30)
	hs.openByName("laptop-alice")

	db.setDown(true)
	hs.press("r") // reloads the identity to show its sessions: fails
	if !strings.Contains(hs.edit().View(), "controller unreachable, retrying in 2s") {
		t.Fatalf("no countdown on Edit Identity:\n%s", hs.screen())
	}
	hs.press("enter", "y") // the date, then confirm: the reset fails
	if n := db.numMutations(); n != 1 {
		t.Fatalf("%d reset calls, want 1", n)
	}
	var problem string
	for _, x := range hs.app.toasts.items {
		if x.kind == toastProblem {
			problem = x.text
		}
	}
	if !strings.Contains(problem, "unavailable") || !strings.Contains(problem, "connection refused") {
		t.Errorf("the failed reset said %q", problem)
	}
	reads := db.numReads()
	for range 120 { // two minutes of timers
		hs.fireTimers()
	}
	if n := db.numMutations(); n != 1 {
		t.Errorf("the failed reset was sent again by itself: %d calls", n)
	}
	// Reloaded with backoff (after 2, 4, 8, 16, 30, 30, 30 s), not at
	// every poll of the live updates.
	if n := db.numReads() - reads; n == 0 || n > 8 {
		t.Errorf("the identity was reloaded %d times in two minutes while the controller was away; want the backoff's 6 or 7", n)
	}
	if v := hs.edit(); v.ident.State(testNow) != model.StateEnrolled || v.ident.Revision != 1 {
		t.Errorf("the identity changed after a failed reset: %+v", v.ident)
	}

	db.setDown(false)
	hs.fireUntil("the reload", func() bool { return !hs.edit().retry.waiting() })
	if s := hs.edit().View(); strings.Contains(s, "retrying") {
		t.Errorf("countdown still shown:\n%s", s)
	}
	if n := len(db.fakeBackend.mutations()); n != 0 {
		t.Errorf("the controller received %d resets", n)
	}
}

// TestNetworksRetryAtStart: when no network can be listed because the
// backend is unreachable, the console says so, counts down, and opens as
// soon as it answers.
func TestNetworksRetryAtStart(t *testing.T) {
	db := newDownBackend()
	db.setDown(true)
	hs := newHarness(t, Options{Backend: db, Now: func() time.Time { return testNow }, Location: testLoc, NoColor: true}, 100, 30)
	s := hs.screen()
	if !strings.Contains(s, "Could not load the networks") || !strings.Contains(s, "backend unreachable, retrying in 2s") {
		t.Fatalf("start with the backend down:\n%s", s)
	}
	db.setDown(false)
	hs.fireUntil("the list opening", func() bool { return strings.Contains(hs.screen(), "laptop-alice") })
}

// TestSlowBackendHitsTheDeadline: a controller that accepts the request
// and never answers is given up on at the deadline, and the load is
// counted down and retried like an unreachable one.
func TestSlowBackendHitsTheDeadline(t *testing.T) {
	db := newDownBackend()
	opts := testOptions(db.fakeBackend)
	opts.Backend = db
	opts.Timeout = 50 * time.Millisecond
	hs := newHarness(t, opts, 140, 30)
	db.mu.Lock()
	db.hang = true
	db.mu.Unlock()
	hs.press("s")
	if s := hs.screen(); !strings.Contains(s, "retrying in 2s") || !strings.Contains(s, "no answer in time") {
		t.Fatalf("after the deadline:\n%s", s)
	}
}

// TestCtrlCWhileTheBackendHangs runs the real program: with a backend call
// stuck (no deadline in sight), ctrl+c still ends the console at once.
func TestCtrlCWhileTheBackendHangs(t *testing.T) {
	db := newDownBackend()
	db.hang = true
	opts := testOptions(db.fakeBackend)
	opts.Backend = db
	opts.Timeout = time.Hour
	in, typed := io.Pipe()
	defer typed.Close()
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), opts, in, io.Discard, tea.WithWindowSize(100, 30), tea.WithoutSignals())
	}()
	select {
	case <-db.started: // the networks are being asked for, and never come
	case <-time.After(20 * time.Second):
		t.Fatal("the console never asked the backend")
	}
	if _, err := typed.Write([]byte{0x03}); err != nil { // ctrl+c
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, tea.ErrInterrupted) {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("ctrl+c did not end the console while a backend call hung")
	}
}
