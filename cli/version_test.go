package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVersionNamesTagCommitAndDate: --version prints what the release
// build stamped in (the tag, the commit and the commit's date), so an
// operator can tell which build runs.
func TestVersionNamesTagCommitAndDate(t *testing.T) {
	defer func(v, c, d string) { Version, Commit, Date = v, c, d }(Version, Commit, Date)
	Version, Commit, Date = "v1.2.3", "0123456789abcdef0123456789abcdef01234567", "2026-12-07T05:00:00Z"
	r := runCLI(t, t.TempDir(), nil, nil, "--version")
	want := "idcon version v1.2.3 (commit 0123456789ab, built 2026-12-07T05:00:00Z)\n"
	if r.code != exitOK || r.stdout != want {
		t.Errorf("--version: %d %q %q; want %q", r.code, r.stdout, r.stderr, want)
	}
	Commit, Date = "", ""
	r = runCLI(t, t.TempDir(), nil, nil, "--version")
	if want := "idcon version v1.2.3 (commit unknown, built unknown)\n"; r.stdout != want {
		t.Errorf("--version without commit: %q; want %q", r.stdout, want)
	}
}

// TestWriteDocs: one man page per command of the tree (idcon.1, then
// idcon-VERB.1 for each verb and subverb), each a man(7) page carrying the
// command's own flags, and the three completion scripts.
func TestWriteDocs(t *testing.T) {
	dir := t.TempDir()
	if err := WriteDocs(dir, "v9.9.9", "2026-12-07T05:00:00Z"); err != nil {
		t.Fatal(err)
	}
	// The oracle: the pages a reader of `idcon --help` expects, written
	// out by hand (not walked from the tree the function walks).
	for page, flag := range map[string]string{
		"idcon.1":                    "--db",
		"idcon-serve.1":              "--listen",
		"idcon-network-create.1":     "",
		"idcon-identity-list.1":      "--json",
		"idcon-enrollment-reset.1":   "",
		"idcon-audit.1":              "",
		"idcon-completion-bash.1":    "",
		"idcon-completion-fish.1":    "",
		"idcon-demo.1":               "",
		"idcon-enrollment-reissue.1": "",
	} {
		b, err := os.ReadFile(filepath.Join(dir, "man", page))
		if err != nil {
			t.Errorf("no man page %s: %v", page, err)
			continue
		}
		s := string(b)
		title := strings.ToUpper(strings.TrimSuffix(page, ".1"))
		if !strings.Contains(s, `.TH "`+title+`" "1" "Dec 2026" "idcon v9.9.9"`) {
			t.Errorf("%s: no .TH header for %s:\n%.300s", page, title, s)
		}
		if flag != "" && !strings.Contains(strings.ReplaceAll(s, `\-`, "-"), flag) {
			t.Errorf("%s does not document %s", page, flag)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "man", "idcon-help.1")); err == nil {
		t.Error("a man page for the help command: man idcon is the help")
	}
	for name, want := range map[string]string{
		"idcon.bash": "complete -o default -F __start_idcon idcon",
		"_idcon":     "#compdef idcon",
		"idcon.fish": "complete -c idcon",
	} {
		b, err := os.ReadFile(filepath.Join(dir, "completions", name))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("completions/%s: %v, want %q in it", name, err, want)
		}
	}
	// The shells themselves accept the scripts, where they are installed.
	if bash, err := exec.LookPath("bash"); err == nil {
		if out, err := exec.Command(bash, "-n", filepath.Join(dir, "completions", "idcon.bash")).CombinedOutput(); err != nil {
			t.Errorf("bash -n idcon.bash: %v\n%s", err, out)
		}
	}
	// man(1) renders each page without a warning, where man-db is installed.
	if _, err := exec.LookPath("groff"); err == nil {
		cmd := exec.Command("groff", "-man", "-Tutf8", "-ww", "-z", filepath.Join(dir, "man", "idcon-serve.1"))
		if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("groff -man idcon-serve.1: %v\n%s", err, out)
		}
	}
}
