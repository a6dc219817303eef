package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// readme is the repository's README.md.
func readme(t *testing.T) string {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	data, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(here)), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// subcommands reads the "Available Commands:" of a help text.
func subcommands(help string) []string {
	_, list, ok := strings.Cut(help, "Available Commands:\n")
	if !ok {
		return nil
	}
	var out []string
	for _, l := range strings.Split(list, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || !strings.HasPrefix(l, "  ") {
			break
		}
		out = append(out, f[0])
	}
	return out
}

// TestReadmeListsEveryCommand: every command idcon --help lists, and every
// subcommand of those, is in the README, with the flags and variables it
// is used with.
func TestReadmeListsEveryCommand(t *testing.T) {
	t.Parallel()
	doc := readme(t)
	e := Env{}
	top := subcommands(MustRun(t, e, "--help").Stdout)
	if len(top) < 8 {
		t.Fatalf("idcon --help lists only %v", top)
	}
	for _, c := range top {
		if c == "help" { // cobra's own
			continue
		}
		subs := subcommands(MustRun(t, e, c, "--help").Stdout)
		if !strings.Contains(doc, "idcon "+c) {
			t.Errorf("the README never mentions idcon %s", c)
		}
		// "idcon completion bash|zsh|fish" names three.
		documented := map[string]bool{}
		for _, m := range regexp.MustCompile(`idcon `+regexp.QuoteMeta(c)+` ([a-z|]+)`).FindAllStringSubmatch(doc, -1) {
			for _, w := range strings.Split(m[1], "|") {
				documented[w] = true
			}
		}
		for _, s := range subs {
			if !documented[s] {
				t.Errorf("the README never mentions idcon %s %s", c, s)
			}
		}
	}
	for _, want := range []string{"--all", "--filter TEXT", "--state S", "IDCON_SMTP_HOST", "IDCON_SMTP_PASSWORD", "--to ADDR"} {
		if !strings.Contains(doc, want) {
			t.Errorf("the README never mentions %s", want)
		}
	}
}

// TestBadFlagValuesAreUsageErrors: a flag given a value it can't take is a
// usage error, exit 2, as the README says, with one line saying why.
func TestBadFlagValuesAreUsageErrors(t *testing.T) {
	t.Parallel()
	e := NewDB(t)
	MustRun(t, e, "network", "create", "office")
	MustRun(t, e, "identity", "create", "laptop-a", "--email", "a@example.org")
	cases := [][]string{
		{"identity", "list", "--state", "bogus"},
		{"identity", "list", "--limit", "-1"},
		{"identity", "list", "--limit", "0"},
		{"identity", "list", "--offset", "-1"},
		{"identity", "create", "x", "--expires", "garbage"},
		{"identity", "create", "x", "--expires", "+400d"},
		{"identity", "create", "x", "--email", "not an address"},
		{"enrollment", "reissue", "laptop-a", "--expires", "garbage"},
		{"enrollment", "reset", "--all", "--state", "bogus", "--expires", "+1d", "--yes"},
		{"enrollment", "email", "laptop-a", "--to", "nope"},
		{"demo", "--identities", "-5"},
		{"audit", "--last", "-1"},
		{"identity", "list", "--limit", "ten"},
	}
	for _, c := range cases {
		r := Run(t, e, c...)
		if r.Code != 2 || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 || !strings.HasPrefix(r.Stderr, "idcon: ") {
			t.Errorf("want exit 2 and one line on stderr:\n%s", r)
		}
	}
}

// TestShowNamesTheCommandsTheCLIHas: identity show names the CLI's own
// commands for every action it offers, never "(in the console)" for one
// the CLI does.
func TestShowNamesTheCommandsTheCLIHas(t *testing.T) {
	t.Parallel()
	e := NewDB(t)
	MustRun(t, e, "network", "create", "office")
	MustRun(t, e, "identity", "create", "laptop-a")
	r := MustRun(t, e, "identity", "show", "laptop-a")
	if strings.Contains(r.Stdout, "in the console") {
		t.Errorf("identity show sends to the console what the CLI does:\n%s", r.Stdout)
	}
	for _, want := range []string{"enrollment email", "enrollment qr", "enrollment jwt", "enrollment delete"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("identity show doesn't name %q:\n%s", want, r.Stdout)
		}
	}
}

// hintRE finds the commands hints set in backquotes.
var hintRE = regexp.MustCompile("`(idcon [^`]*)`")

