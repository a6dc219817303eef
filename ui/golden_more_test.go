package ui

import (
	"context"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// backendOf is the backend the scene's console runs on, as the scene's
// opts wrapped it.
func backendOf[T any](hs *harness) T {
	hs.t.Helper()
	b, ok := hs.app.s.opts.Backend.(T)
	if !ok {
		hs.t.Fatalf("the backend is %T", hs.app.s.opts.Backend)
	}
	return b
}

func withDown(o *Options) {
	o.Backend = &downBackend{fakeBackend: o.Backend.(*fakeBackend), started: make(chan struct{}, 100)}
}

func asViewer(o *Options) { o.Backend = viewerBackend{o.Backend.(*fakeBackend)} }

func noNetworks() *fakeBackend { return newFakeBackend(testNow) }

// heldBackend lets the first free resets of a bulk run through and holds
// the next until the scene ends, so the progress can be drawn mid-run.
type heldBackend struct {
	*fakeBackend
	free    int32
	n       atomic.Int32
	reached chan struct{} // closed when the held reset starts
	release chan struct{}
}

func (h *heldBackend) ResetEnrollment(ctx context.Context, network, id string, rev int64, exp time.Time) (backend.Token, error) {
	if k := h.n.Add(1); k > h.free {
		if k == h.free+1 {
			close(h.reached)
		}
		<-h.release
	}
	return h.fakeBackend.ResetEnrollment(ctx, network, id, rev, exp)
}

// bulkMidRun starts a bulk reset of every identity and draws its progress
// after three resets and one second, the fourth under way.
func bulkMidRun(hs *harness) {
	hb := backendOf[*heldBackend](hs)
	hs.press("a", "r", "enter")
	_, cmd := hs.app.Update(keyMsg("y"))
	_, cmd = hs.app.Update(cmd()) // the confirmation's answer
	cmds := cmd().(tea.BatchMsg)
	done := make(chan struct{})
	go func() { defer close(done); cmds[0]() }()
	hs.t.Cleanup(func() { close(hb.release); <-done })
	<-hb.reached
	goldenClock.Store(testNow.Add(time.Second).Unix())
	hs.app.Update(cmds[1]())
}

// goldenClock is the clock of the bulk progress scenes (Unix seconds).
var goldenClock atomic.Int64

func heldRun(o *Options) {
	goldenClock.Store(testNow.Unix())
	o.Now = func() time.Time { return time.Unix(goldenClock.Load(), 0).UTC() }
	o.Backend = &heldBackend{fakeBackend: o.Backend.(*fakeBackend), free: 3, reached: make(chan struct{}), release: make(chan struct{})}
}

// moreGoldenScenes are the screens and dialogs the first goldens left
// out: the bulk flow, the SCP delivery, live updates, retries, roles, the
// first run.
func moreGoldenScenes() []goldenScene {
	picky := func(refuse map[string]error) func(*Options) {
		return func(o *Options) { o.Backend = &picky{fakeBackend: o.Backend.(*fakeBackend), refuse: refuse} }
	}
	return []goldenScene{
		{"first_run", noNetworks, func(hs *harness) {},
			func(o *Options) { o.CreateNetwork = "idcon --db /srv/idcon/idcon.db network create NAME" }},
		{"networks_failed", demoBackend, func(hs *harness) {},
			func(o *Options) { withDown(o); o.Backend.(*downBackend).setDown(true) }},
		{"picker_filtered", pickerBackend, func(hs *harness) { hs.press("/"); hs.typeText("st") }, nil},
		{"list_retrying", demoBackend, func(hs *harness) {
			hs.press("s")
			backendOf[*downBackend](hs).setDown(true)
			hs.press("s")
		}, withDown},
		{"list_empty", demoBackend, func(hs *harness) { hs.press("/"); hs.typeText("zzz"); hs.fireTimers(); hs.press("enter") }, nil},
		{"list_marked", demoBackend, func(hs *harness) { hs.press("space", "space", "down", "space") }, nil},
		{"edit_retrying", demoBackend, func(hs *harness) {
			hs.openByName("laptop-alice")
			backendOf[*downBackend](hs).setDown(true)
			hs.press("r", "esc")
		}, withDown},
		{"edit_viewer", demoBackend, func(hs *harness) { hs.openByName("phone-bob") }, asViewer},
		{"toast_refused", demoBackend, func(hs *harness) { hs.press("+") }, asViewer},
		{"toast_copy_id", demoBackend, func(hs *harness) { hs.openByName("phone-bob"); hs.press("y") }, nil},
		{"toast_conflict", demoBackend, func(hs *harness) {
			hs.openByName("laptop-alice")
			hs.press("r", "enter")
			backendOf[*fakeBackend](hs).bump("net-acme", "id-alice")
			hs.press("y")
		}, nil},
		{"help_dialog", demoBackend, func(hs *harness) { hs.openByName("laptop-alice"); hs.press("r", "?") }, nil},
		{"bulk_datepicker", demoBackend, func(hs *harness) { hs.press("a", "r") }, nil},
		{"bulk_confirm", demoBackend, func(hs *harness) { hs.press("a", "r", "enter") }, nil},
		{"bulk_confirm_reissue", demoBackend, func(hs *harness) {
			hs.openByName("tablet-carol")
			hs.press("esc", "space", "i", "enter")
		}, nil},
		{"bulk_nothing", demoBackend, func(hs *harness) {
			hs.openByName("phone-bob")
			hs.press("esc", "space", "r", "enter")
		}, nil},
		{"bulk_summary", demoBackend, func(hs *harness) { hs.press("a", "r", "enter", "y") }, nil},
		{"bulk_failures", demoBackend, func(hs *harness) { hs.press("a", "r", "enter", "y") }, picky(map[string]error{
			"id-srv03": backend.Conflict("server-03 changed since you loaded it: reload and try again"),
			"id-alice": backend.NotFound("laptop-alice was deleted meanwhile"),
		})},
		{"bulk_stopped", demoBackend, func(hs *harness) { hs.press("a", "r", "enter", "y") },
			picky(map[string]error{"id-srv01": backend.Forbidden("viewers can't reset")})},
		{"bulk_progress", demoBackend, bulkMidRun, heldRun},
		{"bulk_cancelling", demoBackend, func(hs *harness) { bulkMidRun(hs); hs.press("c") }, heldRun},
		{"scp", demoBackend, func(hs *harness) { hs.openByName("phone-bob"); hs.press("j") }, func(o *Options) {
			o.RemoteDownload = func(n model.Network, id model.Identity) string {
				return "scp -P 2222 alice@idcon.example.org:" + n.Name + "/" + id.Name + ".jwt ."
			}
		}},
		{"stale_confirm", demoBackend, func(hs *harness) {
			hs.openByName("phone-bob")
			hs.timers = nil
			hs.press("d")
			backendOf[*fakeBackend](hs).bump("net-acme", "id-bob")
			hs.send(changed("id-bob", "alice"))
			hs.fireTimers()
		}, nil},
		{"stale_datepicker", demoBackend, func(hs *harness) {
			hs.openByName("laptop-alice")
			hs.timers = nil
			hs.press("r")
			otherAdminResets(hs.t, backendOf[*fakeBackend](hs))
			hs.send(pollMsg{})
		}, nil},
	}
}
