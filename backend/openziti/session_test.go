package openziti

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/openziti/zitifake"
	"github.com/idcon/idcon/model"
)

// outsideLogin logs in at the fake the way a service handing out sessions
// (NetFoundry's exchange) would, and counts how often it was asked.
type outsideLogin struct {
	f     *zitifake.Controller
	calls int
	fail  error
}

func (o *outsideLogin) session(ctx context.Context) (string, error) {
	o.calls++
	if o.fail != nil {
		return "", o.fail
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(o.f.CAPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
	body, _ := json.Marshal(map[string]string{"username": o.f.Username, "password": o.f.Password})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.f.URL+apiPath+"/authenticate?method=password", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var env envelope[struct {
		Token string `json:"token"`
	}]
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return "", err
	}
	return env.Data.Token, nil
}

// TestSessionFromOutside: with Config.Session the client never logs in
// itself, takes the controller address with the API path as NetFoundry
// gives it, and asks for a new session when the controller drops one.
func TestSessionFromOutside(t *testing.T) {
	f := zitifake.Start(t, zitifake.At(time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)))
	o := &outsideLogin{f: f}
	c, err := New(Config{Name: "nf-test", Controller: f.URL + apiPath, PinnedCA: f.CAPEM, Session: o.session, Now: f.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := t.Context()
	if _, err := c.Identities(ctx, c.NetworkID(), model.ListQuery{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Identities(ctx, c.NetworkID(), model.ListQuery{}); err != nil {
		t.Fatal(err)
	}
	if o.calls != 1 {
		t.Errorf("Session called %d times for two calls, want 1", o.calls)
	}
	f.ExpireAdminSessions()
	if _, err := c.Identities(ctx, c.NetworkID(), model.ListQuery{}); err != nil {
		t.Fatalf("after the session expired: %v", err)
	}
	if o.calls != 2 {
		t.Errorf("Session called %d times after a 401, want 2", o.calls)
	}
	// Only the outside logins reached /authenticate.
	n := 0
	for _, r := range f.Requests() {
		if strings.HasPrefix(r, "POST "+apiPath+"/authenticate") {
			n++
		}
	}
	if n != o.calls {
		t.Errorf("%d logins at the controller for %d outside sessions: the client logged in itself", n, o.calls)
	}

	// A failing session source's error comes back as it is.
	o.fail = backend.Forbidden("NetFoundry says no")
	f.ExpireAdminSessions()
	_, err = c.Identities(ctx, c.NetworkID(), model.ListQuery{})
	if !errors.Is(err, backend.ErrForbidden) || err.Error() != "NetFoundry says no" {
		t.Errorf("err = %v, want the session source's own", err)
	}
}

// TestSessionAndLoginExclusive: a session source and a login can't both
// be configured.
func TestSessionAndLoginExclusive(t *testing.T) {
	_, err := New(Config{Name: "x", Controller: "https://ctrl.example.org", Username: "admin", Password: "pw",
		Session: func(context.Context) (string, error) { return "s", nil }})
	if !errors.Is(err, backend.ErrInvalid) {
		t.Errorf("err = %v, want invalid", err)
	}
}
