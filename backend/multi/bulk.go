package multi

import (
	"context"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

var _ backend.Bulker = (*Backend)(nil)

// Summarize implements backend.Bulker with the Bulker of the network's
// member: its own when it has one (the embedded store batches its work),
// else one call per identity.
func (m *Backend) Summarize(ctx context.Context, network string, sel backend.Selection, action model.Action) (backend.BulkSummary, error) {
	b, err := m.member(ctx, network)
	if err != nil {
		return backend.BulkSummary{}, err
	}
	return backend.Bulk(b, nil).Summarize(ctx, network, sel, action)
}

// BulkApply implements backend.Bulker like Summarize.
func (m *Backend) BulkApply(ctx context.Context, network string, sel backend.Selection, action model.Action, expiresAt time.Time,
	each func(backend.BulkResult) bool) error {
	b, err := m.member(ctx, network)
	if err != nil {
		return err
	}
	return backend.Bulk(b, nil).BulkApply(ctx, network, sel, action, expiresAt, each)
}
