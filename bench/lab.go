package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"github.com/idcon/idcon/backend/openziti/zitifake"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The real OpenZiti lab (ZITI_LAB, ../shared/lab/build.sh): figures 8's
// per-request costs are measured on it (recorded as
// backend/openziti/zitifake/testdata/latency-v2.0.3.json, which the fake
// controller models), and figure 10, the bulk reset on a controller, runs
// against it. Everything the bench makes there is named labPrefix… and
// deleted afterwards, whatever happens.

// labPrefix names the identities the bench makes on the shared lab.
const labPrefix = "pf-ctl-"

// labConn is a plain management-API connection to a controller (no idcon
// code in the way: what is timed is the controller).
type labConn struct {
	base, client string // management and client API roots
	hc           *http.Client
	token        string
}

// labAddr is the lab of ZITI_LAB: its address, CA file, ziti binary.
type labAddr struct {
	dir, url, caFile, ziti, user, password string
}

// findLab returns the lab ZITI_LAB names, or ok false when it is unset or
// not answering (then why says what to do).
func findLab() (l labAddr, ok bool, why string) {
	dir := os.Getenv("ZITI_LAB")
	if dir == "" {
		return l, false, "ZITI_LAB is not set"
	}
	l = labAddr{dir: dir, url: "https://127.0.0.1:1280", caFile: filepath.Join(dir, "qs", "pki", "root-ca", "certs", "root-ca.cert"),
		ziti: filepath.Join(dir, "bin", "ziti"), user: "admin", password: "admin123"}
	if _, err := os.Stat(l.ziti); err != nil {
		return l, false, fmt.Sprintf("ZITI_LAB=%s holds no bin/ziti", dir)
	}
	c, err := dialLab(context.Background(), l)
	if err != nil {
		return l, false, fmt.Sprintf("the lab controller at %s: %v (run %s/start-ctrl.sh)", l.url, err, dir)
	}
	c.close()
	return l, true, ""
}

func dialLab(ctx context.Context, l labAddr) (*labConn, error) {
	pem, err := os.ReadFile(l.caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c := &labConn{base: l.url + "/edge/management/v1", client: l.url + "/edge/client/v1",
		hc: &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 16}}}
	var login struct {
		Data struct{ Token string } `json:"data"`
	}
	if _, err := c.do(ctx, http.MethodPost, c.base+"/authenticate?method=password", "application/json",
		fmt.Sprintf(`{"username":%q,"password":%q}`, l.user, l.password), &login); err != nil {
		return nil, err
	}
	if login.Data.Token == "" {
		return nil, fmt.Errorf("the login gave no session")
	}
	c.token = login.Data.Token
	return c, nil
}

func (c *labConn) close() {
	if c.token != "" {
		_, _ = c.do(context.Background(), http.MethodDelete, c.base+"/current-api-session", "", "", nil)
	}
	c.hc.CloseIdleConnections()
}

// do sends one request and decodes a 2xx answer into out; it returns the
// answer's size.
func (c *labConn) do(ctx context.Context, method, u, ctype, body string, out any) (int, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.token != "" {
		req.Header.Set("zt-session", c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode/100 != 2 {
		return len(data), fmt.Errorf("%s %s: HTTP %d: %.300s", method, u, resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return len(data), fmt.Errorf("%s %s: %v", method, u, err)
		}
	}
	return len(data), nil
}

// get is a GET of path with query q.
func (c *labConn) get(ctx context.Context, path string, q url.Values, out any) (int, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
	}
	return c.do(ctx, http.MethodGet, u, "", "", out)
}

// labList is what the bench reads of a list answer.
type labList struct {
	Data []struct {
		ID         string `json:"id"`
		Name       string `json:"name"`
		IdentityID string `json:"identityId"`
		Method     string `json:"method"`
		Enrollment struct {
			OTT *struct {
				Token string `json:"token"`
			} `json:"ott"`
		} `json:"enrollment"`
	} `json:"data"`
	Meta struct {
		Pagination struct {
			TotalCount int `json:"totalCount"`
		} `json:"pagination"`
	} `json:"meta"`
}

// parallel runs fn(i) for i in [0, n) on width goroutines and returns the
// first error.
func parallel(n, width int, fn func(i int) error) error {
	var mu sync.Mutex
	var first error
	next := 0
	var wg sync.WaitGroup
	for range width {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil
				mu.Unlock()
				if i >= n || stop {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// seedLab makes n identities named labPrefix+tag+NNNNN with a one-time
// token each (48 h), and enrolls the first enrolled of them through the
// client API with a certificate, as `ziti edge enroll` does. It returns
// their IDs, the enrolled first.
func (c *labConn) seedLab(ctx context.Context, tag string, n, enrolled int) ([]string, error) {
	ids := make([]string, n)
	exp := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	err = parallel(n, 4, func(i int) error {
		name := fmt.Sprintf("%s%s%05d", labPrefix, tag, i)
		var created struct {
			Data struct{ ID string } `json:"data"`
		}
		body := fmt.Sprintf(`{"name":%q,"type":"Default","isAdmin":false,"tags":{"email":"%s@example.org"}}`, name, name)
		if _, err := c.do(ctx, http.MethodPost, c.base+"/identities", "application/json", body, &created); err != nil {
			return err
		}
		ids[i] = created.Data.ID
		var enr struct {
			Data struct{ ID string } `json:"data"`
		}
		body = fmt.Sprintf(`{"method":"ott","identityId":%q,"expiresAt":%q}`, created.Data.ID, exp)
		if _, err := c.do(ctx, http.MethodPost, c.base+"/enrollments", "application/json", body, &enr); err != nil {
			return err
		}
		if i >= enrolled {
			return nil
		}
		var e struct {
			Data struct{ Token string } `json:"data"`
		}
		if _, err := c.get(ctx, "/enrollments/"+enr.Data.ID, nil, &e); err != nil {
			return err
		}
		csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: name}}, key)
		if err != nil {
			return err
		}
		p := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}))
		_, err = c.do(ctx, http.MethodPost, c.client+"/enroll?method=ott&token="+url.QueryEscape(e.Data.Token), "application/x-pem-file", p, nil)
		return err
	})
	return ids, err
}

