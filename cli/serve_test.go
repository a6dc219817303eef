package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestServeRefusesBadOpsFlags(t *testing.T) {
	for args, want := range map[string]string{
		"serve --log-format xml":     `--log-format is json or text, not "xml"`,
		"serve --shutdown-grace -1s": "--shutdown-grace must be a duration",
		"serve --health-listen nope": "--health-listen must be host:port",
	} {
		r := runCLI(t, t.TempDir(), nil, nil, strings.Fields(args)...)
		if r.code == exitOK || !strings.Contains(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%s: %d %q; want one line with %q", args, r.code, r.stderr, want)
		}
	}
}

// TestDBBackup: idcon db backup FILE writes a copy that opens and lists
// the network; a second run without --force keeps the first copy and says
// how to replace it, in one line.
func TestDBBackup(t *testing.T) {
	home := t.TempDir()
	if r := runCLI(t, home, nil, nil, "network", "create", "office"); r.code != exitOK {
		t.Fatalf("network create: %+v", r)
	}
	dest := filepath.Join(t.TempDir(), "copy.db")
	r := runCLI(t, home, nil, nil, "db", "backup", dest)
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "backed up ") || !strings.Contains(r.stdout, dest) {
		t.Fatalf("db backup: %+v", r)
	}
	r = runCLI(t, home, nil, nil, "--db", dest, "network", "list")
	if r.code != exitOK || !strings.Contains(r.stdout, "office") {
		t.Errorf("the copy lists: %+v", r)
	}
	r = runCLI(t, home, nil, nil, "db", "backup", dest)
	if r.code != exitError || !strings.Contains(r.stderr, "pass --force") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("over the copy without --force: %+v", r)
	}
	if r := runCLI(t, home, nil, nil, "db", "backup", "--force", dest); r.code != exitOK {
		t.Errorf("with --force: %+v", r)
	}
	if r := runCLI(t, home, nil, nil, "db", "backup"); r.code != exitUsage || !strings.Contains(r.stderr, "needs FILE") {
		t.Errorf("without FILE: %+v", r)
	}
}
