package model

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// An identity whose credential works beside an outstanding token (a real
// controller allows a new ott on an enrolled identity) is enrolled: Reset
// is offered, because the credential still logs in; the token can be
// delivered and deleted too.
func TestCredentialBesideATokenIsEnrolled(t *testing.T) {
	now := time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)
	valid := &Enrollment{ID: "e1", ExpiresAt: now.Add(time.Hour)}
	expired := &Enrollment{ID: "e1", ExpiresAt: now.Add(-time.Hour)}
	cases := []struct {
		name  string
		id    Identity
		state State
		want  []Action
	}{
		{"credential and valid token", Identity{HasCredential: true, Enrollment: valid}, StateEnrolled,
			[]Action{ActionReset, ActionEmail, ActionJWT, ActionQR, ActionDelete}},
		{"credential and expired token", Identity{HasCredential: true, Enrollment: expired}, StateEnrolled,
			[]Action{ActionReset, ActionDelete}},
		{"credential only", Identity{HasCredential: true}, StateEnrolled, []Action{ActionReset}},
		{"valid token only", Identity{Enrollment: valid}, StatePending, []Action{ActionDelete, ActionEmail, ActionJWT, ActionQR}},
		{"expired token only", Identity{Enrollment: expired}, StateExpired, []Action{ActionReissue}},
		{"nothing", Identity{}, StateNone, nil},
	}
	for _, c := range cases {
		if got := c.id.State(now); got != c.state {
			t.Errorf("%s: State = %s, want %s", c.name, got, c.state)
		}
		got := c.id.Actions(now)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: Actions = %v, want %v", c.name, got, c.want)
		}
		for _, a := range []Action{ActionReset, ActionReissue, ActionDelete, ActionEmail, ActionJWT, ActionQR} {
			if c.id.Allows(now, a) != slices.Contains(c.want, a) {
				t.Errorf("%s: Allows(%s) = %v", c.name, a, c.id.Allows(now, a))
			}
		}
	}
}

// The identity idcon is signed in as can't be reset from this session:
// the reset would end the session before the new token could be read.
func TestSignedInIdentityIsNotReset(t *testing.T) {
	now := time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)
	me := Identity{Name: "Default Admin", HasCredential: true, SignedIn: true}
	if me.Allows(now, ActionReset) || slices.Contains(me.Actions(now), ActionReset) {
		t.Error("reset offered for the signed-in identity")
	}
	why := me.Refusal(now, ActionReset)
	if why == "" || !strings.Contains(why, "signed in") || !strings.Contains(why, "another admin") {
		t.Errorf("refusal %q: want why (signed in) and what to do (another admin account)", why)
	}
	other := Identity{Name: "laptop", HasCredential: true}
	if r := other.Refusal(now, ActionReset); r != "" {
		t.Errorf("refusal for an ordinary enrolled identity: %q", r)
	}
	if r := other.Refusal(now, ActionReissue); r == "" {
		t.Error("no refusal for reissue of an enrolled identity")
	}
}
