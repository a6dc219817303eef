package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The console gets the config file's delivery settings: from --config, or
// from the default file, which may be missing.
func TestConsoleGetsTheConfig(t *testing.T) {
	home := t.TempDir()
	var got ConsoleEnv
	grab := func(_ context.Context, env ConsoleEnv) error { got = env; return nil }
	db := filepath.Join(t.TempDir(), "idcon.db")

	// No file at the default place: the current folder, no mail server.
	if r := runCLI(t, home, nil, grab, "--db", db); r.code != exitOK {
		t.Fatalf("no config: %+v", r)
	}
	wd, _ := os.Getwd()
	if got.Downloads != wd || got.SMTP.Host != "" || got.Getenv == nil {
		t.Errorf("no config: downloads %q, smtp %v", got.Downloads, got.SMTP)
	}

	// The default file, found through HOME.
	def := filepath.Join(home, ".config", "idcon", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(def), 0o700); err != nil {
		t.Fatal(err)
	}
	yaml := "downloads: ~/tokens\nsmtp:\n  host: smtp.example.org\n  port: 2525\n  tls: starttls\n  username: mailer\n  from: idcon@example.org\n"
	if err := os.WriteFile(def, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, home, nil, grab, "--db", db); r.code != exitOK {
		t.Fatalf("default config: %+v", r)
	}
	if got.Downloads != filepath.Join(home, "tokens") || got.SMTP.Host != "smtp.example.org" || got.SMTP.Port != 2525 ||
		got.SMTP.TLS != "starttls" || got.SMTP.Username != "mailer" || got.SMTP.From != "idcon@example.org" {
		t.Errorf("default config: downloads %q, smtp %v", got.Downloads, got.SMTP)
	}

	// --config names another file, which must exist and be valid.
	other := filepath.Join(t.TempDir(), "other.yaml")
	if err := os.WriteFile(other, []byte("downloads: /srv/tokens\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, home, nil, grab, "--db", db, "--config", other); r.code != exitOK || got.Downloads != "/srv/tokens" || got.SMTP.Host != "" {
		t.Errorf("--config: %+v, downloads %q", r, got.Downloads)
	}
	r := runCLI(t, home, nil, grab, "--db", db, "--config", filepath.Join(home, "missing.yaml"))
	if r.code != exitError || !strings.HasPrefix(r.stderr, "idcon: cannot read the config file: ") || !strings.Contains(r.stderr, "--config PATH") {
		t.Errorf("missing --config: %+v", r)
	}
	if err := os.WriteFile(other, []byte("smtp:\n  password: hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, home, nil, grab, "--db", db, "--config", other)
	if r.code != exitError || !strings.Contains(r.stderr, "passwords are not kept in the config file") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("password in the file: %+v", r)
	}
	// Commands that don't use the file don't read it (network list does:
	// it lists the file's controller networks too).
	if r := runCLI(t, home, nil, nil, "--db", db, "--config", filepath.Join(home, "missing.yaml"), "network", "create", "lab"); r.code != exitOK {
		t.Errorf("network create with a missing --config: %+v", r)
	}
}
