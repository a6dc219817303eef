// Package model holds idcon's domain: networks, identities, their enrollments
// and sessions, the enrollment state derived from them, the actions each state
// allows and the rules for token expiry. It does no I/O and never reads the
// clock: callers pass the current time in.
package model

import "time"

// Network is one overlay network whose identities idcon manages.
type Network struct {
	ID   string
	Name string
	// Kind names the backend serving the network ("embedded", "openziti", ...).
	Kind string
	// Identities is the number of identities in the network, or -1 when the
	// backend can't tell cheaply.
	Identities int
	// Status is empty for a network that can be opened; otherwise it says in
	// a few words why it can't (for example "provisioning").
	Status string
	// SigningKey is the PEM public key that verifies the network's enrollment
	// tokens, when the backend knows it.
	SigningKey string
	// Address is the controller's URL of a controller network ("" for
	// others), shown beside its name.
	Address string
}

// Identity is a user or device of a network.
type Identity struct {
	ID        string
	NetworkID string
	Name      string
	Email     string
	// Attributes are the identity's role attributes, which a network's
	// policies select identities by.
	Attributes []string
	// Type and AuthPolicy are the controller's identity type ("Default",
	// "User", "Device") and authentication policy by name, where the
	// backend has them; empty otherwise.
	Type       string
	AuthPolicy string
	// Revision changes on every mutation of the identity or its enrollment;
	// mutations carry the revision the caller last saw.
	Revision  int64
	CreatedAt time.Time
	// EnrolledAt is when the identity last completed enrollment; zero if never.
	EnrolledAt time.Time
	// HasCredential is true while the identity holds a client credential
	// (a certificate) obtained by enrolling.
	HasCredential bool
	// Enrollment is the outstanding one-time token, or nil.
	Enrollment *Enrollment
	// ActiveSessions is the number of connections the identity holds now.
	ActiveSessions int
	// SignedIn is true for the identity the backend itself is signed in
	// as (a controller admin's own identity): resetting it would end the
	// session that makes the change.
	SignedIn bool
}

// Enrollment is an outstanding one-time enrollment token. The token itself
// (the JWT) is a secret and is fetched separately, never carried here.
type Enrollment struct {
	ID        string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Session is an active connection of an identity.
type Session struct {
	ID         string
	IdentityID string
	StartedAt  time.Time
	LastSeen   time.Time
}

// State is where an identity stands in its enrollment lifecycle. It is
// derived from the identity, never stored.
type State string

// The four enrollment states.
const (
	StateEnrolled State = "enrolled" // holds a credential and no pending token
	StatePending  State = "pending"  // holds a valid, unused token
	StateExpired  State = "expired"  // its token expired before it was used
	StateNone     State = "none"     // neither, e.g. after Delete enrollment
)

// States lists every state in lifecycle order.
var States = []State{StateEnrolled, StatePending, StateExpired, StateNone}

// ParseState turns a state's name into a State; ok is false for anything else.
func ParseState(s string) (State, bool) {
	for _, st := range States {
		if string(st) == s {
			return st, true
		}
	}
	return "", false
}

// State derives the identity's enrollment state at time now. A working
// credential decides: an identity that holds one is enrolled, even with an
// outstanding token beside it (a controller allows that), because the
// credential still logs in and only Reset ends it. Otherwise a valid token
// is pending, an expired one expired, and nothing at all is none.
func (i Identity) State(now time.Time) State {
	switch {
	case i.HasCredential:
		return StateEnrolled
	case i.Enrollment == nil:
		return StateNone
	case now.Before(i.Enrollment.ExpiresAt):
		return StatePending
	}
	return StateExpired
}

// TokenValid reports whether the identity has an unused token that has not
// expired, which can be delivered whatever the state.
func (i Identity) TokenValid(now time.Time) bool {
	return i.Enrollment != nil && now.Before(i.Enrollment.ExpiresAt)
}
