package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/backend/openziti/zitifake"
	"github.com/idcon/idcon/backend/openziti/zitilab"
)

// Signing in the way OpenZiti admins do (issue 25): the ziti CLI's
// sessions as networks, the password prompt, TOTP, --verbose and
// --dry-run, against the fake controller (which reproduces the exchanges
// recorded from the real v2.0.3 lab); the same flows on the real lab are
// the TestLab… tests below.

// zitiCLIFile writes a ziti-cli.json as `ziti edge login` v2.0.3 saves it
// (backend/openziti/testdata/signin/ziti-cli.json), with one entry.
func zitiCLIFile(t *testing.T, home, key, url, username, caCert, access, refresh string) string {
	t.Helper()
	dir := filepath.Join(home, ".config", "ziti")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	doc := map[string]any{
		"edgeIdentities": map[string]any{key: map[string]any{
			"url": url + "/edge/management/v1", "username": username, "token": "", "loginTime": "2026-12-07T05:34:36Z",
			"caCert": caCert, "readOnly": false, "networkId": "",
			"apiSession": map[string]any{"type": "oidc", "oidcAccessToken": access, "oidcRefreshToken": refresh},
		}},
		"default": key, "layout": 0,
	}
	b, _ := json.MarshalIndent(doc, "", " ")
	path := filepath.Join(dir, "ziti-cli.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// noSecrets fails if any of secrets shows in text (named what).
func noSecrets(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s shows a secret (%.12s…)", what, s)
		}
	}
}

// noSecretsInFiles walks dir and fails if any file holds one of secrets:
// the audit log, the console's state, the database, anything idcon wrote
// (and a core file, were one dumped there).
func noSecretsInFiles(t *testing.T, dirs []string, skip map[string]bool, secrets ...string) {
	t.Helper()
	n := 0
	for _, dir := range dirs {
		walkNoSecrets(t, dir, skip, &n, secrets)
	}
	if n == 0 {
		t.Errorf("no file under %q to check", dirs)
	}
}

func walkNoSecrets(t *testing.T, dir string, skip map[string]bool, n *int, secrets []string) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || skip[p] {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		*n++
		for _, s := range secrets {
			if s != "" && bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds a secret (%.12s…)", p, s)
			}
		}
		return nil
	})
}

// With only a ziti-cli.json (no idcon config) its login is network
// ziti:default; an expired access token is renewed with the refresh
// token, visible in --verbose; the file is never written; a session that
// can't be renewed says which command makes one.
func TestZitiCLISessionIsANetwork(t *testing.T) {
	fake := zitifake.Start(t, zitifake.AdminUnlisted())
	fake.CreateIdentity("laptop-alice", "alice@example.org", fake.Now().Add(48*time.Hour))
	home := t.TempDir()
	access, refresh := fake.IssueOIDCSession(fake.Now().Add(20 * time.Minute))
	path := zitiCLIFile(t, home, "default", fake.URL, "admin", fake.CAFile, access, refresh)
	before, _ := os.ReadFile(path)
	env := Env{DB: filepath.Join(t.TempDir(), "idcon.db"), Home: home, Vars: []string{"TZ=UTC"}}

	nets := MustRun(t, env, "network", "list")
	if !strings.Contains(nets.Stdout, "ziti:default") || !strings.Contains(nets.Stdout, fake.URL) {
		t.Errorf("network list doesn't show the ziti CLI login and its URL:\n%s", nets.Stdout)
	}
	list := MustRun(t, env, "identity", "list", "--network", "ziti:default", "--json")
	if !strings.Contains(list.Stdout, `"laptop-alice"`) {
		t.Fatalf("identity list: %s", list)
	}
	if fake.OIDCRefreshes() != 0 {
		t.Errorf("a valid access token was renewed")
	}

	// An expired access token: renewed, and --verbose shows it.
	expired, refresh2 := fake.IssueOIDCSession(fake.Now().Add(-time.Minute))
	path = zitiCLIFile(t, home, "default", fake.URL, "admin", fake.CAFile, expired, refresh2)
	before, _ = os.ReadFile(path)
	r := MustRun(t, env, "identity", "list", "--network", "ziti:default", "--json", "--verbose")
	if !strings.Contains(r.Stderr, "POST /oidc/oauth/token → 200") || !strings.Contains(r.Stderr, "GET /edge/management/v1/identities") {
		t.Errorf("--verbose doesn't show the renewal and the list:\n%s", r.Stderr)
	}
	if !strings.Contains(r.Stdout, `"laptop-alice"`) || fake.OIDCRefreshes() != 1 {
		t.Errorf("after the renewal: %s (refreshes %d)", r, fake.OIDCRefreshes())
	}
	noSecrets(t, "--verbose", r.Stdout+r.Stderr, append(fake.IssuedSecrets(), expired, refresh2, access, refresh)...)
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Errorf("idcon wrote ziti-cli.json")
	}

	// Renewal refused (the controller forgot the session): one line with
	// the command that makes a new one.
	fake.ExpireAdminSessions()
	r = Run(t, env, "identity", "list", "--network", "ziti:default")
	if r.Code != 1 || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 || !strings.Contains(r.Stderr, "ziti edge login "+fake.URL+" -u admin") {
		t.Errorf("unrenewable session: want one line naming `ziti edge login URL -u admin`:\n%s", r)
	}
	noSecretsInFiles(t, []string{home, filepath.Dir(env.DB)}, map[string]bool{path: true}, fake.IssuedSecrets()...)
}

