package ui

import (
	"context"
	"errors"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// bulkTally is how far a run has got.
type bulkTally struct {
	done, failed, dropped int
}

// bulkFailure is one identity the run could not change, and why.
type bulkFailure struct {
	name, reason string // both already safe to draw
}

// maxFailuresKept bounds the failures a run keeps for its summary: the
// count is exact, the list shows the first ones.
const maxFailuresKept = 100

// bulkRun is what the goroutine doing a run shares with the console: the
// tally so far, and a wake-up channel of one slot, so however fast results
// come the console gets at most one progress message per frame it draws.
// The new tokens are NOT kept: the console doesn't hold thousands of
// secrets; the CLI's bulk reset writes them to a file.
type bulkRun struct {
	mu       sync.Mutex
	tally    bulkTally
	failures []bulkFailure
	wake     chan struct{}
	done     chan struct{}
}

func newBulkRun() *bulkRun {
	return &bulkRun{wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (r *bulkRun) record(res backend.BulkResult) {
	r.mu.Lock()
	if res.Err != nil {
		r.tally.failed++
		if len(r.failures) < maxFailuresKept {
			r.failures = append(r.failures, bulkFailure{
				name: safetext.Line(res.Identity.Name, 40), reason: safetext.Clean(describeBulkErr(res.Err)),
			})
		}
	} else {
		r.tally.done++
		r.tally.dropped += res.Token.SessionsDropped
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default: // a wake-up is already waiting
	}
}

// undo takes back the results of a batch that was reported and then not
// kept: they count as failures, with the reason.
func (r *bulkRun) undo(u *backend.UndoneError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, res := range u.Results {
		r.tally.done--
		r.tally.dropped -= res.Token.SessionsDropped
		r.tally.failed++
		if len(r.failures) < maxFailuresKept {
			r.failures = append(r.failures, bulkFailure{
				name:   safetext.Line(res.Identity.Name, 40),
				reason: safetext.Clean("not kept: " + describeBulkErr(u.Err)),
			})
		}
	}
}

func (r *bulkRun) snapshot() bulkTally {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tally
}

// describeBulkErr says why one identity was not changed, shorter than
// describeErr: the summary lists many.
func describeBulkErr(err error) string {
	var be *backend.Error
	if errors.As(err, &be) {
		return be.Msg
	}
	return err.Error()
}

// bulkSummaryCmd counts what the action would do to the selection.
func bulkSummaryCmd(b backend.Bulker, timeout time.Duration, network string, sel backend.Selection, a model.Action, seq int) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		sum, err := b.Summarize(ctx, network, sel, a)
		return bulkSummaryMsg{seq: seq, sum: sum, err: err}
	}
}

// bulkApplyCmd runs the bulk action to its end (or until ctx is
// cancelled: the backend stops before the next identity) and reports the
// outcome. It has no deadline: a run over a large network takes minutes,
// and the admin can cancel it.
func bulkApplyCmd(ctx context.Context, cancel context.CancelFunc, b backend.Bulker, run *bulkRun, network string,
	sel backend.Selection, a model.Action, expiresAt time.Time, seq int) tea.Cmd {
	return func() tea.Msg {
		defer cancel()
		err := b.BulkApply(ctx, network, sel, a, expiresAt, func(res backend.BulkResult) bool {
			run.record(res) // the token is dropped here
			return true
		})
		var u *backend.UndoneError
		if errors.As(err, &u) {
			run.undo(u) // reported done, then not kept: the summary must say so
		}
		close(run.done)
		run.mu.Lock()
		defer run.mu.Unlock()
		return bulkFinishedMsg{seq: seq, tick: run.tally, failures: run.failures, err: err}
	}
}

// waitBulkCmd waits for the run's next progress, or its end.
func waitBulkCmd(run *bulkRun, seq int) tea.Cmd {
	return func() tea.Msg {
		select {
		case <-run.wake:
			return bulkProgressMsg{seq: seq, tick: run.snapshot()}
		case <-run.done:
			return nil // bulkFinishedMsg carries the end
		}
	}
}
