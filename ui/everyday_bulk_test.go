package ui

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/embedded"
	"github.com/idcon/idcon/model"
)

// pausedBulker is the embedded store whose bulk run pauses when its
// 33rd identity is reported, until the test lets it go on: the cancel then
// comes in the middle of the store's batch of 500, exactly there.
type pausedBulker struct {
	*embedded.Store
	at      int
	paused  chan struct{}
	proceed chan struct{}
}

func (p *pausedBulker) BulkApply(ctx context.Context, network string, sel backend.Selection, a model.Action, exp time.Time,
	each func(backend.BulkResult) bool) error {
	n := 0
	return p.Store.BulkApply(ctx, network, sel, a, exp, func(r backend.BulkResult) bool {
		ok := each(r)
		if n++; n == p.at {
			p.paused <- struct{}{}
			<-p.proceed
		}
		return ok
	})
}

// TestBulkCancelStopsAfterTheIdentityUnderWay: on the embedded backend,
// whose batches hold 500 identities, cancelling a bulk reset when the
// console shows 33 done stops it there, and the summary says exactly what
// the database holds.
func TestBulkCancelStopsAfterTheIdentityUnderWay(t *testing.T) {
	ctx := context.Background()
	store, err := embedded.Open(filepath.Join(t.TempDir(), "idcon.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	net, err := store.SeedDemo(ctx, "demo", 3000)
	if err != nil {
		t.Fatal(err)
	}
	enrolled := func() int {
		p, err := store.Identities(ctx, net.ID, model.ListQuery{State: model.StateEnrolled, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		return p.Total
	}
	before := enrolled()
	pb := &pausedBulker{Store: store, at: 33, paused: make(chan struct{}), proceed: make(chan struct{})}
	hs := newHarness(t, Options{Backend: pb, Location: time.UTC}, 100, 30)
	hs.press("a", "r", "enter")
	if !strings.Contains(dialogText(hs), "Reset enrollment of "+fmtCount(before)+" identities?") {
		t.Fatalf("confirmation: %s", dialogText(hs))
	}
	_, cmd := hs.app.Update(keyMsg("y"))
	_, cmd = hs.app.Update(cmd())
	cmds := cmd().(tea.BatchMsg)
	finished := make(chan tea.Msg, 1)
	go func() { finished <- cmds[0]() }()
	<-pb.paused
	hs.app.Update(cmds[1]()) // the progress so far, as the console shows it
	if s := dialogText(hs); !strings.Contains(s, "33 of "+fmtCount(before)) {
		t.Fatalf("the progress at the 33rd identity: %s", s)
	}
	hs.press("c")
	pb.proceed <- struct{}{}
	hs.send(<-finished)
	s := dialogText(hs)
	for _, want := range []string{"Reset enrollment: cancelled", "Reset 33 of " + fmtCount(before) + " identities",
		"Cancelled: " + fmtCount(before-33) + " identities were not started, left as they were."} {
		if !strings.Contains(s, want) {
			t.Fatalf("summary lacks %q: %s", want, s)
		}
	}
	if inDB := before - enrolled(); inDB != 33 {
		t.Fatalf("the summary says 33 reset, the database holds %d", inDB)
	}
}
