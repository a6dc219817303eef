package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// listPage is identity list --json.
type listPage struct {
	Items []identity `json:"items"`
	Total int        `json:"total"`
}

// listAll is every identity identity list gives for args (--filter,
// --state...), by name, a page of 500 at a time.
func listAll(t *testing.T, e Env, args ...string) map[string]identity {
	t.Helper()
	out := map[string]identity{}
	for off := 0; ; off += 500 {
		a := append([]string{"identity", "list", "--json", "--limit", "500", "--offset", strconv.Itoa(off)}, args...)
		p := decode[listPage](t, MustRun(t, e, a...))
		for _, it := range p.Items {
			out[it.Name] = it
		}
		if off+len(p.Items) >= p.Total {
			return out
		}
	}
}

// bulkLine is one line of reset/reissue --all's output.
type bulkLine struct {
	Identity  string  `json:"identity"`
	ID        string  `json:"id"`
	JWT       string  `json:"jwt"`
	ExpiresAt *string `json:"expiresAt"`
}

func readLines(t *testing.T, text string) []bulkLine {
	t.Helper()
	var out []bulkLine
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 64*1024)
	for sc.Scan() {
		var l bulkLine
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("not a JSON line (%v): %q", err, sc.Text())
		}
		out = append(out, l)
	}
	return out
}

// checkIssued checks that lines hold exactly one valid token for each of
// want, issued to that identity, expiring when the identity now says.
func checkIssued(t *testing.T, e Env, lines []bulkLine, want map[string]identity, after map[string]identity) {
	t.Helper()
	key := signingKey(t, e, "demo")
	seen := map[string]bool{}
	for _, l := range lines {
		before, ok := want[l.Identity]
		if !ok || seen[l.Identity] {
			t.Fatalf("a token for %s, which was not to be changed (or twice)", l.Identity)
		}
		seen[l.Identity] = true
		verifyToken(t, key, l.JWT)
		claims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(l.JWT, claims); err != nil || claims["sub"] != before.ID || l.ID != before.ID {
			t.Fatalf("%s's token is for %v (line id %s), want %s", l.Identity, claims["sub"], l.ID, before.ID)
		}
		now := after[l.Identity]
		if now.State != "pending" || now.Revision != before.Revision+1 || now.ActiveSessions != 0 || !sameTime(now.ExpiresAt, l.ExpiresAt) {
			t.Fatalf("%s after the bulk action: %+v (before %+v, line %+v)", l.Identity, now, before, l)
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("%d tokens written, want one for each of the %d identities", len(seen), len(want))
	}
}

func TestBulkCLI(t *testing.T) {
	t.Parallel()
	e := NewDB(t)
	MustRun(t, e, "demo", "--identities", "1500")
	before := listAll(t, e, "--filter", "laptop")
	enrolled := map[string]identity{}
	for name, it := range before {
		if it.State == "enrolled" {
			enrolled[name] = it
		}
	}
	if len(enrolled) < 10 {
		t.Fatalf("only %d enrolled laptops in the demo", len(enrolled))
	}

	// -o FILE: the tokens go to the file, readable by its owner only; the
	// summary to stdout.
	file := filepath.Join(t.TempDir(), "tokens.jsonl")
	r := MustRun(t, e, "enrollment", "reset", "--all", "--filter", "laptop", "--expires", "+7d", "--yes", "-o", file)
	if fileMode(t, file) != 0o600 {
		t.Errorf("token file mode %v, want 0600", fileMode(t, file))
	}
	if strings.Contains(r.Stdout+r.Stderr, "eyJ") {
		t.Errorf("a token reached stdout or stderr:\n%s", r)
	}
	if !strings.Contains(r.Stdout, fmt.Sprintf("reset %d identities", len(enrolled))) || !strings.Contains(r.Stdout, file) {
		t.Errorf("summary:\n%s", r)
	}
	after := listAll(t, e, "--filter", "laptop")
	checkIssued(t, e, readLines(t, readFile(t, file)), enrolled, after)
	for name, it := range before {
		if _, ok := enrolled[name]; !ok && !sameJSON(after[name], it) {
			t.Errorf("%s (%s) was not eligible but changed: %+v", name, it.State, after[name])
		}
	}
	if p := decode[listPage](t, MustRun(t, e, "identity", "list", "--state", "enrolled", "--filter", "laptop", "--json")); p.Total != 0 {
		t.Errorf("%d laptops still enrolled", p.Total)
	}

	// Without -o the tokens are the JSON lines on stdout; reissue takes
	// the expired ones.
	phones := listAll(t, e, "--filter", "phone", "--state", "expired")
	r = MustRun(t, e, "enrollment", "reissue", "--all", "--filter", "phone", "--expires", "+3d", "--yes")
	checkIssued(t, e, readLines(t, r.Stdout), phones, listAll(t, e, "--filter", "phone"))
	if !strings.Contains(r.Stderr, fmt.Sprintf("reissued %d identities", len(phones))) {
		t.Errorf("summary on stderr:\n%s", r)
	}

	// Nothing eligible: nothing changes, and it says so.
	r = MustRun(t, e, "enrollment", "reset", "--all", "--filter", "laptop", "--state", "pending", "--expires", "+7d", "--yes")
	if r.Stdout != "" || !strings.Contains(r.Stderr, "nothing to do") {
		t.Errorf("reset of pending laptops:\n%s", r)
	}

	// Without --yes and a terminal it refuses; bad combinations are usage errors.
	wantError(t, Run(t, e, "enrollment", "reset", "--all", "--expires", "+7d"), 1, "pass --yes")
	wantError(t, Run(t, e, "enrollment", "reset", "laptop-alice", "--all", "--expires", "+7d", "--yes"), 2, "takes no NAME")
	wantError(t, Run(t, e, "enrollment", "reset", "laptop-alice", "--filter", "x", "--expires", "+7d"), 2, "--filter selects identities for --all")
	wantError(t, Run(t, e, "enrollment", "reissue", "--all", "--state", "sleeping", "--expires", "+7d", "--yes"), 2, "not a state")
	if p := decode[listPage](t, MustRun(t, e, "identity", "list", "--state", "enrolled", "--json", "--limit", "1")); p.Total == 0 {
		t.Error("a refused command reset everything")
	}
}

// progressLine is the progress dialog's count: "1,500 of 8,123 · 950 a second".
var progressLine = regexp.MustCompile(`([\d,]+) of ([\d,]+) · [\d,]+ a second`)

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
	if err != nil {
		t.Fatalf("%q is not a count", s)
	}
	return n
}

