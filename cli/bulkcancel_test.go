package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/idcon/idcon/audit"
	"github.com/idcon/idcon/backend/embedded"
	"github.com/idcon/idcon/model"
)

// TestBulkResetStopsAtCtrlC: `idcon enrollment reset --all -o FILE` on
// the embedded backend gets a real SIGINT (as Ctrl-C sends) when it has
// reset 700 identities, in the middle of its second batch (the first two
// are 500 each). It stops at most 50 identities later, never at the end
// of the batch; every identity it changed is in the token file with the
// token the database now holds for it, and in the audit log; the summary
// gives exactly that number and says the rest were left as they were; and
// the rest are as they were.
func TestBulkResetStopsAtCtrlC(t *testing.T) {
	home := t.TempDir()
	db := filepath.Join(home, "cancel.db")
	if r := runCLI(t, home, nil, nil, "--db", db, "demo", "--identities", "3000"); r.code != 0 {
		t.Fatalf("demo: %d %s", r.code, r.stderr)
	}
	store, err := embedded.Open(db, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	nets, err := store.Networks(t.Context())
	if err != nil || len(nets) != 1 {
		t.Fatalf("networks: %v %v", nets, err)
	}
	network := nets[0].ID
	enrolled := func() map[string]bool {
		out := map[string]bool{}
		for off := 0; ; off += model.MaxPageSize {
			page, err := store.Identities(t.Context(), network, model.ListQuery{State: model.StateEnrolled, Offset: off, Limit: model.MaxPageSize})
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range page.Items {
				out[x.ID] = true
			}
			if len(page.Items) == 0 {
				return out
			}
		}
	}
	before := enrolled()
	const pressAt = 700
	if len(before) < 1100 {
		t.Fatalf("only %d enrolled: the test needs more than two batches", len(before))
	}

	// Our own registration keeps the process alive whatever happens to
	// the command's: SIGINT must reach the command, never kill the test.
	seen := make(chan os.Signal, 1)
	signal.Notify(seen, os.Interrupt)
	defer signal.Stop(seen)
	pressed := false
	tokens := filepath.Join(home, "tokens.jsonl")
	var out, errOut bytes.Buffer
	env := environment{
		stdin: strings.NewReader(""), stdout: &out, stderr: &errOut,
		getenv: func(k string) string {
			if k == "HOME" {
				return home
			}
			return ""
		},
		now:     time.Now,
		console: func(context.Context, ConsoleEnv) error { return failf("no console in this test") },
		bulkDone: func(ctx context.Context, done int) {
			if done != pressAt || pressed {
				return
			}
			pressed = true
			if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
				t.Error(err)
				return
			}
			<-seen
			select { // the command's context ends once its handler has the signal
			case <-ctx.Done():
			case <-time.After(30 * time.Second):
				t.Error("the run's context was not cancelled 30 s after SIGINT")
			}
		},
	}
	code := run(context.Background(), []string{"--db", db, "enrollment", "reset", "--all", "--yes", "--expires", "+7d", "-o", tokens}, env)
	if !pressed {
		t.Fatalf("the run never reached %d identities: exit %d, %s", pressAt, code, errOut.String())
	}
	if code == 0 {
		t.Errorf("exit 0 after Ctrl-C; want a failure: the run did not finish")
	}

	// What the database says was changed.
	after := enrolled()
	changed := map[string]bool{}
	for id := range before {
		if !after[id] {
			changed[id] = true
		}
	}
	if len(changed) < pressAt || len(changed) > pressAt+50 {
		t.Fatalf("%d identities reset after a Ctrl-C at %d: want %d to %d", len(changed), pressAt, pressAt, pressAt+50)
	}
	for id := range after {
		if !before[id] {
			t.Errorf("%s became enrolled during a reset", id)
		}
	}

	// The token file: one line per identity changed, with its token.
	f, err := os.Open(tokens)
	if err != nil {
		t.Fatalf("the token file: %v", err)
	}
	defer f.Close()
	inFile := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		var line bulkTokenJSON
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("token file line %q: %v", sc.Text(), err)
		}
		if inFile[line.ID] {
			t.Errorf("%s is twice in the token file", line.Identity)
		}
		inFile[line.ID] = true
		if !changed[line.ID] {
			t.Errorf("%s is in the token file but was not reset", line.Identity)
			continue
		}
		jwt, err := store.TokenJWT(t.Context(), network, line.ID)
		if err != nil || jwt != line.JWT {
			t.Errorf("%s: the file's token is not the one the database holds (%v)", line.Identity, err)
		}
	}
	if len(inFile) != len(changed) {
		t.Errorf("the token file holds %d identities, %d were reset", len(inFile), len(changed))
	}

	// The audit log: one "ok" reset per identity changed, nothing else.
	entries, err := audit.Read(strings.TrimSuffix(db, ".db")+".audit.log", audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	audited := map[string]bool{}
	for _, e := range entries {
		if e.Action != audit.ActionReset {
			continue
		}
		if e.Result != audit.ResultOK || !changed[e.Identity.ID] || audited[e.Identity.ID] {
			t.Errorf("audit entry %+v: not one of the %d identities reset, or not once", e, len(changed))
		}
		audited[e.Identity.ID] = true
	}
	if len(audited) != len(changed) {
		t.Errorf("the audit log holds %d resets, %d identities were reset", len(audited), len(changed))
	}

	// The summary says how many, and that the others were left alone.
	summary := fmt.Sprintf("reset %d identities", len(changed))
	stopped := fmt.Sprintf("stopped before the end: %d identities were reset and the others were left as they were", len(changed))
	if !strings.Contains(out.String(), summary) || !strings.Contains(errOut.String(), stopped) {
		t.Errorf("stdout %q, stderr %q: want %q and %q", out.String(), errOut.String(), summary, stopped)
	}
}
