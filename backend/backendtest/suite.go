package backendtest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// Run runs the conformance suite against the backends h builds. Every
// subtest gets a fresh backend from h.New and closes it when it ends. The
// backends must use the default expiry policy (model.DefaultMaxExpiry).
func Run(t *testing.T, h Harness) {
	// The subtests share nothing (a fresh backend each), so they run side by
	// side: most of their time is spent waiting on a server or a disk.
	for _, c := range []struct {
		name string
		run  func(t *testing.T)
	}{
		{"Lifecycle", func(t *testing.T) { testLifecycle(t, start(t, h)) }},
		{"ReenrollAfterReset", func(t *testing.T) { testReenrollAfterReset(t, start(t, h)) }},
		{"CreateIssuesDistinctTokens", func(t *testing.T) { testDistinctTokens(t, start(t, h)) }},
		{"WrongState", func(t *testing.T) { testWrongState(t, h) }},
		{"StaleRevision", func(t *testing.T) { testStaleRevision(t, h) }},
		{"DuplicateName", func(t *testing.T) { testDuplicateName(t, start(t, h)) }},
		{"Concurrent", func(t *testing.T) { testConcurrent(t, h) }},
		{"Invalid", func(t *testing.T) { testInvalid(t, h) }},
		{"NotFound", func(t *testing.T) { testNotFound(t, start(t, h)) }},
		{"TokenJWT", func(t *testing.T) { testTokenJWT(t, h) }},
		{"CancelledContext", func(t *testing.T) { testCancelled(t, h) }},
		{"Paging", func(t *testing.T) { testPaging(t, start(t, h)) }},
		{"Filter", func(t *testing.T) { testFilter(t, start(t, h)) }},
		{"StateFilter", func(t *testing.T) { testStateFilter(t, start(t, h)) }},
		{"Networks", func(t *testing.T) { testNetworks(t, start(t, h)) }},
		{"Sorts", func(t *testing.T) { testSorts(t, start(t, h), h.Unsortable) }},
		{"Attributes", func(t *testing.T) { testAttributes(t, start(t, h)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t)
		})
	}
}

// The three mutations, each as the console calls it: with the revision the
// admin last saw and, for the two that issue a token, a valid expiry a week
// ahead.
type mutation struct {
	name string
	do   func(e *env, id string, rev int64) error
}

var (
	reset = mutation{"reset", func(e *env, id string, rev int64) error {
		_, err := e.b.ResetEnrollment(e.ctx, e.net, id, rev, e.at(7*day))
		return err
	}}
	reissue = mutation{"reissue", func(e *env, id string, rev int64) error {
		_, err := e.b.ReissueEnrollment(e.ctx, e.net, id, rev, e.at(7*day))
		return err
	}}
	deleteEnrollment = mutation{"delete", func(e *env, id string, rev int64) error {
		_, err := e.b.DeleteEnrollment(e.ctx, e.net, id, rev)
		return err
	}}
)

