package access

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/idcon/idcon/audit"
	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

var _ backend.Bulker = (*Backend)(nil)

// auditBatch is how many bulk results are handed to the audit log's
// writer at once; auditQueue is how many batches may wait for it
// (200,000 lines, more than a run makes while one write and sync is
// under way), and auditGroup how many lines it writes and syncs together
// at most when they have queued up.
const (
	auditBatch = 500
	auditQueue = 400
	auditGroup = 20_000
)

// Summarize counts what a bulk action would do. Counting is open to every
// role: a viewer may see what an admin would be asked to confirm.
func (a *Backend) Summarize(ctx context.Context, network string, sel backend.Selection, action model.Action) (backend.BulkSummary, error) {
	return backend.Bulk(a.b, a.now).Summarize(ctx, network, sel, action)
}

// BulkApply performs a bulk reset or reissue (admins only) through the
// wrapped backend's own Bulker when it has one, so it stays fast, and writes
// one audit line per identity attempted, in batches with one sync each. A
// refusal is audited once for the whole selection.
func (a *Backend) BulkApply(ctx context.Context, network string, sel backend.Selection, action model.Action,
	expiresAt time.Time, each func(backend.BulkResult) bool) error {
	auditAction := audit.ActionReset
	if action == model.ActionReissue {
		auditAction = audit.ActionReissue
	}
	done, err := a.inflight.begin()
	if err != nil {
		a.record(ctx, network, "", "", auditAction, err)
		return err
	}
	defer done()
	if err := a.Can(action); err != nil {
		a.record(ctx, network, "", "", auditAction, err)
		return err
	}
	if backend.DryRunOf(ctx) != nil {
		// A dry run changes nothing: no audit lines, no change events.
		return backend.Bulk(a.b, a.now).BulkApply(ctx, network, sel, action, expiresAt, each)
	}
	netRef := audit.Ref{ID: network, Name: a.networkName(ctx, network)}
	// The audit lines are encoded and written on a goroutine of their
	// own, auditBatch at a time, while the run goes on; they are all
	// written (and synced) before BulkApply returns. Batches that queue
	// up while one is written go together, with one sync, and the
	// queue is deep: the run's writer (the bulk's one goroutine, which
	// the callback below runs on) never waits for the log's syncs. It
	// used to, behind a queue of 4 batches: 1.3 s of a 100,000-identity
	// reset went in waiting to be scheduled again once the queue let it go.
	var pending []audit.Entry
	batches := make(chan []audit.Entry, auditQueue)
	written := make(chan struct{})
	go func() {
		defer close(written)
		for b := range batches {
			for more := true; more && len(b) < auditGroup; {
				select {
				case next, ok := <-batches:
					b, more = append(b, next...), ok
				default:
					more = false
				}
			}
			if err := a.log.AppendAll(b); err != nil {
				fmt.Fprintf(os.Stderr, "idcon: audit: %v\n", err)
			}
		}
	}()
	flush := func() {
		if a.log != nil && len(pending) > 0 {
			batches <- pending
		}
		pending = make([]audit.Entry, 0, auditBatch)
	}

	changed := 0
	err = backend.Bulk(a.b, a.now).BulkApply(ctx, network, sel, action, expiresAt, func(r backend.BulkResult) bool {
		result := audit.ResultOK
		if r.Err != nil {
			result = r.Err.Error()
		} else {
			changed++
		}
		pending = append(pending, audit.Entry{
			Time:     a.now(),
			Actor:    a.actor.audit(),
			Network:  netRef,
			Identity: audit.Ref{ID: r.Identity.ID, Name: r.Identity.Name},
			Action:   auditAction,
			Result:   result,
		})
		if len(pending) >= auditBatch {
			flush()
		}
		return each(r)
	})
	var u *backend.UndoneError
	if errors.As(err, &u) {
		// Reported and audited as changed, then not kept: say so, per identity.
		for _, r := range u.Results {
			changed--
			pending = append(pending, audit.Entry{
				Time:     a.now(),
				Actor:    a.actor.audit(),
				Network:  netRef,
				Identity: audit.Ref{ID: r.Identity.ID, Name: r.Identity.Name},
				Action:   auditAction,
				Result:   "undone: " + u.Err.Error(),
			})
		}
	}
	flush()
	close(batches)
	<-written
	if changed > 0 && a.changes != nil {
		// One event for the whole network: every open list refetches its
		// page once instead of once per identity.
		a.changes.PublishEvent(ChangeEvent{Network: network, Action: auditAction, By: a.actor.Name})
	}
	return err
}