// TestConsoleBulkReset: in the real binary, an admin marks every identity
// matching a filter, resets them with one confirmation stating the totals,
// and sees the summary; then resets the whole network and cancels part
// way: what finished is fully reset, the rest untouched.
func TestConsoleBulkReset(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the 20,000-identity console run")
	}
	t.Parallel()
	e := Env{Home: t.TempDir(), Vars: []string{"TZ=UTC"}}
	const size = 20000
	MustRun(t, e, "--demo", "demo", "--identities", strconv.Itoa(size))
	// The CLI reads the console's database through --db.
	demo := Env{DB: filepath.Join(dataDir(e.Home), "demo.db"), Home: e.Home, Vars: e.Vars}
	list := func(args ...string) map[string]identity { return listAll(t, demo, args...) }
	const filter = "laptop-alice"
	match := list("--filter", filter)
	var eligible, sessions int
	for _, it := range match {
		if it.State == "enrolled" {
			eligible++
			sessions += it.ActiveSessions
		}
	}
	if eligible == 0 || eligible == len(match) {
		t.Fatalf("%d of the %d %s identities enrolled: the test needs some of each", eligible, len(match), filter)
	}

	term := StartTerm(t, e, 120, 40, "--demo")
	term.WaitFor(20*time.Second, "of 20,000")
	term.Send("/")
	term.Type(filter)
	term.Send("Enter")
	term.WaitFor(10*time.Second, fmt.Sprintf("of %d ", len(match)), "filter: "+filter)
	term.Send("a")
	term.WaitFor(5*time.Second, fmt.Sprintf("%d marked (all matching)", len(match)))
	term.Send("r")
	term.WaitFor(5*time.Second, "Date enrollment expires")
	term.Send("Enter")
	term.WaitFor(10*time.Second, fmt.Sprintf("Reset enrollment of %d identities?", eligible),
		fmt.Sprintf("Sessions that will drop: %d.", sessions), "Skipped:")
	term.Send("y")
	term.WaitFor(20*time.Second, "Reset enrollment: done", fmt.Sprintf("Reset %d of %d identities: %d sessions dropped.", eligible, eligible, sessions))
	term.Send("Enter")
	term.WaitGone(5*time.Second, "Reset enrollment: done")
	if n := len(list("--filter", filter, "--state", "enrolled")); n != 0 {
		t.Fatalf("%d %s identities still enrolled after the bulk reset", n, filter)
	}
	pending := 0
	for _, it := range match {
		if it.State == "pending" {
			pending++
		}
	}
	if n := len(list("--filter", filter, "--state", "pending")); n != pending+eligible {
		t.Fatalf("%d pending after the reset, want %d + %d", n, pending, eligible)
	}

	// The whole network, cancelled once the first batch is done.
	before := list("--state", "enrolled")
	term.Send("/")
	term.Send("Escape") // clears the filter
	term.WaitFor(10*time.Second, "of 20,000")
	term.Send("a")
	term.WaitFor(5*time.Second, "20,000 marked (all matching)")
	term.Send("r")
	term.WaitFor(5*time.Second, "Date enrollment expires")
	term.Send("Enter")
	term.WaitFor(20*time.Second, fmt.Sprintf("Reset enrollment of %s identities?", commas(len(before))))
	term.Send("y")
	deadline := time.Now().Add(30 * time.Second)
	for {
		m := progressLine.FindStringSubmatch(term.Screen())
		if m != nil && atoi(t, m[1]) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress shown:\n%s", term.Screen())
		}
		time.Sleep(20 * time.Millisecond)
	}
	term.Send("c")
	screen := term.WaitFor(30*time.Second, "Reset enrollment: cancelled")
	m := regexp.MustCompile(`Reset ([\d,]+) of ([\d,]+) identities`).FindStringSubmatch(screen)
	left := regexp.MustCompile(`Cancelled: ([\d,]+) identit`).FindStringSubmatch(screen)
	if m == nil || left == nil {
		t.Fatalf("summary without the counts:\n%s", screen)
	}
	done, total, untouched := atoi(t, m[1]), atoi(t, m[2]), atoi(t, left[1])
	if total != len(before) || done == 0 || untouched == 0 || done+untouched != total {
		t.Fatalf("summary says %d reset + %d untouched of %d (%d were enrolled)", done, untouched, total, len(before))
	}

	// Each identity is either fully reset or exactly as it was.
	nowEnrolled := list("--state", "enrolled")
	nowPending := list("--state", "pending")
	reset, kept := 0, 0
	var expiry string
	for name, was := range before {
		if it, ok := nowEnrolled[name]; ok {
			if !sameJSON(it, was) {
				t.Fatalf("%s is still enrolled but changed: %+v, was %+v", name, it, was)
			}
			kept++
			continue
		}
		it, ok := nowPending[name]
		if !ok || it.Revision != was.Revision+1 || it.ActiveSessions != 0 || it.ExpiresAt == nil {
			t.Fatalf("%s is neither untouched nor fully reset: %+v, was %+v", name, it, was)
		}
		if expiry == "" {
			expiry = *it.ExpiresAt
		} else if *it.ExpiresAt != expiry {
			t.Fatalf("%s's token expires %s, the others %s", name, *it.ExpiresAt, expiry)
		}
		reset++
	}
	if reset != done || kept != untouched {
		t.Fatalf("the database holds %d reset and %d untouched; the summary said %d and %d", reset, kept, done, untouched)
	}
	// A reset identity's token is real.
	for name := range before {
		if _, ok := nowPending[name]; ok {
			jwtText := strings.TrimSpace(MustRun(t, demo, "enrollment", "jwt", name).Stdout)
			verifyToken(t, signingKey(t, demo, "demo"), jwtText)
			break
		}
	}
	term.Send("Enter")
	term.WaitGone(5*time.Second, "Reset enrollment: cancelled")
}