// cleanLab deletes every identity named labPrefix… (a run stopped half
// way leaves some; this runs before and after). It returns how many.
func (c *labConn) cleanLab(ctx context.Context) (int, error) {
	deleted := 0
	for {
		var page labList
		q := url.Values{"filter": {`name contains "` + labPrefix + `"`}, "limit": {"500"}}
		if _, err := c.get(ctx, "/identities", q, &page); err != nil {
			return deleted, err
		}
		var ids []string
		for _, d := range page.Data {
			if strings.HasPrefix(d.Name, labPrefix) {
				ids = append(ids, d.ID)
			}
		}
		if len(ids) == 0 {
			return deleted, nil
		}
		err := parallel(len(ids), 4, func(i int) error {
			_, err := c.do(ctx, http.MethodDelete, c.base+"/identities/"+ids[i], "", "", nil)
			return err
		})
		if err != nil {
			return deleted, err
		}
		deleted += len(ids)
	}
}

// labLatency is the recorded per-request cost of a real controller, the
// fake's own type: written to
// backend/openziti/zitifake/testdata/latency-v2.0.3.json, which
// zitifake.RecordedLatency reads.
type (
	labLatency = zitifake.Latency
	labRequest = zitifake.LatencyRequest
)

// measureLatency times each kind of request the state filter makes,
// samples times each, one at a time, and 500-identity pages at inFlight
// at once.
func (c *labConn) measureLatency(ctx context.Context, samples int, logf func(string, ...any)) (labLatency, error) {
	out := labLatency{Requests: map[string]labRequest{}, InFlight: 4}
	var ver struct {
		Data struct{ Version, Revision string } `json:"data"`
	}
	if _, err := c.get(ctx, "/version", nil, &ver); err != nil {
		return out, err
	}
	out.Controller = ver.Data.Version + " (" + ver.Data.Revision + ")"
	count := func(path string) (int, error) {
		var p labList
		_, err := c.get(ctx, path, url.Values{"limit": {"1"}}, &p)
		return p.Meta.Pagination.TotalCount, err
	}
	var err error
	if out.Identities, err = count("/identities"); err != nil {
		return out, err
	}
	if out.Enrollments, err = count("/enrollments"); err != nil {
		return out, err
	}
	if out.Authenticators, err = count("/authenticators"); err != nil {
		return out, err
	}
	// 200 identity IDs for the id in [...] requests.
	var some labList
	if _, err := c.get(ctx, "/identities", url.Values{"filter": {`name contains "` + labPrefix + `" sort by id asc`}, "limit": {"500"}}, &some); err != nil {
		return out, err
	}
	var lits []string
	for i, d := range some.Data {
		if i%2 == 0 && len(lits) < 200 {
			lits = append(lits, strconv.Quote(d.ID))
		}
	}
	inIDs := "id in [" + strings.Join(lits, ", ") + "]"
	type kind struct {
		name, path string
		q          func(i int) url.Values
	}
	page := func(filter string) func(int) url.Values {
		return func(int) url.Values { return url.Values{"filter": {filter}, "limit": {"500"}} }
	}
	kinds := []kind{
		{"identities-500", "/identities", func(i int) url.Values {
			off := (i * 500) % max(1, out.Identities-500)
			return url.Values{"filter": {"sort by name asc, id asc"}, "limit": {"500"}, "offset": {strconv.Itoa(off)}}
		}},
		{"enrollments-500", "/enrollments", page("sort by id asc")},
		{"authenticators-500", "/authenticators", page("sort by id asc")},
		{"identities-in-200", "/identities", func(int) url.Values { return url.Values{"filter": {inIDs}, "limit": {"500"}} }},
		{"identities-1", "/identities", func(int) url.Values { return url.Values{"limit": {"1"}} }},
		{"enrollments-1", "/enrollments", func(int) url.Values { return url.Values{"limit": {"1"}} }},
		{"authenticators-1", "/authenticators", func(int) url.Values { return url.Values{"limit": {"1"}} }},
	}
	for _, k := range kinds {
		var ds []float64
		rows, size := 0, 0
		for i := range samples + 2 {
			var p labList
			t0 := time.Now()
			n, err := c.get(ctx, k.path, k.q(i), &p)
			d := time.Since(t0).Seconds() * 1e3
			if err != nil {
				return out, err
			}
			if i >= 2 { // the first two warm the connection and the caches
				ds = append(ds, d)
			}
			rows, size = len(p.Data), n
		}
		slices.Sort(ds)
		r := labRequest{Request: "GET " + k.path + "?" + strings.ReplaceAll(k.q(0).Encode(), "+", "%20"), Rows: rows, Samples: len(ds),
			MedianMS: round2(ds[len(ds)/2]), P90MS: round2(ds[len(ds)*9/10]), Bytes: size}
		if len(r.Request) > 200 {
			r.Request = r.Request[:200] + "…"
		}
		out.Requests[k.name] = r
		logf("lab: %-20s %3d rows %8d bytes: median %.1f ms, p90 %.1f ms", k.name, r.Rows, r.Bytes, r.MedianMS, r.P90MS)
	}
	// Throughput of 500-identity pages, one at a time and InFlight at once.
	rate := func(width int) (float64, error) {
		n := samples * width
		t0 := time.Now()
		err := parallel(n, width, func(i int) error {
			var p labList
			_, err := c.get(ctx, "/identities", kinds[0].q(i), &p)
			return err
		})
		return float64(n) / time.Since(t0).Seconds(), err
	}
	one, err := rate(1)
	if err != nil {
		return out, err
	}
	many, err := rate(out.InFlight)
	if err != nil {
		return out, err
	}
	out.Speedup = round2(many / one)
	logf("lab: 500-identity pages: %.1f a second one at a time, %.1f with %d in flight (×%.2f)", one, many, out.InFlight, out.Speedup)
	return out, nil
}