// testLifecycle walks one identity through every state:
// create → pending → enrolled (2 sessions) → reset → pending → expired →
// reissue → pending → delete → none.
func testLifecycle(t *testing.T, e *env) {
	step := "create → pending"
	expires := e.at(30 * day)
	created, err := e.b.CreateIdentity(e.ctx, e.net, model.NewIdentity{
		Name: "laptop-alice", Email: "alice@example.org",
		Attributes: []string{"staff", "laptops"}, ExpiresAt: expires,
	})
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	id := created.Identity
	checkToken(t, step, created, expires)
	switch {
	case id.ID == "":
		t.Fatalf("%s: the new identity has no ID", step)
	case id.Name != "laptop-alice" || id.Email != "alice@example.org":
		t.Errorf("%s: name/email %q/%q, want laptop-alice/alice@example.org", step, id.Name, id.Email)
	case id.State(e.now()) != model.StatePending:
		t.Errorf("%s: state %s", step, id.State(e.now()))
	case id.Revision <= 0:
		t.Errorf("%s: revision %d, want > 0", step, id.Revision)
	case id.HasCredential || id.ActiveSessions != 0:
		t.Errorf("%s: HasCredential %v, %d sessions; want none of either", step, id.HasCredential, id.ActiveSessions)
	case created.SessionsDropped != 0:
		t.Errorf("%s: SessionsDropped %d, want 0", step, created.SessionsDropped)
	case id.CreatedAt.Sub(e.now()).Abs() > 2*time.Second:
		t.Errorf("%s: CreatedAt %s, want the backend's now %s (the fixture's clock)", step, id.CreatedAt, e.now())
	}
	if attrs := slices.Sorted(slices.Values(id.Attributes)); !slices.Equal(attrs, []string{"laptops", "staff"}) {
		t.Errorf("%s: attributes %q, want laptops and staff", step, id.Attributes)
	}
	got := e.agree(step, id.ID)
	e.same(step+": created vs read", created.Identity, got)
	if e.jwt(step, id.ID) != created.JWT {
		t.Errorf("%s: TokenJWT differs from the token create returned", step)
	}

	step = "enroll → enrolled"
	e.fx.Enroll(t, e.net, id.ID)
	before := got
	got = e.agree(step, id.ID)
	switch {
	case got.State(e.now()) != model.StateEnrolled:
		t.Fatalf("%s: state %s", step, got.State(e.now()))
	case !got.HasCredential || got.Enrollment != nil:
		t.Errorf("%s: HasCredential %v, enrollment %v; want a credential and no token", step, got.HasCredential, got.Enrollment)
	case got.EnrolledAt.IsZero():
		t.Errorf("%s: EnrolledAt not set", step)
	case got.Revision == before.Revision:
		t.Errorf("%s: revision stayed %d; enrolling changes the enrollment", step, got.Revision)
	}
	e.noJWT(step+" (token used)", id.ID)

	step = "connect 2 sessions"
	e.fx.Connect(t, e.net, id.ID, 2)
	got = e.agree(step, id.ID)
	if got.ActiveSessions != 2 {
		t.Fatalf("%s: %d active sessions, want 2", step, got.ActiveSessions)
	}

	step = "reset enrolled → pending"
	before = got
	expires = e.at(7 * day)
	rt, err := e.b.ResetEnrollment(e.ctx, e.net, id.ID, before.Revision, expires)
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	checkToken(t, step, rt, expires)
	switch {
	case rt.SessionsDropped != 2:
		t.Errorf("%s: SessionsDropped %d, want 2", step, rt.SessionsDropped)
	case rt.Identity.State(e.now()) != model.StatePending:
		t.Errorf("%s: Token.Identity is %s", step, rt.Identity.State(e.now()))
	case rt.Identity.ActiveSessions != 0 || rt.Identity.HasCredential:
		t.Errorf("%s: %d sessions, HasCredential %v; want both dropped", step, rt.Identity.ActiveSessions, rt.Identity.HasCredential)
	case rt.Identity.Revision <= before.Revision:
		t.Errorf("%s: revision %d, want more than %d", step, rt.Identity.Revision, before.Revision)
	case rt.JWT == created.JWT:
		t.Errorf("%s: the new token equals the old one", step)
	}
	got = e.agree(step, id.ID)
	e.same(step+": returned vs read", rt.Identity, got)
	if e.jwt(step, id.ID) != rt.JWT {
		t.Errorf("%s: TokenJWT differs from the token reset returned", step)
	}

	step = "time passes → expired"
	before = got
	e.fx.Advance(8 * day)
	got = e.agree(step, id.ID)
	switch {
	case got.State(e.now()) != model.StateExpired:
		t.Fatalf("%s: state %s", step, got.State(e.now()))
	case got.Revision != before.Revision:
		t.Errorf("%s: revision moved from %d to %d though nothing was changed", step, before.Revision, got.Revision)
	}
	e.noJWT(step, id.ID)

	step = "reissue expired → pending"
	expires = e.at(14 * day)
	rit, err := e.b.ReissueEnrollment(e.ctx, e.net, id.ID, got.Revision, expires)
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	checkToken(t, step, rit, expires)
	switch {
	case rit.Identity.State(e.now()) != model.StatePending:
		t.Errorf("%s: Token.Identity is %s", step, rit.Identity.State(e.now()))
	case rit.Identity.Revision <= got.Revision:
		t.Errorf("%s: revision %d, want more than %d", step, rit.Identity.Revision, got.Revision)
	case rit.JWT == rt.JWT:
		t.Errorf("%s: the new token equals the expired one", step)
	case rit.SessionsDropped != 0:
		t.Errorf("%s: SessionsDropped %d, want 0", step, rit.SessionsDropped)
	}
	got = e.agree(step, id.ID)
	e.same(step+": returned vs read", rit.Identity, got)
	if e.jwt(step, id.ID) != rit.JWT {
		t.Errorf("%s: TokenJWT differs from the token reissue returned", step)
	}

	step = "delete pending → none"
	deleted, err := e.b.DeleteEnrollment(e.ctx, e.net, id.ID, got.Revision)
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	switch {
	case deleted.State(e.now()) != model.StateNone:
		t.Errorf("%s: returned identity is %s", step, deleted.State(e.now()))
	case deleted.Enrollment != nil || deleted.HasCredential:
		t.Errorf("%s: enrollment %v, HasCredential %v; want neither", step, deleted.Enrollment, deleted.HasCredential)
	case deleted.Revision <= got.Revision:
		t.Errorf("%s: revision %d, want more than %d", step, deleted.Revision, got.Revision)
	}
	got = e.agree(step, id.ID)
	e.same(step+": returned vs read", deleted, got)
	e.noJWT(step, id.ID)
}

