package ui

import (
	"slices"
	"strings"
	"testing"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// viewerBackend is the fake backend as a viewer sees it: what
// backend/access answers for the role, in its words (ui can't import it).
type viewerBackend struct{ *fakeBackend }

func (viewerBackend) Can(a model.Action) error {
	what := map[model.Action]string{
		model.ActionReset: "reset enrollments", model.ActionReissue: "reissue enrollments",
		model.ActionDelete: "delete enrollments", model.ActionEmail: "send registration emails",
		model.ActionJWT: "download tokens", model.ActionQR: "see QR codes",
		model.ActionCreate: "create identities",
	}[a]
	return backend.Forbidden("viewers can't %s: ask an admin (you are carol, viewer)", what)
}

func viewerHarness(t *testing.T) (*harness, *fakeBackend) {
	fb := demoBackend()
	opts := testOptions(fb)
	opts.Backend = viewerBackend{fb}
	return newHarness(t, opts, 100, 30), fb
}

func TestViewerSeesActionsDisabledWithTheReason(t *testing.T) {
	cases := []struct {
		name    string
		buttons []string
	}{
		{"laptop-alice", []string{"[ Reset enrollment (r) ] (viewers can't reset enrollments)"}},
		{"tablet-carol", []string{"[ Reissue enrollment (i) ] (viewers can't reissue enrollments)"}},
		{"phone-bob", []string{"[ Delete enrollment (d) ] (viewers can't delete enrollments)",
			"[ Send registration email (m) ] (viewers can't send registration emails)",
			"[ Download JWT (j) ] (viewers can't download tokens)", "[ Show QR code (c) ] (viewers can't see QR codes)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hs, fb := viewerHarness(t)
			hs.openByName(c.name)
			v := hs.edit()
			// Copying the ID is no change and no secret: a viewer may.
			if got := enabledKeys(v); !slices.Equal(got, []string{"y", "esc"}) {
				t.Fatalf("a viewer is offered keys %v, want only y and esc", got)
			}
			screen := hs.screen()
			for _, b := range c.buttons {
				if !strings.Contains(screen, b) {
					t.Fatalf("button %q missing:\n%s", b, screen)
				}
			}
			// Each key, and enter on each button, earns the reason and
			// nothing else: no dialog, no backend call beyond reading.
			for _, k := range []string{"r", "i", "d", "m", "j", "c", "enter"} {
				hs.app.toasts.items = nil
				hs.press(k)
				if hs.app.dialog != nil {
					t.Fatalf("%s opened a dialog for a viewer", k)
				}
				offered := false
				for _, a := range v.actions {
					offered = offered || slices.Contains(v.keys.Actions[a].Keys(), k)
				}
				if k == "enter" || offered {
					if len(hs.app.toasts.items) != 1 || !strings.HasPrefix(hs.app.toasts.items[0].text, "Not allowed: viewers can't ") ||
						!strings.Contains(hs.app.toasts.items[0].text, "ask an admin (you are carol, viewer)") {
						t.Fatalf("%s: toasts %+v, want the reason", k, hs.app.toasts.items)
					}
				} else if len(hs.app.toasts.items) != 0 {
					t.Fatalf("%s, not offered for this state, said %+v", k, hs.app.toasts.items)
				}
				hs.press("tab")
			}
			if len(fb.mutations()) != 0 || len(fb.callsWith("TokenJWT")) != 0 {
				t.Fatalf("a viewer reached the backend: %v", fb.calls)
			}
		})
	}
}

// TestForbiddenFromTheBackendInPlainWords: the console thought the change
// was allowed (its role changed, or a race), the backend refused it.
func TestForbiddenFromTheBackendInPlainWords(t *testing.T) {
	hs, fb := demoHarness(t)
	hs.openByName("phone-bob")
	fb.failNext = backend.Forbidden("viewers can't delete enrollments: ask an admin (you are carol, viewer)")
	hs.press("d", "y")
	if len(fb.mutations()) != 1 {
		t.Fatalf("mutations %v", fb.mutations())
	}
	want := "Not allowed: viewers can't delete enrollments: ask an admin (you are carol, viewer)."
	if len(hs.app.toasts.items) != 1 || hs.app.toasts.items[0].text != want {
		t.Fatalf("toasts %+v, want %q", hs.app.toasts.items, want)
	}
	if st := hs.edit().ident.State(testNow); st != model.StatePending {
		t.Fatalf("after the refusal the view shows %s", st)
	}
}
