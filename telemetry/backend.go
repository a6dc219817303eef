package telemetry

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/idcon/idcon/audit"
	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// Instrument wraps b so that every call is counted by network and
// operation, every failure counted by its class and logged as one line
// (the error's text cleaned and anything shaped like a token replaced),
// and every identity a bulk action changes counted. Networks are labelled
// by name (as b's Networks lists them), else by ID. It is a Bulker: b's
// own bulk path (the embedded store's batches) stays in use.
func Instrument(b backend.Backend, m *Metrics, log *slog.Logger) backend.Backend {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &instrumented{b: b, bulk: backend.Bulk(b, nil), m: m, log: log, names: map[string]string{}}
}

type instrumented struct {
	b    backend.Backend
	bulk backend.Bulker
	m    *Metrics
	log  *slog.Logger

	mu    sync.Mutex
	names map[string]string // network ID → name
}

var (
	_ backend.Backend = (*instrumented)(nil)
	_ backend.Bulker  = (*instrumented)(nil)
)

// allNetworks is the network label of the call that lists them.
const allNetworks = "*"

func (i *instrumented) label(network string) string {
	i.mu.Lock()
	defer i.mu.Unlock()
	if n, ok := i.names[network]; ok {
		return n
	}
	return network
}

// done counts one call and, if it failed, its error.
func (i *instrumented) done(network, op string, start time.Time, err error) {
	label := network
	if network != allNetworks {
		label = i.label(network)
	}
	if i.m != nil {
		i.m.backendCalls.WithLabelValues(label, op).Inc()
	}
	if err == nil {
		return
	}
	kind := errorKind(err)
	if i.m != nil {
		i.m.backendErrors.WithLabelValues(label, op, kind).Inc()
	}
	level := slog.LevelInfo // the admin's own doing: a stale revision, a name taken
	if kind == "unavailable" || kind == "other" {
		level = slog.LevelWarn // the backend's
	}
	i.log.Log(context.Background(), level, "backend error", "network", label, "op", op, "kind", kind,
		"err", safetext.Line(audit.Scrub(err.Error()), 300), "after_ms", time.Since(start).Milliseconds())
}

// errorKind is err's class, as a label.
func errorKind(err error) string {
	switch backend.Kind(err) {
	case backend.ErrNotFound:
		return "not_found"
	case backend.ErrConflict:
		return "conflict"
	case backend.ErrInvalid:
		return "invalid"
	case backend.ErrForbidden:
		return "forbidden"
	case backend.ErrUnavailable:
		return "unavailable"
	}
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "unavailable"
	}
	return "other"
}

func (i *instrumented) Networks(ctx context.Context) (nets []model.Network, err error) {
	defer func(start time.Time) { i.done(allNetworks, "networks", start, err) }(time.Now())
	nets, err = i.b.Networks(ctx)
	i.mu.Lock()
	for _, n := range nets {
		if n.Name != "" {
			i.names[n.ID] = n.Name
		}
	}
	i.mu.Unlock()
	return nets, err
}

func (i *instrumented) Identities(ctx context.Context, network string, q model.ListQuery) (p model.Page, err error) {
	defer func(start time.Time) { i.done(network, "identities", start, err) }(time.Now())
	return i.b.Identities(ctx, network, q)
}

func (i *instrumented) Identity(ctx context.Context, network, id string) (x model.Identity, err error) {
	defer func(start time.Time) { i.done(network, "identity", start, err) }(time.Now())
	return i.b.Identity(ctx, network, id)
}

func (i *instrumented) IdentityByName(ctx context.Context, network, name string) (x model.Identity, err error) {
	defer func(start time.Time) { i.done(network, "identity_by_name", start, err) }(time.Now())
	return i.b.IdentityByName(ctx, network, name)
}

func (i *instrumented) CreateIdentity(ctx context.Context, network string, req model.NewIdentity) (t backend.Token, err error) {
	defer func(start time.Time) { i.done(network, "create", start, err) }(time.Now())
	return i.b.CreateIdentity(ctx, network, req)
}

func (i *instrumented) ResetEnrollment(ctx context.Context, network, id string, rev int64, exp time.Time) (t backend.Token, err error) {
	defer func(start time.Time) { i.done(network, "reset", start, err) }(time.Now())
	return i.b.ResetEnrollment(ctx, network, id, rev, exp)
}

func (i *instrumented) ReissueEnrollment(ctx context.Context, network, id string, rev int64, exp time.Time) (t backend.Token, err error) {
	defer func(start time.Time) { i.done(network, "reissue", start, err) }(time.Now())
	return i.b.ReissueEnrollment(ctx, network, id, rev, exp)
}

func (i *instrumented) DeleteEnrollment(ctx context.Context, network, id string, rev int64) (x model.Identity, err error) {
	defer func(start time.Time) { i.done(network, "delete", start, err) }(time.Now())
	return i.b.DeleteEnrollment(ctx, network, id, rev)
}

func (i *instrumented) TokenJWT(ctx context.Context, network, id string) (jwt string, err error) {
	defer func(start time.Time) { i.done(network, "token", start, err) }(time.Now())
	return i.b.TokenJWT(ctx, network, id)
}

func (i *instrumented) Close() error { return i.b.Close() }

func (i *instrumented) Summarize(ctx context.Context, network string, sel backend.Selection, action model.Action) (s backend.BulkSummary, err error) {
	defer func(start time.Time) { i.done(network, "bulk_summary", start, err) }(time.Now())
	return i.bulk.Summarize(ctx, network, sel, action)
}

func (i *instrumented) BulkApply(ctx context.Context, network string, sel backend.Selection, action model.Action, expiresAt time.Time,
	each func(backend.BulkResult) bool) (err error) {
	defer func(start time.Time) { i.done(network, "bulk_"+string(action), start, err) }(time.Now())
	var items interface{ Inc() }
	if i.m != nil {
		items = i.m.bulkItems.WithLabelValues(i.label(network), string(action))
	}
	return i.bulk.BulkApply(ctx, network, sel, action, expiresAt, func(r backend.BulkResult) bool {
		if r.Err == nil && items != nil {
			items.Inc()
		}
		return each(r)
	})
}