// testReenrollAfterReset: the reset token works, so a user on a new device
// is enrolled again with no old sessions.
func testReenrollAfterReset(t *testing.T, e *env) {
	id := e.enrolled("phone-bob")
	rt, err := e.b.ResetEnrollment(e.ctx, e.net, id.ID, id.Revision, e.at(7*day))
	if err != nil {
		t.Fatalf("reset: %v", err)
	}
	if rt.SessionsDropped != 1 {
		t.Errorf("reset: SessionsDropped %d, want 1", rt.SessionsDropped)
	}
	e.fx.Enroll(t, e.net, id.ID)
	got := e.mustState("enroll with the reset token", id.ID, model.StateEnrolled)
	if !got.HasCredential || got.ActiveSessions != 0 || got.Revision <= rt.Identity.Revision {
		t.Errorf("enroll after reset: HasCredential %v, %d sessions, revision %d (reset left %d); want a credential, no sessions, a later revision",
			got.HasCredential, got.ActiveSessions, got.Revision, rt.Identity.Revision)
	}
	e.noJWT("enroll after reset", id.ID)
}

func testDistinctTokens(t *testing.T, e *env) {
	a := e.create("alice", "", 30*day)
	b := e.create("bob", "", 30*day)
	if a.Identity.ID == b.Identity.ID {
		t.Fatalf("two identities share ID %s", a.Identity.ID)
	}
	if a.JWT == b.JWT {
		t.Errorf("two identities got the same token")
	}
	if e.jwt("alice", a.Identity.ID) != a.JWT || e.jwt("bob", b.Identity.ID) != b.JWT {
		t.Errorf("TokenJWT returns another identity's token")
	}
}

// testWrongState: each mutation is refused as a conflict in every state
// that doesn't allow it, and the refusal changes nothing.
func testWrongState(t *testing.T, h Harness) {
	cases := []struct {
		m    mutation
		from model.State
	}{
		{reset, model.StatePending},
		{reset, model.StateExpired},
		{reset, model.StateNone},
		{reissue, model.StateEnrolled},
		{reissue, model.StatePending},
		{reissue, model.StateNone},
		{deleteEnrollment, model.StateExpired},
		{deleteEnrollment, model.StateEnrolled},
		{deleteEnrollment, model.StateNone},
	}
	for _, c := range cases {
		name := c.m.name + " on " + string(c.from)
		t.Run(name, func(t *testing.T) {
			e := start(t, h)
			id := e.inState("device-1", c.from)
			before := e.snap(id.ID)
			wantErr(t, name, c.m.do(e, id.ID, id.Revision), backend.ErrConflict)
			e.unchanged(name, before)
		})
	}
}

