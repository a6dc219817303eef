package backendtest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// pagingSize is how many identities the paging test creates: a few pages
// of 25 and a short last one.
const pagingSize = 120

// testPaging creates pagingSize identities named id-000… in a shuffled
// order, one second apart, each expiring at a different shuffled hour, so
// sorting by name, creation and expiry give three different orders.
func testPaging(t *testing.T, e *env) {
	empty, err := e.b.Identities(e.ctx, e.net, model.ListQuery{})
	if err != nil {
		t.Fatalf("list an empty network: %v", err)
	}
	if empty.Total != 0 || len(empty.Items) != 0 {
		t.Fatalf("list an empty network: %d items, total %d; want none", len(empty.Items), empty.Total)
	}

	base := e.at(0)
	name := func(i int) string { return fmt.Sprintf("id-%03d", i) }
	// 37 and 7 are coprime with 120, so both orders are permutations.
	createdOrder := make([]string, pagingSize)
	expiresAt := map[string]time.Time{}
	for p := range pagingSize {
		i := p * 37 % pagingSize
		n := name(i)
		createdOrder[p] = n
		expiresAt[n] = base.Add(time.Duration(1+i*7%pagingSize) * time.Hour)
		if _, err := e.b.CreateIdentity(e.ctx, e.net, model.NewIdentity{Name: n, ExpiresAt: expiresAt[n]}); err != nil {
			t.Fatalf("create %s: %v", n, err)
		}
		e.fx.Advance(time.Second)
	}
	byName := make([]string, pagingSize)
	for i := range byName {
		byName[i] = name(i)
	}
	byExpiry := slices.Clone(byName)
	slices.SortFunc(byExpiry, func(a, b string) int { return expiresAt[a].Compare(expiresAt[b]) })

	// walk reads every page of 25 and checks each page's size, total and
	// content against want.
	walk := func(t *testing.T, sort model.SortField, desc bool, want []string) {
		t.Helper()
		var got []string
		for off := 0; off < pagingSize; off += 25 {
			p, err := e.b.Identities(e.ctx, e.net, model.ListQuery{Sort: sort, Desc: desc, Offset: off, Limit: 25})
			if err != nil {
				t.Fatalf("page at offset %d: %v", off, err)
			}
			wantLen := min(25, pagingSize-off)
			if len(p.Items) != wantLen || p.Total != pagingSize {
				t.Errorf("page at offset %d: %d items, total %d; want %d items, total %d", off, len(p.Items), p.Total, wantLen, pagingSize)
			}
			for _, x := range p.Items {
				if x.Enrollment == nil || !sameSecond(x.Enrollment.ExpiresAt, expiresAt[x.Name]) {
					t.Errorf("page at offset %d: %q listed with enrollment %v, want expiry %s", off, x.Name, x.Enrollment, expiresAt[x.Name])
					break
				}
			}
			got = append(got, names(p.Items)...)
		}
		if !slices.Equal(got, want) {
			t.Errorf("the pages together:\n got %v\nwant %v", got, want)
		}
	}
	t.Run("by name", func(t *testing.T) { walk(t, model.SortName, false, byName) })
	t.Run("default sort is by name", func(t *testing.T) { walk(t, "", false, byName) })
	t.Run("by name descending", func(t *testing.T) { walk(t, model.SortName, true, reversed(byName)) })
	t.Run("by expiry", func(t *testing.T) { walk(t, model.SortExpires, false, byExpiry) })
	t.Run("by expiry descending", func(t *testing.T) { walk(t, model.SortExpires, true, reversed(byExpiry)) })
	t.Run("by creation", func(t *testing.T) { walk(t, model.SortCreated, false, createdOrder) })
	t.Run("by creation descending", func(t *testing.T) { walk(t, model.SortCreated, true, reversed(createdOrder)) })

	t.Run("offset beyond the end", func(t *testing.T) {
		for _, off := range []int{pagingSize, pagingSize + 1, 10_000} {
			p, err := e.b.Identities(e.ctx, e.net, model.ListQuery{Offset: off, Limit: 25})
			if err != nil {
				t.Fatalf("offset %d: %v", off, err)
			}
			if len(p.Items) != 0 || p.Total != pagingSize {
				t.Errorf("offset %d: %d items, total %d; want none, total %d", off, len(p.Items), p.Total, pagingSize)
			}
		}
	})
	t.Run("default limit", func(t *testing.T) {
		p, err := e.b.Identities(e.ctx, e.net, model.ListQuery{})
		if err != nil {
			t.Fatal(err)
		}
		n := len(p.Items)
		if n == 0 || n > model.MaxPageSize || p.Total != pagingSize || !slices.Equal(names(p.Items), byName[:n]) {
			t.Errorf("limit 0: %d items, total %d; want a default page (1..%d) from the start, total %d", n, p.Total, model.MaxPageSize, pagingSize)
		}
	})
	t.Run("limit above the maximum", func(t *testing.T) {
		// Clamping and refusing are both fair; handing out more than
		// MaxPageSize is not. (With pagingSize identities a clamp can't be
		// seen: the page must then hold them all.)
		p, err := e.b.Identities(e.ctx, e.net, model.ListQuery{Limit: model.MaxPageSize + 1})
		if err != nil {
			wantErr(t, "limit above the maximum", err, backend.ErrInvalid)
			return
		}
		if len(p.Items) > model.MaxPageSize || !slices.Equal(names(p.Items), byName) || p.Total != pagingSize {
			t.Errorf("limit %d: %d items, total %d; want all %d", model.MaxPageSize+1, len(p.Items), p.Total, pagingSize)
		}
	})
}

