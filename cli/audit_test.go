package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcon/idcon/audit"
	"github.com/idcon/idcon/backend/access"
)

// TestLocalRunsAreAudited: the CLI's changes and token deliveries are
// audited as the local user, and `idcon audit` shows them, filtered.
func TestLocalRunsAreAudited(t *testing.T) {
	home := t.TempDir()
	must := func(args ...string) runResult {
		t.Helper()
		r := runCLI(t, home, nil, nil, args...)
		if r.code != exitOK {
			t.Fatalf("idcon %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		return r
	}
	must("network", "create", "office")
	must("identity", "create", "laptop-alice", "--expires", "+7d")
	must("identity", "create", "phone-bob", "--expires", "+7d")
	tok := strings.TrimSpace(must("enrollment", "jwt", "laptop-alice").stdout)
	must("enrollment", "delete", "phone-bob", "--yes")
	must("identity", "list") // reads are not audited

	path := filepath.Join(home, "data", "idcon", "audit.log")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode %v, want 0600", st.Mode().Perm())
	}
	if tok == "" || strings.Contains(string(raw), tok) {
		t.Fatal("the token reached the audit log (or none was printed)")
	}

	r := must("audit", "--json")
	var got []string
	me := access.LocalActor().Name
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var e audit.Entry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not a JSON entry: %q", line)
		}
		if e.Actor.Name != me || e.Actor.Via != "local" || e.Actor.Role != "admin" || e.Result != "ok" || e.Network.Name != "office" {
			t.Errorf("entry %+v: want the local admin %s, ok, on office", e, me)
		}
		got = append(got, e.Action+" "+e.Identity.Name)
	}
	want := []string{"create laptop-alice", "create phone-bob", "jwt downloaded laptop-alice", "delete phone-bob"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("audited %q, want %q", got, want)
	}

	r = must("audit", "--identity", "laptop-alice", "--last", "1")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "TIME") || !strings.Contains(lines[1], "jwt downloaded") ||
		!strings.Contains(lines[1], me+" (admin)") || !strings.Contains(lines[1], "office/laptop-alice") {
		t.Fatalf("idcon audit --identity laptop-alice --last 1:\n%s", r.stdout)
	}
	r = must("audit", "--identity", "nobody")
	if !strings.Contains(r.stdout, "holds no entries for nobody yet") {
		t.Fatalf("audit of an identity without entries: %q", r.stdout)
	}
	if r := runCLI(t, home, nil, nil, "audit", "--last", "-1"); r.code != exitUsage || !strings.Contains(r.stderr, "--last must be 0") {
		t.Fatalf("--last -1: exit %d %q", r.code, r.stderr)
	}

	// --demo keeps a trail of its own.
	must("--demo", "demo", "--identities", "10")
	must("--demo", "enrollment", "reset", "--network", "demo", firstEnrolled(t, home), "--expires", "+1d", "--yes")
	if r := must("--demo", "audit", "--json"); strings.Count(r.stdout, "\n") != 1 || !strings.Contains(r.stdout, `"action":"reset"`) {
		t.Fatalf("the demo trail: %q", r.stdout)
	}
	if r := must("audit", "--json"); strings.Count(r.stdout, "\n") != len(want) {
		t.Fatalf("the demo wrote into the real trail:\n%s", r.stdout)
	}
}

// firstEnrolled names an enrolled identity of the demo network.
func firstEnrolled(t *testing.T, home string) string {
	t.Helper()
	r := runCLI(t, home, nil, nil, "--demo", "identity", "list", "--network", "demo", "--state", "enrolled", "--limit", "1", "--json")
	var page struct{ Items []struct{ Name string } }
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil || len(page.Items) != 1 {
		t.Fatalf("demo list: %v %q %q", err, r.stdout, r.stderr)
	}
	return page.Items[0].Name
}

func TestNoChangeWithoutItsAudit(t *testing.T) {
	home := t.TempDir()
	if r := runCLI(t, home, nil, nil, "network", "create", "office"); r.code != exitOK {
		t.Fatal(r.stderr)
	}
	log := filepath.Join(home, "data", "idcon", "audit.log")
	if err := os.Mkdir(log, 0o700); err != nil { // a folder where the file should be
		t.Fatal(err)
	}
	r := runCLI(t, home, nil, nil, "identity", "create", "laptop-alice", "--expires", "+7d")
	if r.code != exitError || !strings.Contains(r.stderr, "can't open the audit log") {
		t.Fatalf("exit %d %q", r.code, r.stderr)
	}
	r = runCLI(t, home, nil, nil, "identity", "list", "--json")
	if strings.Contains(r.stdout, "laptop-alice") {
		t.Fatal("a change was made without its audit")
	}
}

func TestServeFlagsAndMissingKeys(t *testing.T) {
	home := t.TempDir()
	if r := runCLI(t, home, nil, nil, "serve", "--max-sessions", "0"); r.code != exitUsage || !strings.Contains(r.stderr, "--max-sessions must be at least 1") {
		t.Fatalf("--max-sessions 0: exit %d %q", r.code, r.stderr)
	}
	r := runCLI(t, home, nil, nil, "serve", "--listen", "127.0.0.1:0")
	want := "authorized keys file " + filepath.Join(home, "data", "idcon", "authorized_keys") + " does not exist"
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if last := lines[len(lines)-1]; r.code != exitError || !strings.HasPrefix(last, "idcon: ") || !strings.Contains(last, want) {
		t.Fatalf("serve without keys: exit %d %q, want one line saying %q", r.code, r.stderr, want)
	}
}

func TestFileNameOfAnAdmin(t *testing.T) {
	seen := map[string]string{}
	for _, name := range []string{"alice", "alice.b", "alice b", "alice/b", "alice_b", "..", "../etc", ".hidden", "ålice", "SHA256:abc/def+g"} {
		f := fileName(name)
		if f == "" || strings.ContainsAny(f, "/ ") || strings.HasPrefix(f, ".") {
			t.Errorf("fileName(%q) = %q", name, f)
		}
		if other, dup := seen[f]; dup {
			t.Errorf("%q and %q share the file %q", name, other, f)
		}
		seen[f] = name
	}
	if fileName("alice") != "alice" {
		t.Errorf("a plain name is changed: %q", fileName("alice"))
	}
}
