package embedded

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// listAll reads every page of q (25 at a time) and returns the names in
// order, checking each page's total.
func listAll(t *testing.T, s *Store, net string, q model.ListQuery) []string {
	t.Helper()
	var names []string
	total := -1
	for q.Offset, q.Limit = 0, 25; ; q.Offset += 25 {
		p, err := s.Identities(t.Context(), net, q)
		if err != nil {
			t.Fatalf("Identities(%+v): %v", q, err)
		}
		if total >= 0 && p.Total != total {
			t.Fatalf("Identities(%+v): total moved from %d to %d", q, total, p.Total)
		}
		total = p.Total
		for _, x := range p.Items {
			names = append(names, x.Name)
		}
		if len(p.Items) < 25 {
			break
		}
	}
	if len(names) != total {
		t.Fatalf("Identities(%+v): the pages hold %d identities, total says %d", q, len(names), total)
	}
	return names
}

// TestSeedDemo: the demo is idempotent, tops up, spreads over the four
// states, and its pending tokens are real.
func TestSeedDemo(t *testing.T) {
	clock := newFakeClock(t0)
	s := openStore(t, filepath.Join(t.TempDir(), "idcon.db"), clock)
	ctx := t.Context()
	n, err := s.SeedDemo(ctx, "demo", 600)
	if err != nil {
		t.Fatal(err)
	}
	if n.Identities != 600 || n.Name != "demo" || n.SigningKey == "" {
		t.Fatalf("SeedDemo = %+v, want demo with 600 identities", n)
	}
	first := listAll(t, s, n.ID, model.ListQuery{})

	again, err := s.SeedDemo(ctx, "demo", 600)
	if err != nil || again.ID != n.ID || again.Identities != 600 {
		t.Fatalf("second SeedDemo = %+v, %v; want the same network, still 600", again, err)
	}
	if !slices.Equal(listAll(t, s, n.ID, model.ListQuery{}), first) {
		t.Errorf("a second SeedDemo changed the identities")
	}
	smaller, err := s.SeedDemo(ctx, "demo", 10)
	if err != nil || smaller.Identities != 600 {
		t.Errorf("SeedDemo with a smaller n = %+v, %v; want nothing removed", smaller, err)
	}
	bigger, err := s.SeedDemo(ctx, "demo", 700)
	if err != nil || bigger.Identities != 700 {
		t.Fatalf("topping up to 700: %+v, %v", bigger, err)
	}
	all := listAll(t, s, n.ID, model.ListQuery{})
	for _, name := range first {
		if _, found := slices.BinarySearchFunc(all, name, func(a, b string) int { return cmp.Compare(strings.ToLower(a), strings.ToLower(b)) }); !found {
			t.Errorf("topping up lost %s", name)
			break
		}
	}
	if len(slices.Compact(slices.Clone(all))) != 700 { // all is sorted
		t.Errorf("demo names repeat")
	}

	// The same n on another database gives the same people and states.
	other := openStore(t, filepath.Join(t.TempDir(), "other.db"), clock)
	on, err := other.SeedDemo(ctx, "demo", 600)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(listAll(t, other, on.ID, model.ListQuery{}), first) {
		t.Errorf("the demo differs between databases")
	}

	counts := map[model.State]int{}
	sessions := 0
	for _, st := range model.States {
		p, err := s.Identities(ctx, n.ID, model.ListQuery{State: st, Limit: model.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		counts[st] = p.Total
		for _, x := range p.Items {
			if x.State(clock.Now()) != st {
				t.Fatalf("%s listed as %s is %s", x.Name, st, x.State(clock.Now()))
			}
			sessions += x.ActiveSessions
			if st != model.StateEnrolled && x.ActiveSessions > 0 {
				t.Errorf("%s is %s with %d sessions", x.Name, st, x.ActiveSessions)
			}
			if x.Email != "" && !strings.HasSuffix(x.Email, "@example.org") || model.ValidateEmail(x.Email) != nil {
				t.Errorf("%s has the email %q", x.Name, x.Email)
			}
			if len(x.Attributes) == 0 {
				t.Errorf("%s has no attributes", x.Name)
			}
		}
		if st == model.StatePending {
			checkPendingTokens(t, s, n, p.Items, clock.Now())
		}
		if st == model.StateExpired {
			for _, x := range p.Items {
				if ago := clock.Now().Sub(x.Enrollment.ExpiresAt); ago < day || ago > 60*day {
					t.Errorf("%s expired %s ago, want 1 to 60 days", x.Name, ago)
				}
			}
		}
	}
	// 700 identities: roughly 40/25/20/15 percent.
	for st, want := range map[model.State]int{model.StateEnrolled: 280, model.StatePending: 175, model.StateExpired: 140, model.StateNone: 105} {
		if got := counts[st]; got < want*3/4 || got > want*5/4 {
			t.Errorf("%d demo identities are %s, want about %d", got, st, want)
		}
	}
	if sessions == 0 {
		t.Errorf("no demo identity has a session")
	}
	// Resetting a seeded identity drops its recorded sessions.
	p, err := s.Identities(ctx, n.ID, model.ListQuery{State: model.StateEnrolled, Sort: model.SortName, Limit: model.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(p.Items, func(x model.Identity) bool { return x.ActiveSessions > 0 })
	x := p.Items[i]
	tok, err := s.ResetEnrollment(ctx, n.ID, x.ID, x.Revision, clock.Now().Add(day))
	if err != nil || tok.SessionsDropped != x.ActiveSessions {
		t.Errorf("reset of demo %s: dropped %d of %d sessions, %v", x.Name, tok.SessionsDropped, x.ActiveSessions, err)
	}
}

func checkPendingTokens(t *testing.T, s *Store, n model.Network, pending []model.Identity, now time.Time) {
	t.Helper()
	if len(pending) == 0 {
		t.Fatal("no pending demo identities")
	}
	for _, x := range pending {
		if in := x.Enrollment.ExpiresAt.Sub(now); in < day || in > 30*day {
			t.Errorf("%s's token expires in %s, want 1 to 30 days", x.Name, in)
		}
	}
	x := pending[len(pending)/2]
	tokText, err := s.TokenJWT(t.Context(), n.ID, x.ID)
	if err != nil {
		t.Fatalf("demo token of %s: %v", x.Name, err)
	}
	c, err := ParseToken(tokText)
	if err != nil || c.Subject != x.ID || c.ID != x.Enrollment.ID || !c.ExpiresAt.Equal(x.Enrollment.ExpiresAt) {
		t.Errorf("demo token of %s: %+v, %v", x.Name, c, err)
	}
	if _, err := EnrollToDir(t.Context(), s, tokText, t.TempDir()); err != nil {
		t.Errorf("enrolling with a demo token: %v", err)
	}
}

// TestListing: sorting, paging and filters, in both of Identities' query
// plans (few matches: found then sorted; many: read in order).
func TestListing(t *testing.T) {
	s, clock, n := testStore(t)
	ctx := t.Context()
	type person struct {
		name, email string
		expires     time.Duration
	}
	var people []person
	// 60 "host-NN" (dense when filtered by "host"), and a few odd names.
	for i := range 60 {
		people = append(people, person{fmt.Sprintf("host-%02d", (i*7)%60), "", time.Duration(1+(i*13)%60) * time.Hour})
	}
	people = append(people,
		person{"100% done", "", 3 * day},
		person{"1000 done", "", 4 * day},
		person{"a_b", "", 5 * day},
		person{"axb", "x_y@example.org", 6 * day},
		person{"Zoë", "zoe@example.org", 7 * day},
		person{"ZOE-2", "", 8 * day},
	)
	created := map[string]time.Time{}
	expires := map[string]time.Time{}
	for _, p := range people {
		tok, err := s.CreateIdentity(ctx, n.ID, model.NewIdentity{Name: p.name, Email: p.email, ExpiresAt: clock.Now().Add(p.expires)})
		if err != nil {
			t.Fatal(err)
		}
		created[p.name], expires[p.name] = tok.Identity.CreatedAt, tok.Identity.Enrollment.ExpiresAt
		clock.Advance(time.Second)
	}
	names := func(match func(string) bool, order func(a, b string) int) []string {
		var out []string
		for _, p := range people {
			if match(p.name) {
				out = append(out, p.name)
			}
		}
		slices.SortFunc(out, order)
		return out
	}
	all := func(string) bool { return true }
	// Name order ignores case and accents (model.NameKey); the numbers here
	// sort the same by value as by their digits (host-00 to host-59, 100%
	// before 1000), so folding case and the one accent is the order.
	fold := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "ë", "e") }
	byName := func(a, b string) int { return cmp.Compare(fold(a), fold(b)) }
	byCreated := func(a, b string) int { return created[a].Compare(created[b]) }
	byExpiry := func(a, b string) int { return expires[a].Compare(expires[b]) }
	desc := func(f func(a, b string) int) func(a, b string) int { return func(a, b string) int { return f(b, a) } }
	has := func(sub string) func(string) bool { return func(n string) bool { return strings.Contains(n, sub) } }

	cases := []struct {
		name string
		q    model.ListQuery
		want []string
	}{
		{"all by name (case-insensitive)", model.ListQuery{}, names(all, byName)},
		{"all by created, descending", model.ListQuery{Sort: model.SortCreated, Desc: true}, names(all, desc(byCreated))},
		{"all by expiry", model.ListQuery{Sort: model.SortExpires}, names(all, byExpiry)},
		{"dense filter by created", model.ListQuery{Filter: "HOST", Sort: model.SortCreated}, names(has("host"), byCreated)},
		{"dense filter by expiry, descending", model.ListQuery{Filter: "host", Sort: model.SortExpires, Desc: true}, names(has("host"), desc(byExpiry))},
		{"sparse filter by expiry", model.ListQuery{Filter: "done", Sort: model.SortExpires}, []string{"100% done", "1000 done"}},
		{"sparse filter by created, descending", model.ListQuery{Filter: "0", Sort: model.SortCreated, Desc: true}, names(has("0"), desc(byCreated))},
		{"% is literal", model.ListQuery{Filter: "%"}, []string{"100% done"}},
		{"_ is literal", model.ListQuery{Filter: "_"}, []string{"a_b", "axb"}},                                    // axb by its email x_y@
		{"filter with state", model.ListQuery{Filter: "zo", State: model.StatePending}, []string{"Zoë", "ZOE-2"}}, // accents ignored: "zoe" < "zoe-2"
		{"non-ASCII case", model.ListQuery{Filter: "ZOË"}, []string{"Zoë"}},
	}
	for _, c := range cases {
		if got := listAll(t, s, n.ID, c.q); !slices.Equal(got, c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}

	// Tokens expire one by one as time passes: the state filter follows.
	clock.Advance(30*time.Hour + 30*time.Second)
	expired := listAll(t, s, n.ID, model.ListQuery{State: model.StateExpired, Sort: model.SortExpires})
	if want := names(func(n string) bool { return expires[n].Before(clock.Now()) }, byExpiry); len(want) != 30 || !slices.Equal(expired, want) {
		t.Errorf("expired after 30h:\n got %q\nwant %q (30 of them)", expired, want)
	}

	// Limits: 0 means 50, above the maximum is clamped, negative refused.
	for _, c := range []struct{ limit, want int }{{0, 50}, {model.MaxPageSize + 100, len(people)}, {3, 3}} {
		p, err := s.Identities(ctx, n.ID, model.ListQuery{Limit: c.limit})
		if err != nil || len(p.Items) != c.want || p.Total != len(people) {
			t.Errorf("limit %d: %d items, total %d, %v; want %d of %d", c.limit, len(p.Items), p.Total, err, c.want, len(people))
		}
	}
	for _, q := range []model.ListQuery{{Limit: -1}, {Offset: -1}, {State: "bogus"}, {Sort: "size"}} {
		_, err := s.Identities(ctx, n.ID, q)
		wantRefused(t, fmt.Sprintf("query %+v", q), err, backend.ErrInvalid, nil, "")
	}
}
