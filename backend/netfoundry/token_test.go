package netfoundry

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/idcon/idcon/backend"
)

// TestTokenCachedAndRenewedBeforeExpiry signs in once, reuses the token
// while it has time left, and replaces it before it expires: the gateway
// never has to refuse one.
func TestTokenCachedAndRenewedBeforeExpiry(t *testing.T) {
	w := newWorld(t, worldOptions{lifetime: time.Hour})
	list := func(when string) {
		t.Helper()
		if _, err := w.b.Networks(t.Context()); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
	}
	list("first listing")
	if n := w.gw.TokenRequests(); n != 1 {
		t.Fatalf("%d token requests after the first listing, want 1", n)
	}
	w.adv(54 * time.Minute)
	list("54 minutes later")
	if n := w.gw.TokenRequests(); n != 1 {
		t.Errorf("%d token requests 54 minutes into an hour's token, want 1 (reused)", n)
	}
	w.adv(2 * time.Minute) // 4 minutes left: within the 5-minute margin
	list("56 minutes later")
	if n := w.gw.TokenRequests(); n != 2 {
		t.Errorf("%d token requests with 4 minutes left on the token, want 2 (renewed)", n)
	}
	if n := w.gw.Refusals(); n != 0 {
		t.Errorf("the gateway refused %d requests, want 0: the token should be renewed before it expires", n)
	}
	w.adv(3 * time.Hour) // long past the second token's expiry
	list("3 hours later")
	if n, r := w.gw.TokenRequests(), w.gw.Refusals(); n != 3 || r != 0 {
		t.Errorf("after the token expired: %d token requests, %d refusals; want 3, 0", n, r)
	}
}

// TestShortTokenRenewedAtAQuarter: a token shorter-lived than the margin
// is renewed when a quarter of its life is left.
func TestShortTokenRenewedAtAQuarter(t *testing.T) {
	w := newWorld(t, worldOptions{lifetime: 8 * time.Minute})
	for _, step := range []struct {
		advance time.Duration
		want    int
	}{{0, 1}, {5 * time.Minute, 1}, {time.Minute + time.Second, 2}} {
		w.adv(step.advance)
		if _, err := w.b.Networks(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := w.gw.TokenRequests(); n != step.want {
			t.Errorf("after %s more: %d token requests, want %d", step.advance, n, step.want)
		}
	}
}

// TestRefusedTokenReplacedOnce: a token the gateway stops accepting early
// (401) is replaced once and the call goes through.
func TestRefusedTokenReplacedOnce(t *testing.T) {
	w := newWorld(t, worldOptions{})
	if _, err := w.b.Networks(t.Context()); err != nil {
		t.Fatal(err)
	}
	w.gw.ExpireTokens()
	if _, err := w.b.Networks(t.Context()); err != nil {
		t.Fatalf("after the gateway dropped the token: %v", err)
	}
	if n, r := w.gw.TokenRequests(), w.gw.Refusals(); n != 2 || r != 1 {
		t.Errorf("%d token requests and %d refusals, want 2 and 1", n, r)
	}
}

// TestConcurrentCallersShareOneSignIn: callers starting together wait for
// one token rather than each signing in.
func TestConcurrentCallersShareOneSignIn(t *testing.T) {
	w := newWorld(t, worldOptions{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := w.b.Networks(t.Context())
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
	if n := w.gw.TokenRequests(); n != 1 {
		t.Errorf("%d token requests from 8 concurrent callers, want 1", n)
	}
}

// TestReadyToken uses NETFOUNDRY_API_TOKEN as is, and says so plainly
// once it has expired (it can't be renewed).
func TestReadyToken(t *testing.T) {
	w := newWorld(t, worldOptions{})
	env := map[string]string{"NETFOUNDRY_API_TOKEN": w.gw.IssueToken()}
	b, err := New(Config{Gateway: w.gw.URL, Now: w.now, Lookup: Lookup{Getenv: func(k string) string { return env[k] }}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Networks(t.Context()); err != nil {
		t.Fatalf("with a ready token: %v", err)
	}
	if n := w.gw.TokenRequests(); n != 0 {
		t.Errorf("%d token requests with a ready token, want 0", n)
	}

	// A JWT whose exp has passed is refused before asking the gateway.
	exp := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"exp": w.now().Add(-time.Minute).Unix(), "scope": "https://gateway.sandbox.netfoundry.io//ignore-scope"})
	signed, err := exp.SignedString([]byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	env["NETFOUNDRY_API_TOKEN"] = signed
	b2, err := New(Config{Now: w.now, Lookup: Lookup{Getenv: func(k string) string { return env[k] }}})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if b2.Gateway() != "https://gateway.sandbox.netfoundry.io" {
		t.Errorf("gateway %s, want the sandbox one named in the token's scope", b2.Gateway())
	}
	_, err = b2.Networks(t.Context())
	if !errors.Is(err, backend.ErrForbidden) {
		t.Fatalf("expired ready token: err = %v, want forbidden", err)
	}
	w.checkSentence(t, err, "NETFOUNDRY_API_TOKEN expired at")
}
