package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// applicationID marks the file as an idcon database (PRAGMA application_id),
// so another program's SQLite file is refused rather than written into.
const applicationID = 0x1dc0_0001

// migrations are the schema's versions, in order: migrations[i] takes the
// database from user_version i to i+1. Append; never edit a released one.
//
// The identities row carries what listing needs (token expiry, credential,
// session count), kept up to date by every change, so a state filter is an
// indexed range on token_expires_at with now as a parameter:
//
//	pending  token_expires_at >  now
//	expired  token_expires_at <= now
//	enrolled token_expires_at IS NULL AND has_credential = 1
//	none     token_expires_at IS NULL AND has_credential = 0
//
// name_fold and email_fold are the lower-cased name and email (Unicode, not
// just ASCII as SQLite's LIKE would do), searched with instr() so a filter
// is always literal text.
var migrations = []string{
	`
CREATE TABLE networks (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,
	issuer      TEXT NOT NULL UNIQUE,  -- the tokens' iss
	key_id      TEXT NOT NULL UNIQUE,  -- the tokens' kid
	signing_key BLOB NOT NULL,         -- PKCS #8 DER, ES256 (P-256)
	public_key  TEXT NOT NULL,         -- PEM "PUBLIC KEY"
	ca_key      BLOB NOT NULL,         -- PKCS #8 DER, P-256
	ca_cert     BLOB NOT NULL,         -- DER, self-signed
	created_at  INTEGER NOT NULL,
	identities  INTEGER NOT NULL DEFAULT 0, -- how many identities it holds, kept up to date
	demo_seeded INTEGER NOT NULL DEFAULT 0  -- demo identities 0..n-1 made by SeedDemo
);

CREATE TABLE identities (
	id               TEXT PRIMARY KEY,
	network_id       TEXT NOT NULL REFERENCES networks(id),
	name             TEXT NOT NULL,
	name_fold        TEXT NOT NULL,
	email            TEXT NOT NULL,
	email_fold       TEXT NOT NULL,
	attributes       TEXT NOT NULL,  -- JSON array of strings
	revision         INTEGER NOT NULL,
	created_at       INTEGER NOT NULL,
	enrolled_at      INTEGER,
	has_credential   INTEGER NOT NULL DEFAULT 0,
	token_id         TEXT,           -- the current token (tokens.id), or NULL
	token_created_at INTEGER,
	token_expires_at INTEGER,
	active_sessions  INTEGER NOT NULL DEFAULT 0,
	UNIQUE (network_id, name)
);
-- One index per sort order, each ending in id (the tie-breaker) and
-- carrying the state columns, so a page is read in order and its state
-- filter checked without visiting the table. Names sort by their folded
-- form (Unicode lower case, where NOCASE folds ASCII only), and that index
-- also carries the folded email: a text filter scans it alone.
CREATE INDEX identities_by_name ON identities
	(network_id, name_fold, id, email_fold, token_expires_at, has_credential, created_at);
CREATE INDEX identities_by_expiry ON identities (network_id, token_expires_at, id, has_credential);
CREATE INDEX identities_by_created ON identities (network_id, created_at, id, token_expires_at, has_credential);

-- Every token ever issued, so an old one is refused with the reason.
CREATE TABLE tokens (
	id          TEXT PRIMARY KEY,  -- the JWT's jti
	identity_id TEXT NOT NULL REFERENCES identities(id),
	jwt         TEXT,              -- the signed token, kept only while current: a secret
	status      TEXT NOT NULL CHECK (status IN ('current', 'used', 'replaced', 'deleted')),
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL,
	ended_at    INTEGER
);

CREATE TABLE certificates (
	serial      TEXT PRIMARY KEY,  -- hex
	identity_id TEXT NOT NULL REFERENCES identities(id),
	issued_at   INTEGER NOT NULL,
	not_after   INTEGER NOT NULL,
	revoked_at  INTEGER
);
CREATE INDEX certificates_by_identity ON certificates (identity_id);

CREATE TABLE sessions (
	id          TEXT PRIMARY KEY,
	identity_id TEXT NOT NULL REFERENCES identities(id),
	cert_serial TEXT,              -- NULL for sessions recorded by AddSessions or SeedDemo
	started_at  INTEGER NOT NULL,
	last_seen   INTEGER NOT NULL
);
CREATE INDEX sessions_by_identity ON sessions (identity_id);
`,
	// 2: names sort naturally (model.NameKey: build-2 before build-10,
	// case and accents ignored). name_key is filled in by fillNameKeys,
	// then the name index is rebuilt on it, still carrying the folded text
	// and the state columns so that a filter scans it alone.
	`
ALTER TABLE identities ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
`,
	`
DROP INDEX identities_by_name;
CREATE INDEX identities_by_name ON identities
	(network_id, name_key, id, name_fold, email_fold, token_expires_at, has_credential, created_at);
`,
	// 4: the list sorts by sessions, the most first (model.SortSessions):
	// an index in that order, names breaking ties, carrying the state
	// columns for a state filter. (Sorting by state and the tokenless
	// identities of the expiry sort read the name index, a state at a
	// time: see orderSegments.)
	`
CREATE INDEX identities_by_sessions ON identities
	(network_id, active_sessions DESC, name_key, id, token_expires_at, has_credential);
`,
	// 5: a text filter is answered from an index (see textindex.go): a
	// trigram index of the folded name and email, kept by triggers, and
	// the count of identities holding each one- and two-character
	// substring, for filters too short for trigrams. fillTextIndex builds
	// both for the identities already there.
	`
CREATE VIRTUAL TABLE identities_text USING fts5 (name_fold, email_fold,
	content = 'identities', content_rowid = 'rowid', tokenize = 'trigram case_sensitive 1');
` + textInsertTrigger + `;
CREATE TRIGGER identities_text_delete AFTER DELETE ON identities BEGIN
	INSERT INTO identities_text (identities_text, rowid, name_fold, email_fold) VALUES ('delete', old.rowid, old.name_fold, old.email_fold);
END;
CREATE TRIGGER identities_text_update AFTER UPDATE OF name_fold, email_fold ON identities BEGIN
	INSERT INTO identities_text (identities_text, rowid, name_fold, email_fold) VALUES ('delete', old.rowid, old.name_fold, old.email_fold);
	INSERT INTO identities_text (rowid, name_fold, email_fold) VALUES (new.rowid, new.name_fold, new.email_fold);
END;
CREATE TABLE identity_grams (
	network_id TEXT NOT NULL REFERENCES networks(id),
	gram       TEXT NOT NULL,     -- one or two characters of name_fold or email_fold
	identities INTEGER NOT NULL,  -- how many of the network's identities hold it
	PRIMARY KEY (network_id, gram)
) WITHOUT ROWID;
`,
	// 6: the creation and sessions indexes no longer carry the state
	// columns. A reset or reissue changes those columns, and every index
	// carrying them has its entry moved: four per identity, two of them in
	// indexes the change has no other reason to touch (a reset leaves the
	// creation time alone, and most identities have no session to drop).
	// A list sorted by creation or sessions and filtered by state checks
	// each row's state in the table instead; the name index, which a text
	// filter scans and a bulk selection counts on, keeps them, and the
	// expiry index is keyed on them.
	`
DROP INDEX identities_by_created;
CREATE INDEX identities_by_created ON identities (network_id, created_at, id);
DROP INDEX identities_by_sessions;
CREATE INDEX identities_by_sessions ON identities (network_id, active_sessions DESC, name_key, id);
`,
}

