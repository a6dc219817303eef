package telemetry

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	pmodel "github.com/prometheus/common/model"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/embedded"
	"github.com/idcon/idcon/model"
)

// scrape reads m through its HTTP handler with Prometheus's own parser and
// returns the value of the series name{labels} (0, false when absent).
func scrape(t *testing.T, m *Metrics, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	p := expfmt.NewTextParser(pmodel.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("the metrics don't parse: %v", err)
	}
	f := fams[name]
	if f == nil {
		return 0, false
	}
series:
	for _, mt := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range mt.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		if len(have) != len(labels) {
			continue
		}
		for k, v := range labels {
			if have[k] != v {
				continue series
			}
		}
		if c := mt.GetCounter(); c != nil {
			return c.GetValue(), true
		}
		return mt.GetGauge().GetValue(), true
	}
	return 0, false
}

func openStore(t *testing.T) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(filepath.Join(t.TempDir(), "idcon.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestInstrumentCountsCallsAndErrorsByNetworkName: calls are counted under
// the network's name (learnt from Networks), failures by their class, and
// each failure is one log line.
func TestInstrumentCountsCallsAndErrorsByNetworkName(t *testing.T) {
	s := openStore(t)
	n, err := s.CreateNetwork(context.Background(), "office")
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics()
	var logs bytes.Buffer
	b := Instrument(s, m, slog.New(slog.NewJSONHandler(&logs, nil)))
	ctx := context.Background()
	if _, err := b.Networks(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Identities(ctx, n.ID, model.ListQuery{Limit: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Identity(ctx, n.ID, "no-such-id"); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("Identity of a missing ID: %v", err)
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"idcon_backend_calls_total", map[string]string{"network": "*", "op": "networks"}, 1},
		{"idcon_backend_calls_total", map[string]string{"network": "office", "op": "identities"}, 1},
		{"idcon_backend_calls_total", map[string]string{"network": "office", "op": "identity"}, 1},
		{"idcon_backend_errors_total", map[string]string{"network": "office", "op": "identity", "kind": "not_found"}, 1},
	} {
		if v, ok := scrape(t, m, c.name, c.labels); !ok || v != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, v, ok, c.want)
		}
	}
	if v, ok := scrape(t, m, "idcon_backend_errors_total", map[string]string{"network": "office", "op": "identities", "kind": "not_found"}); ok {
		t.Errorf("a call that succeeded counted as an error: %v", v)
	}
	if got := strings.Count(logs.String(), `"msg":"backend error"`); got != 1 ||
		!strings.Contains(logs.String(), `"network":"office","op":"identity","kind":"not_found"`) {
		t.Errorf("want one log line for the one error:\n%s", logs.String())
	}
}

// failing fails every call with a message that carries a token, as a
// careless controller error might.
type failing struct{ backend.Backend }

const aJWT = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"

func (failing) TokenJWT(context.Context, string, string) (string, error) {
	return "", backend.Unavailable("controller said: bad token %s", aJWT)
}

func TestBackendErrorLogHoldsNoToken(t *testing.T) {
	var logs bytes.Buffer
	b := Instrument(failing{openStore(t)}, NewMetrics(), slog.New(slog.NewJSONHandler(&logs, nil)))
	if _, err := b.TokenJWT(context.Background(), "n", "i"); err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(logs.String(), "eyJ") || !strings.Contains(logs.String(), "[token]") ||
		!strings.Contains(logs.String(), `"level":"WARN"`) {
		t.Errorf("the backend error's log line:\n%s", logs.String())
	}
}

// TestInstrumentCountsBulkItemsAndKeepsTheStoresBulkPath: a bulk reset
// through the wrapper runs the store's own batches and counts each
// identity changed, as many as the results that report a change.
func TestInstrumentCountsBulkItemsAndKeepsTheStoresBulkPath(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	n, err := s.SeedDemo(ctx, "demo", 300)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics()
	b := Instrument(s, m, nil)
	if _, err := b.Networks(ctx); err != nil { // learns the name
		t.Fatal(err)
	}
	bulker := backend.Bulk(b, nil)
	if inner := bulker.(*instrumented).bulk; inner != backend.Bulker(s) {
		t.Fatalf("the wrapper bulks through %T, not the store's own batches", inner)
	}
	changed := 0
	err = bulker.BulkApply(ctx, n.ID, backend.Selection{All: true}, model.ActionReset, time.Now().Add(48*time.Hour),
		func(r backend.BulkResult) bool {
			if r.Err == nil {
				changed++
			}
			return true
		})
	if err != nil {
		t.Fatal(err)
	}
	if changed == 0 {
		t.Fatal("the demo had no enrolled identity to reset")
	}
	v, ok := scrape(t, m, "idcon_bulk_items_done_total", map[string]string{"network": "demo", "action": string(model.ActionReset)})
	if !ok || v != float64(changed) {
		t.Errorf("bulk items done = %v (present %v), want %d", v, ok, changed)
	}
}

// TestHealth: 200 and "ok" when the listener is up and every probe
// answers; 503 naming the failing probe, or the listener down, otherwise;
// a probe that hangs counts as failing after ProbeTimeout.
func TestHealth(t *testing.T) {
	up := true
	var fail error
	h := &Health{Listening: func() bool { return up }, Addr: "127.0.0.1:2222", Probes: []Probe{
		{Name: "embedded", Check: func(context.Context) error { return nil }},
		{Name: "ctrl", Check: func(context.Context) error { return fail }},
	}}
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get(); code != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Errorf("healthy: %d %s", code, body)
	}
	fail = errors.New("connection refused")
	if code, body := get(); code != 503 || !strings.Contains(body, `{"name":"ctrl","ok":false`) || !strings.Contains(body, "connection refused") {
		t.Errorf("a backend down: %d %s", code, body)
	}
	fail, up = nil, false
	if code, body := get(); code != 503 || !strings.Contains(body, `"ssh":{"up":false`) {
		t.Errorf("the listener down: %d %s", code, body)
	}
	up = true
	h.Probes[1].Check = func(ctx context.Context) error { <-ctx.Done(); return nil }
	if code, body := get(); code != 503 || !strings.Contains(body, "no answer within") {
		t.Errorf("a backend hanging: %d %s", code, body)
	}
}
