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
	"github.com/idcon/idcon/backend/openziti/zitifake"
)

// TestBulkResetOnControllerStopsAtCtrlC (issue 27, item 2, the controller
// half): `idcon enrollment reset --all -o FILE` on a fake OpenZiti
// controller gets a real SIGINT when it has reset 100 of 300 enrolled
// identities, with others under way (the controller bulk works on several
// at once). It stops at most 50 identities later; every identity the
// controller now holds reset is in the token file with the token the
// controller holds for it, and in the audit log; the summary gives exactly
// that number and says the rest were left as they were; the rest still
// hold their certificate and no token.
func TestBulkResetOnControllerStopsAtCtrlC(t *testing.T) {
	home := t.TempDir()
	f := zitifake.Start(t)
	const total, pressAt = 300, 100
	specs := make([]zitifake.Seeded, total)
	names := make([]string, total)
	for i := range specs {
		names[i] = fmt.Sprintf("cancel-%03d", i)
		specs[i] = zitifake.Seeded{Name: names[i], Certs: 1}
	}
	f.Seed(specs)
	cfgPath := filepath.Join(home, "config.yaml")
	cfg := fmt.Sprintf("networks:\n  - name: ctrl\n    controller: %s\n    ca: %s\n    username: %s\n    passwordEnv: CTRL_PASSWORD\n", f.URL, f.CAFile, f.Username)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(home, "idcon.db")

	seen := make(chan os.Signal, 1)
	signal.Notify(seen, os.Interrupt)
	defer signal.Stop(seen)
	pressed := false
	tokens := filepath.Join(home, "tokens.jsonl")
	var out, errOut bytes.Buffer
	env := environment{
		stdin: strings.NewReader(""), stdout: &out, stderr: &errOut,
		getenv: func(k string) string {
			switch k {
			case "HOME":
				return home
			case "CTRL_PASSWORD":
				return f.Password
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
			select {
			case <-ctx.Done():
			case <-time.After(30 * time.Second):
				t.Error("the run's context was not cancelled 30 s after SIGINT")
			}
		},
	}
	code := run(context.Background(), []string{"--config", cfgPath, "--db", db, "--network", "ctrl",
		"enrollment", "reset", "--all", "--yes", "--expires", "+7d", "-o", tokens}, env)
	if !pressed {
		t.Fatalf("the run never reached %d identities: exit %d, %s", pressAt, code, errOut.String())
	}
	if code == 0 {
		t.Errorf("exit 0 after Ctrl-C; want a failure: the run did not finish")
	}

	// What the controller says was changed.
	changed := map[string]zitifake.Identity{} // by id
	for _, name := range names {
		x, ok := f.IdentityByName(name)
		if !ok {
			t.Fatalf("%s is gone", name)
		}
		switch {
		case x.Enrollment != nil && x.Authenticators == 0:
			changed[x.ID] = x
		case x.Enrollment == nil && x.Authenticators == 1:
		default:
			t.Errorf("%s is half reset: token %v, %d authenticators", name, x.Enrollment != nil, x.Authenticators)
		}
	}
	if len(changed) < pressAt || len(changed) > pressAt+50 {
		t.Fatalf("%d identities reset after a Ctrl-C at %d: want %d to %d", len(changed), pressAt, pressAt, pressAt+50)
	}

	// The token file: one line per identity changed, with its token.
	fh, err := os.Open(tokens)
	if err != nil {
		t.Fatalf("the token file: %v", err)
	}
	defer fh.Close()
	inFile := map[string]bool{}
	sc := bufio.NewScanner(fh)
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
		x, ok := changed[line.ID]
		if !ok {
			t.Errorf("%s is in the token file but was not reset", line.Identity)
			continue
		}
		if x.Enrollment.JWT != line.JWT {
			t.Errorf("%s: the file's token is not the one the controller holds", line.Identity)
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
		if _, ok := changed[e.Identity.ID]; e.Result != audit.ResultOK || !ok || audited[e.Identity.ID] {
			t.Errorf("audit entry %+v: not one of the %d identities reset, or not once", e, len(changed))
		}
		audited[e.Identity.ID] = true
	}
	if len(audited) != len(changed) {
		t.Errorf("the audit log holds %d resets, %d identities were reset", len(audited), len(changed))
	}

	summary := fmt.Sprintf("reset %d identities", len(changed))
	stopped := fmt.Sprintf("stopped before the end: %d identities were reset and the others were left as they were", len(changed))
	if !strings.Contains(out.String(), summary) || !strings.Contains(errOut.String(), stopped) {
		t.Errorf("stdout %q, stderr %q: want %q and %q", out.String(), errOut.String(), summary, stopped)
	}
}