// pwConfig writes an idcon config naming the fake with a username and no
// passwordEnv.
func pwConfig(t *testing.T, fake *zitifake.Controller) (Env, string) {
	t.Helper()
	home := t.TempDir()
	cfg := filepath.Join(home, "idcon.yaml")
	body := "networks:\n  - name: ctrl\n    controller: " + fake.URL + "\n    ca: " + fake.CAFile + "\n    username: " + fake.Username + "\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return Env{DB: filepath.Join(t.TempDir(), "idcon.db"), Home: home, Vars: []string{"TZ=UTC"}}, cfg
}

// A username and no passwordEnv: asked on a terminal without echo; a
// piped run fails in one line naming passwordEnv.
func TestPasswordPromptCLI(t *testing.T) {
	fake := zitifake.Start(t, zitifake.AdminUnlisted(), zitifake.Credentials("admin", "correct-horse-42"))
	fake.CreateIdentity("laptop-alice", "", fake.Now().Add(48*time.Hour))
	env, cfg := pwConfig(t, fake)

	r := Run(t, env, "--config", cfg, "identity", "list", "--network", "ctrl")
	if r.Code != 1 || !strings.Contains(r.Stderr, "passwordEnv") || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
		t.Errorf("piped run: want exit 1 and one line naming passwordEnv:\n%s", r)
	}

	term := StartTerm(t, env, 100, 30, "--config", cfg, "identity", "list", "--network", "ctrl", "--verbose")
	term.WaitFor(10*time.Second, "Password for admin at "+fake.URL)
	term.Type("wrong-battery")
	term.Send("Enter")
	term.WaitFor(10*time.Second, "refused that password", "Password for admin")
	term.Type("correct-horse-42")
	term.Send("Enter")
	screen := term.WaitFor(10*time.Second, "laptop-alice")
	noSecrets(t, "the terminal", screen, "correct-horse-42", "wrong-battery")
	noSecrets(t, "the terminal", screen, fake.IssuedSecrets()...)
	noSecretsInFiles(t, []string{env.Home, filepath.Dir(env.DB)}, nil, append(fake.IssuedSecrets(), "correct-horse-42", "wrong-battery")...)
}