// TestHintsPasteIntoAShell: the commands idcon suggests quote the names
// for a shell and carry --db and --network when they were given, so that
// pasted into sh they do what they say.
func TestHintsPasteIntoAShell(t *testing.T) {
	t.Parallel()
	e := NewDB(t)
	e.DB = filepath.Join(t.TempDir(), "my dbs", "it's.db") // a folder name to quote
	if err := os.MkdirAll(filepath.Dir(e.DB), 0o700); err != nil {
		t.Fatal(err)
	}
	MustRun(t, e, "network", "create", "office")
	MustRun(t, e, "network", "create", "lab")
	name := `idc "q" one`
	r := MustRun(t, e, "identity", "create", name, "--network", "office")
	hints := hintRE.FindAllStringSubmatch(r.Stdout, -1)
	if len(hints) != 1 {
		t.Fatalf("want one command in backquotes in: %s", r.Stdout)
	}
	hint := hints[0][1]
	if !strings.Contains(hint, "--db") || !strings.Contains(hint, "--network office") {
		t.Errorf("the hint doesn't carry --db and --network: %s", hint)
	}
	// Pasted into a shell, it prints the token of that identity.
	sh := exec.Command("sh", "-c", strings.Replace(hint, "idcon", shellQuote(Binary()), 1))
	sh.Env = e.Environ(t)
	out, err := sh.CombinedOutput()
	tok := MustRun(t, e, "enrollment", "jwt", name, "--network", "office").Stdout
	if err != nil || string(out) != tok {
		t.Fatalf("the hint %s, run by sh: %v\n%s", hint, err, out)
	}

	// A refusal's suggestions paste as well.
	r = Run(t, e, "enrollment", "reset", name, "--network", "office", "--expires", "+1d", "--yes")
	hints = hintRE.FindAllStringSubmatch(r.Stderr, -1)
	if r.Code != 1 || len(hints) == 0 {
		t.Fatalf("want a refusal with commands in backquotes:\n%s", r)
	}
	for _, h := range hints {
		if !strings.Contains(h[1], shellQuote(name)) || !strings.Contains(h[1], "--network office") {
			t.Errorf("suggestion %s doesn't quote %s for a shell or lacks --network", h[1], name)
		}
	}
}

// TestAuditLogPerDatabase: two databases keep two audit logs, each beside
// its database, and idcon audit shows the one of the database it is given;
// idcon audit --help says where the log is.
func TestAuditLogPerDatabase(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	dir := t.TempDir()
	a := Env{Home: home, DB: filepath.Join(dir, "a.db")}
	b := Env{Home: home, DB: filepath.Join(dir, "b.db")}
	MustRun(t, a, "network", "create", "net-a")
	MustRun(t, a, "identity", "create", "only-in-a")
	MustRun(t, b, "network", "create", "net-b")
	MustRun(t, b, "identity", "create", "only-in-b")
	for _, c := range []struct {
		e          Env
		mine, not  string
		besideFile string
	}{{a, "only-in-a", "only-in-b", "a.audit.log"}, {b, "only-in-b", "only-in-a", "b.audit.log"}} {
		r := MustRun(t, c.e, "audit")
		if !strings.Contains(r.Stdout, c.mine) || strings.Contains(r.Stdout, c.not) {
			t.Errorf("idcon --db %s audit:\n%s", c.e.DB, r.Stdout)
		}
		st, err := os.Stat(filepath.Join(dir, c.besideFile))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s beside its database: %v %v", c.besideFile, st, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dataDir(home), "audit.log")); err == nil {
		t.Error("the default audit log was written for databases given with --db")
	}
	help := MustRun(t, Env{}, "audit", "--help").Stdout
	if !strings.Contains(help, "beside") || !strings.Contains(help, ".audit.log") {
		t.Errorf("idcon audit --help doesn't say where the log is:\n%s", help)
	}
}

// TestConfigDatabaseIsUsed: the config file's database: key, documented in
// the README, names the database when neither --db nor IDCON_DB does.
func TestConfigDatabaseIsUsed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("database: ./from-config.db\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := Env{}
	MustRun(t, e, "--config", cfg, "network", "create", "office")
	if _, err := os.Stat(filepath.Join(dir, "from-config.db")); err != nil {
		t.Fatalf("the config's database: was not used: %v", err)
	}
	if r := MustRun(t, e, "--config", cfg, "network", "list"); !strings.Contains(r.Stdout, "office") {
		t.Fatalf("network list on the config's database:\n%s", r)
	}
	// --db still wins.
	other := filepath.Join(dir, "other.db")
	if r := MustRun(t, Env{DB: other}, "--config", cfg, "network", "list"); strings.Contains(r.Stdout, "office") {
		t.Fatalf("--db lost to the config file:\n%s", r)
	}
}

// TestIdentitiesSortNaturally: identity list (and the console's list,
// which asks the same backend) sorts names naturally, ignoring case and
// accents.
func TestIdentitiesSortNaturally(t *testing.T) {
	t.Parallel()
	e := NewDB(t)
	MustRun(t, e, "network", "create", "lab")
	want := []string{"alice", "build-2", "Build-3", "build-10", "émile", "Zed"}
	for _, i := range []int{5, 3, 0, 4, 1, 2} {
		MustRun(t, e, "identity", "create", want[i])
	}
	type page struct {
		Items []identity `json:"items"`
		Total int        `json:"total"`
	}
	var got []string
	for _, it := range decode[page](t, MustRun(t, e, "identity", "list", "--json")).Items {
		got = append(got, it.Name)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("identity list orders %q, want %q", got, want)
	}
}
