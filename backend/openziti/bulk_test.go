package openziti

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/openziti/zitifake"
	"github.com/idcon/idcon/model"
)

// pushback is a TLS proxy in front of a fake controller that counts the
// requests under way at once and answers some with 429 or 503 itself
// (the fake never sees those), as a controller's rate limiter and API
// timeout do.
type pushback struct {
	URL            string
	inFlight, most atomic.Int32
	mu             sync.Mutex
	// refuse, when set, says what to answer a request with instead of
	// passing it on (0: pass it on).
	refuse func(r *http.Request, n int) int
	n      int
	hits   int
	delay  time.Duration
	// body503 is the body of a 503 (default: the API's TIMEOUT); a
	// refuse answer of -1 means a 503 with it.
	body503 string
	// hold, when set, is called first with each request (outside mu): a
	// test holds a request back by not returning.
	hold func(r *http.Request)
}

func newPushback(t *testing.T, f *zitifake.Controller) *pushback {
	t.Helper()
	target, _ := url.Parse(f.URL)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(f.CAPEM)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	direct := rp.Director
	rp.Director = func(r *http.Request) {
		direct(r)
		r.Host = target.Host // the fake checks requests against a spec served at its own address
	}
	p := &pushback{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.hold != nil {
			p.hold(r)
		}
		now := p.inFlight.Add(1)
		defer p.inFlight.Add(-1)
		for {
			m := p.most.Load()
			if now <= m || p.most.CompareAndSwap(m, now) {
				break
			}
		}
		time.Sleep(p.delay)
		p.mu.Lock()
		p.n++
		status := 0
		if p.refuse != nil {
			status = p.refuse(r, p.n)
		}
		if status != 0 {
			p.hits++
		}
		body503 := p.body503
		p.mu.Unlock()
		if body503 == "" {
			body503 = `{"error":{"code":"TIMEOUT","message":"The requested operation took too much time to reply"},"meta":{}}`
		}
		if status == -1 {
			status = http.StatusServiceUnavailable
		}
		switch status {
		case http.StatusTooManyRequests:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprint(w, `{"error":{"code":"SERVER_TOO_MANY_REQUESTS","message":"Too many requests to alter state have been issued. Please slow your request rate or try again later."},"meta":{}}`)
			return
		case http.StatusServiceUnavailable:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprint(w, body503)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	srv.TLS = f.TLSConfig()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// enrolledFleet makes n enrolled identities (one certificate each) named
// bulk-NNN and returns their IDs.
func enrolledFleet(f *zitifake.Controller, n int) []string {
	specs := make([]zitifake.Seeded, n)
	for i := range specs {
		specs[i] = zitifake.Seeded{Name: fmt.Sprintf("bulk-%03d", i), Certs: 1}
	}
	return f.Seed(specs)
}

// resetOnFake says whether the fake holds the identity as a reset leaves
// it: a new one-time token and no credential.
func resetOnFake(t *testing.T, f *zitifake.Controller, name string) bool {
	t.Helper()
	x, ok := f.IdentityByName(name)
	if !ok {
		t.Fatalf("%s is gone", name)
	}
	return x.Enrollment != nil && x.Authenticators == 0
}

func bulkClient(t *testing.T, f *zitifake.Controller, via string) *Client {
	t.Helper()
	cfg := configFor(f)
	cfg.Controller = via
	cfg.Timeout = time.Minute
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The bulk runs a few identities at once, never more than bulkInFlight
// requests under way, and resets every one.
func TestBulkResetOverlapsBounded(t *testing.T) {
	f := zitifake.Start(t, zitifake.At(testEpoch))
	enrolledFleet(f, 24)
	p := newPushback(t, f)
	p.delay = 3 * time.Millisecond // so that requests overlap whenever they can
	c := bulkClient(t, f, p.URL)
	var got []string
	err := c.BulkApply(t.Context(), c.NetworkID(), backend.Selection{All: true, Filter: "bulk-"}, model.ActionReset, f.Now().Add(48*time.Hour),
		func(r backend.BulkResult) bool {
			if r.Err != nil {
				t.Errorf("%s: %v", r.Identity.Name, r.Err)
			}
			got = append(got, r.Identity.Name)
			return true
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 24 {
		t.Errorf("%d reported, want 24", len(got))
	}
	for i := range 24 {
		if name := fmt.Sprintf("bulk-%03d", i); !resetOnFake(t, f, name) {
			t.Errorf("%s was not reset on the controller", name)
		}
	}
	if m := p.most.Load(); m > 4 || m < 2 { // "a few in flight" (issue 27)
		t.Errorf("at most %d requests were under way at once; want 2 to 4", m)
	}
}

// A 429 on writes and a 503 on reads slow the run down; none fails it.
func TestBulkResetSlowsOnPushback(t *testing.T) {
	f := zitifake.Start(t, zitifake.At(testEpoch))
	enrolledFleet(f, 12)
	p := newPushback(t, f)
	p.refuse = func(r *http.Request, n int) int {
		switch {
		case r.Method != http.MethodGet && strings.Contains(r.URL.Path, "re-enroll") && n%3 == 0:
			return http.StatusTooManyRequests
		case r.Method == http.MethodGet && n%7 == 0:
			return http.StatusServiceUnavailable
		}
		return 0
	}
	c := bulkClient(t, f, p.URL)
	c.rateWait = 5 * time.Millisecond // the back-off's shape, not its length, is under test
	done := 0
	err := c.BulkApply(t.Context(), c.NetworkID(), backend.Selection{All: true, Filter: "bulk-"}, model.ActionReset, f.Now().Add(48*time.Hour),
		func(r backend.BulkResult) bool {
			if r.Err != nil {
				t.Errorf("%s failed: %v", r.Identity.Name, r.Err)
			} else {
				done++
			}
			return true
		})
	if err != nil {
		t.Fatal(err)
	}
	if done != 12 {
		t.Errorf("%d reset, want 12", done)
	}
	for i := range 12 {
		if name := fmt.Sprintf("bulk-%03d", i); !resetOnFake(t, f, name) {
			t.Errorf("%s was not reset on the controller", name)
		}
	}
	if p.hits == 0 {
		t.Fatal("the proxy refused nothing: the test tests nothing")
	}
	if m := p.most.Load(); m > bulkInFlight {
		t.Errorf("%d requests were under way at once; want at most %d", m, bulkInFlight)
	}
}

// Issue 27, item 2 (the controller side): a bulk cancelled when N
// identities have been reported ends having changed at most N+50 on the
// controller, and every identity changed was reported.
func TestBulkCancelStopsWithinFifty(t *testing.T) {
	f := zitifake.Start(t, zitifake.At(testEpoch))
	const total, at = 200, 30
	enrolledFleet(f, total)
	c := bulkClient(t, f, f.URL)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	reported := map[string]bool{}
	pressedAt := 0
	err := c.BulkApply(ctx, c.NetworkID(), backend.Selection{All: true, Filter: "bulk-"}, model.ActionReset, f.Now().Add(48*time.Hour),
		func(r backend.BulkResult) bool {
			if r.Err != nil {
				t.Errorf("%s: %v", r.Identity.Name, r.Err)
			}
			reported[r.Identity.Name] = true
			if len(reported) == at {
				pressedAt = len(reported)
				cancel() // the press, mid-run
			}
			return true
		})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("BulkApply: %v, want a cancellation", err)
	}
	changed := 0
	for i := range total {
		name := fmt.Sprintf("bulk-%03d", i)
		if resetOnFake(t, f, name) {
			changed++
			if !reported[name] {
				t.Errorf("%s was reset on the controller but never reported", name)
			}
		} else if reported[name] {
			t.Errorf("%s was reported but is not reset on the controller", name)
		}
	}
	if changed > pressedAt+50 || changed < pressedAt {
		t.Errorf("cancelled at %d, changed %d: want %d to %d", pressedAt, changed, pressedAt, pressedAt+50)
	}
	if changed == total {
		t.Errorf("every identity was reset: the cancel stopped nothing")
	}
}

// A 503 CLUSTER_NO_LEADER (a cluster without quorum, as recorded in
// zitifake/testdata/ha-v2.0.3/02-failure.json) is not the controller
// asking to be asked more slowly: the bulk stops with it at once, no
// request it refused is sent again, and it is not reported as a pushback.
func TestBulkNoLeaderIsNotPushback(t *testing.T) {
	for _, tc := range []struct {
		name  string
		which func(r *http.Request) bool
		sel   func(ids []string) backend.Selection
	}{
		{"writes", func(r *http.Request) bool {
			return r.Method != http.MethodGet && !strings.HasSuffix(r.URL.Path, "/authenticate")
		},
			func([]string) backend.Selection { return backend.Selection{All: true, Filter: "bulk-"} }},
		{"reads of one identity", func(r *http.Request) bool {
			return r.Method == http.MethodGet && strings.Count(strings.TrimPrefix(r.URL.Path, "/edge/management/v1/"), "/") == 1 && strings.HasPrefix(r.URL.Path, "/edge/management/v1/identities/")
		}, func(ids []string) backend.Selection { return backend.Selection{IDs: ids} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := zitifake.Start(t, zitifake.At(testEpoch))
			ids := enrolledFleet(f, 12)
			p := newPushback(t, f)
			refused := map[string]int{}
			p.refuse = func(r *http.Request, n int) int {
				if tc.which(r) {
					refused[r.Method+" "+r.URL.Path]++
					return -1
				}
				return 0
			}
			p.body503 = `{"error":{"code":"CLUSTER_NO_LEADER","message":"Cluster has no leader, unable to make model updates."},"meta":{}}`
			c := bulkClient(t, f, p.URL)
			c.rateWait = 5 * time.Millisecond
			err := c.BulkApply(t.Context(), c.NetworkID(), tc.sel(ids), model.ActionReset, f.Now().Add(48*time.Hour),
				func(r backend.BulkResult) bool { return true })
			if !errors.Is(err, backend.ErrUnavailable) || !strings.Contains(err.Error(), "CLUSTER_NO_LEADER") {
				t.Fatalf("BulkApply: %v; want the controller's CLUSTER_NO_LEADER", err)
			}
			if pushedBack(err) {
				t.Errorf("%v counts as a pushback", err)
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			if len(refused) == 0 {
				t.Fatal("the proxy refused nothing: the test tests nothing")
			}
			for req, n := range refused {
				if n > 1 {
					t.Errorf("%s was sent %d times after a 503 CLUSTER_NO_LEADER; want once", req, n)
				}
			}
			if len(refused) > bulkInFlight {
				t.Errorf("%d requests refused; want the run stopped after at most %d (those under way)", len(refused), bulkInFlight)
			}
		})
	}
}
