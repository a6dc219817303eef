package openziti

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// A bulk reset or reissue on a controller: every identity still takes its
// own requests (ResetEnrollment's seven steps, ReissueEnrollment's
// refresh), but bulkInFlight identities are worked on at once, so the
// controller's answers overlap instead of following one another.
//
//   - Bounded: never more than bulkInFlight identities under way, each
//     one request at a time, far under a controller's command rate
//     limiter (v2.0.3 queues 100 model changes before it answers 429
//     SERVER_TOO_MANY_REQUESTS: controller/command/rate_limiter.go).
//   - Slowed, not failed: a 429 (any request) or a 503 TIMEOUT (a read;
//     never a 503 CLUSTER_NO_LEADER, a cluster without quorum) is retried
//     after a back-off (Retry-After when given, capped at 5 s, else 0.5 s
//     doubling to 4 s) up to bulkRetries times, and the run's width halves (down to
//     one at a time) for bulkCalm after each, growing back by one per
//     bulkCalm without another. An identity whose change a 429 or 503 cut
//     short is tried again from the start if it is still in the state the
//     action needs.
//   - Cancel: cancelling ctx (or each returning false) starts no further
//     identity; those under way (bulkInFlight at most) are finished on a
//     context of their own and reported, so every identity changed is
//     reported to each: a cancel at the Nth report changes at most
//     N + bulkInFlight identities.

// bulkInFlight is how many identities a bulk action works on at once.
const bulkInFlight = 4

// bulkRetries is how many times one request of a bulk run is retried on
// 429 (and a read on 503) before its identity waits and starts again.
const bulkRetries = 8

// bulkCalm is how long the width stays reduced after a 429 or 503.
const bulkCalm = 2 * time.Second

var _ backend.Bulker = (*Client)(nil)

// perIdentity hides the client's Bulker, so backend.Bulk gives the
// generic one (for Summarize, which only reads).
type perIdentity struct{ backend.Backend }

// Summarize counts what a bulk action would do (backend.Bulk's count:
// the state filter's pages).
func (c *Client) Summarize(ctx context.Context, network string, sel backend.Selection, action model.Action) (backend.BulkSummary, error) {
	if err := c.checkNetwork(network); err != nil {
		return backend.BulkSummary{}, err
	}
	return backend.Bulk(perIdentity{c}, c.now).Summarize(ctx, network, sel, action)
}

// throttle is a bulk run's shared view of the controller's pushback: the
// width it may use now.
type throttle struct {
	mu     sync.Mutex
	cond   *sync.Cond
	width  int       // identities allowed under way now
	busy   int       // identities under way
	calmAt time.Time // when the width may grow again
	hits   int       // 429s and 503s seen
}

func newThrottle() *throttle {
	t := &throttle{width: bulkInFlight}
	t.cond = sync.NewCond(&t.mu)
	return t
}

// hit halves the width (a 429 or a 503 answered).
func (t *throttle) hit() {
	t.mu.Lock()
	t.hits++
	t.width = max(1, t.width/2)
	t.calmAt = time.Now().Add(bulkCalm)
	t.mu.Unlock()
}

// acquire waits for room under the width; false when stop says so.
func (t *throttle) acquire(stop func() bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		if stop() {
			return false
		}
		if t.width < bulkInFlight && time.Now().After(t.calmAt) {
			t.width++
			t.calmAt = time.Now().Add(bulkCalm)
		}
		if t.busy < t.width {
			t.busy++
			return true
		}
		t.cond.Wait()
	}
}

func (t *throttle) release() {
	t.mu.Lock()
	t.busy--
	t.mu.Unlock()
	t.cond.Broadcast()
}

// throttleKey carries a bulk run's throttle to call (transport.go).
type throttleKey struct{}

// bulkThrottle is the throttle of the bulk run ctx belongs to, or nil.
func bulkThrottle(ctx context.Context) *throttle {
	t, _ := ctx.Value(throttleKey{}).(*throttle)
	return t
}

// retryable says whether call may repeat a request answered status
// (body resp): a 429 always (the rate limiter refused it before doing
// anything), a 503 pushback (TIMEOUT, never CLUSTER_NO_LEADER) for a read
// in a bulk run only (a write that timed out may have been done; the run
// reads the identity again before trying it again). limited is how many
// times it has already been retried; inside a bulk run the budget is
// bulkRetries and the run's width shrinks.
func (c *Client) retryable(ctx context.Context, method string, status int, resp []byte, limited int) bool {
	if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
		return false
	}
	t := bulkThrottle(ctx)
	budget := c.rateRetries
	if t != nil {
		budget = bulkRetries
	}
	switch {
	case limited >= budget:
		return false
	case status == http.StatusTooManyRequests:
	case method == http.MethodGet && t != nil && decodeAPIError(status, resp, true).pushback():
	default:
		return false
	}
	if t != nil {
		t.hit()
	}
	return true
}

// pushedBack says whether err is a controller's 429 or 503 pushback
// (after call's retries): the identity is worth another try once the run
// has slowed. A 503 CLUSTER_NO_LEADER is not one.
func pushedBack(err error) bool { return errors.Is(err, errPushback) }

