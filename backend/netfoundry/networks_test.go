package netfoundry

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/netfoundry/nffake"
	"github.com/idcon/idcon/model"
)

// TestNetworksAllPages lists an organisation whose networks take three
// pages and checks each network's ID, kind and status words.
func TestNetworksAllPages(t *testing.T) {
	w := newWorld(t, worldOptions{extra: []nffake.Network{
		{ID: "net-old", Name: "Legacy", Status: "PROVISIONED", ProductVersion: "7.3.90"},
		{ID: "net-gone", Name: "Gone", Status: "DELETED"},
		{ID: "net-broken", Name: "Broken", Status: "ERROR"},
	}})
	nets, err := w.b.Networks(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]model.Network{}
	for _, n := range nets {
		got[n.ID] = n
		if n.Kind != Kind || n.Identities != -1 {
			t.Errorf("%s: kind %q, identities %d; want %q, -1", n.ID, n.Kind, n.Identities, Kind)
		}
		if len(n.Status) > 40 {
			t.Errorf("%s: status %q is longer than the picker's 40 columns", n.ID, n.Status)
		}
	}
	want := map[string]string{ // ID → status
		"nf:net-ready":  "",
		"nf:net-new":    "provisioning: NetFoundry is creating it",
		"nf:net-old":    "v7 network: not supported by idcon",
		"nf:net-broken": "error: see the NetFoundry console",
	}
	if len(got) != len(want) {
		t.Errorf("listed %d networks %v, want %d (deleted ones left out)", len(got), slices.Collect(maps.Keys(got)), len(want))
	}
	for id, status := range want {
		n, ok := got[id]
		switch {
		case !ok:
			t.Errorf("%s not listed", id)
		case n.Status != status:
			t.Errorf("%s: status %q, want %q", id, n.Status, status)
		}
	}
	if got["nf:net-ready"].Name != "Branch Offices" {
		t.Errorf("net-ready is named %q, want Branch Offices", got["nf:net-ready"].Name)
	}
	var pages int
	for _, r := range w.gw.Requests() {
		if strings.HasPrefix(r, "GET /core/v3/networks?") {
			pages++
		}
	}
	if pages != 5 { // five networks, one per page
		t.Errorf("%d listing requests, want 5 (one per page): %v", pages, w.gw.Requests())
	}
}

// TestNotProvisionedCantBeOpened: identity calls on a network that isn't
// ready say why and never reach an exchange.
func TestNotProvisionedCantBeOpened(t *testing.T) {
	w := newWorld(t, worldOptions{})
	_, err := w.b.Identities(t.Context(), "nf:net-new", model.ListQuery{})
	if !errors.Is(err, backend.ErrUnavailable) {
		t.Fatalf("err = %v, want unavailable", err)
	}
	w.checkSentence(t, err, "NetFoundry network Lab can't be opened: NetFoundry is still creating it")
	if n := w.gw.Exchanges("net-new"); n != 0 {
		t.Errorf("%d exchanges for a network that isn't provisioned, want 0", n)
	}
}

// TestForeignNetworkIDs: IDs of other backends are not found here.
func TestForeignNetworkIDs(t *testing.T) {
	w := newWorld(t, worldOptions{})
	for _, id := range []string{"ziti:lab", "net-ready", "nf:"} {
		if _, err := w.b.Identity(t.Context(), id, "x"); !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("network %q: err = %v, want not found", id, err)
		}
	}
}
