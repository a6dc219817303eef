package embedded

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// TestBulkStopsAfterTheIdentityUnderWay: asked to stop at the 33rd
// identity of a batch of 500 (each returning false, or the context
// cancelled from there, as the console's and the CLI's cancel do), the run
// changes exactly the 33 it reported and nothing more, and each identity
// it reported was changed.
func TestBulkStopsAfterTheIdentityUnderWay(t *testing.T) {
	const stopAt = 33
	for _, how := range []string{"each returns false", "context cancelled"} {
		t.Run(how, func(t *testing.T) {
			clock := newFakeClock(t0)
			s := openStore(t, filepath.Join(t.TempDir(), "idcon.db"), clock)
			net, err := s.SeedDemo(t.Context(), "demo", 3000)
			if err != nil {
				t.Fatal(err)
			}
			enrolled := byState(t, s, net.ID, "", model.StateEnrolled)
			if len(enrolled) < 2*bulkBatch {
				t.Fatalf("only %d enrolled: the test needs more than a batch", len(enrolled))
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var reported []backend.BulkResult
			err = s.BulkApply(ctx, net.ID, backend.Selection{All: true}, model.ActionReset, clock.Now().Add(day), func(r backend.BulkResult) bool {
				reported = append(reported, r)
				if len(reported) == stopAt {
					if how == "context cancelled" {
						cancel()
						return true
					}
					return false
				}
				return true
			})
			if how == "context cancelled" && !errors.Is(err, context.Canceled) {
				t.Fatalf("BulkApply after cancel: %v, want a cancellation", err)
			}
			if how == "each returns false" && err != nil {
				t.Fatalf("BulkApply stopped by each: %v", err)
			}
			if len(reported) != stopAt {
				t.Fatalf("%d identities reported, want %d: the run went on after the stop", len(reported), stopAt)
			}
			left := byState(t, s, net.ID, "", model.StateEnrolled)
			if changed := len(enrolled) - len(left); changed != stopAt {
				t.Fatalf("%d identities reset, want exactly the %d reported", changed, stopAt)
			}
			for _, r := range reported {
				if r.Err != nil || mustGet(t, s, net.ID, r.Identity.ID).State(clock.Now()) != model.StatePending {
					t.Fatalf("%s was reported reset but is not (%v)", r.Identity.Name, r.Err)
				}
			}
		})
	}
}

// TestBulkCommitFailureSaysWhatWasUndone: when the batch's commit fails
// after its identities were reported reset (here a deferred foreign key
// that only COMMIT checks, set off by one of them), none of them is kept,
// and the run's error names exactly the ones reported reset.
func TestBulkCommitFailureSaysWhatWasUndone(t *testing.T) {
	s, clock, net := testStore(t)
	ctx := t.Context()
	var ids []model.Identity
	for i := range 5 {
		ids = append(ids, victim(t, s, net.ID, "bulk-"+string(rune('a'+i)), 1))
	}
	for _, q := range []string{
		`CREATE TABLE test_parent (id INTEGER PRIMARY KEY)`,
		`CREATE TABLE test_child (pid INTEGER REFERENCES test_parent(id) DEFERRABLE INITIALLY DEFERRED)`,
		`CREATE TRIGGER test_commit_fails AFTER UPDATE OF token_id ON identities WHEN NEW.id = '` + ids[3].ID + `'
			BEGIN INSERT INTO test_child VALUES (42); END`,
	} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	var reported []backend.BulkResult
	err := s.BulkApply(ctx, net.ID, backend.Selection{All: true, Filter: "bulk-"}, model.ActionReset, clock.Now().Add(day), func(r backend.BulkResult) bool {
		reported = append(reported, r)
		return true
	})
	var u *backend.UndoneError
	if !errors.As(err, &u) || !errors.Is(err, backend.ErrUnavailable) {
		t.Fatalf("BulkApply: %v, want an UndoneError", err)
	}
	if len(reported) != 5 || len(u.Results) != 5 {
		t.Fatalf("%d reported, %d undone; want 5 and 5", len(reported), len(u.Results))
	}
	for i, r := range u.Results {
		if r.Identity.ID != reported[i].Identity.ID {
			t.Errorf("undone[%d] is %s, reported %s", i, r.Identity.Name, reported[i].Identity.Name)
		}
	}
	for _, x := range ids {
		after := mustGet(t, s, net.ID, x.ID)
		if after.Revision != x.Revision || !after.HasCredential || after.ActiveSessions != 1 || after.Enrollment != nil {
			t.Errorf("%s changed though its batch was not kept: %+v", x.Name, after)
		}
	}
}
