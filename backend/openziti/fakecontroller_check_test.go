package openziti

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idcon/idcon/backend/openziti/zitifake"
	"github.com/idcon/idcon/model"
)

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

// TestFakeRejectsRequestsThatBreakTheSpec shows the fake's validation has
// teeth: requests off the spec are reported.
func TestFakeRejectsRequestsThatBreakTheSpec(t *testing.T) {
	rec := &recordingTB{TB: t}
	f := zitifake.Start(rec, zitifake.At(testEpoch))
	c, err := New(configFor(f))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := t.Context()
	bad := []struct {
		method, path string
		body         any
		want         string
	}{
		{http.MethodPost, "/enrollments", map[string]string{"method": "carrier-pigeon", "identityId": "x", "expiresAt": "2031-04-01T00:00:00Z"}, "method"},
		{http.MethodPost, "/enrollments/x/refresh", map[string]string{"expiresAt": "next tuesday"}, "expiresAt"},
		{http.MethodPost, "/identities", map[string]any{"name": "n", "type": "Robot", "isAdmin": false}, "type"},
		{http.MethodGet, "/no-such-endpoint", nil, "not in the spec"},
	}
	for _, b := range bad {
		rec.mu.Lock()
		rec.errs = nil
		rec.mu.Unlock()
		_ = c.call(ctx, b.method, b.path, nil, b.body, nil)
		rec.mu.Lock()
		got := strings.Join(rec.errs, "\n")
		rec.mu.Unlock()
		if !strings.Contains(got, "breaks the spec") && !strings.Contains(got, "not in the spec") || !strings.Contains(got, b.want) {
			t.Errorf("%s %s with %v: the fake said %q, want a spec violation about %s", b.method, b.path, b.body, got, b.want)
		}
	}
}

// TestResetDropsEverySession: sessions the re-enroll doesn't end itself
// (those from another authenticator) are deleted one by one.
func TestResetDropsEverySession(t *testing.T) {
	// Sessions of a login the fake doesn't know can only be deleted with a
	// legacy zt-session (DELETE /api-sessions/{id} refuses a Bearer): a
	// controller without OIDC.
	f := zitifake.Start(t, zitifake.At(testEpoch), zitifake.AdminUnlisted(), zitifake.LegacyOnly())
	c, err := New(configFor(f))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx := t.Context()
	tok, err := c.CreateIdentity(ctx, c.NetworkID(), model.NewIdentity{Name: "laptop", Email: "a@example.org", ExpiresAt: testEpoch.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	id := tok.Identity.ID
	f.Enroll(id)
	f.AddAPISessions(id, 2)
	f.AddAPISessionsVia(id, "updb-of-another-login", 3)
	got, err := c.Identity(ctx, c.NetworkID(), id)
	if err != nil || got.ActiveSessions != 5 || got.EnrolledAt.IsZero() {
		t.Fatalf("before reset: %+v, %v; want 5 sessions and EnrolledAt", got, err)
	}
	rt, err := c.ResetEnrollment(ctx, c.NetworkID(), id, got.Revision, testEpoch.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rt.SessionsDropped != 5 || rt.Identity.ActiveSessions != 0 {
		t.Errorf("reset: dropped %d, %d left; want 5 dropped, none left", rt.SessionsDropped, rt.Identity.ActiveSessions)
	}
	deletes := 0
	for _, r := range f.Requests() {
		if strings.HasPrefix(r, "DELETE "+apiPath+"/api-sessions/") {
			deletes++
		}
	}
	if deletes != 3 {
		t.Errorf("%d API sessions deleted explicitly, want the 3 the re-enroll left", deletes)
	}
	// (Enrollment records carry no times on a real controller: the new
	// token's expiry is what there is to check.)
	if rt.Identity.Email != "a@example.org" || rt.Identity.Enrollment == nil || !rt.Identity.Enrollment.ExpiresAt.Equal(testEpoch.Add(24*time.Hour)) {
		t.Errorf("after reset: email %q, enrollment %+v", rt.Identity.Email, rt.Identity.Enrollment)
	}
}
