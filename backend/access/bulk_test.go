package access_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/audit"
	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/access"
	"github.com/idcon/idcon/model"
)

// TestBulkResetIsGuardedAndAudited: a viewer's bulk reset is refused and
// changes nothing; an admin's goes through the store's own Bulker, writes
// one audit line per identity attempted (never a token), and tells other
// sessions once.
func TestBulkResetIsGuardedAndAudited(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	sel := backend.Selection{All: true}
	exp := time.Now().Add(72 * time.Hour)
	var _ backend.Bulker = (*access.Backend)(nil)

	viewer := access.New(w.store, carol, w.log, nil)
	called := 0
	err := viewer.BulkApply(ctx, w.net.ID, sel, model.ActionReset, exp, func(backend.BulkResult) bool { called++; return true })
	if !errors.Is(err, backend.ErrForbidden) || called != 0 {
		t.Fatalf("viewer bulk reset: err %v, %d results; want forbidden and none", err, called)
	}
	if got, _ := w.store.Identity(ctx, w.net.ID, w.erin.ID); got.Revision != w.erin.Revision {
		t.Fatalf("a refused bulk reset changed erin: revision %d → %d", w.erin.Revision, got.Revision)
	}
	if es := w.entries(t); len(es) != 1 || es[0].Actor.Name != "carol" || !strings.Contains(es[0].Result, "viewers can't") {
		t.Fatalf("the refusal should be audited once: %+v", es)
	}

	hub := access.NewChanges()
	events, cancel := hub.Subscribe()
	defer cancel()
	admin := access.New(w.store, alice, w.log, nil, access.WithChanges(hub))
	sum, err := admin.Summarize(ctx, w.net.ID, sel, model.ActionReset)
	if err != nil || sum.Eligible != 1 || sum.Skipped != 2 {
		t.Fatalf("summary: %+v, %v; want 1 eligible (erin), 2 skipped", sum, err)
	}
	var jwts []string
	err = admin.BulkApply(ctx, w.net.ID, sel, model.ActionReset, exp, func(r backend.BulkResult) bool {
		if r.Err != nil {
			t.Errorf("%s: %v", r.Identity.Name, r.Err)
		}
		jwts = append(jwts, r.Token.JWT)
		return true
	})
	if err != nil || len(jwts) != 1 || jwts[0] == "" {
		t.Fatalf("admin bulk reset: %v, %d tokens", err, len(jwts))
	}
	if got, _ := w.store.Identity(ctx, w.net.ID, w.erin.ID); got.State(time.Now()) != model.StatePending {
		t.Errorf("erin is %s after the bulk reset, want pending", got.State(time.Now()))
	}
	es := w.entries(t)
	last := es[len(es)-1]
	if len(es) != 2 || last.Action != audit.ActionReset || last.Identity.Name != "erin" || last.Result != audit.ResultOK || last.Actor.Fingerprint != alice.Fingerprint {
		t.Errorf("audit after the bulk reset: %+v", es)
	}
	raw, _ := os.ReadFile(w.logPath)
	if strings.Contains(string(raw), jwts[0]) {
		t.Error("the audit log holds a token")
	}
	select {
	case ev := <-events:
		if ev.Network != w.net.ID || ev.IdentityID != "" {
			t.Errorf("change event %+v, want one for the whole network", ev)
		}
	case <-time.After(time.Second):
		t.Error("no change was published")
	}
}
