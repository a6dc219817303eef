package backendtest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// testSorts: every sort key (model.SortFields), both ways, over
// identities in every state, read in pages of two so that a page spans
// the parts a sort is made of (by state, one state after another; by
// expiry, the tokens then the tokenless); and with a text or state filter
// beside it. A sort the harness says the backend can't serve must be
// refused as backend.ErrSortUnsupported, never answered in another order.
// The names sort the same bytewise and naturally, so a controller's own
// name order agrees.
func testSorts(t *testing.T, e *env, unsortable []model.SortField) {
	e.expired("exp-a") // first: it moves the clock
	e.fx.Advance(time.Second)
	e.create("pend-b", "", 10*day)
	e.fx.Advance(time.Second)
	e.create("pend-a", "", 20*day)
	e.fx.Advance(time.Second)
	e.enrolled("enr-a") // one session
	e.fx.Advance(time.Second)
	enrB := e.enrolled("enr-b")
	e.fx.Connect(t, e.net, enrB.ID, 2)
	e.fx.Advance(time.Second)
	e.none("none-b")
	e.fx.Advance(time.Second)
	e.none("none-a")
	if got := e.get(enrB.ID).ActiveSessions; got != 3 {
		t.Fatalf("enr-b holds %d sessions, want 3", got)
	}

	orders := map[model.SortField][]string{
		model.SortName:     {"enr-a", "enr-b", "exp-a", "none-a", "none-b", "pend-a", "pend-b"},
		model.SortState:    {"enr-a", "enr-b", "pend-a", "pend-b", "exp-a", "none-a", "none-b"},
		model.SortSessions: {"enr-b", "enr-a", "exp-a", "none-a", "none-b", "pend-a", "pend-b"},
		model.SortCreated:  {"exp-a", "pend-b", "pend-a", "enr-a", "enr-b", "none-b", "none-a"},
		// The tokens, soonest first; then the tokenless by name, either way.
		model.SortExpires: {"exp-a", "pend-b", "pend-a", "enr-a", "enr-b", "none-a", "none-b"},
	}
	descending := map[model.SortField][]string{
		model.SortExpires: {"pend-a", "pend-b", "exp-a", "enr-a", "enr-b", "none-a", "none-b"},
	}
	for _, f := range model.SortFields {
		want, ok := orders[f]
		if !ok {
			t.Fatalf("no expected order for sort %q: add it", f)
		}
		for _, desc := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s desc=%v", f, desc), func(t *testing.T) {
				want := want
				if desc {
					want = reversed(want)
					if d, ok := descending[f]; ok {
						want = d
					}
				}
				var got []string
				for off := 0; off < len(want); off += 2 {
					p, err := e.b.Identities(e.ctx, e.net, model.ListQuery{Sort: f, Desc: desc, Offset: off, Limit: 2})
					if slices.Contains(unsortable, f) {
						if !errors.Is(err, backend.ErrSortUnsupported) || !errors.Is(err, backend.ErrInvalid) || err.Error() == "" {
							t.Fatalf("sort %s: %v (%d items), want a refusal that matches ErrSortUnsupported and ErrInvalid", f, err, len(p.Items))
						}
						return
					}
					if err != nil {
						t.Fatalf("page at offset %d: %v", off, err)
					}
					if p.Total != len(want) || len(p.Items) != min(2, len(want)-off) {
						t.Errorf("page at offset %d: %d items, total %d; want %d items, total %d", off, len(p.Items), p.Total, min(2, len(want)-off), len(want))
					}
					got = append(got, names(p.Items)...)
				}
				if !slices.Equal(got, want) {
					t.Errorf("the pages together:\n got %q\nwant %q", got, want)
				}
			})
		}
	}

	combined := []struct {
		q    model.ListQuery
		want []string
	}{
		{model.ListQuery{Sort: model.SortState, Filter: "-a"}, []string{"enr-a", "pend-a", "exp-a", "none-a"}},
		{model.ListQuery{Sort: model.SortState, State: model.StatePending}, []string{"pend-a", "pend-b"}},
		{model.ListQuery{Sort: model.SortState, State: model.StateNone, Desc: true}, []string{"none-b", "none-a"}},
		{model.ListQuery{Sort: model.SortExpires, Filter: "pend"}, []string{"pend-b", "pend-a"}},
		{model.ListQuery{Sort: model.SortExpires, Filter: "-b"}, []string{"pend-b", "enr-b", "none-b"}},
		{model.ListQuery{Sort: model.SortSessions, Filter: "enr"}, []string{"enr-b", "enr-a"}},
		{model.ListQuery{Sort: model.SortSessions, State: model.StateEnrolled, Desc: true}, []string{"enr-a", "enr-b"}},
	}
	for _, c := range combined {
		p, err := e.b.Identities(e.ctx, e.net, c.q)
		if slices.Contains(unsortable, c.q.Sort) {
			if !errors.Is(err, backend.ErrSortUnsupported) {
				t.Errorf("%+v: %v, want ErrSortUnsupported", c.q, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%+v: %v", c.q, err)
			continue
		}
		if got := names(p.Items); !slices.Equal(got, c.want) || p.Total != len(c.want) {
			t.Errorf("%+v: got %q (total %d), want %q", c.q, got, p.Total, c.want)
		}
	}
	// Quick, as the console asks: the same pages, a page at a time; the
	// total exact, or with Counting a lower bound (never without Quick).
	byState := map[model.State][]string{
		model.StateEnrolled: {"enr-a", "enr-b"}, model.StatePending: {"pend-a", "pend-b"},
		model.StateExpired: {"exp-a"}, model.StateNone: {"none-a", "none-b"},
	}
	for _, st := range model.States {
		want := byState[st]
		for _, quick := range []bool{true, false} {
			var got []string
			for off := range len(want) {
				q := model.ListQuery{State: st, Offset: off, Limit: 1, Quick: quick}
				p, err := e.b.Identities(e.ctx, e.net, q)
				if err != nil {
					t.Errorf("%+v: %v", q, err)
					break
				}
				switch {
				case p.Counting && !quick:
					t.Errorf("%+v: Counting, without Quick", q)
				case p.Counting && (p.Total < off+len(p.Items) || p.Total > len(want)):
					t.Errorf("%+v: counting total %d, want between %d and %d", q, p.Total, off+len(p.Items), len(want))
				case !p.Counting && p.Total != len(want):
					t.Errorf("%+v: total %d, want %d", q, p.Total, len(want))
				}
				got = append(got, names(p.Items)...)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s (Quick %v), a page of one at a time: %q, want %q", st, quick, got, want)
			}
		}
	}
	if _, err := e.b.Identities(e.ctx, e.net, model.ListQuery{Sort: "bogus"}); !errors.Is(err, backend.ErrInvalid) {
		t.Errorf("sort bogus: %v, want ErrInvalid", err)
	}
}

// testAttributes: the role attributes an identity is created with come
// back from every read (by ID, by name, in a page), as does its creation
// time; one made without any has none; and an attribute with a control
// character is refused, nothing made.
func testAttributes(t *testing.T, e *env) {
	tok, err := e.b.CreateIdentity(e.ctx, e.net, model.NewIdentity{
		Name: "laptop-attrs", Attributes: []string{"staff", "laptops", "Zoë's team"}, ExpiresAt: e.at(day),
	})
	if err != nil {
		t.Fatalf("create with attributes: %v", err)
	}
	want := []string{"Zoë's team", "laptops", "staff"}
	check := func(what string, x model.Identity) {
		t.Helper()
		if got := slices.Sorted(slices.Values(x.Attributes)); !slices.Equal(got, want) {
			t.Errorf("%s: attributes %q, want %q", what, x.Attributes, want)
		}
		if x.CreatedAt.Sub(e.now()).Abs() > 2*time.Second {
			t.Errorf("%s: CreatedAt %s, want about %s", what, x.CreatedAt, e.now())
		}
	}
	check("create's answer", tok.Identity)
	check("Identity", e.get(tok.Identity.ID))
	byName, err := e.b.IdentityByName(e.ctx, e.net, "laptop-attrs")
	if err != nil {
		t.Fatal(err)
	}
	check("IdentityByName", byName)
	p, err := e.b.Identities(e.ctx, e.net, model.ListQuery{Filter: "laptop-attrs"})
	if err != nil || len(p.Items) != 1 {
		t.Fatalf("list: %v %v", p.Items, err)
	}
	check("Identities", p.Items[0])

	plain := e.create("laptop-plain", "", day)
	if got := e.get(plain.Identity.ID).Attributes; len(got) != 0 {
		t.Errorf("made without attributes, it has %q", got)
	}

	_, err = e.b.CreateIdentity(e.ctx, e.net, model.NewIdentity{Name: "bad-attrs", Attributes: []string{"ok", "a\x1b[2Jb"}, ExpiresAt: e.at(day)})
	wantErr(t, "an attribute with an escape", err, backend.ErrInvalid)
	if _, err := e.b.IdentityByName(e.ctx, e.net, "bad-attrs"); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("after the refused create, bad-attrs: %v, want not found", err)
	}
}
