package ui

import (
	"errors"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// Roles: a backend that knows who is acting (backend/access does, for the
// local console and every SSH session) says for each action whether the
// actor may take it. The console then offers the action disabled, with the
// reason next to its button, instead of a key that can only fail; the
// backend still checks every call, and a refusal it sends back is worded
// like any other error (describeErr).

// permissions is what a role-enforcing backend offers.
type permissions interface {
	Can(action model.Action) error
}

// refusal is why this session's actor may not take action (a
// backend.ErrForbidden error), or nil when it may or the backend knows no
// roles.
func (s *session) refusal(action model.Action) error {
	p, ok := s.opts.Backend.(permissions)
	if !ok {
		return nil
	}
	return p.Can(action)
}

// shortRefusal is a refusal in a few words for a button: "viewers can't
// reset enrollments", the part of the backend's sentence before its advice.
func shortRefusal(err error) string {
	msg := err.Error()
	var be *backend.Error
	if errors.As(err, &be) {
		msg = be.Msg
	}
	if i := strings.Index(msg, ":"); i > 0 {
		msg = msg[:i]
	}
	return safetext.Line(msg, 40)
}

// refusedKey reports whether km is the key of an action the identity's
// state allows but the actor may not take. Its binding is disabled (so
// key.Matches ignores it and the help leaves it out); pressing it still
// earns the reason rather than silence.
func (v *identityScreen) refusedKey(km tea.KeyPressMsg, a model.Action) bool {
	return slices.Contains(v.keys.Actions[a].Keys(), km.String()) &&
		v.ident.Allows(v.s.now(), a) && v.s.refusal(a) != nil
}
