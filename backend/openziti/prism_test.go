package openziti

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idcon/idcon/backend/openziti/zitifake"
	"github.com/idcon/idcon/model"
)

// prismBinary finds Prism: $IDCON_PRISM, else the repo's .tools install
// (npm install --prefix .tools @stoplight/prism-cli@5.16.0).
func prismBinary(t *testing.T) string {
	if p := os.Getenv("IDCON_PRISM"); p != "" {
		return p
	}
	p, err := filepath.Abs("../../.tools/node_modules/.bin/prism")
	if err == nil {
		if _, err = os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("Prism is missing (%v): CI must install it with npm install --prefix .tools @stoplight/prism-cli@5.16.0", err)
	}
	t.Skipf("Prism is missing (%v): install it with npm install --prefix .tools @stoplight/prism-cli@5.16.0, or set IDCON_PRISM", err)
	return ""
}

// startPrism runs `prism mock` on a free loopback port with the spec and
// returns its address once it accepts connections.
func startPrism(t *testing.T) string {
	bin := prismBinary(t)
	dir, err := zitifake.SpecDir()
	if err != nil {
		t.Fatal(err)
	}
	spec, err := filepath.Abs(filepath.Join(dir, "management-prism.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(spec); err != nil {
		t.Fatalf("the Prism spec is missing: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	var out syncBuffer
	cmd := exec.Command(bin, "mock", "-h", "127.0.0.1", "-p", port, spec)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start Prism: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("Prism's output:\n%s", out.String())
		}
	})
	addr := net.JoinHostPort("127.0.0.1", port)
	deadline := time.Now().Add(2 * time.Minute) // a bound on start-up, not a timing assertion
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prism did not start listening on %s:\n%s", addr, out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// violationCheck fails the test for every request Prism found in breach of
// the spec (its sl-violations header, location "request"...) or refused
// (422). Response violations are the spec's own examples' and are ignored.
type violationCheck struct {
	next       http.RoundTripper
	mu         sync.Mutex
	seen       []string
	violations []string
}

func (v *violationCheck) violate(format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.violations = append(v.violations, fmt.Sprintf(format, args...))
}

func (v *violationCheck) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := v.next.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	what := r.Method + " " + r.URL.RequestURI()
	v.mu.Lock()
	v.seen = append(v.seen, what)
	v.mu.Unlock()
	if resp.StatusCode == http.StatusUnprocessableEntity {
		v.violate("Prism refused %s with 422", what)
	}
	if h := resp.Header.Get("sl-violations"); h != "" {
		var vs []struct {
			Location []string `json:"location"`
			Message  string   `json:"message"`
		}
		if err := json.Unmarshal([]byte(h), &vs); err != nil {
			v.violate("%s: unreadable sl-violations header: %v", what, err)
		}
		for _, x := range vs {
			// The spec's subTags says "object" for each tag's value while
			// its tags description (and every controller) takes strings,
			// booleans and null: the email and idconRevision tags are
			// strings.
			if len(x.Location) == 4 && x.Location[1] == "body" && x.Location[2] == "tags" && strings.Contains(x.Message, "must be object") {
				continue
			}
			if len(x.Location) > 0 && x.Location[0] == "request" {
				v.violate("Prism: %s breaks the spec: %s (%v)", what, x.Message, x.Location)
			}
		}
	}
	return resp, nil
}

func (v *violationCheck) sent(method, path string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, s := range v.seen {
		u, _ := url.Parse(s[len(method)+1:])
		if len(s) > len(method) && s[:len(method)] == method && u != nil && u.Path == apiPath+path {
			return true
		}
	}
	return false
}

