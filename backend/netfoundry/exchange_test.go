package netfoundry

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// TestExchangeRenewedWhenSessionExpires: a network is opened with one
// exchange; when the controller drops that session (401) the backend
// exchanges again, once, and the call goes through.
func TestExchangeRenewedWhenSessionExpires(t *testing.T) {
	w := newWorld(t, worldOptions{controller: true})
	ctx := t.Context()
	id := w.ctrl.CreateIdentity("laptop-alice", "alice@example.org", w.now().Add(48*time.Hour))
	for range 3 {
		if _, err := w.b.Identities(ctx, "nf:net-ready", model.ListQuery{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := w.gw.Exchanges("net-ready"); n != 1 {
		t.Fatalf("%d exchanges for three listings, want 1 (the session is kept)", n)
	}

	if err := w.gw.ExpireSessions(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := w.b.Identity(ctx, "nf:net-ready", id)
	if err != nil {
		t.Fatalf("after the session expired: %v", err)
	}
	if got.Name != "laptop-alice" || got.NetworkID != "nf:net-ready" {
		t.Errorf("identity %q in %q, want laptop-alice in nf:net-ready", got.Name, got.NetworkID)
	}
	if n := w.gw.Exchanges("net-ready"); n != 2 {
		t.Errorf("%d exchanges after the session expired, want 2", n)
	}

	// The controller forgetting every session (a restart) is the same.
	w.ctrl.ExpireAdminSessions()
	if _, err := w.b.Identity(ctx, "nf:net-ready", id); err != nil {
		t.Fatalf("after the controller forgot its sessions: %v", err)
	}
	if n := w.gw.Exchanges("net-ready"); n != 3 {
		t.Errorf("%d exchanges after the controller restart, want 3", n)
	}
}

// TestExchangeRefusedSaysWhy: when the session expires and NetFoundry no
// longer accepts the account, the call fails with the account's sentence,
// not the controller's.
func TestExchangeRefusedSaysWhy(t *testing.T) {
	w := newWorld(t, worldOptions{controller: true})
	ctx := t.Context()
	if _, err := w.b.Identities(ctx, "nf:net-ready", model.ListQuery{}); err != nil {
		t.Fatal(err)
	}
	w.ctrl.ExpireAdminSessions()
	w.gw.Revoke()
	_, err := w.b.Identities(ctx, "nf:net-ready", model.ListQuery{})
	if !errors.Is(err, backend.ErrForbidden) {
		t.Fatalf("err = %v, want forbidden", err)
	}
	w.checkSentence(t, err, "NetFoundry no longer accepts the API account")
}

// TestOpenedOnceUnderConcurrency: callers opening the same network
// together share one exchange and one controller client.
func TestOpenedOnceUnderConcurrency(t *testing.T) {
	w := newWorld(t, worldOptions{controller: true})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := w.b.Identities(t.Context(), "nf:net-ready", model.ListQuery{})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := w.gw.Exchanges("net-ready"); n != 1 {
		t.Errorf("%d exchanges from 8 concurrent callers, want 1", n)
	}
}

// TestSessionOnlyOnController: the exchanged session goes to the
// controller as zt-session and the API token only to the gateway; the
// controller is never asked to log in.
func TestSessionOnlyOnController(t *testing.T) {
	w := newWorld(t, worldOptions{controller: true})
	if _, err := w.b.Identities(t.Context(), "nf:net-ready", model.ListQuery{}); err != nil {
		t.Fatal(err)
	}
	logins := 0
	for _, r := range w.ctrl.Requests() {
		if strings.HasPrefix(r, "POST /edge/management/v1/authenticate") {
			logins++
		}
	}
	// The one login is the fake gateway's own, making the session it
	// hands over; idcon never logs in at the controller itself.
	if logins != w.gw.Exchanges("net-ready") {
		t.Errorf("%d logins at the controller for %d exchanges: idcon logged in itself", logins, w.gw.Exchanges("net-ready"))
	}
}