// testStaleRevision: a mutation carrying a revision other than the current
// one is refused as a conflict even when the state allows it, because
// the admin decided on what is no longer there.
func testStaleRevision(t *testing.T, h Harness) {
	cases := []struct {
		name string
		m    mutation
		// setup returns the identity, now in a state m allows, and the
		// revision to send.
		setup func(e *env) (model.Identity, int64)
	}{
		{"reset with the revision from before a reset and re-enroll", reset, func(e *env) (model.Identity, int64) {
			id := e.enrolled("device-1")
			if err := reset.do(e, id.ID, id.Revision); err != nil {
				e.t.Fatalf("reset: %v", err)
			}
			e.fx.Enroll(e.t, e.net, id.ID)
			return e.mustState("re-enroll", id.ID, model.StateEnrolled), id.Revision
		}},
		{"reissue with the revision from before a reissue that expired", reissue, func(e *env) (model.Identity, int64) {
			id := e.expired("device-1")
			if _, err := e.b.ReissueEnrollment(e.ctx, e.net, id.ID, id.Revision, e.at(time.Hour)); err != nil {
				e.t.Fatalf("reissue: %v", err)
			}
			e.fx.Advance(2 * time.Hour)
			return e.mustState("let the reissued token expire", id.ID, model.StateExpired), id.Revision
		}},
		{"delete with the revision from before an enroll and reset", deleteEnrollment, func(e *env) (model.Identity, int64) {
			id := e.pending("device-1")
			e.fx.Enroll(e.t, e.net, id.ID)
			enrolled := e.mustState("enroll", id.ID, model.StateEnrolled)
			if err := reset.do(e, id.ID, enrolled.Revision); err != nil {
				e.t.Fatalf("reset: %v", err)
			}
			return e.mustState("reset", id.ID, model.StatePending), id.Revision
		}},
		{"reset with a revision from the future", reset, func(e *env) (model.Identity, int64) {
			id := e.enrolled("device-1")
			return id, id.Revision + 1
		}},
		{"reissue with a revision from the future", reissue, func(e *env) (model.Identity, int64) {
			id := e.expired("device-1")
			return id, id.Revision + 1
		}},
		{"delete with a revision from the future", deleteEnrollment, func(e *env) (model.Identity, int64) {
			id := e.pending("device-1")
			return id, id.Revision + 1
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := start(t, h)
			id, rev := c.setup(e)
			if rev == id.Revision {
				t.Fatalf("setup left revision %d unchanged: the backend doesn't move revisions on mutation", rev)
			}
			before := e.snap(id.ID)
			wantErr(t, c.name, c.m.do(e, id.ID, rev), backend.ErrConflict)
			e.unchanged(c.name, before)
			// The current revision still works: the refusal was about the
			// revision alone.
			if err := c.m.do(e, id.ID, id.Revision); err != nil {
				t.Errorf("%s with the current revision: %v", c.m.name, err)
			}
		})
	}
}

func testDuplicateName(t *testing.T, e *env) {
	first := e.create("laptop-alice", "alice@example.org", 30*day)
	before := e.snap(first.Identity.ID)
	_, err := e.b.CreateIdentity(e.ctx, e.net, model.NewIdentity{Name: "laptop-alice", ExpiresAt: e.at(7 * day)})
	wantErr(t, "create with a taken name", err, backend.ErrConflict)
	e.unchanged("create with a taken name", before)
	if n := e.total(); n != 1 {
		t.Errorf("create with a taken name: the network holds %d identities, want 1", n)
	}
}

