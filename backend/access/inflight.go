package access

import (
	"context"
	"sync"

	"github.com/idcon/idcon/backend"
)

// Inflight counts the mutations and token deliveries under way across every
// Backend that shares it, so a server shutting down can refuse new ones and
// wait for those already started: a change is never cut off half-way, and
// its audit line is always written. The zero value is ready to use; a nil
// *Inflight guards nothing.
type Inflight struct {
	mu      sync.Mutex
	n       int
	closing bool
	idle    chan struct{} // closed when n drops to 0 while closing
}

// begin registers one call, or refuses it once Close has been called.
func (g *Inflight) begin() (done func(), err error) {
	if g == nil {
		return func() {}, nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return nil, backend.Unavailable("the server is shutting down: nothing was changed; try again when it is back")
	}
	g.n++
	var once sync.Once
	return func() { once.Do(g.end) }, nil
}

func (g *Inflight) end() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.n == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
}

// Running is the number of calls under way.
func (g *Inflight) Running() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

// Close refuses new calls from now on and waits until those under way have
// finished, or ctx is done (then it returns ctx's error).
func (g *Inflight) Close(ctx context.Context) error {
	g.mu.Lock()
	g.closing = true
	if g.n == 0 {
		g.mu.Unlock()
		return nil
	}
	if g.idle == nil {
		g.idle = make(chan struct{})
	}
	idle := g.idle
	g.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