// prismClient is a client for Prism whose clock makes the spec's example
// identity (its token expires 2019-08-24T14:15:22Z) pending or expired.
func prismClient(t *testing.T, base string, now time.Time) (*Client, *violationCheck) {
	c, err := New(Config{Name: "prism", Controller: base, Username: "admin", Password: "secret", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	v := &violationCheck{next: c.http.Transport}
	c.http.Transport = v
	t.Cleanup(func() {
		for _, x := range v.violations {
			t.Error(x)
		}
	})
	return c, v
}

// TestPrismContract sends idcon's requests to Prism serving the official
// spec: every one must pass Prism's validation, and idcon must read Prism's
// example answers without error.
func TestPrismContract(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prism")
	}
	base := startPrism(t)
	ctx := t.Context()
	pendingAt := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
	expiredAt := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

	t.Run("listing and detail", func(t *testing.T) {
		c, v := prismClient(t, base, pendingAt)
		nets, err := c.Networks(ctx)
		if err != nil || len(nets) != 1 || nets[0].Status != "" {
			t.Fatalf("Networks: %+v, %v", nets, err)
		}
		p, err := c.Identities(ctx, c.NetworkID(), model.ListQuery{Filter: `ali "x" \ y`, Sort: model.SortCreated, Desc: true, Offset: 10, Limit: 25})
		if err != nil {
			t.Fatalf("Identities: %v", err)
		}
		if len(p.Items) == 0 || p.Items[0].ID == "" {
			t.Fatalf("Identities read %d items from Prism's example", len(p.Items))
		}
		if _, err := c.Identities(ctx, c.NetworkID(), model.ListQuery{State: model.StatePending, Sort: model.SortExpires}); err != nil {
			t.Fatalf("Identities by state: %v", err)
		}
		id, err := c.Identity(ctx, c.NetworkID(), p.Items[0].ID)
		if err != nil {
			t.Fatalf("Identity: %v", err)
		}
		if id.Enrollment == nil || !id.HasCredential || id.Revision <= 0 {
			t.Errorf("Identity from Prism's example: %+v", id)
		}
		if _, err := c.IdentityByName(ctx, c.NetworkID(), id.Name); err != nil {
			t.Errorf("IdentityByName: %v", err)
		}
		if _, err := c.TokenJWT(ctx, c.NetworkID(), id.ID); err != nil {
			t.Errorf("TokenJWT: %v", err)
		}
		// (Enrollments are read from identityDetail, which holds them all:
		// one of each method at most.)
		for _, p := range []string{"/authenticate", "/identities", "/authenticators", "/api-sessions"} {
			if !v.sent("GET", p) && !v.sent("POST", p) {
				t.Errorf("no request to %s was checked", p)
			}
		}
	})

	t.Run("delete", func(t *testing.T) {
		c, v := prismClient(t, base, pendingAt)
		id, err := c.Identity(ctx, c.NetworkID(), "some-id")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.DeleteEnrollment(ctx, c.NetworkID(), id.ID, id.Revision); err != nil {
			t.Fatalf("DeleteEnrollment: %v", err)
		}
		if !v.sent("DELETE", "/enrollments/"+id.Enrollment.ID) || !v.sent("PATCH", "/identities/"+id.ID) {
			t.Errorf("delete sent %v", v.seen)
		}
	})

	t.Run("reissue", func(t *testing.T) {
		c, v := prismClient(t, base, expiredAt)
		id, err := c.Identity(ctx, c.NetworkID(), "some-id")
		if err != nil {
			t.Fatal(err)
		}
		// The example identity has a credential beside its token, which
		// makes it enrolled (the credential decides), so ReissueEnrollment
		// refuses it; send its requests directly.
		if err := c.refreshEnrollment(ctx, id.Enrollment.ID, expiredAt.Add(7*24*time.Hour)); err != nil {
			t.Fatalf("refresh: %v", err)
		}
		// (Prism answers the PATCH with one of its example errors; what
		// matters here is that the request passes its validation.)
		_ = c.writeRevision(ctx, id.ID)
		if !v.sent("POST", "/enrollments/"+id.Enrollment.ID+"/refresh") || !v.sent("PATCH", "/identities/"+id.ID) {
			t.Errorf("reissue sent %v", v.seen)
		}
	})

	t.Run("reset", func(t *testing.T) {
		// The example identity always has a token, so ResetEnrollment
		// refuses it before sending anything; send its requests directly.
		c, v := prismClient(t, base, pendingAt)
		exp := pendingAt.Add(7 * 24 * time.Hour)
		if err := c.reEnroll(ctx, "auth-id", exp); err != nil {
			t.Fatalf("re-enroll: %v", err)
		}
		f, err := identityRefFilter("some-id")
		if err != nil {
			t.Fatal(err)
		}
		var page listEnvelope[subRecord]
		if err := c.call(ctx, http.MethodGet, "/api-sessions", url.Values{"filter": {f}, "limit": {"500"}}, nil, &page); err != nil {
			t.Fatalf("list API sessions: %v", err)
		}
		if err := c.call(ctx, http.MethodDelete, "/api-sessions/"+url.PathEscape(page.Data[0].ID), nil, nil, nil); err != nil {
			t.Fatalf("delete an API session: %v", err)
		}
		// The other steps of a reset (docs/CONTROLLERS.md): every
		// authenticator listed, the others deleted, the identity revoked.
		if _, err := c.authenticatorsOf(ctx, "some-id"); err != nil {
			t.Fatalf("list authenticators: %v", err)
		}
		if err := c.call(ctx, http.MethodDelete, "/authenticators/other-auth", nil, nil, nil); err != nil {
			t.Fatalf("delete an authenticator: %v", err)
		}
		if err := c.call(ctx, http.MethodPost, "/revocations", nil, map[string]string{"id": "some-id", "type": "IDENTITY"}, nil); err != nil {
			t.Fatalf("revoke: %v", err)
		}
		if !v.sent("POST", "/authenticators/auth-id/re-enroll") || !v.sent("DELETE", "/api-sessions/"+page.Data[0].ID) ||
			!v.sent("DELETE", "/authenticators/other-auth") || !v.sent("POST", "/revocations") {
			t.Errorf("reset sent %v", v.seen)
		}
	})

	t.Run("a request that breaks the spec is caught", func(t *testing.T) {
		c, v := prismClient(t, base, pendingAt)
		_ = c.call(ctx, http.MethodPost, "/enrollments/x/refresh", nil, map[string]string{"expiresAt": "next tuesday"}, nil)
		if len(v.violations) == 0 {
			t.Errorf("Prism took a refresh with expiresAt \"next tuesday\" without complaint: the check sees nothing")
		}
		v.violations = nil
	})
}
