package embedded

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/model"
)

// TestSlimIndexesMigrateASchema5Database: testdata/schema5.db was made by
// the idcon of f41b012 (schema 5): `idcon demo --identities 400`, a "lab"
// network of three identities (one of them enrolled: a certificate), one
// reset, a bulk reset of a filter and a bulk reissue of the expired. After
// opening it every row is as it was, the creation and sessions indexes hold
// no state columns, the file is sound, and the lists sorted by creation and
// by sessions, filtered by each state, are what the rows read before the
// migration say they are.
func TestSlimIndexesMigrateASchema5Database(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "schema5.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "old.db")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, path)
	db := rawDB(t, path)
	var version int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil || version != 5 {
		t.Fatalf("the fixture is schema %d (%v), want 5", version, err)
	}
	// The oracle: every identity as its row says, before the migration.
	type row struct {
		network, id, name string
		created, sessions int64
		expires           *int64
		credential        bool
	}
	var all []row
	rows, err := db.Query(`SELECT network_id, id, name, created_at, active_sessions, token_expires_at, has_credential FROM identities`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.network, &r.id, &r.name, &r.created, &r.sessions, &r.expires, &r.credential); err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
	}
	rows.Close()
	db.Close()
	if len(all) != 403 {
		t.Fatalf("the fixture holds %d identities, want 403", len(all))
	}
	state := func(r row, now int64) model.State {
		switch {
		case r.expires != nil && *r.expires > now:
			return model.StatePending
		case r.expires != nil:
			return model.StateExpired
		case r.credential:
			return model.StateEnrolled
		}
		return model.StateNone
	}

	now := time.Date(2026, 12, 9, 12, 0, 0, 0, time.UTC) // two days after the fixture was made
	s := openStore(t, path, newFakeClock(now))
	if err := s.db.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil || version != len(migrations) || version < 6 {
		t.Fatalf("after opening: schema %d (%v), want %d", version, err, len(migrations))
	}
	if after := snapshot(t, path); after != before {
		t.Errorf("the migration changed rows: %d bytes of rows before, %d after", len(before), len(after))
	}
	integrityOK(t, path)
	for index, want := range map[string][]string{
		"identities_by_created":  {"network_id", "created_at", "id"},
		"identities_by_sessions": {"network_id", "active_sessions", "name_key", "id"},
		"identities_by_name":     {"network_id", "name_key", "id", "name_fold", "email_fold", "token_expires_at", "has_credential", "created_at"},
		"identities_by_expiry":   {"network_id", "token_expires_at", "id", "has_credential"},
	} {
		var got []string
		rows, err := s.db.Query(`SELECT name FROM pragma_index_info(?) ORDER BY seqno`, index)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				t.Fatal(err)
			}
			got = append(got, c)
		}
		rows.Close()
		if !slices.Equal(got, want) {
			t.Errorf("%s holds %v, want %v", index, got, want)
		}
	}

	nets, err := s.Networks(t.Context())
	if err != nil || len(nets) != 2 {
		t.Fatalf("networks: %v %v", nets, err)
	}
	seen := map[model.State]bool{}
	for _, n := range nets {
		for _, sort := range []model.SortField{model.SortCreated, model.SortSessions} {
			for _, st := range append([]model.State{""}, model.States...) {
				var want []string
				var mine []row
				for _, r := range all {
					if r.network == n.ID && (st == "" || state(r, now.UnixNano()) == st) {
						mine = append(mine, r)
					}
				}
				slices.SortFunc(mine, func(a, b row) int {
					if sort == model.SortCreated {
						if a.created != b.created {
							return cmpInt(a.created, b.created)
						}
						return strings.Compare(a.id, b.id)
					}
					if a.sessions != b.sessions {
						return cmpInt(b.sessions, a.sessions) // the most first
					}
					if ka, kb := model.NameKey(a.name), model.NameKey(b.name); ka != kb {
						return strings.Compare(ka, kb)
					}
					return strings.Compare(a.id, b.id)
				})
				for _, r := range mine {
					want = append(want, r.id)
					seen[state(r, now.UnixNano())] = true
				}
				var got []string
				for off := 0; ; off += 37 {
					page, err := s.Identities(t.Context(), n.ID, model.ListQuery{Sort: sort, State: st, Offset: off, Limit: 37})
					if err != nil {
						t.Fatal(err)
					}
					if page.Total != len(want) {
						t.Fatalf("network %s, sort %s, state %q: total %d, the rows say %d", n.Name, sort, st, page.Total, len(want))
					}
					for _, x := range page.Items {
						got = append(got, x.ID)
					}
					if len(page.Items) == 0 || off+37 >= page.Total {
						break
					}
				}
				if !slices.Equal(got, want) {
					t.Errorf("network %s, sort %s, state %q: %d identities in another order or set than the rows say (%d)", n.Name, sort, st, len(got), len(want))
				}
			}
		}
	}
	for _, st := range model.States {
		if !seen[st] {
			t.Errorf("no identity of the fixture is %s at %s: the test doesn't cover that state", st, now)
		}
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