// testConcurrent: admins racing on the same revision or the same name get
// exactly one success; the others are told of the conflict. This is what
// "atomically" and the revision check are for.
func testConcurrent(t *testing.T, h Harness) {
	const racers = 8
	// race runs do racers times at once and returns the successes and the
	// errors of the rest.
	race := func(do func() (backend.Token, error)) (won []backend.Token, lost []error) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range racers {
			wg.Go(func() {
				tok, err := do()
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					lost = append(lost, err)
				} else {
					won = append(won, tok)
				}
			})
		}
		wg.Wait()
		return won, lost
	}
	check := func(t *testing.T, step string, won []backend.Token, lost []error) {
		t.Helper()
		if len(won) != 1 {
			t.Fatalf("%s by %d admins at once: %d succeeded, want exactly 1 (errors: %v)", step, racers, len(won), errors.Join(lost...))
		}
		for _, err := range lost {
			wantErr(t, step+" (a losing admin)", err, backend.ErrConflict)
		}
	}

	t.Run("reset with the same revision", func(t *testing.T) {
		e := start(t, h)
		id := e.enrolled("device-1")
		expires := e.at(7 * day) // the fixture needn't be safe for concurrent use
		won, lost := race(func() (backend.Token, error) {
			return e.b.ResetEnrollment(e.ctx, e.net, id.ID, id.Revision, expires)
		})
		check(t, "reset", won, lost)
		got := e.mustState("reset", id.ID, model.StatePending)
		if won[0].SessionsDropped != 1 || got.Revision != won[0].Identity.Revision {
			t.Errorf("reset: the winner dropped %d sessions (want 1) at revision %d; the identity is at %d",
				won[0].SessionsDropped, won[0].Identity.Revision, got.Revision)
		}
		if e.jwt("reset", id.ID) != won[0].JWT {
			t.Errorf("reset: TokenJWT isn't the winner's token")
		}
	})
	t.Run("create with the same name", func(t *testing.T) {
		e := start(t, h)
		expires := e.at(7 * day)
		won, lost := race(func() (backend.Token, error) {
			return e.b.CreateIdentity(e.ctx, e.net, model.NewIdentity{Name: "device-1", ExpiresAt: expires})
		})
		check(t, "create", won, lost)
		if n := e.total(); n != 1 {
			t.Errorf("create: the network holds %d identities, want 1", n)
		}
		if e.jwt("create", won[0].Identity.ID) != won[0].JWT {
			t.Errorf("create: TokenJWT isn't the winner's token")
		}
	})
}

