package netfoundry

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcon/idcon/backend"
)

// writeAccount writes a credentials.json for client id into path's folder.
func writeAccount(t *testing.T, path, id string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	body := `{"clientId":"` + id + `","password":"pw-` + id + `","authenticationUrl":"https://netfoundry-production-abc.auth.us-east-1.amazoncognito.com/oauth2/token"}`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestFindCredentialsOrder places accounts in several of the searched
// places at once and checks which one wins, and what an explicit but
// unusable setting says.
func TestFindCredentialsOrder(t *testing.T) {
	type place int
	const (
		configured    place = iota // the config file's path
		apiAccount                 // NETFOUNDRY_API_ACCOUNT
		envVars                    // NETFOUNDRY_CLIENT_ID / PASSWORD / OAUTH_URL
		apiToken                   // NETFOUNDRY_API_TOKEN
		workDir                    // ./credentials.json
		dotNetfoundry              // ~/.netfoundry/credentials.json
		xdgConfig                  // $XDG_CONFIG_HOME/netfoundry/credentials.json
		dotConfig                  // ~/.config/netfoundry/credentials.json (no XDG_CONFIG_HOME)
	)
	cases := []struct {
		name    string
		present []place
		want    string // client id (or "token:" + the token); "" for ErrNotConfigured
		wantErr string // part of the error for an unusable explicit setting
		setup   func(t *testing.T, home, work string, env map[string]string) string
	}{
		{name: "nothing anywhere", present: nil, want: ""},
		{name: "config file beats everything", present: []place{configured, apiAccount, envVars, apiToken, workDir, dotNetfoundry, xdgConfig}, want: "configured"},
		{name: "NETFOUNDRY_API_ACCOUNT next", present: []place{apiAccount, envVars, apiToken, workDir, dotNetfoundry, xdgConfig}, want: "apiAccount"},
		{name: "client id variables next", present: []place{envVars, apiToken, workDir, dotNetfoundry}, want: "env-client"},
		{name: "ready token next", present: []place{apiToken, workDir, dotNetfoundry}, want: "token:ready-token"},
		{name: "current directory next", present: []place{workDir, dotNetfoundry, xdgConfig}, want: "workDir"},
		{name: "~/.netfoundry next", present: []place{dotNetfoundry, xdgConfig}, want: "dotNetfoundry"},
		{name: "XDG config dir last", present: []place{xdgConfig}, want: "xdgConfig"},
		{name: "~/.config without XDG_CONFIG_HOME", present: []place{dotConfig}, want: "dotConfig"},
		{name: "missing configured file is an error", want: "", wantErr: "doesn't exist",
			setup: func(t *testing.T, home, work string, env map[string]string) string {
				writeAccount(t, filepath.Join(home, ".netfoundry", "credentials.json"), "dotNetfoundry")
				return filepath.Join(home, "nowhere.json")
			}},
		{name: "missing NETFOUNDRY_API_ACCOUNT file is an error", wantErr: "NETFOUNDRY_API_ACCOUNT names",
			setup: func(t *testing.T, home, work string, env map[string]string) string {
				env["NETFOUNDRY_API_ACCOUNT"] = filepath.Join(home, "nowhere.json")
				return ""
			}},
		{name: "partial client id variables are an error", wantErr: "NETFOUNDRY_PASSWORD and NETFOUNDRY_OAUTH_URL are not set",
			setup: func(t *testing.T, home, work string, env map[string]string) string {
				env["NETFOUNDRY_CLIENT_ID"] = "x"
				return ""
			}},
		{name: "a foreign credentials.json in the current directory is skipped", want: "dotNetfoundry",
			setup: func(t *testing.T, home, work string, env map[string]string) string {
				if err := os.WriteFile(filepath.Join(work, "credentials.json"), []byte(`{"client_id":"google","type":"service_account"}`), 0o600); err != nil {
					t.Fatal(err)
				}
				writeAccount(t, filepath.Join(home, ".netfoundry", "credentials.json"), "dotNetfoundry")
				return ""
			}},
		{name: "a broken ~/.netfoundry file is an error", wantErr: "has no password, authenticationUrl",
			setup: func(t *testing.T, home, work string, env map[string]string) string {
				p := filepath.Join(home, ".netfoundry", "credentials.json")
				writeAccount(t, p, "x")
				if err := os.WriteFile(p, []byte(`{"clientId":"x"}`), 0o600); err != nil {
					t.Fatal(err)
				}
				return ""
			}},
		{name: "~ in the configured path is the home directory", want: "tilde",
			setup: func(t *testing.T, home, work string, env map[string]string) string {
				writeAccount(t, filepath.Join(home, "nf", "account.json"), "tilde")
				return "~/nf/account.json"
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			home, work, xdg := t.TempDir(), t.TempDir(), t.TempDir()
			env := map[string]string{"HOME": home, "XDG_CONFIG_HOME": xdg}
			explicit := ""
			for _, p := range c.present {
				switch p {
				case configured:
					explicit = filepath.Join(t.TempDir(), "nf.json")
					writeAccount(t, explicit, "configured")
				case apiAccount:
					f := filepath.Join(t.TempDir(), "account.json")
					writeAccount(t, f, "apiAccount")
					env["NETFOUNDRY_API_ACCOUNT"] = f
				case envVars:
					env["NETFOUNDRY_CLIENT_ID"], env["NETFOUNDRY_PASSWORD"], env["NETFOUNDRY_OAUTH_URL"] = "env-client", "env-pw", "https://netfoundry-staging-x.auth.example/oauth2/token"
				case apiToken:
					env["NETFOUNDRY_API_TOKEN"] = "ready-token"
				case workDir:
					writeAccount(t, filepath.Join(work, "credentials.json"), "workDir")
				case dotNetfoundry:
					writeAccount(t, filepath.Join(home, ".netfoundry", "credentials.json"), "dotNetfoundry")
				case xdgConfig:
					writeAccount(t, filepath.Join(xdg, "netfoundry", "credentials.json"), "xdgConfig")
				case dotConfig:
					delete(env, "XDG_CONFIG_HOME")
					writeAccount(t, filepath.Join(home, ".config", "netfoundry", "credentials.json"), "dotConfig")
				}
			}
			if c.setup != nil {
				if e := c.setup(t, home, work, env); e != "" {
					explicit = e
				}
			}
			got, err := FindCredentials(explicit, Lookup{Getenv: func(k string) string { return env[k] }, WorkDir: work})
			switch {
			case c.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || !errors.Is(err, backend.ErrInvalid) {
					t.Fatalf("err = %v, want an invalid-input error containing %q", err, c.wantErr)
				}
				return
			case c.want == "":
				if !errors.Is(err, ErrNotConfigured) {
					t.Fatalf("err = %v (creds %+v), want ErrNotConfigured", err, got.Source)
				}
				return
			case err != nil:
				t.Fatalf("FindCredentials: %v", err)
			}
			id := got.ClientID
			if got.Token != "" {
				id = "token:" + got.Token
			}
			if id != c.want {
				t.Errorf("found %q (from %s), want %q", id, got.Source, c.want)
			}
			if strings.Contains(got.Source, got.Password) && got.Password != "" {
				t.Errorf("Source %q holds the password", got.Source)
			}
		})
	}
}

// TestGatewayFromAccount derives the gateway from the authentication host,
// and refuses what it can't tell or mustn't use.
func TestGatewayFromAccount(t *testing.T) {
	cases := []struct {
		authURL, override, want, wantErr string
	}{
		{authURL: "https://netfoundry-production-xfjiye.auth.us-east-1.amazoncognito.com/oauth2/token", want: "https://gateway.production.netfoundry.io"},
		{authURL: "https://netfoundry-sandbox-hnssty.auth.us-east-1.amazoncognito.com/oauth2/token", want: "https://gateway.sandbox.netfoundry.io"},
		{authURL: "https://NetFoundry-Staging-abc.auth.example/oauth2/token", want: "https://gateway.staging.netfoundry.io"},
		{authURL: "https://login.example.org/oauth2/token", wantErr: "set netfoundry.gateway"},
		{authURL: "https://login.example.org/oauth2/token", override: "https://gw.example.org", want: "https://gw.example.org"},
		{authURL: "http://netfoundry-production-x.auth.example/oauth2/token", wantErr: "plain http://"},
		{authURL: "https://netfoundry-production-x.auth.example/oauth2/token", override: "http://gw.example.org", wantErr: "plain http://"},
		{authURL: "https://netfoundry-production-x.auth.example/oauth2/token", override: "http://127.0.0.1:9", want: "http://127.0.0.1:9"},
		{authURL: "https://netfoundry-production-x.auth.example/oauth2/token", override: "https://gw.example.org/core/v3", wantErr: "has a path"},
	}
	for _, c := range cases {
		b, err := NewWithCredentials(Config{Gateway: c.override}, Credentials{ClientID: "id", Password: "pw", AuthURL: c.authURL, Source: "test"})
		switch {
		case c.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s (override %q): err = %v, want one containing %q", c.authURL, c.override, err, c.wantErr)
			}
		case err != nil:
			t.Errorf("%s (override %q): %v", c.authURL, c.override, err)
		case b.Gateway() != c.want:
			t.Errorf("%s (override %q): gateway %s, want %s", c.authURL, c.override, b.Gateway(), c.want)
		}
	}
}
