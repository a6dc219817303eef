package netfoundry

import (
	"errors"
	"testing"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// TestErrorSentences: each way NetFoundry can fail comes back as one
// typed sentence that says what to do, with no secret in it.
func TestErrorSentences(t *testing.T) {
	cases := []struct {
		name  string
		opts  worldOptions
		setup func(w *world)
		call  func(w *world) error
		kind  error
		want  []string
	}{
		{
			name: "bad credentials",
			opts: worldOptions{password: "wrong-password"},
			call: func(w *world) error { _, err := w.b.Networks(t.Context()); return err },
			kind: backend.ErrForbidden,
			want: []string{"NetFoundry refused the API account", "client ID or password is wrong", "Manage API Accounts"},
		},
		{
			name:  "expired or revoked account",
			setup: func(w *world) { w.gw.Revoke() },
			call:  func(w *world) error { _, err := w.b.Networks(t.Context()); return err },
			kind:  backend.ErrForbidden,
			want:  []string{"NetFoundry no longer accepts the API account", "expired or was revoked", "create a new API account"},
		},
		{
			name:  "network the account may not see",
			setup: func(w *world) { w.gw.Forbid("net-ready") },
			call: func(w *world) error {
				_, err := w.b.Identities(t.Context(), "nf:net-ready", model.ListQuery{})
				return err
			},
			kind: backend.ErrForbidden,
			want: []string{"doesn't let the API account", "see network", "grant it access"},
		},
		{
			name: "network that doesn't exist",
			call: func(w *world) error {
				_, err := w.b.Identities(t.Context(), "nf:net-missing", model.ListQuery{})
				return err
			},
			kind: backend.ErrNotFound,
			want: []string{"NetFoundry has no network net-missing", "pick one from the network list"},
		},
		{
			name: "gateway answering 503",
			setup: func(w *world) {
				if _, err := w.b.Networks(t.Context()); err != nil { // signed in before it went down
					t.Fatal(err)
				}
				w.gw.SetDown(true)
			},
			call: func(w *world) error { _, err := w.b.Networks(t.Context()); return err },
			kind: backend.ErrUnavailable,
			want: []string{"the NetFoundry API at 127.0.0.1:", "is not answering properly (HTTP 503)"},
		},
		{
			name: "gateway unreachable",
			setup: func(w *world) {
				// A backend pointed at a port nothing listens on.
				b, err := NewWithCredentials(Config{Gateway: "http://127.0.0.1:1", Now: w.now}, w.b.tokens.creds)
				if err != nil {
					t.Fatal(err)
				}
				w.b = b
			},
			call: func(w *world) error {
				// Sign in works (the token endpoint is up); the gateway isn't.
				_, err := w.b.Networks(t.Context())
				return err
			},
			kind: backend.ErrUnavailable,
			want: []string{"the NetFoundry API at 127.0.0.1:1 can't be reached", "connection refused"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, c.opts)
			if c.setup != nil {
				c.setup(w)
			}
			err := c.call(w)
			if !errors.Is(err, c.kind) {
				t.Fatalf("err = %v, want %v", err, c.kind)
			}
			w.checkSentence(t, err, c.want...)
		})
	}
}
