package zitifake

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var epoch = time.Date(2031, 3, 14, 15, 9, 26, 535_000_000, time.UTC)

func TestSpecLoads(t *testing.T) {
	dir, err := SpecDir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "management.yml")); err != nil {
		t.Fatalf("SpecDir %s: %v", dir, err)
	}
	doc, err := Spec()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/identities", "/identities/{id}", "/enrollments", "/enrollments/{id}/refresh", "/authenticators/{id}/re-enroll", "/api-sessions/{id}", "/authenticate"} {
		if doc.Paths.Find(p) == nil {
			t.Errorf("the spec has no %s", p)
		}
	}
}

// recordingTB keeps the fake's complaints instead of failing the test.
type recordingTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recordingTB) complaints() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.errs, "\n")
}

// client trusts the fake's CA.
func client(t *testing.T, f *Controller) *http.Client {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(f.CAPEM) {
		t.Fatal("the fake's CAPEM holds no certificate")
	}
	b, err := os.ReadFile(f.CAFile)
	if err != nil || string(b) != string(f.CAPEM) {
		t.Fatalf("CAFile %s holds %q (%v), want CAPEM", f.CAFile, b, err)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func do(t *testing.T, c *http.Client, method, url, session, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if session != "" {
		req.Header.Set("zt-session", session)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func login(t *testing.T, f *Controller, c *http.Client) string {
	t.Helper()
	status, out := do(t, c, "POST", f.URL+apiPath+"/authenticate?method=password", "", fmt.Sprintf(`{"username":%q,"password":%q}`, f.Username, f.Password))
	if status != 200 {
		t.Fatalf("login: %d %v", status, out)
	}
	return out["data"].(map[string]any)["token"].(string)
}

// TestFixtureStateIsWhatTheAPIServes: identities made through the fixture
// read back through the API, and the fixture reads back what the API did.
func TestFixtureStateIsWhatTheAPIServes(t *testing.T) {
	f := Start(t, At(epoch))
	c := client(t, f)
	tok := login(t, f, c)

	pending := f.CreateIdentity("laptop", "a@example.org", epoch.Add(time.Hour))
	expired := f.CreateIdentity("phone", "", epoch.Add(-time.Hour))
	enrolled := f.CreateIdentity("server", "", epoch.Add(time.Hour))
	f.Enroll(enrolled)
	f.AddAPISessions(enrolled, 2)
	f.AddAPISessionsVia(enrolled, "updb-elsewhere", 1)

	status, out := do(t, c, "GET", f.URL+apiPath+"/identities?filter="+strings.ReplaceAll(`name = "laptop"`, " ", "%20"), tok, "")
	data, _ := out["data"].([]any)
	if status != 200 || len(data) != 1 || data[0].(map[string]any)["id"] != pending {
		t.Fatalf("list laptop: %d %v", status, out)
	}
	for name, want := range map[string]Identity{
		"laptop": {ID: pending, Name: "laptop", Email: "a@example.org", Enrollment: &Enrollment{ExpiresAt: epoch.Add(time.Hour)}},
		"phone":  {ID: expired, Name: "phone", Enrollment: &Enrollment{ExpiresAt: epoch.Add(-time.Hour)}},
		"server": {ID: enrolled, Name: "server", Authenticators: 1, APISessions: 3},
	} {
		got, ok := f.IdentityByName(name)
		if !ok || got.ID != want.ID || got.Email != want.Email || got.Authenticators != want.Authenticators || got.APISessions != want.APISessions ||
			(got.Enrollment == nil) != (want.Enrollment == nil) || (got.Enrollment != nil && (!got.Enrollment.ExpiresAt.Equal(want.Enrollment.ExpiresAt) || got.Enrollment.JWT == "")) {
			t.Errorf("IdentityByName(%s) = %+v (%v), want %+v", name, got, ok, want)
		}
	}

	// A delete through the API shows in the fixture.
	got, _ := f.IdentityByName("laptop")
	if status, out := do(t, c, "DELETE", f.URL+apiPath+"/enrollments/"+got.Enrollment.ID, tok, ""); status != 200 {
		t.Fatalf("delete enrollment: %d %v", status, out)
	}
	if got, _ := f.IdentityByName("laptop"); got.Enrollment != nil {
		t.Errorf("after DELETE /enrollments: %+v, want no enrollment", got)
	}
	if _, ok := f.IdentityByName("nobody"); ok {
		t.Error("IdentityByName(nobody) found someone")
	}
	if n := len(f.Requests()); n != 3 {
		t.Errorf("%d requests logged, want 3", n)
	}
}

// TestViolationsAreReported: a request off the spec reaches the test as an
// error, over TLS and over plain HTTP alike.
func TestViolationsAreReported(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run(fmt.Sprintf("plain=%v", plain), func(t *testing.T) {
			rec := &recordingTB{TB: t}
			var opts []Option
			if plain {
				opts = append(opts, PlainHTTP())
			}
			f := Start(rec, opts...)
			if plain != strings.HasPrefix(f.URL, "http://") {
				t.Fatalf("URL %s", f.URL)
			}
			c := client(t, f)
			tok := login(t, f, c)
			if got := rec.complaints(); got != "" {
				t.Fatalf("a valid login was reported: %s", got)
			}
			do(t, c, "POST", f.URL+apiPath+"/enrollments", tok, `{"method":"carrier-pigeon","identityId":"x","expiresAt":"2031-04-01T00:00:00Z"}`)
			if got := rec.complaints(); !strings.Contains(got, "breaks the spec") || !strings.Contains(got, "method") {
				t.Errorf("an enrollment by carrier pigeon: the fake said %q", got)
			}
			do(t, c, "GET", f.URL+apiPath+"/no-such-endpoint", tok, "")
			if got := rec.complaints(); !strings.Contains(got, "not in the spec") {
				t.Errorf("an unknown endpoint: the fake said %q", got)
			}
		})
	}
}

func TestWallClockAdvances(t *testing.T) {
	f := Start(t)
	before := time.Now()
	f.Advance(48 * time.Hour)
	if now := f.Now(); now.Before(before.Add(48*time.Hour)) || now.After(time.Now().Add(49*time.Hour)) {
		t.Errorf("Now after Advance(48h) = %v, want about %v", now, before.Add(48*time.Hour))
	}
}

func TestParseQuery(t *testing.T) {
	q, err := ParseQuery(`(name icontains "a\"b" or tags.email icontains "x") and not isAdmin = true sort by name asc, id desc skip 5 limit 10`)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Sort) != 2 || q.Sort[1] != (SortKey{Field: "id", Desc: true}) || *q.Skip != 5 || *q.Limit != 10 {
		t.Errorf("sort %v skip %v limit %v", q.Sort, q.Skip, q.Limit)
	}
	match, err := q.Eval(func(s string) (any, bool) {
		return map[string]any{"name": `xA"By`, "tags.email": nil, "isAdmin": false}[s], true
	})
	if err != nil || !match {
		t.Errorf("Eval: %v, %v; want a match", match, err)
	}
	for _, bad := range []string{`name = "unterminated`, `name = "a\qb"`, "name ~ 1", `name in "x"`} {
		if _, err := ParseQuery(bad); err == nil {
			t.Errorf("ParseQuery(%q) parsed", bad)
		}
	}
}
