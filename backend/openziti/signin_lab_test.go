package openziti

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/backend/openziti/zitilab"
	"github.com/idcon/idcon/model"
)

func labConfig(l zitilab.Lab) Config {
	return Config{Name: "lab", Controller: l.URL, CAFile: l.CAFile, Username: l.Username, Password: l.Password}
}

func countPrefix(lines []string, prefix string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// On the real controller: an OIDC login (no legacy /authenticate), the
// management API with the Bearer, and a renewal through the token
// endpoint once the access token is (forged to be) expiring.
func TestLabOIDCSignInAndRefresh(t *testing.T) {
	l := zitilab.Require(t)
	var obs observed
	cfg := labConfig(l)
	cfg.Observe = obs.add
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := t.Context()
	if _, err := c.Identities(ctx, c.NetworkID(), model.ListQuery{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	lines := obs.lines()
	if countPrefix(lines, "POST /oidc/login/password → 302") != 1 || countPrefix(lines, "POST /oidc/oauth/token → 200") != 1 ||
		countPrefix(lines, "POST "+apiPath+"/authenticate") != 0 {
		t.Fatalf("sign-in requests:\n%s", strings.Join(lines, "\n"))
	}
	c.mu.Lock()
	c.sess.expires = time.Now().Add(-time.Second) // forged expiry
	c.mu.Unlock()
	if _, err := c.Identities(ctx, c.NetworkID(), model.ListQuery{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	lines = obs.lines()
	if countPrefix(lines, "POST /oidc/oauth/token → 200") != 2 || countPrefix(lines, "POST /oidc/login/password") != 1 {
		t.Errorf("after the forged expiry, want one refresh and no new login:\n%s", strings.Join(lines, "\n"))
	}
	for _, line := range lines {
		if strings.Contains(line, l.Password) || strings.Contains(line, "eyJ") {
			t.Errorf("observed %q holds a secret", line)
		}
	}
}

// On the real controller: an admin whose policy requires TOTP signs in
// with a code computed from its secret after a wrong one; a recovery code
// works too.
func TestLabTOTPSignIn(t *testing.T) {
	l := zitilab.Require(t)
	m := l.NewMFAAdmin(t, "signin-lab-mfa")
	// The enrolment's verify used this step's code: wait for a fresh one.
	time.Sleep(time.Until(time.Now().Truncate(30 * time.Second).Add(31 * time.Second)))
	a := &asker{answers: []string{"000000", zitilab.TOTPCode(m.Secret, time.Now())}}
	cfg := labConfig(l)
	cfg.Username, cfg.Password, cfg.Ask = m.Username, m.Password, a.ask
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Identities(t.Context(), c.NetworkID(), model.ListQuery{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	if len(a.asked) != 2 || a.asked[0].Kind != PromptCode || a.asked[1].Retry == "" {
		t.Errorf("asked %+v: want the code, then again after the wrong one", a.asked)
	}
	// A recovery code in a new login.
	a2 := &asker{answers: []string{m.Recovery[0]}}
	cfg.Ask = a2.ask
	c2, _ := New(cfg)
	defer c2.Close()
	if _, err := c2.Identities(t.Context(), c2.NetworkID(), model.ListQuery{Limit: 1}); err != nil {
		t.Fatalf("recovery code: %v", err)
	}
	// Without an asker: one line saying how to give the code.
	cfg.Ask = nil
	c3, _ := New(cfg)
	defer c3.Close()
	_, err = c3.Identities(context.Background(), c3.NetworkID(), model.ListQuery{Limit: 1})
	if err == nil || !strings.Contains(err.Error(), "--mfa-code") {
		t.Errorf("no asker: %v", err)
	}
}
