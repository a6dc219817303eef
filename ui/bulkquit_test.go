package ui

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/audit"
	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/access"
	"github.com/idcon/idcon/backend/embedded"
	"github.com/idcon/idcon/model"
)

// quitBulker lets a bulk run go until its at-th identity is reported,
// then (paused) holds it until the run is cancelled and the test says the console
// has returned (or, when the console waits for the run, a second has
// passed): a console that returns while its run is still under way is
// then caught returning first.
type quitBulker struct {
	backend.Backend
	at       int
	paused   chan struct{}
	returned chan struct{}
	ended    chan struct{}
}

func (q *quitBulker) BulkApply(ctx context.Context, network string, sel backend.Selection, a model.Action, exp time.Time,
	each func(backend.BulkResult) bool) error {
	defer close(q.ended)
	n := 0
	return backend.Bulk(q.Backend, nil).BulkApply(ctx, network, sel, a, exp, func(r backend.BulkResult) bool {
		ok := each(r)
		if n++; n == q.at {
			close(q.paused)
			<-ctx.Done()
			select {
			case <-q.returned:
			case <-time.After(time.Second):
			}
		}
		return ok
	})
}

func (q *quitBulker) Summarize(ctx context.Context, network string, sel backend.Selection, a model.Action) (backend.BulkSummary, error) {
	return backend.Bulk(q.Backend, nil).Summarize(ctx, network, sel, a)
}

// lockedBuffer is the terminal's output, read while the program writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestCtrlCInABulkRunWaitsForItsEnd: ctrl+c quits the console in the
// middle of a bulk reset on the embedded backend (at the 700th identity,
// inside its second batch). The console returns only once the run has
// stopped, after the identity under way, and written its audit lines:
// when Run returns the audit log (closed then, as the CLI closes it) holds
// one "ok" reset for each identity the database shows reset, which is
// at most 50 more than the 700 done at the press.
func TestCtrlCInABulkRunWaitsForItsEnd(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := embedded.Open(filepath.Join(dir, "idcon.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	net, err := store.SeedDemo(ctx, "demo", 3000)
	if err != nil {
		t.Fatal(err)
	}
	enrolled := func() int {
		p, err := store.Identities(ctx, net.ID, model.ListQuery{State: model.StateEnrolled, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		return p.Total
	}
	before := enrolled()
	const pressAt = 700
	if before < 1100 {
		t.Fatalf("only %d enrolled: the test needs more than two batches", before)
	}
	logPath := filepath.Join(dir, "audit.log")
	trail, err := audit.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	qb := &quitBulker{Backend: access.New(store, access.LocalActor(), trail, time.Now), at: pressAt,
		paused: make(chan struct{}), returned: make(chan struct{}), ended: make(chan struct{})}

	in, keys := io.Pipe()
	out := &lockedBuffer{}
	runErr := make(chan error, 1)
	go func() {
		runErr <- Run(ctx, Options{Backend: qb, Location: time.UTC}, in, out, tea.WithWindowSize(100, 30), tea.WithoutSignals())
	}()
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !strings.Contains(out.String(), what) {
			if time.Now().After(deadline) {
				o := out.String()
				t.Fatalf("the console never showed %q; it wrote %d bytes, ending %q", what, len(o), o[max(0, len(o)-600):])
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	press := func(k string) {
		t.Helper()
		if _, err := keys.Write([]byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor("q quit") // the list is up: mark all, once its first page is in (a does nothing before)
	for tries := 0; !strings.Contains(out.String(), "marked"); tries++ {
		if tries == 200 {
			t.Fatal("a never marked the identities")
		}
		press("a") // marking all again changes nothing
		time.Sleep(100 * time.Millisecond)
	}
	press("r")
	waitFor("enter submit") // the date picker
	press("\r")
	waitFor(fmtCount(before) + " identities?") // counted
	press("y")
	<-qb.paused // at the 700th identity
	press("\x03")
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
	trail.Close() // as the CLI does once the console returns
	close(qb.returned)
	<-qb.ended
	keys.Close()

	changed := before - enrolled()
	if changed < pressAt || changed > pressAt+50 {
		t.Fatalf("%d identities reset after ctrl+c at %d: want %d to %d", changed, pressAt, pressAt, pressAt+50)
	}
	entries, err := audit.Read(logPath, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	ok := 0
	for _, e := range entries {
		if e.Action == audit.ActionReset && e.Result == audit.ResultOK {
			ok++
		}
	}
	if ok != changed {
		t.Errorf("the audit log holds %d resets when the console has returned; the database holds %d", ok, changed)
	}
}
