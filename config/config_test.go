package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFullConfig(t *testing.T) {
	p := write(t, `
database: /tmp/x.db
downloads: ~/Downloads
expiry: {default: 3d, max: 90d}
smtp: {host: smtp.example.org, port: 587, tls: starttls, username: idcon, from: idcon@example.org}
networks:
  - name: prod
    controller: https://ctrl.example.org:1280
    ca: /etc/ziti/ca.pem
    username: admin
    passwordEnv: ZITI_PASSWORD
  - name: lab
    controller: https://lab:1280
    cert: c.pem
    key: k.pem
netfoundry: {credentials: /x/credentials.json, gateway: http://127.0.0.1:9}
`)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != p || c.Database != "/tmp/x.db" || c.SMTP.Port != 587 || c.SMTP.TLS != "starttls" {
		t.Errorf("fields not read: %+v", c)
	}
	if time.Duration(c.Expiry.Default) != 72*time.Hour || time.Duration(c.Expiry.Max) != 90*24*time.Hour {
		t.Errorf("expiry durations: %v %v", c.Expiry.Default, c.Expiry.Max)
	}
	if len(c.Networks) != 2 || c.Networks[0].PasswordEnv != "ZITI_PASSWORD" || c.Networks[1].Key != "k.pem" {
		t.Errorf("networks: %+v", c.Networks)
	}
	if c.NetFoundry == nil || c.NetFoundry.Gateway != "http://127.0.0.1:9" {
		t.Errorf("netfoundry: %+v", c.NetFoundry)
	}
}

func TestLoadRefusesBadConfig(t *testing.T) {
	cases := map[string]string{
		"unknown field":      "databse: x\n",
		"plain password":     "networks:\n  - {name: a, controller: https://a, username: u, password: secret}\n",
		"no name":            "networks:\n  - {controller: https://a, username: u}\n",
		"duplicate name":     "networks:\n  - {name: a, controller: https://a, username: u}\n  - {name: a, controller: https://b, username: u}\n",
		"no credentials":     "networks:\n  - {name: a, controller: https://a}\n",
		"cert without key":   "networks:\n  - {name: a, controller: https://a, cert: c.pem}\n",
		"bad tls mode":       "smtp: {host: h, tls: ssl}\n",
		"bad duration":       "expiry: {default: 7 days}\n",
		"negative days":      "expiry: {max: -3d}\n",
		"not yaml":           "networks: [\n",
		"smtp password kept": "smtp: {host: h, password: secret}\n",
	}
	for name, body := range cases {
		_, err := Load(write(t, body))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error is not one clean line: %q", name, err)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	if c, err := Load(""); err != nil || c.Path != "" {
		t.Errorf("a missing default config should be empty and fine: %+v, %v", c, err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "nope.yaml")); err == nil {
		t.Error("a missing explicit config was accepted")
	}
}

func TestPathsFollowXDG(t *testing.T) {
	d := t.TempDir()
	t.Setenv("XDG_DATA_HOME", d)
	t.Setenv("XDG_STATE_HOME", filepath.Join(d, "state"))
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(d, "cfg"))
	if got := DefaultDatabase(); got != filepath.Join(d, "idcon", "idcon.db") {
		t.Errorf("DefaultDatabase = %s", got)
	}
	if DemoDatabase() == DefaultDatabase() {
		t.Error("the demo database is the real one")
	}
	if got := StateDir(); got != filepath.Join(d, "state", "idcon") {
		t.Errorf("StateDir = %s", got)
	}
	if got := DefaultPath(); got != filepath.Join(d, "cfg", "idcon", "config.yaml") {
		t.Errorf("DefaultPath = %s", got)
	}
}

// TestLoadClusterControllers: a network may name the nodes of an HA
// cluster under controllers: (alone, or beside controller:); the first
// address is the network's controller, the others more nodes, each once.
func TestLoadClusterControllers(t *testing.T) {
	cases := map[string]struct {
		body  string
		first string
		more  []string
	}{
		"list alone": {"networks:\n  - name: ha\n    controllers: [https://n1:2281, https://n2:2282, https://n3:2283]\n    username: u\n",
			"https://n1:2281", []string{"https://n2:2282", "https://n3:2283"}},
		"beside controller": {"networks:\n  - name: ha\n    controller: https://n1:2281\n    controllers: [https://n1:2281, https://n2:2282]\n    username: u\n",
			"https://n1:2281", []string{"https://n2:2282"}},
		"one URL still works": {"networks:\n  - {name: ha, controller: https://n1:2281, username: u}\n",
			"https://n1:2281", nil},
	}
	for name, tc := range cases {
		c, err := Load(write(t, tc.body))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		n := c.Networks[0]
		if n.Controller != tc.first || strings.Join(n.Controllers, " ") != strings.Join(tc.more, " ") {
			t.Errorf("%s: controller %q, more %q; want %q, %q", name, n.Controller, n.Controllers, tc.first, tc.more)
		}
	}
	if _, err := Load(write(t, "networks:\n  - {name: ha, controllers: [], username: u}\n")); err == nil || !strings.Contains(err.Error(), "controllers:") {
		t.Errorf("an empty list: %v, want it refused saying controllers:", err)
	}
}
