package backend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/idcon/idcon/model"
)

// Bulk actions: resetting or reissuing many identities at once. A backend
// that can do this faster than one call per identity implements Bulker;
// Bulk gives every other backend a version built on the Backend methods,
// so the console and the CLI use one API whatever the backend.

// Selection names the identities a bulk action applies to without listing
// them when they are many: with All, every identity matching Filter and
// State (as in model.ListQuery) except those in Except; without All,
// exactly the identities in IDs (Filter and State are then ignored).
type Selection struct {
	Filter string
	State  model.State
	All    bool
	IDs    []string
	Except []string
}

// Validate says what is wrong with a selection a bulk action can't use.
func (s Selection) Validate() error {
	switch {
	case s.All && len(s.IDs) > 0:
		return Invalid("a selection is either all identities matching a filter or a list of identities, not both")
	case !s.All && len(s.IDs) == 0:
		return Invalid("no identities selected: mark some, or select all that match a filter")
	}
	if s.State != "" {
		if _, ok := model.ParseState(string(s.State)); !ok {
			return Invalid("no state %q: use enrolled, pending, expired or none", s.State)
		}
	}
	return nil
}

// BulkSummary is what a bulk action would do to a selection, counted by
// the backend when asked: the numbers an admin confirms.
type BulkSummary struct {
	// Selected is how many identities the selection holds now.
	Selected int
	// Eligible of them are in the state the action needs; the other
	// Skipped ones are left alone.
	Eligible, Skipped int
	// SignedIn counts the identities left out of a reset (and counted in
	// Skipped) because the backend is signed in as them: resetting one
	// would end the session doing the resets (model.Identity.SignedIn).
	SignedIn int
	// Sessions is how many active sessions the eligible identities hold:
	// a reset drops them all. Zero for a reissue, which drops none.
	Sessions int
	// ByState counts the selection by state.
	ByState map[model.State]int
}

// BulkResult is the outcome for one identity a bulk action attempted.
// Either Err is nil and the identity was changed completely (Token holds
// the new token, a secret, and Token.Identity the identity after it), or
// Err says why and the identity was not changed at all (Identity is the
// identity as the action found it).
type BulkResult struct {
	Identity model.Identity
	Token    Token
	Err      error
}

// Bulker does enrollment actions on many identities of a network. It is
// optional: a backend may implement it to do the work faster than one call
// per identity; Bulk supplies it for every backend.
type Bulker interface {
	// Summarize counts what action (reset or reissue) would do to sel.
	Summarize(ctx context.Context, network string, sel Selection, action model.Action) (BulkSummary, error)

	// BulkApply performs action on every identity of sel whose state
	// allows it, each completely or not at all, with tokens that expire at
	// expiresAt. Identities whose state doesn't allow the action are
	// skipped without a report. each is called once per identity attempted,
	// in order, as soon as it is changed or has failed; returning false
	// stops the run right there: no further identity is started. Cancelling
	// ctx also stops before the next identity. What finished stays
	// finished, and the error then wraps ctx's. Individual failures go to
	// each; the error is for what stopped the whole run.
	//
	// A backend may keep several changes in one transaction (the embedded
	// store does, for speed) and report each as it is made, before the
	// transaction commits; should the commit then fail, BulkApply returns
	// an *UndoneError listing the identities it reported changed that were
	// not kept.
	BulkApply(ctx context.Context, network string, sel Selection, action model.Action, expiresAt time.Time,
		each func(BulkResult) bool) error
}

// Bulk returns b's own Bulker if it has one, else one that pages through
// b.Identities and calls ResetEnrollment or ReissueEnrollment for each
// identity (so wrappers that check roles or write an audit trail see every
// change). now is the clock used to read identities' states; nil means
// time.Now.
func Bulk(b Backend, now func() time.Time) Bulker {
	if x, ok := b.(Bulker); ok {
		return x
	}
	if now == nil {
		now = time.Now
	}
	return perIdentity{b: b, now: now}
}

