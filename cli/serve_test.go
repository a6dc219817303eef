package cli

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/backend/embedded"
	"github.com/idcon/idcon/backend/openziti"
	"github.com/idcon/idcon/backend/openziti/zitifake"
	"github.com/idcon/idcon/config"
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

// TestHealthCommand: exit 0 on a healthy report, 1 naming what is down on
// an unhealthy one or when nothing answers.
func TestHealthCommand(t *testing.T) {
	body, code := `{"status":"ok","ssh":{"up":true},"backends":[{"name":"embedded","ok":true}]}`, 200
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(code)
		w.Write([]byte(body))
	}))
	defer srv.Close()
	if r := runCLI(t, t.TempDir(), nil, nil, "health", srv.URL+"/healthz"); r.code != exitOK || r.stdout != "healthy\n" {
		t.Errorf("healthy: %+v", r)
	}
	body, code = `{"status":"unhealthy","ssh":{"up":true},"backends":[{"name":"ctrl","ok":false,"error":"no answer within 2s"}]}`, 503
	if r := runCLI(t, t.TempDir(), nil, nil, "health", srv.URL+"/healthz"); r.code != exitError || !strings.Contains(r.stderr, "ctrl: no answer within 2s") {
		t.Errorf("unhealthy: %+v", r)
	}
	srv.Close()
	if r := runCLI(t, t.TempDir(), nil, nil, "health", srv.URL+"/healthz"); r.code != exitError || !strings.Contains(r.stderr, "does not answer") {
		t.Errorf("nothing listening: %+v", r)
	}
	if r := runCLI(t, t.TempDir(), nil, nil, "health", "ftp://x"); r.code != exitUsage {
		t.Errorf("not http: %+v", r)
	}
}

// Under idcon serve a controller login never asks: a username without
// passwordEnv leaves the network unusable, saying to set passwordEnv.
func TestServeNeverAsksForAPassword(t *testing.T) {
	fake := zitifake.Start(t)
	a := &app{environment: environment{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }, now: time.Now}}
	a.signin = signinHooks{ask: func(context.Context, openziti.Prompt) (string, error) {
		t.Error("idcon serve asked for a password")
		return "", errors.New("asked")
	}}
	s, err := embedded.Open(filepath.Join(t.TempDir(), "idcon.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cfg := config.Config{Networks: []config.Controller{{Name: "ctrl", Controller: fake.URL, CA: fake.CAFile, Username: "admin"}}}
	members, _, closeFn := a.serveMembers(cfg, s)
	defer closeFn()
	var found bool
	for _, m := range members {
		nets, err := m.Networks(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nets {
			if n.Name == "ctrl" {
				found = true
				if !strings.Contains(n.Status, "passwordEnv") {
					t.Errorf("ctrl status %q, want it to name passwordEnv", n.Status)
				}
			}
		}
	}
	if !found {
		t.Error("no ctrl network")
	}
}
