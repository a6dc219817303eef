// Package telemetry is what an operator watches of `idcon serve`: the
// Prometheus metrics (/metrics), the health endpoint (/healthz), and the
// backend wrapper that counts and logs every backend call. It holds no
// token and logs none.
package telemetry

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the server's Prometheus metrics, in a registry of their own
// (with the Go runtime's and the process's collectors).
type Metrics struct {
	Registry *prometheus.Registry

	sessionsOpen  prometheus.Gauge
	sessionsTotal *prometheus.CounterVec // kind: console, scp, sftp
	authFailures  *prometheus.CounterVec // reason
	backendCalls  *prometheus.CounterVec // network, op
	backendErrors *prometheus.CounterVec // network, op, kind
	bulkItems     *prometheus.CounterVec // network, action
}

// NewMetrics makes the metrics, every one at zero.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		sessionsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "idcon_ssh_sessions_open", Help: "SSH sessions open now (consoles and downloads).",
		}),
		sessionsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idcon_ssh_sessions_total", Help: "SSH sessions opened since the start, by kind (console, scp, sftp).",
		}, []string{"kind"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idcon_ssh_auth_failures_total", Help: "SSH sign-ins refused, by reason (unknown_key, key_removed).",
		}, []string{"reason"}),
		backendCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idcon_backend_calls_total", Help: "Backend calls, by network and operation.",
		}, []string{"network", "op"}),
		backendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idcon_backend_errors_total", Help: "Backend calls that failed, by network, operation and class of error.",
		}, []string{"network", "op", "kind"}),
		bulkItems: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idcon_bulk_items_done_total", Help: "Identities a bulk action changed, by network and action.",
		}, []string{"network", "action"}),
	}
	m.Registry.MustRegister(m.sessionsOpen, m.sessionsTotal, m.authFailures, m.backendCalls, m.backendErrors, m.bulkItems,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Both reasons show from the start, at zero, so a rate() has a series.
	for _, r := range []string{ReasonUnknownKey, ReasonKeyRemoved} {
		m.authFailures.WithLabelValues(r)
	}
	return m
}

// The reasons of an auth failure.
const (
	ReasonUnknownKey = "unknown_key" // a key not in the authorized keys file
	ReasonKeyRemoved = "key_removed" // authenticated, then removed from the file before its session began
)

// SessionStarted counts a session of kind opening.
func (m *Metrics) SessionStarted(kind string) {
	if m == nil {
		return
	}
	m.sessionsOpen.Inc()
	m.sessionsTotal.WithLabelValues(kind).Inc()
}

// SessionEnded counts a session closing.
func (m *Metrics) SessionEnded(string, time.Duration) {
	if m == nil {
		return
	}
	m.sessionsOpen.Dec()
}

// AuthFailed counts a refused sign-in.
func (m *Metrics) AuthFailed(reason string) {
	if m == nil {
		return
	}
	m.authFailures.WithLabelValues(reason).Inc()
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
