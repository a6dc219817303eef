package ui

import (
	"context"
	"errors"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/safetext"
)

// A load (the networks, a page of the list, the identity being edited)
// that fails because the backend can't be reached is tried again by
// itself after a countdown the admin sees, waiting longer each time. The
// console keeps answering keys meanwhile. Mutations are never retried:
// the admin decides whether to try a change again.

// retryTarget says which load a countdown belongs to.
type retryTarget int

const (
	retryNetworks retryTarget = iota
	retryList
	retryIdentity
)

// retryTickMsg is one second of a countdown; only the tick carrying the
// current countdown's seq counts.
type retryTickMsg struct {
	target retryTarget
	seq    int
}

// maxRetryDelay caps the backoff: a controller that comes back is noticed
// within half a minute.
const maxRetryDelay = 30

// retryDelay is the wait, in seconds, before retry number attempt (0, 1,
// ...): 2, 4, 8, 16, 30, 30...
func retryDelay(attempt int) int {
	if attempt >= 4 {
		return maxRetryDelay
	}
	return min(maxRetryDelay, 2<<attempt)
}

// retryable reports whether a load that failed with err is worth trying
// again by itself: the backend was unreachable or too slow to answer.
func retryable(err error) bool {
	return errors.Is(err, backend.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)
}

// retry is the state of one load's automatic retries.
type retry struct {
	attempt int    // countdowns started since the last success
	left    int    // seconds until the next try; 0 when none is counting
	seq     int    // carried by this countdown's ticks
	err     error  // why the last try failed
	kind    string // the network's kind, to name what is unreachable
}

func (r *retry) waiting() bool { return r.left > 0 }

// schedule starts the countdown to the next try after a failure, unless
// one is already counting (two pages failing at once wait together).
func (r *retry) schedule(s *session, target retryTarget, kind string, err error) tea.Cmd {
	r.err, r.kind = err, kind
	if r.waiting() {
		return nil
	}
	r.left = retryDelay(r.attempt)
	r.attempt++
	r.seq = s.nextSeq()
	return r.tick(s, target)
}

func (r *retry) tick(s *session, target retryTarget) tea.Cmd {
	seq := r.seq
	return s.tick(time.Second, func(time.Time) tea.Msg { return retryTickMsg{target: target, seq: seq} })
}

// count handles a tick of the countdown: it returns the next tick while
// time is left, or due when the load should be tried now.
func (r *retry) count(s *session, msg retryTickMsg) (cmd tea.Cmd, due bool) {
	if msg.seq != r.seq || !r.waiting() {
		return nil, false // an old countdown's tick
	}
	r.left--
	if r.left > 0 {
		return r.tick(s, msg.target), false
	}
	return nil, true
}

// text says what is happening: "controller unreachable, retrying in 4s".
func (r *retry) text() string {
	if r.left == 0 {
		return unreachable(r.kind) + ", retrying now"
	}
	return fmt.Sprintf("%s, retrying in %ds", unreachable(r.kind), r.left)
}

// retryDetail is why a load will be retried, in the backend's words
// (describeErr's advice to try again would be moot).
func retryDetail(err error) string {
	var be *backend.Error
	switch {
	case errors.As(err, &be):
		return be.Msg
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer in time"
	}
	return err.Error()
}

// unreachable names what can't be reached for a network of this kind.
func unreachable(kind string) string {
	switch kind {
	case "embedded":
		return "database unavailable"
	case "":
		return "backend unreachable"
	case "netfoundry":
		return "NetFoundry unreachable"
	}
	return "controller unreachable"
}

// retryView is the Edit Identity screen's line about a countdown.
func (v *identityScreen) retryView() string {
	st := &v.s.styles
	return st.Error.Render(v.retry.text()) + "\n" +
		st.Muted.Render(safetext.Line(retryDetail(v.retry.err), max(10, v.width)))
}

// pageFailed handles a page that couldn't be loaded: an unreachable
// backend starts the countdown to asking again.
func (s *identitiesScreen) pageFailed(err error) tea.Cmd {
	if !retryable(err) {
		s.retry = retry{}
		return nil
	}
	return s.retry.schedule(s.s, retryList, s.network.Kind, err)
}

func (s *identitiesScreen) retryTick(msg retryTickMsg, shown bool) tea.Cmd {
	cmd, due := s.retry.count(s.s, msg)
	if !due || !shown {
		return cmd
	}
	// The failed pages were forgotten when their answers came: asking for
	// the cursor's page asks again.
	return s.ensurePage()
}

// errText is what the status line says about the last failure.
func (s *identitiesScreen) errText() string {
	if s.retry.attempt > 0 { // counting down, or asking again right now
		return s.retry.text() + " · " + retryDetail(s.err)
	}
	return describeErr(s.err)
}
