package ui

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/backend/embedded"
	"github.com/idcon/idcon/model"
)

// TestTwoAdminsResetTheSameIdentity: two consoles (two App models, as two
// SSH sessions or two terminals would run) on one embedded database open
// the same enrolled identity, and both confirm a reset at the same moment.
// Exactly one reset happens; the other admin is told someone else changed
// the identity and sees its fresh state, never a second new token.
func TestTwoAdminsResetTheSameIdentity(t *testing.T) {
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Second)
	clock := func() time.Time { return now }
	policy := model.ExpiryPolicy{Max: 365 * 24 * time.Hour}
	store, err := embedded.Open(filepath.Join(t.TempDir(), "idcon.db"), embedded.Options{Now: clock, Policy: policy})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	n, err := store.CreateNetwork(ctx, "office")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := store.CreateIdentity(ctx, n.ID, model.NewIdentity{Name: "laptop-alice", ExpiresAt: now.Add(72 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := embedded.EnrollToDir(ctx, store, tok.JWT, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if err := store.AddSessions(ctx, n.ID, tok.Identity.ID, 2); err != nil {
		t.Fatal(err)
	}
	before, err := store.Identity(ctx, n.ID, tok.Identity.ID)
	if err != nil || before.State(now) != model.StateEnrolled {
		t.Fatalf("setup: %+v, %v", before, err)
	}

	opts := Options{Backend: store, Now: clock, Location: time.UTC, Policy: policy, NoColor: true}
	admins := []*harness{newHarness(t, opts, 100, 30), newHarness(t, opts, 100, 30)}
	cmds := make([]tea.Cmd, len(admins))
	for i, hs := range admins {
		hs.openByName("laptop-alice")
		hs.press("r", "enter") // reset, the default date: the confirmation is open
		if _, ok := hs.app.dialog.(*confirmDialog); !ok {
			t.Fatalf("admin %d: %T open, want the confirmation", i, hs.app.dialog)
		}
		// Confirm, but hold the backend call so both start together.
		_, cmd := hs.app.Update(keyMsg("y"))
		_, cmds[i] = hs.app.Update(cmd())
	}
	var wg sync.WaitGroup
	for i, hs := range admins {
		wg.Go(func() { hs.run(cmds[i]) })
	}
	wg.Wait()

	after, err := store.Identity(ctx, n.ID, tok.Identity.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Revision != before.Revision+1 || after.State(now) != model.StatePending || after.ActiveSessions != 0 {
		t.Fatalf("after both confirmed the identity is %+v (revision %d before): want exactly one reset", after, before.Revision)
	}
	var won, lost int
	for i, hs := range admins {
		var texts []string
		for _, x := range hs.app.toasts.items {
			texts = append(texts, x.text)
		}
		all := strings.Join(texts, "\n")
		v := hs.edit()
		switch {
		case strings.Contains(all, "Enrollment reset for laptop-alice: 2 sessions dropped"):
			won++
		case strings.Contains(all, "Someone else changed this identity"):
			lost++
			if !strings.Contains(all, "laptop-alice was reloaded") {
				t.Errorf("admin %d was not told the identity was reloaded: %q", i, texts)
			}
		default:
			t.Errorf("admin %d was told %q", i, texts)
		}
		// Both now see what the database holds: the winner from the
		// reset's answer, the loser from the reload.
		if v.ident.Revision != after.Revision || v.ident.State(now) != model.StatePending || v.ident.ActiveSessions != 0 {
			t.Errorf("admin %d sees %+v, the database holds %+v", i, v.ident, after)
		}
		if s := hs.screen(); !strings.Contains(s, "pending") || strings.Contains(s, "Reset enrollment (r)") {
			t.Errorf("admin %d's screen doesn't show the fresh state:\n%s", i, s)
		}
	}
	if won != 1 || lost != 1 {
		t.Errorf("%d resets succeeded and %d were refused; want exactly one of each", won, lost)
	}
}