// BulkState is the state an identity must be in for a bulk action: reset
// needs an enrolled identity, reissue an expired token. Other actions can't
// be done in bulk.
func BulkState(a model.Action) (model.State, error) {
	switch a {
	case model.ActionReset:
		return model.StateEnrolled, nil
	case model.ActionReissue:
		return model.StateExpired, nil
	}
	return "", Invalid("%s can't be done to many identities at once: only reset and reissue can", a.Title())
}

// perIdentity is the Bulker of a backend without its own.
type perIdentity struct {
	b   Backend
	now func() time.Time
}

// bulkPage is how many identities perIdentity asks for at once.
const bulkPage = model.MaxPageSize

// scan calls fn with every identity matching filter and state, a page at a
// time. It stops early if fn returns false.
func (p perIdentity) scan(ctx context.Context, network, filter string, st model.State, fn func(model.Identity) bool) (total int, err error) {
	for off := 0; ; off += bulkPage {
		page, err := p.b.Identities(ctx, network, model.ListQuery{Filter: filter, State: st, Offset: off, Limit: bulkPage})
		if err != nil {
			return 0, err
		}
		for _, x := range page.Items {
			if !fn(x) {
				return page.Total, nil
			}
		}
		if len(page.Items) == 0 || off+len(page.Items) >= page.Total {
			return page.Total, nil
		}
	}
}

func (p perIdentity) Summarize(ctx context.Context, network string, sel Selection, action model.Action) (BulkSummary, error) {
	need, err := BulkState(action)
	if err != nil {
		return BulkSummary{}, err
	}
	if err := sel.Validate(); err != nil {
		return BulkSummary{}, err
	}
	sum := BulkSummary{ByState: map[model.State]int{}}
	count := func(x model.Identity, st model.State) {
		sum.Selected++
		sum.ByState[st]++
		if st == need && action == model.ActionReset && x.SignedIn {
			sum.SignedIn++
			return
		}
		if st == need {
			sum.Eligible++
			if action == model.ActionReset {
				sum.Sessions += x.ActiveSessions
			}
		}
	}
	if !sel.All {
		now := p.now()
		for _, id := range dedupe(sel.IDs) {
			x, err := p.b.Identity(ctx, network, id)
			if errors.Is(err, ErrNotFound) {
				continue // deleted since it was marked: nothing to do to it
			}
			if err != nil {
				return BulkSummary{}, err
			}
			count(x, x.State(now))
		}
		sum.Skipped = sum.Selected - sum.Eligible
		return sum, nil
	}
	// The backend classes identities by state itself (asked one state at a
	// time), so the counts agree with its lists whatever its clock says.
	except := set(sel.Except)
	for _, st := range model.States {
		if sel.State != "" && sel.State != st {
			continue
		}
		if st != need && len(except) == 0 {
			// Only the number is needed: one small query.
			page, err := p.b.Identities(ctx, network, model.ListQuery{Filter: sel.Filter, State: st, Limit: 1})
			if err != nil {
				return BulkSummary{}, err
			}
			sum.Selected += page.Total
			sum.ByState[st] += page.Total
			continue
		}
		_, err := p.scan(ctx, network, sel.Filter, st, func(x model.Identity) bool {
			if _, out := except[x.ID]; !out {
				count(x, st)
			}
			return true
		})
		if err != nil {
			return BulkSummary{}, err
		}
	}
	sum.Skipped = sum.Selected - sum.Eligible
	return sum, nil
}

