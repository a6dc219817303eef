package backend

import (
	"context"
	"slices"
	"sync"
)

// A dry run (--dry-run): a backend that talks to a remote system plans the
// writes of a mutation instead of sending them, and still makes the reads
// the plan depends on. Only backends that say so in their documentation
// honour it (the OpenZiti client does); front ends must not pass a dry-run
// context to any other (the embedded store would simply act).

// Request is one write a dry run planned: what would be sent.
type Request struct {
	Method string `json:"method"`
	Path   string `json:"path"`           // from the server root, with the query
	Body   string `json:"body,omitempty"` // JSON, "" for none; never a secret
}

// String is the request as --dry-run prints it.
func (r Request) String() string {
	if r.Body == "" {
		return r.Method + " " + r.Path
	}
	return r.Method + " " + r.Path + " " + r.Body
}

// DryRun collects the writes a dry run planned, in order. It is safe for
// concurrent use.
type DryRun struct {
	mu   sync.Mutex
	reqs []Request
}

type dryRunKey struct{}

// WithDryRun returns a context under which mutations are planned, not
// made, and the DryRun that collects the plan.
func WithDryRun(ctx context.Context) (context.Context, *DryRun) {
	d := &DryRun{}
	return context.WithValue(ctx, dryRunKey{}, d), d
}

// DryRunOf is the dry run ctx is under, nil for none.
func DryRunOf(ctx context.Context) *DryRun {
	d, _ := ctx.Value(dryRunKey{}).(*DryRun)
	return d
}

// Add plans one write.
func (d *DryRun) Add(r Request) {
	d.mu.Lock()
	d.reqs = append(d.reqs, r)
	d.mu.Unlock()
}

// Requests is the plan so far.
func (d *DryRun) Requests() []Request {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.reqs)
}
