package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// listFilterNames are the identities FuzzListFilter searches: ordinary
// names, names SQL's LIKE would treat as patterns, Unicode whose lower
// case changes length, and (written straight into the file, as a tampered
// database or an import would hold them) names no admin could create.
var listFilterNames = []struct {
	name, email string
	raw         bool // written with SQL, bypassing model.ValidateName
}{
	{name: "laptop-alice", email: "alice@example.org"},
	{name: "Phone-BOB", email: "Bob.Builder@Example.org"},
	{name: "100%_done", email: ""},
	{name: "it's \"quoted\" \\ back", email: "q@example.org"},
	{name: "İstanbul-kiosk", email: "ist@example.org"},
	{name: "Straße-ẞ-printer", email: ""},
	{name: "日本語のラップトップ", email: "nihon@example.org"},
	{name: "zoë-combining-zoe\u0308", email: "zoe@example.org"},
	{name: "KELVIN-\u212a", email: ""},
	{name: "osc52-\x1b]52;c;ZXZpbA==\x07-evil", email: "evil@example.org", raw: true},
	{name: "nul\x00byte", email: "", raw: true},
	{name: "bad\xffutf8", email: "", raw: true},
	{name: "rtl-\u202eexe.txt", email: "", raw: true},
}

// FuzzListFilter: whatever text the admin types as a filter, listing
// never fails except as invalid input; every identity returned has the
// filter in its name or email, ignoring case; and every identity whose
// name or email holds the filter as typed is returned. The filter is
// literal text: no pattern character or quote changes what matches.
func FuzzListFilter(f *testing.F) {
	s := openStore(f, filepath.Join(f.TempDir(), "idcon.db"), newFakeClock(t0))
	ctx := context.Background()
	n, err := s.CreateNetwork(ctx, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	for i, x := range listFilterNames {
		name := x.name
		if x.raw {
			name = fmt.Sprintf("placeholder-%d", i)
		}
		tok, err := s.CreateIdentity(ctx, n.ID, model.NewIdentity{Name: name, Email: x.email, ExpiresAt: t0.Add(day)})
		if err != nil {
			f.Fatalf("create %q: %v", name, err)
		}
		if x.raw {
			_, err := s.db.ExecContext(ctx, `UPDATE identities SET name = ?, name_fold = ? WHERE id = ?`,
				x.name, strings.ToLower(x.name), tok.Identity.ID)
			if err != nil {
				f.Fatalf("tamper %q: %v", x.name, err)
			}
		}
	}
	// The text index counts what CreateIdentity wrote: build it again
	// from the tampered rows.
	if err := s.write(ctx, "rebuilding the text index", func(tx *sql.Tx, _ time.Time) error { return fillTextIndex(ctx, tx) }); err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{"", "a", "ALICE", "%", "_", "%_", "'", "\"", "\\", "' OR 1=1 --", "\") OR (\"",
		"i̇", "İ", "ß", "ẞ", "k", "\u212a", "日本", "ë", "e\u0308", "\x00", "\xff", "\ufffd", "\x1b]52", "\u202e",
		"example.org", "@", strings.Repeat("a", 300)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, filter string) {
		page, err := s.Identities(ctx, n.ID, model.ListQuery{Filter: filter, Limit: model.MaxPageSize})
		if err != nil {
			if !errors.Is(err, backend.ErrInvalid) {
				t.Fatalf("Identities(filter %q) failed other than as invalid: %v", filter, err)
			}
			return
		}
		if page.Total != len(page.Items) {
			t.Fatalf("filter %q: total %d but %d items (all fit in one page)", filter, page.Total, len(page.Items))
		}
		got := map[string]bool{}
		want := strings.ToLower(filter)
		for _, x := range page.Items {
			got[x.Name] = true
			if !strings.Contains(strings.ToLower(x.Name), want) && !strings.Contains(strings.ToLower(x.Email), want) {
				t.Errorf("filter %q returned %q <%s>, which doesn't contain it", filter, x.Name, x.Email)
			}
		}
		if !utf8.ValidString(filter) {
			return // a broken filter is matched by its lower case, U+FFFD included
		}
		for _, x := range listFilterNames {
			if (strings.Contains(x.name, filter) || strings.Contains(x.email, filter)) && !got[x.name] {
				t.Errorf("filter %q missed %q <%s>", filter, x.name, x.email)
			}
		}
	})
}