// An MFA admin signs in with a TOTP code: --mfa-code, IDCON_MFA_CODE, a
// prompt on a terminal; a wrong code is refused clearly.
func TestMFASignInCLI(t *testing.T) {
	fake := zitifake.Start(t, zitifake.AdminUnlisted())
	secret, recovery := fake.RequireMFA(true)
	fake.CreateIdentity("laptop-alice", "", fake.Now().Add(48*time.Hour))
	home := t.TempDir()
	cfg := filepath.Join(home, "idcon.yaml")
	if err := os.WriteFile(cfg, []byte("networks:\n  - name: ctrl\n    controller: "+fake.URL+"\n    ca: "+fake.CAFile+
		"\n    username: admin\n    passwordEnv: IDCON_CTRL_PASSWORD\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := Env{DB: filepath.Join(t.TempDir(), "idcon.db"), Home: home, Vars: []string{"TZ=UTC", "IDCON_CTRL_PASSWORD=" + fake.Password}}

	r := Run(t, env, "--config", cfg, "identity", "list", "--network", "ctrl")
	if r.Code != 1 || !strings.Contains(r.Stderr, "--mfa-code") {
		t.Errorf("no code, no terminal: want a line naming --mfa-code:\n%s", r)
	}
	r = Run(t, env, "--config", cfg, "identity", "list", "--network", "ctrl", "--mfa-code", "000000")
	if r.Code != 1 || !strings.Contains(r.Stderr, "refused the TOTP code") {
		t.Errorf("wrong code: %s", r)
	}
	code := zitifake.TOTPCode(secret, fake.Now())
	r = MustRun(t, env, "--config", cfg, "identity", "list", "--network", "ctrl", "--mfa-code", code, "--verbose")
	if !strings.Contains(r.Stdout, "laptop-alice") || !strings.Contains(r.Stderr, "POST /oidc/login/totp → 302") {
		t.Errorf("with --mfa-code: %s", r)
	}
	noSecrets(t, "--verbose", r.Stdout+r.Stderr, append(fake.IssuedSecrets(), code, fake.Password)...)
	envCode := env
	envCode.Vars = append(append([]string{}, env.Vars...), "IDCON_MFA_CODE="+recovery[0])
	MustRun(t, envCode, "--config", cfg, "identity", "list", "--network", "ctrl")

	term := StartTerm(t, env, 100, 30, "--config", cfg, "identity", "list", "--network", "ctrl")
	term.WaitFor(10*time.Second, "TOTP code for admin")
	term.Type("111111")
	term.Send("Enter")
	term.WaitFor(10*time.Second, "refused that code")
	term.Type(zitifake.TOTPCode(secret, fake.Now()))
	term.Send("Enter")
	screen := term.WaitFor(10*time.Second, "laptop-alice")
	noSecrets(t, "the terminal", screen, code, recovery[0])
	noSecretsInFiles(t, []string{home, filepath.Dir(env.DB)}, map[string]bool{cfg: true}, append(fake.IssuedSecrets(), code, recovery[0], fake.Password)...)
}

// --dry-run of a reset prints the exact writes the real reset then sends,
// and changes nothing.
func TestDryRunResetMatchesTheRealReset(t *testing.T) {
	e := newCtrlEnv(t, nil, nil)
	e.seed(t)
	before := e.fakeIdentity(t, "laptop-alice")
	writes0 := len(e.fake.Writes())
	r := e.mustRun(t, "enrollment", "reset", "laptop-alice", "--network", "ctrl", "--expires", "+7d", "--dry-run", "--json")
	var plan struct {
		DryRun   bool `json:"dryRun"`
		Requests []struct {
			Method, Path, Body string
		} `json:"requests"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &plan); err != nil || !plan.DryRun || len(plan.Requests) == 0 {
		t.Fatalf("dry run: %v\n%s", err, r)
	}
	if n := len(e.fake.Writes()); n != writes0 {
		t.Fatalf("the dry run sent %d writes: %q", n-writes0, e.fake.Writes()[writes0:])
	}
	after := e.fakeIdentity(t, "laptop-alice")
	if after.Authenticators != before.Authenticators || after.APISessions != before.APISessions || (after.Enrollment == nil) != (before.Enrollment == nil) {
		t.Fatalf("the dry run changed the identity: %+v → %+v", before, after)
	}
	text := e.mustRun(t, "enrollment", "reset", "laptop-alice", "--network", "ctrl", "--expires", "+7d", "--dry-run")
	if !strings.Contains(text.Stdout, "dry run:") || !strings.Contains(text.Stdout, "re-enroll") {
		t.Errorf("dry run text: %s", text.Stdout)
	}

	e.mustRun(t, "enrollment", "reset", "laptop-alice", "--network", "ctrl", "--expires", "+7d", "--yes", "--json")
	real := e.fake.Writes()[writes0:]
	// The audit log (one line for the real reset, none for the dry runs)
	// and every file holds no password, token or code.
	audit := MustRun(t, e.Env, "audit", "--json")
	if n := strings.Count(strings.TrimSpace(audit.Stdout), "\n") + 1; !strings.Contains(audit.Stdout, "reset") || n != 1 {
		t.Errorf("audit after two dry runs and a reset: want one reset line:\n%s", audit.Stdout)
	}
	noSecretsInFiles(t, []string{e.Home, filepath.Dir(e.DB)}, map[string]bool{e.config: true}, append(e.fake.IssuedSecrets(), e.fake.Password)...)
	if len(real) != len(plan.Requests) {
		t.Fatalf("the dry run planned %d writes, the reset sent %d:\nplanned %+v\nsent %q", len(plan.Requests), len(real), plan.Requests, real)
	}
	for i, p := range plan.Requests {
		want := strings.TrimSpace(p.Method + " " + p.Path + " " + p.Body)
		got := real[i]
		if strings.Contains(want, "HASH-AFTER-THE-CHANGE") {
			// The revision tag's hash is of the facts after the change.
			pre, _, _ := strings.Cut(want, "HASH-AFTER-THE-CHANGE")
			if !strings.HasPrefix(got, pre) {
				t.Errorf("write %d: sent %q, planned %q", i, got, want)
			}
			continue
		}
		// The expiry is the same +7d from two runs a moment apart.
		if p.Path != "" && strings.Contains(p.Path, "re-enroll") {
			if !strings.HasPrefix(got, p.Method+" "+p.Path) {
				t.Errorf("write %d: sent %q, planned %q", i, got, want)
			}
			continue
		}
		if got != want {
			t.Errorf("write %d: sent %q, planned %q", i, got, want)
		}
	}
}

// --dry-run on an embedded network is refused: it sends no requests.
func TestDryRunRefusedOnEmbeddedNetwork(t *testing.T) {
	env := NewDB(t)
	MustRun(t, env, "network", "create", "office")
	MustRun(t, env, "identity", "create", "laptop-alice", "--expires", "+7d")
	r := Run(t, env, "enrollment", "delete", "laptop-alice", "--dry-run")
	if r.Code != 2 || !strings.Contains(r.Stderr, "--dry-run") {
		t.Errorf("want a usage error: %s", r)
	}
	MustRun(t, env, "enrollment", "jwt", "laptop-alice") // still pending: nothing changed
}

// forgeExpiry rewrites a JWT's exp claim to at (its signature then no
// longer matches: the token must never be sent, only renewed).
func forgeExpiry(t *testing.T, tok string, at time.Time) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	claims["exp"] = at.Unix()
	b, _ := json.Marshal(claims)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
}

// On the real lab: a real `ziti edge login` (private ZITI_CONFIG_DIR)
// is network ziti:default with no idcon config; with a forged expiry the
// next call renews the token through the controller's token endpoint,
// visible in --verbose.
func TestLabZitiCLILoginIsANetwork(t *testing.T) {
	l := zitilab.Require(t)
	cfgDir, home := t.TempDir(), t.TempDir()
	login := exec.Command(l.Ziti, "edge", "login", l.URL, "-u", l.Username, "-p", l.Password, "--ca", l.CAFile, "-y")
	login.Env = []string{"HOME=" + home, "ZITI_CONFIG_DIR=" + cfgDir, "PATH=" + os.Getenv("PATH")}
	if out, err := login.CombinedOutput(); err != nil {
		t.Fatalf("ziti edge login: %v: %s", err, out)
	}
	env := Env{DB: filepath.Join(t.TempDir(), "idcon.db"), Home: home, Vars: []string{"TZ=UTC", "ZITI_CONFIG_DIR=" + cfgDir}}
	r := MustRun(t, env, "identity", "list", "--network", "ziti:default", "--json", "--limit", "1")
	if !strings.Contains(r.Stdout, `"items"`) {
		t.Fatalf("identity list: %s", r)
	}

	path := filepath.Join(cfgDir, "ziti-cli.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	_ = json.Unmarshal(b, &doc)
	sess := doc["edgeIdentities"].(map[string]any)["default"].(map[string]any)["apiSession"].(map[string]any)
	access, refresh := sess["oidcAccessToken"].(string), sess["oidcRefreshToken"].(string)
	sess["oidcAccessToken"] = forgeExpiry(t, access, time.Now().Add(-time.Minute))
	b, _ = json.MarshalIndent(doc, "", " ")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r = MustRun(t, env, "identity", "list", "--network", "ziti:default", "--json", "--limit", "1", "--verbose")
	if !strings.Contains(r.Stderr, "POST /oidc/oauth/token → 200") || !strings.Contains(r.Stderr, "GET /edge/management/v1/identities?limit=1") || !strings.Contains(r.Stdout, `"items"`) {
		t.Errorf("after the forged expiry, want a renewal in --verbose:\n%s", r)
	}
	noSecrets(t, "--verbose", r.Stdout+r.Stderr, access, refresh, l.Password)
	if after, _ := os.ReadFile(path); !bytes.Equal(after, b) {
		t.Errorf("idcon wrote ziti-cli.json")
	}
}

// On the real lab: an admin whose auth policy requires TOTP signs in from
// the CLI with --mfa-code and at the terminal prompt (after a wrong code).
func TestLabMFASignInCLI(t *testing.T) {
	l := zitilab.Require(t)
	m := l.NewMFAAdmin(t, "signin-lab-cli")
	home := t.TempDir()
	cfg := filepath.Join(home, "idcon.yaml")
	if err := os.WriteFile(cfg, []byte("networks:\n  - name: lab\n    controller: "+l.URL+"\n    ca: "+l.CAFile+
		"\n    username: "+m.Username+"\n    passwordEnv: LAB_PW\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := Env{DB: filepath.Join(t.TempDir(), "idcon.db"), Home: home, Vars: []string{"TZ=UTC", "LAB_PW=" + m.Password}}
	// A fresh TOTP step: the enrolment used this one's code.
	time.Sleep(time.Until(time.Now().Truncate(30 * time.Second).Add(31 * time.Second)))
	code := zitilab.TOTPCode(m.Secret, time.Now())
	r := MustRun(t, env, "--config", cfg, "identity", "list", "--network", "lab", "--limit", "1", "--mfa-code", code, "--verbose")
	if !strings.Contains(r.Stderr, "POST /oidc/login/totp → 302") {
		t.Errorf("--mfa-code on the lab: %s", r)
	}
	noSecrets(t, "--verbose", r.Stdout+r.Stderr, code, m.Password)

	term := StartTerm(t, env, 120, 30, "--config", cfg, "identity", "list", "--network", "lab", "--limit", "1")
	term.WaitFor(15*time.Second, "TOTP code for "+m.Username)
	term.Type("000000")
	term.Send("Enter")
	term.WaitFor(15*time.Second, "refused that code")
	term.Type(zitilab.TOTPCode(m.Secret, time.Now()))
	term.Send("Enter")
	term.WaitFor(15*time.Second, "NAME")
}

// The console asks for the password in a masked dialog (a wrong one is
// said and asked again), then for the TOTP code; R shows the requests,
// without a secret.
func TestConsoleSignInDialogs(t *testing.T) {
	fake := zitifake.Start(t, zitifake.AdminUnlisted(), zitifake.Credentials("admin", "correct-horse-42"))
	secret, _ := fake.RequireMFA(true)
	fake.CreateIdentity("laptop-alice", "", fake.Now().Add(48*time.Hour))
	env, cfg := pwConfig(t, fake)
	MustRun(t, env, "network", "create", "office")
	term := StartTerm(t, env, 100, 30, "--config", cfg)
	// The picker counts ctrl's identities: that is the first login.
	term.WaitFor(10*time.Second, "Sign in to ctrl", "Password")
	term.Type("wrong-battery")
	term.Send("Enter")
	term.WaitFor(10*time.Second, "refused that password")
	term.Type("correct-horse-42")
	term.Send("Enter")
	term.WaitFor(10*time.Second, "Second factor for ctrl", "TOTP code")
	code := zitifake.TOTPCode(secret, fake.Now())
	term.Type(code)
	term.Send("Enter")
	term.WaitFor(10*time.Second, "office", "ctrl")
	term.Send("/")
	term.Type("ctrl")
	term.Send("Enter")
	term.WaitFor(5*time.Second, "enter open")
	term.Send("Enter")
	screen := term.WaitFor(20*time.Second, "laptop-alice")
	noSecrets(t, "the console", screen, "correct-horse-42", "wrong-battery", code)
	term.Send("R")
	screen = term.WaitFor(5*time.Second, "Controller requests", "POST /oidc/login/totp")
	noSecrets(t, "the requests pane", screen, "correct-horse-42", "wrong-battery", code)
	if strings.Contains(screen, "eyJ") {
		t.Errorf("the requests pane shows a JWT:\n%s", screen)
	}
	term.Send("Escape")
	term.WaitGone(5*time.Second, "Controller requests")
	noSecrets(t, "the requests pane", screen, fake.IssuedSecrets()...)
	noSecretsInFiles(t, []string{env.Home, filepath.Dir(env.DB)}, nil, append(fake.IssuedSecrets(), "correct-horse-42", "wrong-battery", code)...)
}

// On the real lab: the console signs an MFA admin in through its dialogs
// (password, then a wrong and a right TOTP code).
func TestLabConsoleMFASignIn(t *testing.T) {
	l := zitilab.Require(t)
	m := l.NewMFAAdmin(t, "signin-lab-console")
	home := t.TempDir()
	cfg := filepath.Join(home, "idcon.yaml")
	if err := os.WriteFile(cfg, []byte("networks:\n  - name: lab\n    controller: "+l.URL+"\n    ca: "+l.CAFile+
		"\n    username: "+m.Username+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := Env{DB: filepath.Join(t.TempDir(), "idcon.db"), Home: home, Vars: []string{"TZ=UTC"}}
	MustRun(t, env, "network", "create", "office")
	time.Sleep(time.Until(time.Now().Truncate(30 * time.Second).Add(31 * time.Second)))
	term := StartTerm(t, env, 100, 30, "--config", cfg)
	term.WaitFor(15*time.Second, "Sign in to lab", "Password")
	term.Type(m.Password)
	term.Send("Enter")
	term.WaitFor(15*time.Second, "Second factor for lab")
	term.Type("000000")
	term.Send("Enter")
	term.WaitFor(15*time.Second, "refused that code")
	code := zitilab.TOTPCode(m.Secret, time.Now())
	term.Type(code)
	term.Send("Enter")
	screen := term.WaitFor(20*time.Second, "office", "lab")
	if strings.Contains(screen, "Second factor") {
		t.Errorf("still asking:\n%s", screen)
	}
	noSecrets(t, "the console", screen, m.Password, code)
}
