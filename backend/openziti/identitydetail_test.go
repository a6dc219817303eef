package openziti

import (
	"slices"
	"testing"
	"time"

	"github.com/idcon/idcon/model"
)

// TestIdentityTypeAndAuthPolicy: the controller's identity type and auth
// policy are read by name, from one identity and from a page, with the
// role attributes and the creation time.
func TestIdentityTypeAndAuthPolicy(t *testing.T) {
	f := newFake(t)
	c, err := New(configFor(f))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := t.Context()
	tok, err := c.CreateIdentity(ctx, c.NetworkID(), model.NewIdentity{Name: "kiosk-1", Attributes: []string{"kiosks"}, ExpiresAt: f.Now().Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	one, err := c.Identity(ctx, c.NetworkID(), tok.Identity.ID)
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.Identities(ctx, c.NetworkID(), model.ListQuery{Filter: "kiosk-1"})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("list: %v %v", page.Items, err)
	}
	for what, x := range map[string]model.Identity{"create": tok.Identity, "Identity": one, "Identities": page.Items[0]} {
		if x.Type != "Default" || x.AuthPolicy != "Default" || !slices.Equal(x.Attributes, []string{"kiosks"}) || x.CreatedAt.IsZero() {
			t.Errorf("%s: type %q, auth policy %q, attributes %q, created %v; want Default, Default, [kiosks], a time", what, x.Type, x.AuthPolicy, x.Attributes, x.CreatedAt)
		}
	}
}
