// Package packaging holds what the .deb and .rpm install beside the binary
// (the systemd unit, the sysusers line, the config file, the maintainer
// scripts) and the tests of the release: the unit's hardening, systemd's
// own checks of it, and a snapshot of the linux/amd64 archive and .deb
// built by scripts/release.sh, unpacked and run.
package packaging

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// unit reads a unit file's directives: name → the values it is given, in
// order (continuation lines joined).
func unit(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	var pending string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if pending != "" {
			line = pending + " " + line
			pending = ""
		}
		if strings.HasSuffix(line, "\\") {
			pending = strings.TrimSuffix(line, "\\")
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: not a directive: %q", path, line)
		}
		out[k] = append(out[k], strings.Join(strings.Fields(v), " "))
	}
	return out
}

// TestUnitIsHardened: the directives the issue asks of idcon-serve.service,
// as the issue words them.
func TestUnitIsHardened(t *testing.T) {
	u := unit(t, "idcon-serve.service")
	for k, want := range map[string]string{
		"User":                   "idcon",
		"StateDirectory":         "idcon",
		"ConfigurationDirectory": "idcon",
		"NoNewPrivileges":        "yes",
		"ProtectSystem":          "strict",
		"ProtectHome":            "yes",
		"PrivateTmp":             "yes",
		"CapabilityBoundingSet":  "",
		"AmbientCapabilities":    "",
		"Restart":                "on-failure",
		"ExecReload":             "/bin/kill -HUP $MAINPID",
	} {
		if got := u[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s=%v, want exactly %q", k, got, want)
		}
	}
	exec := strings.Join(u["ExecStart"], " ")
	for _, part := range []string{"/usr/bin/idcon serve", "--listen 0.0.0.0:2222", "--db /var/lib/idcon/", "--host-key /var/lib/idcon/",
		"--authorized-keys /etc/idcon/authorized_keys", "--config /etc/idcon/config.yaml", "--shutdown-grace 10s"} {
		if !strings.Contains(exec, part) {
			t.Errorf("ExecStart=%s lacks %q", exec, part)
		}
	}
}

var exposureRE = regexp.MustCompile(`Overall exposure level for idcon-serve\.service: ([0-9.]+) (\S+)`)