func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

// testFilter: the filter is literal text matched case-insensitively
// against name and email. Each decoy is a name a wrong implementation
// (SQL LIKE, glob, regexp, a query language, accent folding) would match.
func testFilter(t *testing.T, e *env) {
	people := []struct{ name, email string }{
		{"alice", "alice@example.org"},
		{"Bob", "bob@Corp.Example"},
		{"carol", ""},
		{"100% done", ""},
		{"1000 done", ""}, // decoy: LIKE '%100%%'
		{"a_b", ""},
		{"axb", ""}, // decoy: LIKE '_'
		{`say "hi"`, ""},
		{"say hi", ""}, // decoy: quotes dropped
		{`back\slash`, ""},
		{"backslash", ""}, // decoy: backslash taken as an escape
		{"x) or (y", ""},
		{"a.c", ""},
		{"abc", ""}, // decoy: regexp '.'
		{"star*", ""},
		{"Zoë", ""},
		{"Zoe", ""}, // decoy: accents folded
		{"日本-office", ""},
		{"本日", ""}, // decoy: characters matched out of order
	}
	for _, p := range people {
		e.create(p.name, p.email, 30*day)
	}
	all := make([]string, len(people))
	for i, p := range people {
		all[i] = p.name
	}

	cases := []struct {
		filter string
		want   []string
	}{
		{"", all},
		{"ALI", []string{"alice"}},
		{"corp.example", []string{"Bob"}},     // email, other case
		{"EXAMPLE", []string{"alice", "Bob"}}, // email, both
		{"100%", []string{"100% done"}},       // %
		{"a_b", []string{"a_b"}},              // _
		{`"hi"`, []string{`say "hi"`}},        // "
		{`k\s`, []string{`back\slash`}},       // \
		{`\`, []string{`back\slash`}},         // a lone backslash
		{") or (", []string{"x) or (y"}},      // query-language syntax
		{`") or (name contains "`, nil},       // an injection matches nothing
		{"%", []string{"100% done"}},          // a lone wildcard
		{"_", []string{"a_b"}},                // a lone wildcard
		{"a.c", []string{"a.c"}},              // regexp '.'
		{"r*", []string{"star*"}},             // glob '*'
		{"*", []string{"star*"}},              // a lone glob
		{"Zoë", []string{"Zoë"}},              // non-ASCII
		{"zoë", []string{"Zoë"}},              // ASCII case of a non-ASCII name
		{"ZOË", []string{"Zoë"}},              // non-ASCII case
		{"zoe", []string{"Zoe"}},              // no accent folding
		{"日本", []string{"日本-office"}},         // CJK
		{"nobody-at-all", nil},
	}
	for _, c := range cases {
		p, err := e.b.Identities(e.ctx, e.net, model.ListQuery{Filter: c.filter, Limit: model.MaxPageSize})
		if err != nil {
			t.Errorf("filter %q: %v", c.filter, err)
			continue
		}
		got := names(p.Items)
		if !sameSet(got, c.want) || p.Total != len(c.want) {
			t.Errorf("filter %q: got %q (total %d), want %q", c.filter, got, p.Total, c.want)
		}
	}

	// The total counts every match, not just the page.
	p, err := e.b.Identities(e.ctx, e.net, model.ListQuery{Filter: "done", Limit: 1})
	if err != nil {
		t.Fatalf("filter done, limit 1: %v", err)
	}
	if len(p.Items) != 1 || p.Total != 2 {
		t.Errorf("filter done, limit 1: %d items, total %d; want 1 item, total 2", len(p.Items), p.Total)
	}
}

// testStateFilter: the state filter uses the state at the backend's now
// (an expired token is expired though nothing was written), and combines
// with the text filter.
func testStateFilter(t *testing.T, e *env) {
	e.expired("exp-1") // first: it moves the clock
	for _, n := range []string{"pend-1", "pend-2", "pend-3"} {
		e.pending(n)
	}
	e.enrolled("enr-1")
	e.enrolled("enr-2")
	e.none("none-1")

	cases := []struct {
		filter string
		state  model.State
		limit  int
		want   []string
		total  int // when limit cuts the page short
	}{
		{"", model.StatePending, 0, []string{"pend-1", "pend-2", "pend-3"}, 0},
		{"", model.StateEnrolled, 0, []string{"enr-1", "enr-2"}, 0},
		{"", model.StateExpired, 0, []string{"exp-1"}, 0},
		{"", model.StateNone, 0, []string{"none-1"}, 0},
		{"-2", model.StatePending, 0, []string{"pend-2"}, 0},
		{"-2", model.StateEnrolled, 0, []string{"enr-2"}, 0},
		{"enr", model.StatePending, 0, nil, 0},
		{"PEND", model.StatePending, 2, []string{"pend-1", "pend-2"}, 3},
	}
	for _, c := range cases {
		what := fmt.Sprintf("state %s, filter %q", c.state, c.filter)
		p, err := e.b.Identities(e.ctx, e.net, model.ListQuery{Filter: c.filter, State: c.state, Limit: c.limit})
		if err != nil {
			t.Errorf("%s: %v", what, err)
			continue
		}
		total := c.total
		if total == 0 {
			total = len(c.want)
		}
		if got := names(p.Items); !slices.Equal(got, c.want) || p.Total != total {
			t.Errorf("%s: got %q (total %d), want %q (total %d)", what, got, p.Total, c.want, total)
		}
		for _, x := range p.Items {
			if x.State(e.now()) != c.state {
				t.Errorf("%s: listed %q is %s", what, x.Name, x.State(e.now()))
			}
		}
	}
}

// testNetworks: the harness network is listed, openable, with its count.
func testNetworks(t *testing.T, e *env) {
	for _, n := range []string{"a", "b", "c"} {
		e.pending(n)
	}
	nets, err := e.b.Networks(e.ctx)
	if err != nil {
		t.Fatalf("Networks: %v", err)
	}
	i := slices.IndexFunc(nets, func(n model.Network) bool { return n.ID == e.net })
	if i < 0 {
		t.Fatalf("Networks: %d networks, none with ID %q", len(nets), e.net)
	}
	n := nets[i]
	if n.Identities != 3 && n.Identities != -1 {
		t.Errorf("network %q: Identities %d, want 3 (or -1 for unknown)", n.ID, n.Identities)
	}
	if n.Status != "" {
		t.Errorf("network %q: status %q, want it openable (empty status)", n.ID, n.Status)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b) || (len(a) == 0 && len(b) == 0)
}
