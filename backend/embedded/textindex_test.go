package embedded

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// allOf lists every identity of a network matching q but for its text
// filter, page by page, in q's order: the list a filter narrows.
func allOf(t *testing.T, s *Store, network string, q model.ListQuery) []model.Identity {
	t.Helper()
	q.Filter, q.Offset, q.Limit = "", 0, model.MaxPageSize
	var out []model.Identity
	for {
		p, err := s.Identities(t.Context(), network, q)
		if err != nil {
			t.Fatalf("listing %+v: %v", q, err)
		}
		out = append(out, p.Items...)
		if len(p.Items) == 0 || len(out) >= p.Total {
			return out
		}
		q.Offset = len(out)
	}
}

// holds is the filter's meaning, written out: a literal substring of the
// lower-cased name or email.
func holds(x model.Identity, filter string) bool {
	f := strings.ToLower(filter)
	return strings.Contains(strings.ToLower(x.Name), f) || strings.Contains(strings.ToLower(x.Email), f)
}

// checkFilter compares one filtered page with the unfiltered list
// narrowed here: the same total, the same identities in the same order.
func checkFilter(t *testing.T, s *Store, network string, q model.ListQuery) {
	t.Helper()
	var want []model.Identity
	for _, x := range allOf(t, s, network, q) {
		if holds(x, q.Filter) {
			want = append(want, x)
		}
	}
	p, err := s.Identities(t.Context(), network, q)
	if err != nil {
		t.Fatalf("%+v: %v", q, err)
	}
	if p.Total != len(want) {
		t.Fatalf("%+v: total %d, the scan finds %d", q, p.Total, len(want))
	}
	limit := q.Limit
	if limit == 0 {
		limit = defaultPageSize
	}
	lo, hi := min(q.Offset, len(want)), min(q.Offset+limit, len(want))
	got, exp := ids(p.Items), ids(want[lo:hi])
	if !slices.Equal(got, exp) {
		t.Fatalf("%+v: page %q, the scan's %q", q, names(p.Items), names(want[lo:hi]))
	}
}

func ids(xs []model.Identity) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.ID
	}
	return out
}

func names(xs []model.Identity) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.Name
	}
	return out
}

// Random names from a small alphabet (so that filters match often),
// with upper case, accents, a character beyond the BMP, quotes and
// spaces; filters cut from them, changed in case, or made up.
var textAlphabet = []string{"a", "b", "c", "A", "é", "É", "ß", "\"", " ", "-", "日", "😀", "ab", "ba", "li", "x"}

func randomText(r *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteString(textAlphabet[r.IntN(len(textAlphabet))])
	}
	return b.String()
}

func randomFilter(r *rand.Rand, names []string) string {
	switch r.IntN(4) {
	case 0:
		return randomText(r, 1+r.IntN(4))
	default:
		rs := []rune(names[r.IntN(len(names))])
		i := r.IntN(len(rs))
		j := min(len(rs), i+1+r.IntN(5))
		f := string(rs[i:j])
		if r.IntN(3) == 0 {
			f = strings.ToUpper(f)
		}
		return f
	}
}

