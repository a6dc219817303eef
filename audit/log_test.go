package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func entry(actor, identity, action, result string) Entry {
	return Entry{
		Time:     time.Date(2026, 11, 26, 13, 0, 0, 0, time.FixedZone("CET", 3600)),
		Actor:    Actor{Name: actor, Fingerprint: "SHA256:abc", Role: "admin", Via: "ssh"},
		Network:  Ref{ID: "n1", Name: "demo"},
		Identity: Ref{ID: "id-" + identity, Name: identity},
		Action:   action,
		Result:   result,
	}
}

func TestAppendAndRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "audit.log")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	want := []Entry{
		entry("alice", "bob", ActionReset, ResultOK),
		entry("carol", "bob", ActionReset, "viewers can't reset enrollments"),
		entry("alice", "dave", ActionJWTDownloaded, ResultOK),
	}
	for _, e := range want {
		if err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("audit file mode = %v, want 0600", st.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	if n := bytes.Count(raw, []byte("\n")); n != 3 {
		t.Fatalf("file holds %d lines, want 3:\n%s", n, raw)
	}
	if !bytes.Contains(raw, []byte(`"time":"2026-11-26T12:00:00Z"`)) {
		t.Errorf("time not stored in UTC RFC 3339:\n%s", raw)
	}

	got, err := Read(path, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("Read returned %d entries, want 3", len(got))
	}
	for i := range want {
		w := want[i]
		w.Time = w.Time.UTC()
		if got[i] != w {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], w)
		}
	}

	bob, _ := Read(path, Filter{Identity: "bob"})
	if len(bob) != 2 || bob[1].Actor.Name != "carol" {
		t.Errorf("filter by name: %+v", bob)
	}
	byID, _ := Read(path, Filter{Identity: "id-dave"})
	if len(byID) != 1 || byID[0].Identity.Name != "dave" {
		t.Errorf("filter by id: %+v", byID)
	}
	last, _ := Read(path, Filter{Last: 2})
	if len(last) != 2 || last[0].Actor.Name != "carol" || last[1].Identity.Name != "dave" {
		t.Errorf("last 2: %+v", last)
	}
	lastBob, _ := Read(path, Filter{Identity: "bob", Last: 1})
	if len(lastBob) != 1 || lastBob[0].Actor.Name != "carol" {
		t.Errorf("last 1 of bob: %+v", lastBob)
	}
}

func TestReadMissingFileIsEmpty(t *testing.T) {
	got, err := Read(filepath.Join(t.TempDir(), "none.log"), Filter{})
	if err != nil || len(got) != 0 {
		t.Fatalf("Read(missing) = %v, %v; want nothing, nil", got, err)
	}
}

func TestReadDamagedLineNamesIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, _ := Open(path)
	_ = l.Append(entry("alice", "bob", ActionReset, ResultOK))
	_ = l.Close()
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("not json\n")
	f.Close()
	_, err := Read(path, Filter{})
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("Read of a damaged log: err = %v, want one naming line 2", err)
	}
}

func TestReadSkipsTornLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, _ := Open(path)
	_ = l.Append(entry("alice", "bob", ActionReset, ResultOK))
	_ = l.Close()
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"time":"2026-11-26T12:00:00Z","actor":{"na`)
	f.Close()
	got, err := Read(path, Filter{})
	if err != nil || len(got) != 1 {
		t.Fatalf("Read with a torn last line = %d entries, %v; want 1, nil", len(got), err)
	}
}

func TestOpenTightensLooseMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode after Open = %v, want 0600", st.Mode().Perm())
	}
}

func TestAppendNeverStoresAToken(t *testing.T) {
	const jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJl"
	path := filepath.Join(t.TempDir(), "audit.log")
	l, _ := Open(path)
	defer l.Close()
	e := entry("alice", "bob", ActionJWTDownloaded, "write failed for token "+jwt+": disk full")
	e.Identity.Name = jwt
	if err := l.Append(e); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw, []byte("eyJ")) {
		t.Fatalf("token reached the audit file:\n%s", raw)
	}
	if !bytes.Contains(raw, []byte("[token]")) {
		t.Fatalf("token not replaced by a marker:\n%s", raw)
	}
}

