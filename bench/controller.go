package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idcon/idcon/backend/openziti"
	"github.com/idcon/idcon/backend/openziti/zitifake"
	"github.com/idcon/idcon/model"
)

// Figure 8: a state filter on an OpenZiti controller (the fake one, with
// the recorded answer shapes) of cfg.Identities identities: the first page
// of each state, one after the other as an admin flipping through them
// would ask, the first one reading the state map (statefilter.go).

// controllerMethod says how figure 8 is taken (appended to the method).
const controllerMethod = `
### 8. State filters on a controller

The fake OpenZiti controller (backend/openziti/zitifake, answers in the shapes recorded from v2.0.3, spec
checks off) holds the network's size in identities: 30 % pending, 20 % expired, 30 % enrolled (a tenth of
them with a token beside the certificate), 20 % none. The openziti client asks, one after the other, for
the first page (50) of pending, expired, enrolled and none; the figure is the slowest of the four (the
first, which reads every enrollment and authenticator into the state map, 500 a page; the others reuse
it after two limit=1 requests). The requests each page sent and its time are in the figure's cell.
Baseline: what the client did before, reading every identity (500 a page, sorted by name) to filter them
itself; it refused past 10,000 identities, so here it is timed as plain requests.
`

func init() {
	whyMissed["8"] = "The first state page reads every enrollment and authenticator (about 150 requests of 500 at " +
		"100,000 identities), and the fake controller builds and sorts its whole list on each of them; the pages " +
		"after it reuse the map."
}

// controller is figure 8.
func (r *runner) controller() (row, error) {
	n := r.size
	r.logf("controller: seeding %s identities on the fake controller", r.n())
	tb := newBenchTB()
	defer tb.cleanup()
	var out row
	err := tb.run(func() error {
		f := zitifake.Start(tb, zitifake.Unchecked(), zitifake.AdminUnlisted())
		now := f.Now()
		rng := rand.New(rand.NewPCG(8, uint64(n)))
		specs := make([]zitifake.Seeded, n)
		perm := rng.Perm(n) // names in an order that isn't the creation order
		for i := range specs {
			s := zitifake.Seeded{Name: fmt.Sprintf("device-%07d", perm[i])}
			if i%5 == 0 {
				s.Email = fmt.Sprintf("owner%d@example.org", i%1000)
			}
			switch p := i % 10; {
			case p < 3:
				s.ExpiresAt = now.Add(time.Duration(1+rng.IntN(24*14)) * time.Hour)
			case p < 5:
				s.ExpiresAt = now.Add(-time.Duration(1+rng.IntN(24*14)) * time.Hour)
			case p < 8:
				s.Certs = 1
				if i%100 == 5 {
					s.ExpiresAt = now.Add(72 * time.Hour)
				}
			}
			specs[i] = s
		}
		f.Seed(specs)
		c, err := openziti.New(openziti.Config{Name: "bench-ziti", Controller: f.URL, PinnedCA: f.CAPEM,
			Username: f.Username, Password: f.Password, Timeout: 10 * time.Minute})
		if err != nil {
			return err
		}
		defer c.Close()
		var parts []string
		slowest := 0.0
		for _, st := range []model.State{model.StatePending, model.StateExpired, model.StateEnrolled, model.StateNone} {
			before := len(f.Requests())
			t0 := time.Now()
			page, err := c.Identities(r.ctx, c.NetworkID(), model.ListQuery{State: st, Limit: 50})
			if err != nil {
				return fmt.Errorf("the first page of %s: %v", st, err)
			}
			d := time.Since(t0).Seconds()
			reqs := len(f.Requests()) - before
			r.logf("controller: first page of %s: %d of %d, %d requests, %s", st, len(page.Items), page.Total, reqs, unitTime.format(d))
			parts = append(parts, fmt.Sprintf("%s %s/%d req", st, unitTime.format(d), reqs))
			slowest = max(slowest, d)
		}
		r.logf("controller: the old way, every identity read")
		base, pages, err := readEveryIdentity(r.ctx, f)
		if err != nil {
			return err
		}
		out = row{id: "8", figure: fmt.Sprintf("State filter on a controller (fake) of %s identities: slowest first page (%s)", r.n(), strings.Join(parts, ", ")),
			unit: unitTime, ours: slowest, base: base,
			baseNote: fmt.Sprintf("every identity read, 500 a page (%d requests), as before (refused past 10,000)", pages),
			target:   2 * max(1, float64(n)/100_000)}
		return nil
	})
	return out, err
}

// readEveryIdentity times what the client did before for a state filter:
// every identity read, 500 a page, in name order. It says how many
// requests that took.
func readEveryIdentity(ctx context.Context, f *zitifake.Controller) (float64, int, error) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(f.CAPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer hc.CloseIdleConnections()
	base := f.URL + "/edge/management/v1"
	body, _ := json.Marshal(map[string]string{"username": f.Username, "password": f.Password})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/authenticate?method=password", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, 0, err
	}
	var login struct {
		Data struct{ Token string } `json:"data"`
	}
	err = json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	if err != nil || login.Data.Token == "" {
		return 0, 0, fmt.Errorf("logging in to the fake controller: %v", err)
	}
	t0 := time.Now()
	pages := 0
	for offset := 0; ; offset += 500 {
		q := url.Values{"limit": {"500"}, "offset": {strconv.Itoa(offset)}, "filter": {"sort by name asc, id asc"}}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/identities?"+q.Encode(), nil)
		req.Header.Set("zt-session", login.Data.Token)
		resp, err := hc.Do(req)
		if err != nil {
			return 0, 0, err
		}
		var page struct {
			Data []json.RawMessage `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			return 0, 0, err
		}
		pages++
		if len(page.Data) < 500 {
			break
		}
	}
	return time.Since(t0).Seconds(), pages, nil
}

// benchTB is the testing.TB the fake controller reports through, outside
// a test: an error or a fatal ends the figure with it.
type benchTB struct {
	testing.TB // never called: every method the fake uses is below
	mu         sync.Mutex
	errs       []string
	cleanups   []func()
	dirs       []string
}

func newBenchTB() *benchTB { return &benchTB{} }

type benchFatal struct{ msg string }

func (t *benchTB) Helper() {}
func (t *benchTB) Errorf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.errs = append(t.errs, fmt.Sprintf(format, args...))
}
func (t *benchTB) Error(args ...any) { t.Errorf("%s", fmt.Sprint(args...)) }
func (t *benchTB) Fatalf(format string, args ...any) {
	panic(benchFatal{fmt.Sprintf(format, args...)})
}
func (t *benchTB) Fatal(args ...any)            { panic(benchFatal{fmt.Sprint(args...)}) }
func (t *benchTB) Logf(format string, a ...any) {}
func (t *benchTB) Cleanup(fn func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, fn)
}
func (t *benchTB) TempDir() string {
	dir, err := os.MkdirTemp("", "idcon-bench-ziti-")
	if err != nil {
		panic(benchFatal{err.Error()})
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.dirs = append(t.dirs, dir)
	return dir
}
func (t *benchTB) Context() context.Context { return context.Background() }

func (t *benchTB) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
	for _, d := range t.dirs {
		os.RemoveAll(d)
	}
}

// run calls fn, turning the fake's fatal reports into an error, and its
// errors too.
func (t *benchTB) run(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			f, ok := p.(benchFatal)
			if !ok {
				panic(p)
			}
			err = fmt.Errorf("the fake controller: %s", f.msg)
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		if err == nil && len(t.errs) > 0 {
			err = fmt.Errorf("the fake controller: %s", strings.Join(t.errs, "; "))
		}
	}()
	return fn()
}