// TestTextIndexAgreesWithTheScan: on random identities in two networks,
// through creates, resets, reissues, deletes, enrollments and bulk
// actions, every filtered page (one- and two-character filters, which the
// trigram index can't serve, and longer ones, which it does; every state
// and sort; pages at random offsets) is the unfiltered list narrowed by
// the filter's meaning, written out in Go.
func TestTextIndexAgreesWithTheScan(t *testing.T) {
	clock := newFakeClock(t0)
	s := openStore(t, filepath.Join(t.TempDir(), "idcon.db"), clock)
	f := &fixture{s: s, clock: clock}
	ctx := t.Context()
	r := rand.New(rand.NewPCG(16, 1))
	var nets []model.Network
	for _, name := range []string{"one", "two"} {
		n, err := s.CreateNetwork(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		nets = append(nets, n)
	}
	var made []string
	create := func(n model.Network) {
		for {
			name := randomText(r, 2+r.IntN(8))
			if strings.TrimSpace(name) != name || model.ValidateName(name) != nil {
				continue
			}
			email := ""
			if r.IntN(2) == 0 {
				email = strings.NewReplacer(" ", "", `"`, "", "-", "").Replace(randomText(r, 2+r.IntN(5))) + "x@Example.org"
			}
			_, err := s.CreateIdentity(ctx, n.ID, model.NewIdentity{Name: name, Email: email, ExpiresAt: clock.Now().Add(time.Duration(1+r.IntN(48)) * time.Hour)})
			if err != nil {
				if errors.Is(err, backend.ErrConflict) {
					continue // the name is taken
				}
				t.Fatalf("create %q <%s>: %v", name, email, err)
			}
			made = append(made, name)
			return
		}
	}
	for range 150 {
		create(nets[0])
	}
	for range 60 {
		create(nets[1])
	}
	sorts := []model.SortField{model.SortName, model.SortState, model.SortExpires, model.SortSessions, model.SortCreated}
	states := []model.State{"", "", model.StatePending, model.StateExpired, model.StateEnrolled, model.StateNone}
	check := func(round int) {
		for range 40 {
			q := model.ListQuery{Filter: randomFilter(r, made), State: states[r.IntN(len(states))], Sort: sorts[r.IntN(len(sorts))],
				Desc: r.IntN(4) == 0, Limit: []int{0, 1, 7, model.MaxPageSize}[r.IntN(4)]}
			q.Offset = r.IntN(30)
			for _, n := range nets {
				t.Run(fmt.Sprint(round), func(t *testing.T) { checkFilter(t, s, n.ID, q) })
			}
		}
	}
	check(0)
	for round := 1; round <= 6; round++ {
		n := nets[r.IntN(len(nets))]
		all := allOf(t, s, n.ID, model.ListQuery{})
		for _, x := range all {
			var err error
			switch x.State(clock.Now()) {
			case model.StatePending:
				switch r.IntN(3) {
				case 0:
					f.Enroll(t, n.ID, x.ID)
				case 1:
					_, err = s.DeleteEnrollment(ctx, n.ID, x.ID, x.Revision)
				}
			case model.StateEnrolled:
				if r.IntN(2) == 0 {
					_, err = s.ResetEnrollment(ctx, n.ID, x.ID, x.Revision, clock.Now().Add(day))
				} else {
					f.Connect(t, n.ID, x.ID, 1+r.IntN(3))
				}
			case model.StateExpired:
				if r.IntN(2) == 0 {
					_, err = s.ReissueEnrollment(ctx, n.ID, x.ID, x.Revision, clock.Now().Add(day))
				}
			}
			if err != nil {
				t.Fatalf("round %d, %s: %v", round, x.Name, err)
			}
		}
		for range 10 {
			create(n)
		}
		// A bulk action over a filter the index serves.
		action := []model.Action{model.ActionReset, model.ActionReissue}[r.IntN(2)]
		sel := backend.Selection{All: true, Filter: randomFilter(r, made)}
		if err := s.BulkApply(ctx, n.ID, sel, action, clock.Now().Add(2*day), func(backend.BulkResult) bool { return true }); err != nil {
			t.Fatalf("round %d, bulk %s %q: %v", round, action, sel.Filter, err)
		}
		clock.Advance(time.Duration(r.IntN(30)) * time.Hour)
		check(round)
	}
}

// TestTextIndexOfTheDemo: the demo's identities, indexed in one go as it
// seeds them (and again when it tops the network up), are found like the
// ones created one at a time before and after.
func TestTextIndexOfTheDemo(t *testing.T) {
	clock := newFakeClock(t0)
	s := openStore(t, filepath.Join(t.TempDir(), "idcon.db"), clock)
	ctx := t.Context()
	other, err := s.CreateNetwork(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateIdentity(ctx, other.ID, model.NewIdentity{Name: "laptop-alice-other", ExpiresAt: clock.Now().Add(day)}); err != nil {
		t.Fatal(err)
	}
	n, err := s.SeedDemo(ctx, "demo", 300)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateIdentity(ctx, n.ID, model.NewIdentity{Name: "laptop-alice-extra", Email: "Zed.Q@example.org", ExpiresAt: clock.Now().Add(day)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SeedDemo(ctx, "demo", 420); err != nil {
		t.Fatal(err)
	}
	for _, net := range []model.Network{n, other} {
		for _, f := range []string{"a", "z", "zed", "ed.q", "alice", "-alice-", "laptop", "LAPTOP-ALICE", "ice-ext", "other", "-1", "kiosk-3", "example.org"} {
			checkFilter(t, s, net.ID, model.ListQuery{Filter: f, Limit: model.MaxPageSize})
			checkFilter(t, s, net.ID, model.ListQuery{Filter: f, Sort: model.SortState, Offset: 3, Limit: 10})
		}
	}
}

// TestTextIndexAfterVacuum: VACUUM may renumber the rows of a table
// without an INTEGER PRIMARY KEY; the trigram index refers to rows by
// number, so filters must still find them after one.
func TestTextIndexAfterVacuum(t *testing.T) {
	clock := newFakeClock(t0)
	path := filepath.Join(t.TempDir(), "idcon.db")
	s := openStore(t, path, clock)
	ctx := t.Context()
	n, err := s.CreateNetwork(ctx, "lab")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if _, err := s.CreateIdentity(ctx, n.ID, model.NewIdentity{Name: fmt.Sprintf("host-%02d-%c", i, 'a'+i%26), ExpiresAt: clock.Now().Add(day)}); err != nil {
			t.Fatal(err)
		}
	}
	// Rows gone from the start of the table, so that VACUUM has rows to
	// move down.
	gone := `(SELECT id FROM identities WHERE name IN ('host-00-a', 'host-01-b', 'host-02-c'))`
	for _, q := range []string{`DELETE FROM tokens WHERE identity_id IN ` + gone, `DELETE FROM identities WHERE id IN ` + gone} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE networks SET identities = identities - 3`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `VACUUM`); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"host-1", "t-2", "05-f", "st-0", "host-03-d", "host"} {
		checkFilter(t, s, n.ID, model.ListQuery{Filter: q})
	}
}

// TestTextIndexMigratesASchema4Database opens a database made by idcon
// before the text index (testdata/schema4.db: `idcon demo --identities
// 400`, a network "lab" with five identities of odd names, a reset and an
// enrollment, by the idcon of commit e6fbe47, schema 4). The migration
// loses or changes no row, and every filter then finds what the rows, read
// before the migration, say it should.
func TestTextIndexMigratesASchema4Database(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "schema4.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "old.db")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, path) // every row of the five tables
	db := rawDB(t, path)
	var version int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil || version != 4 {
		t.Fatalf("the fixture is schema %d (%v), want 4", version, err)
	}
	var certificates int
	if err := db.QueryRow(`SELECT count(*) FROM certificates`).Scan(&certificates); err != nil {
		t.Fatal(err)
	}
	type person struct{ network, name, email string }
	var people []person
	rows, err := db.Query(`SELECT network_id, name, email FROM identities`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var p person
		if err := rows.Scan(&p.network, &p.name, &p.email); err != nil {
			t.Fatal(err)
		}
		people = append(people, p)
	}
	rows.Close()
	db.Close()
	if len(people) != 406 || certificates == 0 {
		t.Fatalf("the fixture holds %d identities and %d certificates, want 406 and some", len(people), certificates)
	}

	s := openStore(t, path, nil)
	if err := s.db.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil || version != len(migrations) {
		t.Fatalf("after opening: schema %d (%v), want %d", version, err, len(migrations))
	}
	if after := snapshot(t, path); after != before {
		t.Errorf("the migration changed rows: %d bytes of rows before, %d after", len(before), len(after))
	}
	nets, err := s.Networks(t.Context())
	if err != nil || len(nets) != 2 {
		t.Fatalf("networks: %v %v", nets, err)
	}
	for _, n := range nets {
		for _, filter := range []string{"a", "AL", "ali", "alice", "ünï", "STRASSE", "straße", "\"d n", "日本", "日", "example.org", "école", "-kiosk", "zz", "x-", "qqq"} {
			want := 0
			for _, p := range people {
				f := strings.ToLower(filter)
				if p.network == n.ID && (strings.Contains(strings.ToLower(p.name), f) || strings.Contains(strings.ToLower(p.email), f)) {
					want++
				}
			}
			page, err := s.Identities(t.Context(), n.ID, model.ListQuery{Filter: filter, Limit: model.MaxPageSize})
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != want || len(page.Items) != min(want, model.MaxPageSize) {
				t.Errorf("network %s, filter %q: total %d and %d items, the rows say %d", n.Name, filter, page.Total, len(page.Items), want)
			}
			for _, x := range page.Items {
				if !holds(x, filter) {
					t.Errorf("network %s, filter %q: %q doesn't hold it", n.Name, filter, x.Name)
				}
			}
		}
	}
}

// TestGramsCountEachIdentityOnce: the one- and two-character substrings of
// a name and email, each once however often and wherever it occurs.
func TestGramsCountEachIdentityOnce(t *testing.T) {
	got := slices.Sorted(maps.Keys(grams("abab", "bä")))
	want := []string{"a", "ab", "b", "ba", "bä", "ä"}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("grams: %q, want %q", got, want)
	}
}

// TestTextMemoFollowsOtherWriters: what the store keeps about a filter
// (its count, where its first match is in name order) is dropped as soon
// as the text index changes, whoever changes it: after another process
// (another Store on the file) adds identities that match, one of them
// before every earlier match, this store's lists of the filter and of a
// longer one count and show them.
func TestTextMemoFollowsOtherWriters(t *testing.T) {
	s, clock, net := testStore(t)
	ctx := t.Context()
	other := openStore(t, s.Path(), clock)
	create := func(st *Store, name string) {
		t.Helper()
		if _, err := st.CreateIdentity(ctx, net.ID, model.NewIdentity{Name: name, ExpiresAt: clock.Now().Add(day)}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(filter string) []string {
		t.Helper()
		page, err := s.Identities(ctx, net.ID, model.ListQuery{Filter: filter, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, x := range page.Items {
			names = append(names, x.Name)
		}
		if page.Total != len(names) {
			t.Fatalf("filter %q: total %d, %d items %v", filter, page.Total, len(names), names)
		}
		return names
	}
	for _, name := range []string{"aaa-first", "kiosk-zed-b", "kiosk-zed-d", "printer"} {
		create(s, name)
	}
	for range 3 { // learnt, then served from what was kept
		if got := list("zed"); !slices.Equal(got, []string{"kiosk-zed-b", "kiosk-zed-d"}) {
			t.Fatalf("zed: %v", got)
		}
		if got := list("ze"); !slices.Equal(got, []string{"kiosk-zed-b", "kiosk-zed-d"}) {
			t.Fatalf("ze: %v", got)
		}
	}
	create(other, "kiosk-zed-a")
	create(other, "kiosk-zed-c")
	want := []string{"kiosk-zed-a", "kiosk-zed-b", "kiosk-zed-c", "kiosk-zed-d"}
	for _, filter := range []string{"zed", "ze", "zed-", "k-zed"} {
		if got := list(filter); !slices.Equal(got, want) {
			t.Errorf("after another process's writes, %q lists %v, want %v", filter, got, want)
		}
	}
}
