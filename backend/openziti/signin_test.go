package openziti

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/openziti/zitifake"
	"github.com/idcon/idcon/model"
)

// recordedSignin reads one of testdata/signin's recordings (from the real
// v2.0.3 lab, by zitilab/recordsignin).
type recordedExchange struct {
	Request struct {
		Method, Path string
		Headers      map[string]string
		Form         map[string]string
	} `json:"request"`
	Response struct {
		Status  int
		Headers map[string]string
		Body    json.RawMessage
	} `json:"response"`
	Note string `json:"note"`
}

func recordedSignin(t *testing.T, file string) []recordedExchange {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "signin", file))
	if err != nil {
		t.Fatal(err)
	}
	var out []recordedExchange
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// routes is "METHOD /path" of requests, without their queries.
func routes(reqs []string) []string {
	var out []string
	for _, r := range reqs {
		r, _, _ = strings.Cut(r, "?")
		out = append(out, r)
	}
	return out
}

// observed collects the exchanges a client reports.
type observed struct {
	mu sync.Mutex
	ex []Exchange
}

func (o *observed) add(e Exchange) {
	o.mu.Lock()
	o.ex = append(o.ex, e)
	o.mu.Unlock()
}

func (o *observed) lines() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, e := range o.ex {
		out = append(out, e.String())
	}
	return out
}