func (p perIdentity) BulkApply(ctx context.Context, network string, sel Selection, action model.Action, expiresAt time.Time,
	each func(BulkResult) bool) error {
	need, err := BulkState(action)
	if err != nil {
		return err
	}
	if err := sel.Validate(); err != nil {
		return err
	}
	// The eligible identities are listed first, then changed: changing
	// them while paging would move the pages under the reader.
	var todo []model.Identity
	if sel.All {
		if sel.State == "" || sel.State == need {
			except := set(sel.Except)
			seen := map[string]struct{}{}
			_, err := p.scan(ctx, network, sel.Filter, need, func(x model.Identity) bool {
				_, out := except[x.ID]
				_, dup := seen[x.ID]
				if action == model.ActionReset && x.SignedIn {
					return true // refused before anything changes: counted by Summarize
				}
				if !out && !dup {
					seen[x.ID] = struct{}{}
					todo = append(todo, x)
				}
				return true
			})
			if err != nil {
				return err
			}
		}
	} else {
		todo = make([]model.Identity, 0, len(sel.IDs))
		for _, id := range dedupe(sel.IDs) {
			todo = append(todo, model.Identity{ID: id})
		}
	}
	for _, x := range todo {
		if err := ctx.Err(); err != nil {
			return stopped(err)
		}
		if !sel.All {
			// Marked one by one: read each now, and leave out those whose
			// state doesn't allow the action, as Summarize counted them.
			cur, err := p.b.Identity(ctx, network, x.ID)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if cur.State(p.now()) != need || (action == model.ActionReset && cur.SignedIn) {
				continue
			}
			x = cur
		}
		var tok Token
		var err error
		if action == model.ActionReset {
			tok, err = p.b.ResetEnrollment(ctx, network, x.ID, x.Revision, expiresAt)
		} else {
			tok, err = p.b.ReissueEnrollment(ctx, network, x.ID, x.Revision, expiresAt)
		}
		if err != nil && ctx.Err() != nil {
			// The call was cut short by the cancellation, not refused.
			return stopped(ctx.Err())
		}
		if errors.Is(err, ErrSignedIn) {
			continue // became known as the backend's own identity meanwhile: skipped, not failed
		}
		if errors.Is(err, ErrUnavailable) || errors.Is(err, ErrForbidden) {
			// The backend is down, or the caller may not do this: every
			// further call would fail the same way, so stop rather than
			// report each.
			return err
		}
		r := BulkResult{Identity: x, Token: tok, Err: err}
		if err == nil {
			r.Identity = tok.Identity
		}
		if !each(r) {
			return nil
		}
	}
	return nil
}

// UndoneError is returned by BulkApply when changes it had reported (each
// got a result without an error) were not kept after all: the transaction
// holding them could not be committed. Each listed identity is exactly as
// it was before the run; the tokens reported for them never existed.
type UndoneError struct {
	Results []BulkResult // as reported
	Err     error        // why they were not kept
}

func (e *UndoneError) Error() string {
	return fmt.Sprintf("%d of the identities reported changed were not kept (%v): they are as they were, and their new tokens don't exist",
		len(e.Results), e.Err)
}

func (e *UndoneError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// stopped is the error of a bulk run ended by its context: it is in the
// unavailable class and wraps the context's error, so callers can tell a
// cancellation (errors.Is(err, context.Canceled)) from a failure.
func stopped(cause error) error {
	return &stoppedError{cause: cause}
}

type stoppedError struct{ cause error }

func (e *stoppedError) Error() string {
	if errors.Is(e.cause, context.DeadlineExceeded) {
		return "the bulk action ran out of time and stopped; what finished stays finished"
	}
	return "the bulk action was cancelled; what finished stays finished"
}

func (e *stoppedError) Unwrap() []error { return []error{ErrUnavailable, e.cause} }

// Stopped returns the error a Bulker returns when its context ends mid-run.
// Implementations outside this package use it so that every Bulker's
// cancellation reads the same.
func Stopped(cause error) error { return stopped(cause) }

func set(ids []string) map[string]struct{} {
	m := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		m[id] = struct{}{}
	}
	return m
}

// dedupe keeps the first of each ID, in order.
func dedupe(ids []string) []string {
	seen := make(map[string]struct{}, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, ok := seen[id]; !ok {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return slices.Clip(out)
}
