package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/idcon/idcon/audit"
	"github.com/idcon/idcon/safetext"
)

// ProbeTimeout is how long one backend may take to answer a health check
// before it counts as unreachable.
const ProbeTimeout = 2 * time.Second

// Probe checks that one backend answers.
type Probe struct {
	Name  string // "embedded", a controller network's name, "netfoundry"
	Check func(context.Context) error
}

// Health answers /healthz: the SSH listener is up, and each backend
// answers within ProbeTimeout. The backends are probed at each request
// (concurrently), so the answer is never older than the request.
type Health struct {
	Listening func() bool // the SSH listener accepts connections
	Addr      string      // the SSH listener's address, for the report
	Probes    []Probe
}

// Report is /healthz's JSON body.
type Report struct {
	Status   string          `json:"status"` // "ok" or "unhealthy"
	SSH      SSHReport       `json:"ssh"`
	Backends []BackendReport `json:"backends"`
}

// SSHReport is the SSH listener's part of a Report.
type SSHReport struct {
	Up   bool   `json:"up"`
	Addr string `json:"addr"`
}

// BackendReport is one backend's part of a Report.
type BackendReport struct {
	Name      string  `json:"name"`
	OK        bool    `json:"ok"`
	LatencyMS float64 `json:"latency_ms"`
	Error     string  `json:"error,omitempty"`
}

// Check probes every backend and says whether all is well.
func (h *Health) Check(ctx context.Context) Report {
	r := Report{SSH: SSHReport{Up: h.Listening != nil && h.Listening(), Addr: h.Addr}, Backends: make([]BackendReport, len(h.Probes))}
	var wg sync.WaitGroup
	for n, p := range h.Probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
			defer cancel()
			start := time.Now()
			err := p.Check(pctx)
			if err == nil && pctx.Err() != nil {
				err = pctx.Err()
			}
			br := BackendReport{Name: p.Name, OK: err == nil, LatencyMS: float64(time.Since(start).Microseconds()) / 1000}
			if err != nil {
				if errors.Is(err, context.DeadlineExceeded) {
					br.Error = fmt.Sprintf("no answer within %s", ProbeTimeout)
				} else {
					br.Error = safetext.Line(audit.Scrub(err.Error()), 200)
				}
			}
			r.Backends[n] = br
		}()
	}
	wg.Wait()
	r.Status = "ok"
	if !r.SSH.Up {
		r.Status = "unhealthy"
	}
	for _, b := range r.Backends {
		if !b.OK {
			r.Status = "unhealthy"
		}
	}
	return r
}

// ServeHTTP answers 200 when healthy, 503 when not, with the Report.
func (h *Health) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r := h.Check(req.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if r.Status != "ok" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(r)
}

// Listener is the HTTP server of --health-listen: /healthz and /metrics.
type Listener struct {
	srv *http.Server
	ln  net.Listener
}

// Listen binds addr for h and m (either may be nil).
func Listen(addr string, h *Health, m *Metrics, log *slog.Logger) (*Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("can't listen on %s for health and metrics: %w", addr, err)
	}
	mux := http.NewServeMux()
	if h != nil {
		mux.Handle("GET /healthz", h)
	}
	if m != nil {
		mux.Handle("GET /metrics", m.Handler())
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if log != nil {
		srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	}
	return &Listener{srv: srv, ln: ln}, nil
}

// Addr is the address it listens on.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Serve answers until Close.
func (l *Listener) Serve() error {
	if err := l.srv.Serve(l.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close stops it, letting requests under way finish for up to a second.
func (l *Listener) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return l.srv.Shutdown(ctx)
}