// The client signs in as the v2 ziti CLI does: the same requests, in the
// same order, as the recording of the real controller (02), and the
// access token as a Bearer on the management API.
func TestOIDCLoginSendsTheRecordedFlow(t *testing.T) {
	c, f := newTestClient(t)
	if _, err := c.Identities(t.Context(), c.NetworkID(), model.ListQuery{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range recordedSignin(t, "01-discovery.json")[:1] {
		want = append(want, e.Request.Method+" "+strings.SplitN(e.Request.Path, "?", 2)[0])
	}
	for _, e := range recordedSignin(t, "02-oidc-login-refresh.json") {
		p, _, _ := strings.Cut(e.Request.Path, "?")
		switch {
		case strings.HasPrefix(p, "/oidc/login/username"):
			continue // the SDK follows the authorize redirect for a header; idcon reads the id from the Location
		case strings.Contains(e.Note, "wrong password"):
			continue
		}
		want = append(want, e.Request.Method+" "+p)
		if p == "/oidc/oauth/token" {
			break
		}
	}
	got := routes(f.Requests())
	if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Fatalf("login requests:\n%s\nwant (as recorded):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if next := got[len(want)]; next != "GET "+apiPath+"/identities" {
		t.Errorf("after the login: %s, want GET /identities", next)
	}
	// No legacy login at all.
	for _, r := range got {
		if strings.HasPrefix(r, "POST "+apiPath+"/authenticate") {
			t.Errorf("a legacy login on an OIDC controller: %s", r)
		}
	}
}

// Legacy only where /version doesn't name OIDC_AUTH.
func TestLegacyLoginOnlyWithoutOIDCCapability(t *testing.T) {
	f := zitifake.Start(t, zitifake.At(testEpoch), zitifake.LegacyOnly())
	c, err := New(configFor(f))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Identities(t.Context(), c.NetworkID(), model.ListQuery{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	got := routes(f.Requests())
	want := []string{"GET " + apiPath + "/version", "POST " + apiPath + "/authenticate", "GET " + apiPath + "/identities"}
	if len(got) < 3 || !slices.Equal(got[:3], want) {
		t.Errorf("requests %q, want %q first", got, want)
	}
	for _, r := range got {
		if strings.HasPrefix(r, "GET /oidc") || strings.HasPrefix(r, "POST /oidc") {
			t.Errorf("OIDC on a controller without it: %s", r)
		}
	}
}

// The access token is renewed with the refresh token before it expires
// (30 minutes), with no new login; concurrent calls share one renewal.
func TestAccessTokenRenewedBeforeExpiry(t *testing.T) {
	c, f := newTestClient(t)
	ctx := t.Context()
	if _, err := c.Identities(ctx, c.NetworkID(), model.ListQuery{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	f.Advance(29*time.Minute + 30*time.Second) // within a minute of the expiry
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := c.Identities(ctx, c.NetworkID(), model.ListQuery{Limit: 1})
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
	if n := f.OIDCRefreshes(); n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	logins := 0
	for _, r := range f.Requests() {
		if strings.HasPrefix(r, "POST /oidc/login/password") {
			logins++
		}
	}
	if logins != 1 {
		t.Errorf("%d password logins, want 1 (the renewal needs none)", logins)
	}
	// Past the refresh token's 24 hours: a new login.
	f.Advance(25 * time.Hour)
	if _, err := c.Identities(ctx, c.NetworkID(), model.ListQuery{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	if n := f.OIDCRefreshes(); n != 1 {
		t.Errorf("%d refreshes after the refresh token expired, want still 1", n)
	}
}

// asker answers prompts from a script and records what it was asked.
type asker struct {
	mu      sync.Mutex
	answers []string
	asked   []Prompt
}

func (a *asker) ask(_ context.Context, p Prompt) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked = append(a.asked, p)
	if len(a.answers) == 0 {
		return "", backend.Invalid("cancelled")
	}
	v := a.answers[0]
	a.answers = a.answers[1:]
	return v, nil
}

// A network with a username and no password asks for it; a wrong one is
// said and asked again; neither shows in errors or the observed requests.
func TestPasswordIsAskedAndAskedAgainWhenWrong(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		name := "oidc"
		opts := []zitifake.Option{zitifake.At(testEpoch)}
		if legacy {
			name = "legacy"
			opts = append(opts, zitifake.LegacyOnly())
		}
		t.Run(name, func(t *testing.T) {
			f := zitifake.Start(t, opts...)
			a := &asker{answers: []string{"wrong-guess-1", f.Password}}
			var obs observed
			cfg := configFor(f)
			cfg.Password, cfg.Ask, cfg.Observe = "", a.ask, obs.add
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Identities(t.Context(), c.NetworkID(), model.ListQuery{Limit: 1}); err != nil {
				t.Fatal(err)
			}
			if len(a.asked) != 2 || a.asked[0].Kind != PromptPassword || a.asked[0].Retry != "" || a.asked[1].Retry == "" || a.asked[0].Username != f.Username {
				t.Fatalf("asked %+v, want the password, then again saying why", a.asked)
			}
			for _, l := range obs.lines() {
				if strings.Contains(l, f.Password) || strings.Contains(l, "wrong-guess-1") {
					t.Errorf("observed %q shows a password", l)
				}
			}
			// Cancelling the prompt ends the login with its error.
			f.ExpireAdminSessions()
			c2, _ := New(cfg)
			_, err = c2.Identities(t.Context(), c2.NetworkID(), model.ListQuery{Limit: 1})
			mustErr(t, "cancelled prompt", err, backend.ErrInvalid, "cancelled")
		})
	}
}

// Without an asker a missing password names passwordEnv.
func TestNoPasswordWithoutAskerNamesPasswordEnv(t *testing.T) {
	f := newFake(t)
	cfg := configFor(f)
	cfg.Password = ""
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Identities(t.Context(), c.NetworkID(), model.ListQuery{})
	mustErr(t, "no password", err, backend.ErrForbidden, "passwordEnv")
}

// TOTP: a wrong code is refused and asked again, the right one (computed
// from the secret by the fake's own RFC 6238) signs in; a recovery code
// works once. Over OIDC and over the legacy login.
func TestTOTPCodeAskedAndRetried(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		name := "oidc"
		opts := []zitifake.Option{zitifake.At(testEpoch)}
		if legacy {
			name = "legacy"
			opts = append(opts, zitifake.LegacyOnly())
		}
		t.Run(name, func(t *testing.T) {
			f := zitifake.Start(t, opts...)
			secret, recovery := f.RequireMFA(true)
			code := zitifake.TOTPCode(secret, f.Now())
			a := &asker{answers: []string{"000000", code}}
			cfg := configFor(f)
			cfg.Ask = a.ask
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Identities(t.Context(), c.NetworkID(), model.ListQuery{Limit: 1}); err != nil {
				t.Fatal(err)
			}
			if len(a.asked) != 2 || a.asked[0].Kind != PromptCode || a.asked[1].Retry == "" {
				t.Fatalf("asked %+v, want the code, then again saying it was refused", a.asked)
			}
			// A recovery code, once.
			f.ExpireAdminSessions()
			f.Advance(time.Minute)
			a.answers = []string{recovery[0]}
			if _, err := c.Identities(t.Context(), c.NetworkID(), model.ListQuery{Limit: 1}); err != nil {
				t.Fatalf("recovery code: %v", err)
			}
			f.ExpireAdminSessions()
			a.answers = []string{recovery[0]}
			_, err = c.Identities(t.Context(), c.NetworkID(), model.ListQuery{Limit: 1})
			if err == nil {
				t.Fatal("a used recovery code signed in again")
			}
		})
	}
}

// A stored OIDC session (ziti-cli.json) is used while valid, renewed with
// its refresh token once expired, and never logged out of.
func TestStoredSessionUsedThenRenewed(t *testing.T) {
	f := newFake(t)
	access, refresh := f.IssueOIDCSession(f.Now().Add(-time.Minute)) // already expired
	cfg := configFor(f)
	cfg.Username, cfg.Password = "", ""
	cfg.Stored = &StoredSession{Source: "ziti-cli.json entry default", OIDC: true, Token: access, RefreshToken: refresh, Username: "admin",
		FixCommand: "ziti edge login " + f.URL + " -u admin"}
	var obs observed
	cfg.Observe = obs.add
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Identities(t.Context(), c.NetworkID(), model.ListQuery{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	if f.OIDCRefreshes() != 1 {
		t.Errorf("%d refreshes, want 1", f.OIDCRefreshes())
	}
	lines := strings.Join(obs.lines(), "\n")
	if !strings.Contains(lines, "POST /oidc/oauth/token → 200") {
		t.Errorf("the renewal isn't visible in the observed requests:\n%s", lines)
	}
	for _, secret := range []string{access, refresh} {
		if strings.Contains(lines, secret) {
			t.Errorf("observed requests show a token")
		}
	}
	_ = c.Close()
	for _, r := range f.Requests() {
		if strings.Contains(r, "current-api-session") && strings.HasPrefix(r, "DELETE") {
			t.Errorf("Close ended the stored session: %s", r)
		}
	}

	// A session that can't be renewed says which command makes a new one.
	f.ExpireAdminSessions()
	c2, _ := New(cfg)
	_, err = c2.Identities(t.Context(), c2.NetworkID(), model.ListQuery{Limit: 1})
	mustErr(t, "unrenewable", err, backend.ErrForbidden, "can't be renewed", "`ziti edge login "+f.URL+" -u admin`")
	if strings.Contains(err.Error(), refresh) {
		t.Errorf("the error shows the refresh token")
	}
}

// A stored legacy token goes as zt-session.
func TestStoredLegacyToken(t *testing.T) {
	f := newFake(t)
	token := f.AdminLegacyToken(t)
	cfg := configFor(f)
	cfg.Username, cfg.Password = "", ""
	cfg.Stored = &StoredSession{Source: "ziti-cli.json entry legacy", Token: token, FixCommand: "ziti edge login"}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Identities(t.Context(), c.NetworkID(), model.ListQuery{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Requests() {
		if strings.Contains(r, "/oidc/") || strings.Contains(r, "/authenticate") {
			t.Errorf("a login despite the stored token: %s", r)
		}
	}
}

// RedactQuery hides secret values and JWTs but keeps the rest readable.
func TestRedactQuery(t *testing.T) {
	q := map[string][]string{
		"limit": {"10"}, "filter": {`name contains "x"`}, "code": {"abc"}, "state": {"s"},
		"other": {"eyJhbGciOi.eyJzdWIi.c2ln"}, "authRequestID": {"1234"},
	}
	got := RedactQuery(q)
	for _, secret := range []string{"abc", "=s&", "eyJ", "1234"} {
		if strings.Contains(got+"&", secret) {
			t.Errorf("RedactQuery: %q shows %q", got, secret)
		}
	}
	for _, keep := range []string{"limit=10", "filter=name%20contains%20%22x%22"} {
		if !strings.Contains(got, keep) {
			t.Errorf("RedactQuery: %q lost %q", got, keep)
		}
	}
}

func TestErrorsNeverHoldPasswordsAfterRefusal(t *testing.T) {
	c, f := newTestClient(t)
	f.SetPassword("rotated")
	_, err := c.Identities(t.Context(), c.NetworkID(), model.ListQuery{})
	if !errors.Is(err, backend.ErrForbidden) || strings.Contains(err.Error(), f.Password) {
		t.Errorf("refused OIDC login: %v", err)
	}
}

// A dry run plans the writes of a reset without sending them; the real
// reset then sends exactly those (but the revision hash only the change
// tells) — over OIDC and, with sessions a reset must end itself, legacy.
func TestDryRunPlansTheResetsWrites(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		name := "oidc"
		opts := []zitifake.Option{zitifake.At(testEpoch), zitifake.AdminUnlisted()}
		if legacy {
			name = "legacy"
			opts = append(opts, zitifake.LegacyOnly())
		}
		t.Run(name, func(t *testing.T) {
			f := zitifake.Start(t, opts...)
			c, err := New(configFor(f))
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			id := f.CreateIdentity("laptop", "", testEpoch.Add(time.Hour))
			f.Enroll(id)
			f.AddAPISessions(id, 2)
			if legacy {
				f.AddAPISessionsVia(id, "updb-of-another-login", 2)
			}
			m, err := c.Identity(ctx, c.NetworkID(), id)
			if err != nil {
				t.Fatal(err)
			}
			n0 := len(f.Writes())
			dctx, plan := backend.WithDryRun(ctx)
			if _, err := c.ResetEnrollment(dctx, c.NetworkID(), id, m.Revision, testEpoch.Add(24*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if w := f.Writes()[n0:]; len(w) != 0 {
				t.Fatalf("the dry run sent %q", w)
			}
			if got, _ := f.IdentityByName("laptop"); got.Authenticators != 1 || got.Enrollment != nil {
				t.Fatalf("the dry run changed the identity: %+v", got)
			}
			if _, err := c.ResetEnrollment(ctx, c.NetworkID(), id, m.Revision, testEpoch.Add(24*time.Hour)); err != nil {
				t.Fatal(err)
			}
			sent := f.Writes()[n0:]
			reqs := plan.Requests()
			if len(reqs) != len(sent) {
				t.Fatalf("planned %d writes, sent %d:\nplanned %v\nsent %q", len(reqs), len(sent), reqs, sent)
			}
			deletes := 0
			for i, r := range reqs {
				want := strings.TrimSpace(r.String())
				if pre, _, ok := strings.Cut(want, DryRunHash); ok {
					want = pre
				}
				if !strings.HasPrefix(sent[i], want) {
					t.Errorf("write %d: sent %q, planned %q", i, sent[i], want)
				}
				if strings.HasPrefix(want, "DELETE "+apiPath+"/api-sessions/") {
					deletes++
				}
			}
			if legacy && deletes != 2 {
				t.Errorf("%d session deletes planned, want the 2 no authenticator takes with it", deletes)
			}
		})
	}
}

// A read-only login (ziti edge login --token) refuses every change.
func TestReadOnlyRefusesChanges(t *testing.T) {
	f := newFake(t)
	cfg := configFor(f)
	cfg.ReadOnly = true
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Identities(t.Context(), c.NetworkID(), model.ListQuery{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateIdentity(t.Context(), c.NetworkID(), model.NewIdentity{Name: "x", ExpiresAt: testEpoch.Add(time.Hour)})
	mustErr(t, "read-only create", err, backend.ErrForbidden, "read-only")
	if w := f.Writes(); len(w) != 0 {
		t.Errorf("writes sent: %q", w)
	}
}

// ReadZitiCLI reads the file a real `ziti edge login` v2.0.3 wrote.
func TestReadZitiCLIAsRecorded(t *testing.T) {
	entries, def, err := ReadZitiCLI(filepath.Join("testdata", "signin", "ziti-cli.json"))
	if err != nil {
		t.Fatal(err)
	}
	if def != "default" || len(entries) != 3 {
		t.Fatalf("default %q, %d entries", def, len(entries))
	}
	d, lab2, leg := entries[0], entries[1], entries[2]
	if d.Key != "default" || d.NetworkName() != "ziti:default" || d.Controller != "https://127.0.0.1:1280" || d.Username != "admin" ||
		d.CACert != "/work/lab/qs/pki/root-ca/certs/root-ca.cert" || !d.Session.OIDC || !IsJWT(d.Session.Token) || !IsJWT(d.Session.RefreshToken) {
		t.Errorf("default: %+v", d)
	}
	if !strings.Contains(d.Session.FixCommand, "ziti edge login https://127.0.0.1:1280 -u admin") {
		t.Errorf("fix command %q", d.Session.FixCommand)
	}
	if lab2.Key != "lab2" || !strings.HasSuffix(lab2.CACert, "certs/127.0.0.1_1280") {
		t.Errorf("lab2: %+v", lab2)
	}
	if leg.Key != "legacy" || leg.Session.OIDC || leg.Session.Token != "REDACTED-SESSION" || !leg.ReadOnly {
		t.Errorf("legacy: %+v", leg)
	}
	if got := jwtExpiry(d.Session.Token); got.IsZero() {
		t.Errorf("the recorded access token's expiry was not read")
	}
	if none, _, err := ReadZitiCLI(filepath.Join(t.TempDir(), "missing.json")); err != nil || none != nil {
		t.Errorf("a missing file: %v %v", none, err)
	}
}
