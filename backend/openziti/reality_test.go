package openziti

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/openziti/zitifake"
	"github.com/idcon/idcon/model"
)

// These tests hold the client to what a real controller (v2.0.3) was
// recorded doing (../shared/openziti/real-v2.0.3/README.md), through the
// fake that reproduces it: devices enroll and log in through its client
// API with real certificates and passwords.

// realFake is a fake controller as a real one is: its admin identity
// listed, on the wall clock's offset from testEpoch.
func realFake(t *testing.T) (*zitifake.Controller, *Client) {
	t.Helper()
	f := zitifake.Start(t, zitifake.At(testEpoch))
	c, err := New(configFor(f))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return f, c
}

// enrolledTwice makes an identity enrolled by two devices (two cert
// authenticators, as two `ziti edge enroll` of two otts make) with a
// password beside them, each with a live session.
func enrolledTwice(t *testing.T, f *zitifake.Controller) (id string, devices []*zitifake.Device, sessions []string) {
	t.Helper()
	id = f.CreateIdentity("multi", "", time.Time{})
	for range 2 {
		d, err := f.EnrollWithJWT(f.AddToken(id, f.Now().Add(time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		tok, status := d.Login()
		if status != 200 {
			t.Fatalf("device login: HTTP %d", status)
		}
		devices = append(devices, d)
		sessions = append(sessions, tok)
	}
	f.AddPassword(id, "multi-user", "Multi-pass-1!")
	tok, status := f.PasswordLogin("multi-user", "Multi-pass-1!")
	if status != 200 {
		t.Fatalf("password login: HTTP %d", status)
	}
	return id, devices, append(sessions, tok)
}

// Acceptance: reset of an identity with two certificates and a password
// leaves no old credential that authenticates, no API session, and a new
// token that enrolls.
func TestResetEndsEveryCredential(t *testing.T) {
	f, c := realFake(t)
	id, devices, sessions := enrolledTwice(t, f)
	x, err := c.Identity(t.Context(), c.NetworkID(), id)
	if err != nil {
		t.Fatal(err)
	}
	if x.State(f.Now()) != model.StateEnrolled || x.ActiveSessions != 3 {
		t.Fatalf("before: %s with %d sessions, want enrolled with 3", x.State(f.Now()), x.ActiveSessions)
	}
	tok, err := c.ResetEnrollment(t.Context(), c.NetworkID(), id, x.Revision, f.Now().Add(48*time.Hour))
	if err != nil {
		t.Fatalf("reset: %v", err)
	}
	for i, d := range devices {
		if _, status := d.Login(); status != 401 {
			t.Errorf("device %d's certificate still logs in (HTTP %d)", i+1, status)
		}
	}
	if _, status := f.PasswordLogin("multi-user", "Multi-pass-1!"); status != 401 {
		t.Errorf("the password still logs in (HTTP %d)", status)
	}
	for i, s := range sessions {
		if f.SessionWorks(s) {
			t.Errorf("session %d still works", i+1)
		}
	}
	if got := f.Authenticators(id); len(got) != 0 {
		t.Errorf("authenticators left: %v", got)
	}
	if tok.SessionsDropped != 3 {
		t.Errorf("SessionsDropped %d, want 3", tok.SessionsDropped)
	}
	d, err := f.EnrollWithJWT(tok.JWT)
	if err != nil {
		t.Fatalf("the new token doesn't enroll: %v", err)
	}
	if _, status := d.Login(); status != 200 {
		t.Errorf("the newly enrolled device can't log in: HTTP %d", status)
	}
}

// Acceptance: a certificate beside an outstanding ott offers Reset (the
// state is enrolled; the token can be delivered), and after the reset the
// certificate no longer authenticates.
func TestCredentialBesideATokenIsResettable(t *testing.T) {
	f, c := realFake(t)
	id := f.CreateIdentity("cert-and-ott", "", time.Time{})
	d, err := f.EnrollWithJWT(f.AddToken(id, f.Now().Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	jwt := f.AddToken(id, f.Now().Add(2*time.Hour))
	x, err := c.Identity(t.Context(), c.NetworkID(), id)
	if err != nil {
		t.Fatal(err)
	}
	now := f.Now()
	if x.State(now) != model.StateEnrolled || !x.Allows(now, model.ActionReset) || !x.Allows(now, model.ActionJWT) {
		t.Fatalf("state %s, actions %v: want enrolled with Reset and the token's deliveries", x.State(now), x.Actions(now))
	}
	got, err := c.TokenJWT(t.Context(), c.NetworkID(), id)
	if err != nil || got != jwt {
		t.Errorf("TokenJWT: %v (same token: %v)", err, got == jwt)
	}
	if _, err := c.ResetEnrollment(t.Context(), c.NetworkID(), id, x.Revision, now.Add(48*time.Hour)); err != nil {
		t.Fatalf("reset: %v", err)
	}
	if _, status := d.Login(); status != 401 {
		t.Errorf("the certificate still logs in after the reset (HTTP %d)", status)
	}
}

// Acceptance: resetting the identity idcon is signed in as is refused and
// changes nothing, single and bulk.
func TestResettingTheSignedInAdminIsRefused(t *testing.T) {
	f, c := realFake(t)
	other := f.CreateIdentity("laptop", "", f.Now().Add(time.Hour))
	f.Enroll(other)
	me, err := c.Identity(t.Context(), c.NetworkID(), f.AdminID())
	if err != nil {
		t.Fatal(err)
	}
	if !me.SignedIn || me.Allows(f.Now(), model.ActionReset) {
		t.Fatalf("the admin's own identity: SignedIn %v, reset allowed %v", me.SignedIn, me.Allows(f.Now(), model.ActionReset))
	}
	before := f.Requests()
	_, err = c.ResetEnrollment(t.Context(), c.NetworkID(), f.AdminID(), me.Revision, f.Now().Add(48*time.Hour))
	if !errors.Is(err, backend.ErrSignedIn) || !errors.Is(err, backend.ErrForbidden) || !strings.Contains(err.Error(), "another admin") {
		t.Errorf("reset of the signed-in admin: %v; want a refusal saying to use another admin account", err)
	}
	for _, r := range f.Requests()[len(before):] {
		if !strings.HasPrefix(r, "GET ") {
			t.Errorf("the refused reset sent %s", r)
		}
	}
	if got := f.Authenticators(f.AdminID()); got["updb"] != 1 {
		t.Errorf("the admin's authenticators: %v", got)
	}
	// Bulk: skipped and counted, the others reset.
	b := backend.Bulk(c, f.Now)
	sel := backend.Selection{All: true}
	sum, err := b.Summarize(t.Context(), c.NetworkID(), sel, model.ActionReset)
	if err != nil {
		t.Fatal(err)
	}
	if sum.SignedIn != 1 || sum.Eligible != 1 {
		t.Errorf("summary: %+v; want 1 eligible and 1 signed in", sum)
	}
	var done []string
	err = b.BulkApply(t.Context(), c.NetworkID(), sel, model.ActionReset, f.Now().Add(48*time.Hour), func(r backend.BulkResult) bool {
		if r.Err != nil {
			t.Errorf("%s: %v", r.Identity.Name, r.Err)
		}
		done = append(done, r.Identity.Name)
		return true
	})
	if err != nil || len(done) != 1 || done[0] != "laptop" {
		t.Errorf("bulk reset: %v, reset %v; want laptop only", err, done)
	}
	if got := f.Authenticators(f.AdminID()); got["updb"] != 1 {
		t.Errorf("bulk reset touched the admin: %v", got)
	}
	if _, err := c.Identities(t.Context(), c.NetworkID(), model.ListQuery{}); err != nil {
		t.Errorf("the session died: %v", err)
	}
}

// Acceptance: across create, reset, reissue, delete and an out-of-band
// refresh, no revision goes down and every change is a conflict for a
// stale caller; a device logging in changes nothing.
func TestRevisionsCatchEveryChange(t *testing.T) {
	f, c := realFake(t)
	ctx, net := t.Context(), c.NetworkID()
	rev := func(id string) int64 {
		t.Helper()
		x, err := c.Identity(ctx, net, id)
		if err != nil {
			t.Fatal(err)
		}
		return x.Revision
	}
	tok, err := c.CreateIdentity(ctx, net, model.NewIdentity{Name: "rev", ExpiresAt: f.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	id := tok.Identity.ID
	r0 := rev(id)
	d, err := f.EnrollWithJWT(tok.JWT)
	if err != nil {
		t.Fatal(err)
	}
	r1 := rev(id)
	if r1 == r0 {
		t.Error("enrolling didn't change the revision")
	}
	if _, status := d.Login(); status != 200 {
		t.Fatal("device login failed")
	}
	if rev(id) != r1 {
		t.Error("a device login changed the revision")
	}
	reset, err := c.ResetEnrollment(ctx, net, id, r1, f.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	r2 := reset.Identity.Revision
	if r2 <= r1 || rev(id) != r2 {
		t.Errorf("reset: revision %d → %d (read back %d), want it to grow", r1, r2, rev(id))
	}
	if _, err := c.ResetEnrollment(ctx, net, id, r1, f.Now().Add(time.Hour)); !errors.Is(err, backend.ErrConflict) {
		t.Errorf("a stale reset: %v, want a conflict", err)
	}
	f.Advance(2 * time.Hour) // the token expires
	r3 := rev(id)
	re, err := c.ReissueEnrollment(ctx, net, id, r3, f.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	r4 := re.Identity.Revision
	if r4 <= r3 {
		t.Errorf("reissue: revision %d → %d, want it to grow", r3, r4)
	}
	// Another admin refreshes the token out of band: a stale caller sees it.
	x, _ := c.Identity(ctx, net, id)
	if err := c.refreshEnrollment(ctx, x.Enrollment.ID, f.Now().Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	r5 := rev(id)
	if r5 == r4 || r5 < r4 {
		t.Errorf("out-of-band refresh: revision %d → %d, want it changed and not lower", r4, r5)
	}
	if _, err := c.DeleteEnrollment(ctx, net, id, r4); !errors.Is(err, backend.ErrConflict) {
		t.Errorf("a delete at the stale revision: %v, want a conflict", err)
	}
	del, err := c.DeleteEnrollment(ctx, net, id, r5)
	if err != nil {
		t.Fatal(err)
	}
	if del.Revision <= r5 {
		t.Errorf("delete: revision %d → %d, want it to grow", r5, del.Revision)
	}
}

// Controller tokens are RS256 and about 1,000 characters, as recorded.
func TestFakeTokensAreRealSized(t *testing.T) {
	f, c := realFake(t)
	tok, err := c.CreateIdentity(t.Context(), c.NetworkID(), model.NewIdentity{Name: "sized", ExpiresAt: f.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tok.JWT); n < 990 || n > 1030 || !strings.HasPrefix(tok.JWT, "eyJhbGciOiJSUzI1NiIs") {
		t.Errorf("token of %d characters starting %.20q; want an RS256 token of about 1,009", n, tok.JWT)
	}
}

// Create ends with a token that expires when asked (POST /enrollments
// honours expiresAt; POST /identities with enrollment.ott would use the
// controller's configured lifetime, recorded as 180 minutes), in the
// record and in the JWT itself.
func TestCreateHonoursTheExpiry(t *testing.T) {
	f, c := realFake(t)
	want := f.Now().Add(5 * 24 * time.Hour).Truncate(time.Second)
	tok, err := c.CreateIdentity(t.Context(), c.NetworkID(), model.NewIdentity{Name: "five-days", ExpiresAt: want})
	if err != nil {
		t.Fatal(err)
	}
	if !tok.ExpiresAt.Equal(want) {
		t.Errorf("token expires %v, want %v", tok.ExpiresAt, want)
	}
	claims := strings.Split(tok.JWT, ".")
	raw, err := base64.RawURLEncoding.DecodeString(claims[1])
	if err != nil {
		t.Fatal(err)
	}
	var c2 struct{ Exp int64 }
	if err := json.Unmarshal(raw, &c2); err != nil || c2.Exp != want.Unix() {
		t.Errorf("the JWT's exp is %d (%v), want %d", c2.Exp, err, want.Unix())
	}
}
