package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/model"
)

// An identity whose credential works beside an outstanding token (a real
// controller allows it) shows both facts and offers Reset with the token's
// deliveries; the identity idcon is signed in as says why it can't be
// reset from here.
func TestEditShowsACredentialBesideAToken(t *testing.T) {
	fb := newFakeBackend(testNow)
	fb.addNetwork(model.Network{ID: "net-acme", Name: "Acme production", Kind: "fake"},
		model.Identity{ID: "id-1", NetworkID: "net-acme", Name: "laptop-both", HasCredential: true, EnrolledAt: testNow.Add(-48 * time.Hour),
			Enrollment: &model.Enrollment{ID: "e1", ExpiresAt: testNow.Add(72 * time.Hour)}, Revision: 1},
		model.Identity{ID: "id-2", NetworkID: "net-acme", Name: "Default Admin", HasCredential: true, SignedIn: true, Revision: 1},
	)
	hs := newHarness(t, testOptions(fb), 100, 30)
	hs.openByName("laptop-both")
	screen := flat(hs.screen())
	for _, want := range []string{"State enrolled", "Reset enrollment (r)", "Download JWT (j)", "Show QR code (c)", "beside the credential"} {
		if !strings.Contains(screen, want) {
			t.Errorf("missing %q:\n%s", want, hs.screen())
		}
	}
	hs.press("esc")
	hs.openByName("Default Admin")
	screen = flat(hs.screen())
	if strings.Contains(screen, "Reset enrollment (r)") {
		t.Errorf("Reset offered for the signed-in identity:\n%s", hs.screen())
	}
	if !strings.Contains(screen, "another admin account") {
		t.Errorf("no word on why it can't be reset and what to do:\n%s", hs.screen())
	}
}