// testInvalid: bad input is refused as invalid and changes nothing; input
// just inside the limits is accepted, so the refusals are about the limits.
func testInvalid(t *testing.T, h Harness) {
	creates := []struct {
		name string
		req  func(e *env) model.NewIdentity
		ok   bool
	}{
		{"expiry in the past", func(e *env) model.NewIdentity {
			return model.NewIdentity{Name: "a", ExpiresAt: e.at(-time.Hour)}
		}, false},
		{"expiry now", func(e *env) model.NewIdentity {
			return model.NewIdentity{Name: "a", ExpiresAt: e.now()}
		}, false},
		{"no expiry", func(e *env) model.NewIdentity {
			return model.NewIdentity{Name: "a"}
		}, false},
		{"expiry beyond the policy maximum", func(e *env) model.NewIdentity {
			return model.NewIdentity{Name: "a", ExpiresAt: e.at(model.DefaultMaxExpiry + time.Hour)}
		}, false},
		{"empty name", func(e *env) model.NewIdentity {
			return model.NewIdentity{Name: "", ExpiresAt: e.at(day)}
		}, false},
		{"blank name", func(e *env) model.NewIdentity {
			return model.NewIdentity{Name: "   ", ExpiresAt: e.at(day)}
		}, false},
		{"name with a terminal escape", func(e *env) model.NewIdentity {
			return model.NewIdentity{Name: "a\x1b[2Jb", ExpiresAt: e.at(day)}
		}, false},
		{"name too long", func(e *env) model.NewIdentity {
			return model.NewIdentity{Name: strings.Repeat("n", model.MaxNameLen+1), ExpiresAt: e.at(day)}
		}, false},
		{"bad email", func(e *env) model.NewIdentity {
			return model.NewIdentity{Name: "a", Email: "not-an-email", ExpiresAt: e.at(day)}
		}, false},
		{"email with a display name", func(e *env) model.NewIdentity {
			return model.NewIdentity{Name: "a", Email: "Alice <alice@example.org>", ExpiresAt: e.at(day)}
		}, false},
		{"accepts expiry just inside the maximum", func(e *env) model.NewIdentity {
			return model.NewIdentity{Name: "a", ExpiresAt: e.at(model.DefaultMaxExpiry - time.Minute)}
		}, true},
		{"accepts a name of the longest length", func(e *env) model.NewIdentity {
			return model.NewIdentity{Name: strings.Repeat("n", model.MaxNameLen), ExpiresAt: e.at(day)}
		}, true},
		{"accepts no email", func(e *env) model.NewIdentity {
			return model.NewIdentity{Name: "a", Email: "", ExpiresAt: e.at(day)}
		}, true},
	}
	for _, c := range creates {
		t.Run("create "+c.name, func(t *testing.T) {
			e := start(t, h)
			req := c.req(e)
			tok, err := e.b.CreateIdentity(e.ctx, e.net, req)
			if c.ok {
				if err != nil {
					t.Fatalf("create: %v", err)
				}
				e.agree("create", tok.Identity.ID)
				return
			}
			wantErr(t, "create with "+c.name, err, backend.ErrInvalid)
			if n := e.total(); n != 0 {
				t.Errorf("create with %s: the network holds %d identities, want 0", c.name, n)
			}
		})
	}

	// Reset and reissue check the new expiry before touching anything: an
	// invalid reset must not drop the sessions.
	expiries := []struct {
		name string
		at   func(e *env) time.Time
	}{
		{"in the past", func(e *env) time.Time { return e.at(-time.Hour) }},
		{"beyond the policy maximum", func(e *env) time.Time { return e.at(model.DefaultMaxExpiry + time.Hour) }},
	}
	for _, x := range expiries {
		t.Run("reset with expiry "+x.name, func(t *testing.T) {
			e := start(t, h)
			id := e.enrolled("device-1")
			before := e.snap(id.ID)
			_, err := e.b.ResetEnrollment(e.ctx, e.net, id.ID, id.Revision, x.at(e))
			wantErr(t, "reset with expiry "+x.name, err, backend.ErrInvalid)
			e.unchanged("reset with expiry "+x.name, before)
		})
		t.Run("reissue with expiry "+x.name, func(t *testing.T) {
			e := start(t, h)
			id := e.expired("device-1")
			before := e.snap(id.ID)
			_, err := e.b.ReissueEnrollment(e.ctx, e.net, id.ID, id.Revision, x.at(e))
			wantErr(t, "reissue with expiry "+x.name, err, backend.ErrInvalid)
			e.unchanged("reissue with expiry "+x.name, before)
		})
	}

	queries := []struct {
		name string
		q    model.ListQuery
	}{
		{"negative offset", model.ListQuery{Offset: -1}},
		{"negative limit", model.ListQuery{Limit: -1}},
	}
	for _, c := range queries {
		t.Run("list with "+c.name, func(t *testing.T) {
			e := start(t, h)
			e.pending("device-1")
			_, err := e.b.Identities(e.ctx, e.net, c.q)
			wantErr(t, "list with "+c.name, err, backend.ErrInvalid)
		})
	}
	t.Run("list with an unknown state", func(t *testing.T) {
		// Refusing it and matching nothing are both fair; matching
		// everything is not.
		e := start(t, h)
		e.pending("device-1")
		p, err := e.b.Identities(e.ctx, e.net, model.ListQuery{State: "bogus"})
		if err != nil {
			wantErr(t, "list with state bogus", err, backend.ErrInvalid)
		} else if p.Total != 0 || len(p.Items) != 0 {
			t.Errorf("list with state bogus: %d items, total %d; want it refused or empty", len(p.Items), p.Total)
		}
	})
}

