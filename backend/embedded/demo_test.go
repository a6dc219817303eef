package embedded

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/idcon/idcon/model"
)

// seedBoth seeds the demo network to each size in sizes on two new
// stores, one seeding every batch through the indexes and one dropping
// and rebuilding them (demoRebuildAt lowered), and returns both.
func seedBoth(t *testing.T, clock *fakeClock, sizes ...int) (plain, rebuilt *Store, id string) {
	t.Helper()
	saved := demoRebuildAt
	t.Cleanup(func() { demoRebuildAt = saved })
	for k, at := range []int{1 << 30, 100} {
		demoRebuildAt = at
		s := openStore(t, filepath.Join(t.TempDir(), "idcon.db"), clock)
		for _, n := range sizes {
			nw, err := s.SeedDemo(t.Context(), "demo", n)
			if err != nil {
				t.Fatal(err)
			}
			if nw.Identities != n {
				t.Fatalf("SeedDemo(%d) made %d identities", n, nw.Identities)
			}
			id = nw.ID
		}
		if k == 0 {
			plain = s
		} else {
			rebuilt = s
		}
	}
	return plain, rebuilt, id
}

// schemaOf is every object of the database: type, name and SQL.
func schemaOf(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.db.QueryContext(t.Context(), `SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_schema ORDER BY type, name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var x string
		if err := rows.Scan(&x); err != nil {
			t.Fatal(err)
		}
		out = append(out, x)
	}
	return out
}

// TestSeedDemoRebuildingIndexes: a big batch, whose indexes are dropped
// and built again after the rows, leaves the same schema, the same lists
// in every order, state and filter, and a sound file, as one seeded
// through the indexes; both on a new network and topping one up.
func TestSeedDemoRebuildingIndexes(t *testing.T) {
	clock := newFakeClock(t0)
	plain, rebuilt, _ := seedBoth(t, clock, 150, 700)
	netP, err := plain.NetworkByName(t.Context(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	netR, err := rebuilt.NetworkByName(t.Context(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	p, r := schemaOf(t, plain), schemaOf(t, rebuilt)
	for _, x := range p {
		if !slices.Contains(r, x) {
			t.Errorf("after rebuilding, the schema lacks %q", x)
		}
	}
	for _, x := range r {
		if !slices.Contains(p, x) {
			t.Errorf("after rebuilding, the schema has %q more", x)
		}
	}
	for _, q := range []model.ListQuery{
		{}, {Sort: model.SortExpires}, {Sort: model.SortCreated, Desc: true}, {Sort: model.SortSessions}, {Sort: model.SortState},
		{State: model.StatePending}, {State: model.StateEnrolled, Sort: model.SortSessions},
		{Filter: "ali"}, {Filter: "a"}, {Filter: "la"}, {Filter: "it-ops"}, {Filter: "printer-1"},
	} {
		if p, r := listAll(t, plain, netP.ID, q), listAll(t, rebuilt, netR.ID, q); !slices.Equal(p, r) || len(p) == 0 {
			t.Errorf("%+v: %d identities after rebuilding, %d through the indexes (or none)", q, len(r), len(p))
		}
	}
	for _, s := range []*Store{plain, rebuilt} {
		var ok string
		if err := s.db.QueryRowContext(t.Context(), `PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
			t.Errorf("integrity_check: %q, %v", ok, err)
		}
		rows, err := s.db.QueryContext(t.Context(), `PRAGMA foreign_key_check`)
		if err != nil {
			t.Fatal(err)
		}
		if rows.Next() {
			t.Errorf("a row refers to a missing one")
		}
		rows.Close()
		if _, err := s.db.ExecContext(t.Context(), `INSERT INTO identities_text (identities_text, rank) VALUES ('integrity-check', 1)`); err != nil {
			t.Errorf("the text index does not match the identities: %v", err)
		}
	}
}

// TestSeedDemoKeepsForeignKeysOn: seeding turns foreign key checks off on
// its own connection only while it runs; every connection of the pool
// checks them afterwards.
func TestSeedDemoKeepsForeignKeysOn(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "idcon.db"), newFakeClock(t0))
	if _, err := s.SeedDemo(t.Context(), "demo", 50); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// The pool holds at most 4 connections: hold 4 at once, so the one
	// seeding used is among them.
	for i := range 4 {
		c, err := s.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var on int
		if err := c.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&on); err != nil || on != 1 {
			t.Errorf("connection %d: foreign_keys = %d, %v; want 1", i, on, err)
		}
	}
}

// TestSeedDemoSkipsTakenNames: a demo name an admin took first is skipped,
// the admin's identity left as it was, whether the batch goes through the
// indexes or rebuilds them.
func TestSeedDemoSkipsTakenNames(t *testing.T) {
	saved := demoRebuildAt
	t.Cleanup(func() { demoRebuildAt = saved })
	for _, at := range []int{1 << 30, 100} {
		demoRebuildAt = at
		clock := newFakeClock(t0)
		s := openStore(t, filepath.Join(t.TempDir(), "idcon.db"), clock)
		nw, err := s.CreateNetwork(t.Context(), "demo")
		if err != nil {
			t.Fatal(err)
		}
		taken := demo(7, clock.Now()).name
		if _, err := s.CreateIdentity(t.Context(), nw.ID, model.NewIdentity{Name: taken, Email: "admin@corp.example", ExpiresAt: clock.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		got, err := s.SeedDemo(t.Context(), "demo", 300)
		if err != nil {
			t.Fatal(err)
		}
		if got.Identities != 300 { // 299 demo ones and the admin's
			t.Errorf("rebuild at %d: %d identities, want 300", at, got.Identities)
		}
		x, err := s.IdentityByName(t.Context(), nw.ID, taken)
		if err != nil || x.Email != "admin@corp.example" {
			t.Errorf("rebuild at %d: %s is %+v, %v; want the admin's", at, taken, x, err)
		}
		if names := listAll(t, s, nw.ID, model.ListQuery{}); len(names) != 300 {
			t.Errorf("rebuild at %d: the list holds %d, want 300", at, len(names))
		}
	}
}