// BulkApply resets or reissues every identity of sel in the state the
// action needs, bulkInFlight at a time (see the top of this file).
// Results reach each one at a time, in the order the identities finish.
func (c *Client) BulkApply(ctx context.Context, network string, sel backend.Selection, action model.Action, expiresAt time.Time,
	each func(backend.BulkResult) bool) error {
	need, err := backend.BulkState(action)
	if err != nil {
		return err
	}
	if err := sel.Validate(); err != nil {
		return err
	}
	if err := c.checkNetwork(network); err != nil {
		return err
	}
	if err := c.cfg.Policy.Validate(c.now(), expiresAt); err != nil {
		return backend.Invalid("%v", err)
	}
	t := newThrottle()
	// The identities are listed first, then changed: changing them while
	// paging would move the pages under the reader. The listing's reads
	// are the run's too: a 503 TIMEOUT to one of them slows it down.
	list := context.WithValue(ctx, throttleKey{}, t)
	var todo []model.Identity
	if sel.All {
		if sel.State != "" && sel.State != need {
			return nil
		}
		except := map[string]bool{}
		for _, id := range sel.Except {
			except[id] = true
		}
		seen := map[string]bool{}
		for off := 0; ; off += model.MaxPageSize {
			page, err := c.Identities(list, network, model.ListQuery{Filter: sel.Filter, State: need, Offset: off, Limit: model.MaxPageSize})
			if err != nil {
				return err
			}
			for _, x := range page.Items {
				if except[x.ID] || seen[x.ID] || (action == model.ActionReset && x.SignedIn) {
					continue
				}
				seen[x.ID] = true
				todo = append(todo, x)
			}
			if len(page.Items) == 0 || off+len(page.Items) >= page.Total {
				break
			}
		}
	} else {
		seen := map[string]bool{}
		for _, id := range sel.IDs {
			if !seen[id] {
				seen[id] = true
				todo = append(todo, model.Identity{ID: id})
			}
		}
	}

	var (
		mu      sync.Mutex // guards the fields below, and each
		next    int
		halted  bool  // each said stop
		fatal   error // what stops the whole run
		stopped bool  // ctx ended
	)
	stop := func() bool {
		mu.Lock()
		defer mu.Unlock()
		if ctx.Err() != nil {
			stopped = true
		}
		return halted || fatal != nil || stopped || next >= len(todo)
	}
	// Work under way is finished on a context of its own: a cancel stops
	// the run between identities, never inside one.
	work := context.WithValue(context.WithoutCancel(ctx), throttleKey{}, t)
	// A cancel wakes the workers waiting for room.
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-ctx.Done():
			// Under the lock, so that no worker is between its stop
			// check and its Wait: none misses the wake-up.
			t.mu.Lock()
			t.cond.Broadcast()
			t.mu.Unlock()
		case <-finished:
		}
	}()
	one := func(x model.Identity) (backend.BulkResult, bool, error) {
		for attempt := 0; ; attempt++ {
			if !sel.All || attempt > 0 {
				// Marked one by one, or tried again: read it now and leave
				// it out if its state no longer allows the action.
				cur, err := c.Identity(work, network, x.ID)
				if errors.Is(err, backend.ErrNotFound) {
					return backend.BulkResult{}, false, nil
				}
				if err != nil {
					return backend.BulkResult{}, false, err
				}
				if cur.State(c.now()) != need || (action == model.ActionReset && cur.SignedIn) {
					if attempt > 0 {
						return backend.BulkResult{Identity: cur, Err: backend.Conflict("%q changed while the controller was asked to slow down: it is %s now; look at it and try again", cur.Name, cur.State(c.now()))}, true, nil
					}
					return backend.BulkResult{}, false, nil
				}
				x = cur
			}
			var tok backend.Token
			var err error
			if action == model.ActionReset {
				tok, err = c.ResetEnrollment(work, network, x.ID, x.Revision, expiresAt)
			} else {
				tok, err = c.ReissueEnrollment(work, network, x.ID, x.Revision, expiresAt)
			}
			if pushedBack(err) && attempt < bulkRetries {
				t.hit()
				if c.backOff(work, min(attempt, 3), http.Header{}) != nil {
					return backend.BulkResult{Identity: x, Err: err}, true, nil
				}
				continue
			}
			switch {
			case errors.Is(err, backend.ErrSignedIn):
				return backend.BulkResult{}, false, nil // skipped, not failed
			case (errors.Is(err, backend.ErrUnavailable) && !pushedBack(err)) || errors.Is(err, backend.ErrForbidden):
				// The controller is down, or the caller may not do this:
				// every further call would fail the same way, so stop
				// rather than report each (as backend.Bulk's does).
				return backend.BulkResult{}, false, err
			}
			r := backend.BulkResult{Identity: x, Token: tok, Err: err}
			if err == nil {
				r.Identity = tok.Identity
			}
			return r, true, nil
		}
	}
	var wg sync.WaitGroup
	for range bulkInFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t.acquire(stop) {
				mu.Lock()
				if halted || fatal != nil || next >= len(todo) {
					mu.Unlock()
					t.release()
					return
				}
				x := todo[next]
				next++
				mu.Unlock()
				r, report, err := one(x)
				t.release()
				mu.Lock()
				if err != nil && fatal == nil {
					fatal = err
				}
				if report && err == nil {
					// Reported even after a stop: it was changed (or
					// failed) all the same.
					if !each(r) {
						halted = true
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	switch {
	case fatal != nil:
		return fatal
	case halted:
		return nil
	case stopped || ctx.Err() != nil:
		if next < len(todo) || ctx.Err() != nil {
			return backend.Stopped(ctx.Err())
		}
	}
	return nil
}