// latencyNote is the fixture's note: how the figures were taken, and what
// the load average at the time says about them (measured, not asserted).
func latencyNote(names string, m machine) string {
	return "Per-request cost of a real OpenZiti controller (the lab of ../shared/lab/build.sh), measured by `go run ./bench -record-latency` " +
		"with the identities, enrollments and authenticators counted below (the bench's own, named " + names + "NNNNN, deleted afterwards): " +
		"time from sending each request to its answer read, one request at a time, over loopback; the first two of each kind left out; medians, not means. " +
		loadWords(m)
}

// loadWords says what the machine's load average meant for a measurement.
func loadWords(m machine) string {
	first, _, _ := strings.Cut(m.load, ",")
	l, err := strconv.ParseFloat(strings.TrimSpace(first), 64)
	if err != nil || m.cores < 1 {
		return "The load average could not be read."
	}
	s := fmt.Sprintf("Load below: the 1, 5 and 15-minute load averages just before the measuring began (the seeding is in them), on %d cores: "+
		"%.2f runnable tasks on average over the last minute, %.0f%% of the cores' capacity; ", m.cores, l, 100*l/float64(m.cores))
	if l < float64(m.cores) {
		return s + "fewer runnable tasks than cores on average, so a core was mostly free when the controller wanted one."
	}
	return s + "more runnable work than cores, so the controller waited for a core: these figures are slower than a quiet machine's."
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

// recordLatency seeds the lab, measures, cleans up and writes the fixture
// to path (bench -record-latency).
func recordLatency(ctx context.Context, path string, identities int, log io.Writer) error {
	logf := func(format string, a ...any) { fmt.Fprintf(log, "bench: "+format+"\n", a...) }
	l, ok, why := findLab()
	if !ok {
		return fmt.Errorf("no lab to record from: %s", why)
	}
	c, err := dialLab(ctx, l)
	if err != nil {
		return err
	}
	defer c.close()
	if n, err := c.cleanLab(ctx); err != nil {
		return err
	} else if n > 0 {
		logf("lab: deleted %d identities a stopped run left", n)
	}
	defer func() {
		n, err := c.cleanLab(context.WithoutCancel(ctx))
		logf("lab: deleted the %d identities made (%v)", n, err)
	}()
	t0 := time.Now()
	enrolled := identities / 3
	if _, err := c.seedLab(ctx, "lat-", identities, enrolled); err != nil {
		return err
	}
	logf("lab: made %d identities (%d enrolled) in %.1f s", identities, enrolled, time.Since(t0).Seconds())
	m := describeMachine()
	lat, err := c.measureLatency(ctx, 40, logf)
	if err != nil {
		return err
	}
	lat.Note = latencyNote(labPrefix+"lat-", m)
	lat.Recorded = m.date.Format(time.RFC3339)
	lat.Machine = m.line()
	lat.Load = m.load
	data, err := json.MarshalIndent(lat, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
