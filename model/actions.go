package model

import (
	"fmt"
	"slices"
	"time"
)

// Action is something an admin can do to an identity's enrollment.
type Action string

// The enrollment actions of the Edit Identity view.
const (
	ActionReset   Action = "reset"   // enrolled: new token, old credential and sessions dropped
	ActionReissue Action = "reissue" // expired: new token with a new expiry
	ActionDelete  Action = "delete"  // pending: remove the unused token
	ActionEmail   Action = "email"   // pending: send the registration email
	ActionJWT     Action = "jwt"     // pending: download the token
	ActionQR      Action = "qr"      // pending: show the token as a QR code
	// ActionCreate makes a new identity holding a token. It belongs to no
	// state (no identity exists yet) and is never in Actions; front ends
	// ask whether the actor may take it as for the others.
	ActionCreate Action = "create"
)

// Mutates reports whether the action changes the identity (create makes
// one).
func (a Action) Mutates() bool {
	return a == ActionReset || a == ActionReissue || a == ActionDelete || a == ActionCreate
}

// Destructive reports whether the action takes away something in use or
// that can't be had back (reset drops the credential and its sessions,
// delete removes the token for good): the console never starts with its
// focus on one, and asks before either.
func (a Action) Destructive() bool {
	return a == ActionReset || a == ActionDelete
}

// Delivers reports whether the action hands the current token to its user.
func (a Action) Delivers() bool {
	return a == ActionEmail || a == ActionJWT || a == ActionQR
}

// Title is the action's label as the web console spells it.
func (a Action) Title() string {
	switch a {
	case ActionReset:
		return "Reset enrollment"
	case ActionReissue:
		return "Reissue enrollment"
	case ActionDelete:
		return "Delete enrollment"
	case ActionEmail:
		return "Send registration email"
	case ActionJWT:
		return "Download JWT"
	case ActionQR:
		return "Show QR code"
	case ActionCreate:
		return "Create identity"
	}
	return string(a)
}

var allowed = map[State][]Action{
	StateEnrolled: {ActionReset},
	StateExpired:  {ActionReissue},
	StatePending:  {ActionDelete, ActionEmail, ActionJWT, ActionQR},
	StateNone:     nil,
}

// Actions lists the actions a state allows, in the order the console shows them.
func Actions(s State) []Action {
	return allowed[s]
}

// Allows reports whether state s allows action a.
func Allows(s State, a Action) bool {
	return slices.Contains(allowed[s], a)
}

// Actions lists what the admin can do to this identity now, in the order
// the console shows them: its state's actions, and for an enrolled
// identity with a token beside its credential, the token's too (deliver a
// valid one, delete it). Reset is left out for the identity the backend is
// signed in as (Refusal says why).
func (i Identity) Actions(now time.Time) []Action {
	st := i.State(now)
	var out []Action
	for _, a := range allowed[st] {
		if !(a == ActionReset && i.SignedIn) {
			out = append(out, a)
		}
	}
	if st == StateEnrolled && i.Enrollment != nil {
		if i.TokenValid(now) {
			out = append(out, ActionEmail, ActionJWT, ActionQR)
		}
		out = append(out, ActionDelete)
	}
	return out
}

// Allows reports whether the identity allows action a now.
func (i Identity) Allows(now time.Time, a Action) bool {
	return slices.Contains(i.Actions(now), a)
}

// Refusal says in one line why action a is not possible now and what to
// do instead; "" if it is possible.
func (i Identity) Refusal(now time.Time, a Action) string {
	if i.Allows(now, a) {
		return ""
	}
	if a == ActionReset && i.SignedIn {
		return "idcon is signed in as this identity, and resetting it would end that session before the new token could be read: reset it from another admin account"
	}
	return fmt.Sprintf("%s is not possible while the identity is %s", a.Title(), i.State(now))
}

// NoneExplained says in words what state none means and what can be done
// about it, for the places that would otherwise only say that no
// enrollment action is possible.
const NoneExplained = "No token and no credential: this identity can't log in, and no device can enroll as it " +
	"(its enrollment was deleted, or it was made without one). No action here issues it a new token: " +
	"reissue needs an expired one, reset an enrolled identity. Create a new identity for the device " +
	"(+ in the list, or idcon identity create), or on a controller add an enrollment with its own tools " +
	"(ziti edge create enrollment ott)."
