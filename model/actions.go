package model

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
)

// Mutates reports whether the action changes the identity.
func (a Action) Mutates() bool {
	return a == ActionReset || a == ActionReissue || a == ActionDelete
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
	for _, x := range allowed[s] {
		if x == a {
			return true
		}
	}
	return false
}