// TestUnitPassesSystemdAnalyze: systemd-analyze verify finds nothing to
// say of the unit (its ExecStart pointed at a real idcon binary, as the
// package installs one), and systemd-analyze security rates it as
// docs/SSH.md says.
func TestUnitPassesSystemdAnalyze(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (.ci/run installs Debian's systemd)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "idcon")
	if out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	checkUnit(t, sa, "idcon-serve.service", bin)
}

// checkUnit runs systemd-analyze verify and security on the unit at path,
// its /usr/bin/idcon replaced by bin.
func checkUnit(t *testing.T, sa, path, bin string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "idcon-serve.service")
	if err := os.WriteFile(copyPath, []byte(strings.ReplaceAll(string(b), "/usr/bin/idcon", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", "--man=no", copyPath).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(sa, "security", "--offline=true", copyPath).CombinedOutput()
	m := exposureRE.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("systemd-analyze security --offline=true: %v, no exposure level in:\n%s", err, out)
	}
	t.Logf("systemd-analyze security: exposure %s %s", m[1], m[2])
	doc, err := os.ReadFile(filepath.Join("..", "docs", "SSH.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "exposure level **" + m[1] + " " + m[2] + "**"; !strings.Contains(string(doc), want) {
		t.Errorf("docs/SSH.md does not give the exposure systemd-analyze security finds: want %q in it", want)
	}
}

// TestSnapshotArchiveAndDeb: scripts/release.sh as CI runs it (a snapshot
// of linux/amd64, the .deb only) makes the archive with the binary, README,
// licenses, man pages, completions and the unit inside; the .deb unpacks
// (dpkg -x, into a scratch root) with the binary, man pages, completions,
// unit and config where Debian looks for them; the binary from it prints
// the version given, the commit (git's own HEAD) and the commit's date;
// SHA256SUMS holds the right sums (sha256sum -c).
func TestSnapshotArchiveAndDeb(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a release snapshot")
	}
	for _, tool := range []string{"dpkg", "git", "tar", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	nfpm, _ := filepath.Abs(filepath.Join("..", ".tools", "bin", "nfpm"))
	if _, err := os.Stat(nfpm); err != nil {
		t.Skipf("no nfpm at %s: make .tools/bin/nfpm installs it (.ci/run does)", nfpm)
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	date, err := exec.Command("git", "log", "-1", "--date=format-local:%Y-%m-%dT%H:%M:%SZ", "--format=%cd").Output()
	if err != nil {
		t.Fatal(err)
	}
	dist := t.TempDir()
	cmd := exec.Command("../scripts/release.sh")
	cmd.Env = append(os.Environ(), "SNAPSHOT=1", "VERSION=v9.8.7-ci", "TARGETS=linux/amd64", "PACKAGES=deb",
		"DIST="+dist, "NFPM="+nfpm, "TZ=UTC")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/release.sh: %v\n%s", err, out)
	}
	archive := filepath.Join(dist, "idcon_v9.8.7-ci_linux_amd64.tar.gz")
	list, err := exec.Command("tar", "tzf", archive).Output()
	if err != nil {
		t.Fatalf("tar tzf %s: %v", archive, err)
	}
	for _, f := range []string{"idcon", "README.md", "LICENSES.txt", "man/idcon.1", "man/idcon-serve.1", "man/idcon-db-backup.1",
		"completions/idcon.bash", "completions/_idcon", "completions/idcon.fish", "idcon-serve.service", "doc/OPERATING.md"} {
		if !strings.Contains(string(list), "idcon_v9.8.7-ci_linux_amd64/"+f+"\n") {
			t.Errorf("the archive has no %s", f)
		}
	}
	debs, _ := filepath.Glob(filepath.Join(dist, "*.deb"))
	if len(debs) != 1 {
		t.Fatalf("want one .deb, have %v", debs)
	}
	root := t.TempDir()
	if out, err := exec.Command("dpkg", "-x", debs[0], root).CombinedOutput(); err != nil {
		t.Fatalf("dpkg -x: %v\n%s", err, out)
	}
	for _, f := range []string{"usr/bin/idcon", "usr/share/man/man1/idcon.1.gz", "usr/share/man/man1/idcon-serve.1.gz",
		"usr/share/bash-completion/completions/idcon", "usr/share/zsh/vendor-completions/_idcon",
		"usr/share/fish/vendor_completions.d/idcon.fish", "usr/lib/systemd/system/idcon-serve.service",
		"usr/lib/sysusers.d/idcon.conf", "etc/idcon/config.yaml", "usr/share/doc/idcon/LICENSES.txt"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("the .deb installs no /%s", f)
		}
	}
	bin := filepath.Join(root, "usr", "bin", "idcon")
	out, err := exec.Command(bin, "--version").Output()
	want := "idcon version v9.8.7-ci (commit " + strings.TrimSpace(string(head))[:12] + ", built " + strings.TrimSpace(string(date)) + ")\n"
	if err != nil || string(out) != want {
		t.Errorf("idcon --version from the .deb: %v %q, want %q", err, out, want)
	}
	// The config file the package ships is one idcon reads.
	if out, err := exec.Command(bin, "--config", filepath.Join(root, "etc", "idcon", "config.yaml"),
		"--db", filepath.Join(t.TempDir(), "x.db"), "network", "list").CombinedOutput(); err != nil {
		t.Errorf("the packaged config.yaml: %v\n%s", err, out)
	}
	sums := exec.Command("sha256sum", "-c", "SHA256SUMS")
	sums.Dir = dist
	if out, err := sums.CombinedOutput(); err != nil || strings.Count(string(out), ": OK") != 2 {
		t.Errorf("sha256sum -c SHA256SUMS: %v\n%s", err, out)
	}
	if sa, err := exec.LookPath("systemd-analyze"); err == nil {
		checkUnit(t, sa, filepath.Join(root, "usr", "lib", "systemd", "system", "idcon-serve.service"), bin)
	}
}