// testNotFound: an unknown network, identity ID or name is not found, for
// every call that names one; nothing existing is touched.
func testNotFound(t *testing.T, e *env) {
	const noNet = "no-such-network"
	enrolled := e.enrolled("enrolled-1")
	expired := e.expired("expired-1")
	pending := e.pending("pending-1")
	all := []model.Identity{enrolled, expired, pending}
	var snaps []snapshot
	for _, id := range all {
		snaps = append(snaps, e.snap(id.ID))
	}
	// An ID shaped like the backend's own: the last one with its last
	// character changed, unless that names an existing identity.
	unknownIDs := []string{"no-such-identity"}
	last := pending.ID
	for _, c := range []byte("0a1b") {
		cand := last[:len(last)-1] + string(c)
		if !slices.ContainsFunc(all, func(x model.Identity) bool { return x.ID == cand }) {
			unknownIDs = append(unknownIDs, cand)
			break
		}
	}
	valid := e.at(7 * day)

	type call struct {
		name string
		do   func() error
	}
	calls := []call{
		{"Identities in an unknown network", func() error {
			_, err := e.b.Identities(e.ctx, noNet, model.ListQuery{})
			return err
		}},
		{"Identity in an unknown network", func() error {
			_, err := e.b.Identity(e.ctx, noNet, pending.ID)
			return err
		}},
		{"IdentityByName in an unknown network", func() error {
			_, err := e.b.IdentityByName(e.ctx, noNet, pending.Name)
			return err
		}},
		{"IdentityByName with an unknown name", func() error {
			_, err := e.b.IdentityByName(e.ctx, e.net, "nobody")
			return err
		}},
		{"IdentityByName with a name differing only in case", func() error {
			_, err := e.b.IdentityByName(e.ctx, e.net, strings.ToUpper(pending.Name))
			return err
		}},
		{"IdentityByName with a prefix of a name", func() error {
			_, err := e.b.IdentityByName(e.ctx, e.net, "pending")
			return err
		}},
		{"CreateIdentity in an unknown network", func() error {
			_, err := e.b.CreateIdentity(e.ctx, noNet, model.NewIdentity{Name: "new-1", ExpiresAt: valid})
			return err
		}},
		{"reset in an unknown network", func() error {
			_, err := e.b.ResetEnrollment(e.ctx, noNet, enrolled.ID, enrolled.Revision, valid)
			return err
		}},
		{"reissue in an unknown network", func() error {
			_, err := e.b.ReissueEnrollment(e.ctx, noNet, expired.ID, expired.Revision, valid)
			return err
		}},
		{"delete in an unknown network", func() error {
			_, err := e.b.DeleteEnrollment(e.ctx, noNet, pending.ID, pending.Revision)
			return err
		}},
		{"TokenJWT in an unknown network", func() error {
			_, err := e.b.TokenJWT(e.ctx, noNet, pending.ID)
			return err
		}},
	}
	for _, id := range unknownIDs {
		calls = append(calls,
			call{"Identity with unknown ID " + id, func() error {
				_, err := e.b.Identity(e.ctx, e.net, id)
				return err
			}},
			call{"reset of unknown ID " + id, func() error {
				_, err := e.b.ResetEnrollment(e.ctx, e.net, id, enrolled.Revision, valid)
				return err
			}},
			call{"reissue of unknown ID " + id, func() error {
				_, err := e.b.ReissueEnrollment(e.ctx, e.net, id, expired.Revision, valid)
				return err
			}},
			call{"delete of unknown ID " + id, func() error {
				_, err := e.b.DeleteEnrollment(e.ctx, e.net, id, pending.Revision)
				return err
			}},
			call{"TokenJWT of unknown ID " + id, func() error {
				_, err := e.b.TokenJWT(e.ctx, e.net, id)
				return err
			}},
		)
	}
	for _, c := range calls {
		wantErr(t, c.name, c.do(), backend.ErrNotFound)
	}
	for _, s := range snaps {
		e.unchanged("not-found calls", s)
	}
	if n := e.total(); n != len(all) {
		t.Errorf("not-found calls: the network holds %d identities, want %d", n, len(all))
	}
}