// textInsertTrigger adds a new identity to the trigram index. SeedDemo
// drops it while it inserts many and indexes them in one statement, then
// makes it again.
const textInsertTrigger = `CREATE TRIGGER identities_text_insert AFTER INSERT ON identities BEGIN
	INSERT INTO identities_text (rowid, name_fold, email_fold) VALUES (new.rowid, new.name_fold, new.email_fold);
END`

// migrationSteps are Go steps that run after the migration of the same
// index: what SQL alone can't compute.
var migrationSteps = map[int]func(ctx context.Context, tx *sql.Tx) error{
	1: fillNameKeys,
	4: fillTextIndex,
}

// fillNameKeys computes every identity's name_key.
func fillNameKeys(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, name FROM identities`)
	if err != nil {
		return err
	}
	type row struct{ id, name string }
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.name); err != nil {
			rows.Close()
			return err
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	up, err := tx.PrepareContext(ctx, `UPDATE identities SET name_key = ? WHERE id = ?`)
	if err != nil {
		return err
	}
	defer up.Close()
	for _, r := range all {
		if _, err := up.ExecContext(ctx, model.NameKey(r.name), r.id); err != nil {
			return err
		}
	}
	return nil
}

// migrate brings the schema up to date in one transaction, so two
// processes opening a new file at once can't both create it.
func (s *Store) migrate(ctx context.Context) error {
	const what = "preparing the database"
	return s.write(ctx, what, func(tx *sql.Tx, _ time.Time) error {
		var version, appID, objects int
		if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&appID); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&objects); err != nil {
			return err
		}
		switch {
		case appID != 0 && appID != applicationID, appID == 0 && objects > 0:
			return backend.Invalid("%s is an SQLite database of another program, not idcon's: give another path", s.path)
		case version > len(migrations):
			return backend.Invalid("%s was written by a newer idcon (schema %d; this one knows up to %d): upgrade idcon", s.path, version, len(migrations))
		}
		for v := version; v < len(migrations); v++ {
			if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
				return fmt.Errorf("schema version %d: %w", v+1, err)
			}
			if step := migrationSteps[v]; step != nil {
				if err := step(ctx, tx); err != nil {
					return fmt.Errorf("schema version %d: %w", v+1, err)
				}
			}
		}
		if version < len(migrations) {
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, len(migrations))); err != nil {
				return err
			}
		}
		if appID == 0 {
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA application_id = %d`, applicationID)); err != nil {
				return err
			}
		}
		return nil
	})
}