func TestLongFieldsKeepLineUnderPipeBuf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, _ := Open(path)
	defer l.Close()
	big := strings.Repeat("\x01é", 5000) // escapes to 6 bytes per control
	e := entry(big, big, ActionReset, big)
	e.Network.Name = big
	if err := l.Append(e); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if len(raw) > maxLine || !bytes.HasSuffix(raw, []byte("\n")) {
		t.Fatalf("line is %d bytes, want at most %d ending in a newline", len(raw), maxLine)
	}
	if got, err := Read(path, Filter{}); err != nil || len(got) != 1 || got[0].Action != ActionReset {
		t.Fatalf("cut entry doesn't read back: %v %v", got, err)
	}
}

// TestConcurrentAppendsFromProcesses has several processes, each with several
// goroutines, append to one file: every line must come out whole.
func TestConcurrentAppendsFromProcesses(t *testing.T) {
	if os.Getenv("AUDIT_HELPER_PATH") != "" {
		t.Skip("helper")
	}
	path := filepath.Join(t.TempDir(), "audit.log")
	const procs, goroutines, each = 4, 4, 25
	var cmds []*exec.Cmd
	for p := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAppendHelper$")
		cmd.Env = append(os.Environ(), "AUDIT_HELPER_PATH="+path, "AUDIT_HELPER_ID="+strconv.Itoa(p),
			fmt.Sprintf("AUDIT_HELPER_N=%d,%d", goroutines, each))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 8192), 8192)
	seen := map[string]bool{}
	batchNext := map[string]int{} // per process, the AppendAll entry due next
	for sc.Scan() {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("interleaved or torn line %q: %v", sc.Text(), err)
		}
		seen[e.Identity.Name] = true
		if proc, j, ok := strings.Cut(e.Identity.Name, "-all-"); ok {
			if want := strconv.Itoa(batchNext[proc]); j != want {
				t.Errorf("%s's AppendAll line %s came where %s was due", proc, j, want)
			}
			batchNext[proc]++
		}
	}
	if want := procs * (goroutines + 1) * each; len(seen) != want {
		t.Fatalf("%d distinct entries, want %d", len(seen), want)
	}
}

// TestAppendHelper is run as a child process by the test above.
func TestAppendHelper(t *testing.T) {
	path := os.Getenv("AUDIT_HELPER_PATH")
	if path == "" {
		t.Skip("only run as a helper process")
	}
	var g, n int
	fmt.Sscanf(os.Getenv("AUDIT_HELPER_N"), "%d,%d", &g, &n)
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	pad := strings.Repeat("x", 1500) // long lines make tearing likelier
	var wg sync.WaitGroup
	wg.Go(func() {
		// One batch through AppendAll, lines of many lengths: it packs
		// them into few writes, which must not tear or interleave
		// either, and keeps their order.
		var batch []Entry
		for j := range n {
			name := fmt.Sprintf("p%s-all-%d", os.Getenv("AUDIT_HELPER_ID"), j)
			batch = append(batch, entry("alice", name, ActionReset, strings.Repeat("y", j*131%1900)))
		}
		if err := l.AppendAll(batch); err != nil {
			t.Error(err)
		}
	})
	for i := range g {
		wg.Go(func() {
			for j := range n {
				name := fmt.Sprintf("p%s-g%d-%d", os.Getenv("AUDIT_HELPER_ID"), i, j)
				if err := l.Append(entry("alice", name, ActionReset, pad)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

func TestPrintTextIsSanitized(t *testing.T) {
	e := entry("mallory\x1b[2J\x1b]0;pwn\x07", "bo\u202eb", ActionReset, "refused\r\nfake line")
	var b bytes.Buffer
	if err := Print(&b, []Entry{e}, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, bad := range []string{"\x1b", "\x07", "\u202e", "\r"} {
		if strings.Contains(out, bad) {
			t.Errorf("text output holds %q:\n%q", bad, out)
		}
	}
	if strings.Count(out, "\n") != 2 {
		t.Errorf("want a header and one line, got %q", out)
	}
	for _, want := range []string{"2026-11-26T12:00:00Z", "mallory", "admin", "SHA256:abc", "reset", "demo/bob", "refused  fake line"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
}

func TestPrintJSONEscapesInvisibles(t *testing.T) {
	e := entry("eve\u202e\u200b\u009b", "bob", ActionQRShown, ResultOK)
	var b bytes.Buffer
	if err := Print(&b, []Entry{e}, true); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(b.String(), "\u202e\u200b\u009b") {
		t.Fatalf("JSON output holds raw invisible characters: %q", b.String())
	}
	var back Entry
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back.Actor.Name != e.Actor.Name {
		t.Fatalf("escaped JSON doesn't decode to the same name: %q %v", back.Actor.Name, err)
	}
}
