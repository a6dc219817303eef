package embedded

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/idcon/idcon/model"
)

// TestNamesSortNaturally: a network's identities come in natural name
// order, page after page: numbers by value, case and accents ignored.
func TestNamesSortNaturally(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "n.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	n, err := s.CreateNetwork(ctx, "lab")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"alice", "build-2", "Build-3", "build-10", "build-11", "émile", "Emily", "v1.2", "v1.10", "Zed"}
	for _, i := range []int{9, 3, 0, 7, 5, 1, 8, 2, 6, 4} {
		if _, err := s.CreateIdentity(ctx, n.ID, model.NewIdentity{Name: want[i], ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for off := 0; off < len(want); off += 3 {
		p, err := s.Identities(ctx, n.ID, model.ListQuery{Offset: off, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range p.Items {
			got = append(got, x.Name)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages in name order:\n got %q\nwant %q", got, want)
	}
	p, err := s.Identities(ctx, n.ID, model.ListQuery{Desc: true, Limit: 3})
	if err != nil || len(p.Items) != 3 || p.Items[0].Name != "Zed" || p.Items[2].Name != "v1.2" {
		t.Fatalf("descending: %v %v", p.Items, err)
	}
}

// TestNameOrderMigratesAnOldDatabase: a database made before names sorted
// naturally (schema 1) is brought up to date on open, its identities keyed
// and listed in the new order.
func TestNameOrderMigratesAnOldDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	n, err := s.CreateNetwork(ctx, "lab")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"build-10", "build-2", "Build-3"} {
		if _, err := s.CreateIdentity(ctx, n.ID, model.NewIdentity{Name: name, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	// Back to schema 1 as an older idcon left it: no name_key, the old index.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`DROP TABLE identity_grams`, // schema 5
		`DROP TRIGGER identities_text_insert`,
		`DROP TRIGGER identities_text_delete`,
		`DROP TRIGGER identities_text_update`,
		`DROP TABLE identities_text`,
		`DROP INDEX identities_by_sessions`, // schema 4
		`DROP INDEX identities_by_name`,
		`ALTER TABLE identities DROP COLUMN name_key`,
		`CREATE INDEX identities_by_name ON identities (network_id, name_fold, id, email_fold, token_expires_at, has_credential, created_at)`,
		`PRAGMA user_version = 1`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.Identities(ctx, n.ID, model.ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range p.Items {
		got = append(got, x.Name)
	}
	if want := []string{"build-2", "Build-3", "build-10"}; !slices.Equal(got, want) {
		t.Fatalf("after the migration: %q, want %q", got, want)
	}
}
