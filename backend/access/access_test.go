package access_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/audit"
	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/access"
	"github.com/idcon/idcon/backend/embedded"
	"github.com/idcon/idcon/model"
)

// world is a real SQLite store holding network "demo" with two pending
// identities (bob, dave) and one enrolled (erin), and an audit log.
type world struct {
	store   *embedded.Store
	net     model.Network
	bob     model.Identity
	dave    model.Identity
	erin    model.Identity
	log     *audit.Log
	logPath string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	s, err := embedded.Open(filepath.Join(dir, "idcon.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	n, err := s.CreateNetwork(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	w := &world{store: s, net: n, logPath: filepath.Join(dir, "audit.log")}
	mk := func(name string) (model.Identity, string) {
		tok, err := s.CreateIdentity(ctx, n.ID, model.NewIdentity{Name: name, ExpiresAt: time.Now().Add(48 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Identity, tok.JWT
	}
	w.bob, _ = mk("bob")
	w.dave, _ = mk("dave")
	erin, jwt := mk("erin")
	if _, err := embedded.EnrollToDir(ctx, s, jwt, filepath.Join(dir, "erin")); err != nil {
		t.Fatal(err)
	}
	w.erin, _ = s.Identity(ctx, n.ID, erin.ID)
	w.log, err = audit.Open(w.logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.log.Close() })
	return w
}

func (w *world) entries(t *testing.T) []audit.Entry {
	t.Helper()
	es, err := audit.Read(w.logPath, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

var (
	alice = access.Actor{Name: "alice", Fingerprint: "SHA256:alicekey", Role: access.RoleAdmin, Via: access.ViaSSH}
	carol = access.Actor{Name: "carol", Fingerprint: "SHA256:carolkey", Role: access.RoleViewer, Via: access.ViaSSH}
)

func TestViewerIsRefusedEveryChangeAndToken(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	b := access.New(w.store, carol, w.log, nil)
	exp := time.Now().Add(24 * time.Hour)

	calls := []struct {
		name string
		call func() error
		says string
	}{
		{"reset", func() error {
			_, err := b.ResetEnrollment(ctx, w.net.ID, w.erin.ID, w.erin.Revision, exp)
			return err
		}, "viewers can't reset enrollments: ask an admin (you are carol, viewer)"},
		{"reissue", func() error {
			_, err := b.ReissueEnrollment(ctx, w.net.ID, w.bob.ID, w.bob.Revision, exp)
			return err
		}, "viewers can't reissue enrollments"},
		{"delete", func() error {
			_, err := b.DeleteEnrollment(ctx, w.net.ID, w.bob.ID, w.bob.Revision)
			return err
		}, "viewers can't delete enrollments"},
		{"create", func() error {
			_, err := b.CreateIdentity(ctx, w.net.ID, model.NewIdentity{Name: "zed", ExpiresAt: exp})
			return err
		}, "viewers can't create identities"},
		{"TokenJWT", func() error { _, err := b.TokenJWT(ctx, w.net.ID, w.bob.ID); return err }, "viewers can't see tokens"},
		{"Token qr", func() error { _, err := b.Token(ctx, w.net.ID, w.bob.ID, model.ActionQR); return err }, "viewers can't see QR codes"},
		{"Token jwt", func() error { _, err := b.Token(ctx, w.net.ID, w.bob.ID, model.ActionJWT); return err }, "viewers can't download tokens"},
		{"Token email", func() error { _, err := b.Token(ctx, w.net.ID, w.bob.ID, model.ActionEmail); return err }, "viewers can't send registration emails"},
	}
	for _, c := range calls {
		err := c.call()
		if !errors.Is(err, backend.ErrForbidden) {
			t.Errorf("%s as viewer: err = %v, want forbidden", c.name, err)
			continue
		}
		if !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s as viewer says %q, want it to contain %q", c.name, err, c.says)
		}
	}

	// Nothing changed in the database.
	for _, before := range []model.Identity{w.bob, w.dave, w.erin} {
		after, err := w.store.Identity(ctx, w.net.ID, before.ID)
		if err != nil {
			t.Fatal(err)
		}
		if after.Revision != before.Revision || after.State(time.Now()) != before.State(time.Now()) {
			t.Errorf("%s changed under a viewer: revision %d→%d", before.Name, before.Revision, after.Revision)
		}
	}
	page, _ := w.store.Identities(ctx, w.net.ID, model.ListQuery{})
	if page.Total != 3 {
		t.Errorf("a viewer's create made an identity: %d identities", page.Total)
	}

	// Each refusal is audited, with the actor and the reason.
	es := w.entries(t)
	if len(es) != len(calls) {
		t.Fatalf("%d audit entries for %d refused calls", len(es), len(calls))
	}
	first := es[0]
	if first.Action != audit.ActionReset || first.Actor.Name != "carol" || first.Actor.Fingerprint != "SHA256:carolkey" ||
		first.Actor.Via != "ssh" || first.Network.Name != "demo" || first.Identity.Name != "erin" ||
		!strings.Contains(first.Result, "viewers can't reset") {
		t.Errorf("refused reset audited as %+v", first)
	}
	if es[3].Identity.Name != "zed" || es[3].Action != audit.ActionCreate {
		t.Errorf("refused create audited as %+v", es[3])
	}
}

func TestViewerCanBrowse(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	b := access.New(w.store, carol, w.log, nil)
	nets, err := b.Networks(ctx)
	if err != nil || len(nets) != 1 {
		t.Fatalf("Networks = %v, %v", nets, err)
	}
	page, err := b.Identities(ctx, w.net.ID, model.ListQuery{})
	if err != nil || page.Total != 3 {
		t.Fatalf("Identities = %v, %v", page.Total, err)
	}
	if _, err := b.IdentityByName(ctx, w.net.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Identity(ctx, w.net.ID, w.bob.ID); err != nil {
		t.Fatal(err)
	}
	if n := len(w.entries(t)); n != 0 {
		t.Errorf("browsing wrote %d audit entries", n)
	}
	if err := b.Can(model.ActionQR); !errors.Is(err, backend.ErrForbidden) {
		t.Errorf("Can(qr) for a viewer = %v", err)
	}
}

func TestAdminMutationsAuditedAndPublished(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	changes := access.NewChanges()
	events, cancel := changes.Subscribe()
	defer cancel()
	fixed := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	b := access.New(w.store, alice, w.log, func() time.Time { return fixed }, access.WithChanges(changes))

	tok, err := b.ResetEnrollment(ctx, w.net.ID, w.erin.ID, w.erin.Revision, time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ev := <-events
	if ev.Network != w.net.ID || ev.IdentityID != w.erin.ID || ev.Action != audit.ActionReset || ev.By != "alice" {
		t.Errorf("published %+v", ev)
	}
	// A stale revision fails: audited with the error, nothing published.
	_, err = b.DeleteEnrollment(ctx, w.net.ID, w.bob.ID, w.bob.Revision+7)
	if err == nil {
		t.Fatal("delete with a stale revision succeeded")
	}
	select {
	case ev := <-events:
		t.Errorf("a failed mutation was published: %+v", ev)
	default:
	}
	created, err := b.CreateIdentity(ctx, w.net.ID, model.NewIdentity{Name: "zed", ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	<-events

	es := w.entries(t)
	if len(es) != 3 {
		t.Fatalf("%d audit entries, want 3: %+v", len(es), es)
	}
	want := audit.Entry{
		Time:     fixed,
		Actor:    audit.Actor{Name: "alice", Fingerprint: "SHA256:alicekey", Role: "admin", Via: "ssh"},
		Network:  audit.Ref{ID: w.net.ID, Name: "demo"},
		Identity: audit.Ref{ID: w.erin.ID, Name: "erin"},
		Action:   audit.ActionReset,
		Result:   audit.ResultOK,
	}
	if es[0] != want {
		t.Errorf("reset audited as\n%+v, want\n%+v", es[0], want)
	}
	if es[1].Action != audit.ActionDelete || es[1].Result == audit.ResultOK || es[1].Identity.Name != "bob" {
		t.Errorf("failed delete audited as %+v", es[1])
	}
	if es[2].Action != audit.ActionCreate || es[2].Identity.ID != created.Identity.ID || es[2].Identity.Name != "zed" || es[2].Result != "ok" {
		t.Errorf("create audited as %+v", es[2])
	}
	raw, _ := os.ReadFile(w.logPath)
	for _, secret := range []string{tok.JWT, created.JWT} {
		if strings.Contains(string(raw), secret) {
			t.Fatal("a token reached the audit log")
		}
	}
}

func TestTokenDeliveriesAudited(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	b := access.New(w.store, alice, w.log, nil)
	want, err := w.store.TokenJWT(ctx, w.net.ID, w.bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []model.Action{model.ActionQR, model.ActionJWT, model.ActionEmail} {
		got, err := b.Token(ctx, w.net.ID, w.bob.ID, p)
		if err != nil || got != want {
			t.Fatalf("Token(%s) = %q, %v", p, got, err)
		}
	}
	b.Record(ctx, w.net.ID, w.bob.ID, model.ActionEmail, "smtp: 550 mailbox unavailable")
	if _, err := b.Token(ctx, w.net.ID, w.erin.ID, model.ActionJWT); !errors.Is(err, backend.ErrConflict) {
		t.Errorf("token of an enrolled identity: %v", err)
	}
	if _, err := b.Token(ctx, w.net.ID, w.bob.ID, model.ActionReset); !errors.Is(err, backend.ErrInvalid) {
		t.Errorf("Token for a non-delivery: %v", err)
	}
	es := w.entries(t)
	got := []string{}
	for _, e := range es {
		got = append(got, e.Action+"="+strings.SplitN(e.Result, " ", 2)[0])
	}
	// email's Token is not audited on success: Record says how the send went.
	wantActs := []string{"qr shown=ok", "jwt downloaded=ok", "email sent=smtp:", "jwt downloaded=erin"}
	if strings.Join(got, ",") != strings.Join(wantActs, ",") {
		t.Errorf("audited %v, want %v", got, wantActs)
	}
	raw, _ := os.ReadFile(w.logPath)
	if strings.Contains(string(raw), want) {
		t.Fatal("the token reached the audit log")
	}
}

// slowBackend holds ResetEnrollment until released, to stand for a slow
// controller.
type slowBackend struct {
	backend.Backend
	entered chan struct{}
	release chan struct{}
}

func (s *slowBackend) ResetEnrollment(ctx context.Context, network, id string, rev int64, exp time.Time) (backend.Token, error) {
	close(s.entered)
	<-s.release
	return s.Backend.ResetEnrollment(ctx, network, id, rev, exp)
}

func TestInflightCloseWaitsForMutation(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	slow := &slowBackend{Backend: w.store, entered: make(chan struct{}), release: make(chan struct{})}
	var g access.Inflight
	b := access.New(slow, alice, w.log, nil, access.WithInflight(&g))

	mutated := make(chan error)
	go func() {
		_, err := b.ResetEnrollment(ctx, w.net.ID, w.erin.ID, w.erin.Revision, time.Now().Add(time.Hour))
		mutated <- err
	}()
	<-slow.entered
	// What Close saw done when it returned: the change made and audited.
	type seen struct {
		err      error
		revision int64
		audited  bool
	}
	closed := make(chan seen)
	go func() {
		err := g.Close(ctx)
		x, _ := w.store.Identity(ctx, w.net.ID, w.erin.ID)
		es, _ := audit.Read(w.logPath, audit.Filter{Identity: "erin"})
		ok := false
		for _, e := range es {
			ok = ok || (e.Action == audit.ActionReset && e.Result == audit.ResultOK)
		}
		closed <- seen{err, x.Revision, ok}
	}()

	// While closing, new changes are refused and nothing is changed.
	for g.Running() != 1 {
		time.Sleep(time.Millisecond)
	}
	waitClosing(t, b, w)
	close(slow.release)
	got := <-closed
	if got.err != nil {
		t.Fatal(got.err)
	}
	if got.revision == w.erin.Revision || !got.audited {
		t.Fatalf("Close returned before the reset was done and audited (revision %d→%d, audited %v)", w.erin.Revision, got.revision, got.audited)
	}
	if err := <-mutated; err != nil {
		t.Fatalf("in-flight reset: %v", err)
	}
}

// waitClosing checks that once Close has begun, a new mutation is refused as
// unavailable and changes nothing.
func waitClosing(t *testing.T, b *access.Backend, w *world) {
	t.Helper()
	ctx := context.Background()
	for {
		// A stale revision: refused as a conflict until Close begins, then
		// as unavailable, and never changes anything.
		_, err := b.DeleteEnrollment(ctx, w.net.ID, w.bob.ID, w.bob.Revision+100)
		if err == nil {
			t.Fatal("a delete with a stale revision succeeded")
		}
		if errors.Is(err, backend.ErrUnavailable) {
			break
		}
		time.Sleep(time.Millisecond) // Close not yet called
	}
	got, _ := w.store.Identity(ctx, w.net.ID, w.bob.ID)
	if got.Revision != w.bob.Revision {
		t.Fatal("a refused mutation changed the identity")
	}
}

func TestChangesDropsBacklogForSlowSubscriber(t *testing.T) {
	c := access.NewChanges()
	fast, cancelFast := c.Subscribe()
	slow, cancelSlow := c.Subscribe()
	defer cancelFast()
	for i := range 100 {
		c.Publish("n", string(rune('a'+i%26)))
		<-fast
	}
	var got []access.ChangeEvent
	for len(slow) > 0 {
		got = append(got, <-slow)
	}
	if len(got) == 0 || len(got) > 32 {
		t.Fatalf("slow subscriber holds %d events", len(got))
	}
	wide := false
	for _, e := range got {
		wide = wide || (e.Network == "" && e.IdentityID == "")
	}
	if !wide {
		t.Fatal("a subscriber that fell behind was not told to refresh everything")
	}
	cancelSlow()
	cancelSlow() // twice is fine
	if _, ok := <-slow; ok {
		t.Fatal("channel still open after cancel")
	}
	c.Publish("n", "x") // no panic sending to a cancelled subscriber
}

func TestLocalActorIsAdmin(t *testing.T) {
	a := access.LocalActor()
	if a.Role != access.RoleAdmin || a.Via != access.ViaLocal || a.Name == "" {
		t.Fatalf("LocalActor = %+v", a)
	}
}

func TestParseRole(t *testing.T) {
	for _, s := range []string{"admin", "viewer"} {
		if r, err := access.ParseRole(s); err != nil || string(r) != s {
			t.Errorf("ParseRole(%q) = %q, %v", s, r, err)
		}
	}
	if _, err := access.ParseRole("root"); err == nil {
		t.Error("ParseRole(root) succeeded")
	}
}