// testTokenJWT: only a valid, unused token is handed out, and the same one
// each time it is asked for.
func testTokenJWT(t *testing.T, h Harness) {
	t.Run("pending", func(t *testing.T) {
		e := start(t, h)
		tok := e.create("device-1", "", 30*day)
		first, second := e.jwt("first read", tok.Identity.ID), e.jwt("second read", tok.Identity.ID)
		checkJWT(t, "TokenJWT on pending", first)
		if first != tok.JWT || second != tok.JWT {
			t.Errorf("TokenJWT on pending: not the token create returned")
		}
	})
	for _, st := range []model.State{model.StateExpired, model.StateEnrolled, model.StateNone} {
		t.Run(string(st), func(t *testing.T) {
			e := start(t, h)
			id := e.inState("device-1", st)
			before := e.snap(id.ID)
			e.noJWT("on "+string(st), id.ID)
			e.unchanged("TokenJWT on "+string(st), before)
		})
	}
}

// testCancelled: a call whose context is already cancelled fails and
// changes nothing.
func testCancelled(t *testing.T, h Harness) {
	cases := []struct {
		name string
		from model.State // the identity the call is about
		do   func(ctx context.Context, e *env, id model.Identity) error
	}{
		{"Networks", model.StatePending, func(ctx context.Context, e *env, _ model.Identity) error {
			_, err := e.b.Networks(ctx)
			return err
		}},
		{"Identities", model.StatePending, func(ctx context.Context, e *env, _ model.Identity) error {
			_, err := e.b.Identities(ctx, e.net, model.ListQuery{})
			return err
		}},
		{"Identity", model.StatePending, func(ctx context.Context, e *env, id model.Identity) error {
			_, err := e.b.Identity(ctx, e.net, id.ID)
			return err
		}},
		{"IdentityByName", model.StatePending, func(ctx context.Context, e *env, id model.Identity) error {
			_, err := e.b.IdentityByName(ctx, e.net, id.Name)
			return err
		}},
		{"TokenJWT", model.StatePending, func(ctx context.Context, e *env, id model.Identity) error {
			_, err := e.b.TokenJWT(ctx, e.net, id.ID)
			return err
		}},
		{"CreateIdentity", model.StatePending, func(ctx context.Context, e *env, _ model.Identity) error {
			_, err := e.b.CreateIdentity(ctx, e.net, model.NewIdentity{Name: "device-2", ExpiresAt: e.at(day)})
			return err
		}},
		{"ResetEnrollment", model.StateEnrolled, func(ctx context.Context, e *env, id model.Identity) error {
			_, err := e.b.ResetEnrollment(ctx, e.net, id.ID, id.Revision, e.at(day))
			return err
		}},
		{"ReissueEnrollment", model.StateExpired, func(ctx context.Context, e *env, id model.Identity) error {
			_, err := e.b.ReissueEnrollment(ctx, e.net, id.ID, id.Revision, e.at(day))
			return err
		}},
		{"DeleteEnrollment", model.StatePending, func(ctx context.Context, e *env, id model.Identity) error {
			_, err := e.b.DeleteEnrollment(ctx, e.net, id.ID, id.Revision)
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := start(t, h)
			id := e.inState("device-1", c.from)
			before := e.snap(id.ID)
			ctx, cancel := context.WithCancel(e.ctx)
			cancel()
			if err := c.do(ctx, e, id); err == nil {
				t.Errorf("%s with a cancelled context: succeeded, want an error", c.name)
			}
			e.unchanged(c.name+" with a cancelled context", before)
			if n := e.total(); n != 1 {
				t.Errorf("%s with a cancelled context: the network holds %d identities, want 1", c.name, n)
			}
		})
	}
}
