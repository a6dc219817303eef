package embedded

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// maxDemo is the most demo identities SeedDemo makes.
const maxDemo = 1_000_000

// demoSeed seeds the generator, so a demo of n identities is the same on
// every machine (apart from keys, token IDs and signatures).
const demoSeed = 0x1dc0_de30

var (
	demoFirst = []string{
		"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
		"mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "wendy",
		"amir", "beatriz", "chen", "dmitri", "emeka", "fatima", "goran", "hana", "ines", "jonas",
		"kenji", "lena", "mateo", "nadia", "oskar", "priya", "quentin", "rosa", "sven", "tamar",
		"umar", "vera", "wei", "ximena", "yusuf", "zoe", "anja", "bruno", "camille", "diego",
		"elif", "finn", "giulia", "hugo", "ingrid", "jamal", "kira", "luca", "mei", "noah",
	}
	demoLast = []string{
		"ng", "smith", "garcia", "muller", "rossi", "kowalski", "tanaka", "okafor", "silva", "dubois",
		"jensen", "novak", "haddad", "kim", "lopez", "nguyen", "schmidt", "ivanova", "costa", "murphy",
		"sato", "cohen", "larsen", "fischer", "moreau", "patel", "santos", "ahmed", "berg", "walsh",
	}
	// Devices that belong to a person: named kind-person.
	demoPersonal = []string{"laptop", "phone", "tablet", "desktop", "workstation"}
	// Devices that belong to nobody in particular: named kind-N.
	demoShared  = []string{"build-runner", "kiosk", "printer", "sensor", "gateway", "camera", "pos-terminal"}
	demoRegions = []string{"eu-west", "eu-central", "us-east", "us-west", "ap-south"}
)

// demoSlots is how many distinct name stems there are; demo identity i has
// stem (i*demoStride) mod demoSlots and serial i / demoSlots. demoSlots is
// prime, so the stride permutes the stems and neighbours differ in kind.
var demoSlots = len(demoPersonal)*len(demoFirst) + len(demoShared)

const demoStride = 113

// demoIdentity is one generated demo identity.
type demoIdentity struct {
	name, email string
	attrs       []string
	state       model.State
	created     time.Time
	enrolled    time.Time // enrolled
	tokCreated  time.Time // pending, expired
	tokExpires  time.Time // pending, expired
	sessions    int       // enrolled
	revision    int64
}

// demo generates demo identity i at time now: the same i and now give the
// same identity.
func demo(i int, now time.Time) demoIdentity {
	r := rand.New(rand.NewPCG(demoSeed, uint64(i)))
	slot, serial := i*demoStride%demoSlots, i/demoSlots
	region := demoRegions[r.IntN(len(demoRegions))]
	var d demoIdentity
	if p := len(demoPersonal) * len(demoFirst); slot < p {
		kind, first := demoPersonal[slot/len(demoFirst)], demoFirst[slot%len(demoFirst)]
		d.name = kind + "-" + first
		if serial > 0 {
			d.name += fmt.Sprintf("-%d", serial+1)
		}
		d.email = first + "." + demoLast[r.IntN(len(demoLast))] + "@example.org"
		group := "staff"
		if r.IntN(5) == 0 {
			group = "contractors"
		}
		d.attrs = []string{group, kind + "s", region}
	} else {
		kind := demoShared[slot-p]
		d.name = fmt.Sprintf("%s-%d", kind, serial+1)
		if r.IntN(2) == 0 {
			d.email = "it-ops@example.org"
		}
		d.attrs = []string{"devices", kind + "s", region}
	}
	const day = 24 * time.Hour
	jitter := func(max time.Duration) time.Duration { return time.Duration(r.Int64N(int64(max))) }
	d.created = now.Add(-day - jitter(400*day)).Truncate(time.Second)
	d.revision = 1
	switch x := r.Float64(); {
	case x < 0.40:
		d.state = model.StateEnrolled
		d.enrolled = d.created.Add(jitter(now.Sub(d.created))).Truncate(time.Second)
		d.revision = 2 + 2*int64(r.IntN(3)) // enrolled, perhaps after a reset or two
		if r.IntN(3) == 0 {
			d.sessions = 1 + r.IntN(3)
		}
	case x < 0.65:
		d.state = model.StatePending
		d.tokExpires = now.Add(day + jitter(29*day)).Truncate(time.Second)
		d.tokCreated = maxTime(d.created, now.Add(-jitter(7*day))).Truncate(time.Second)
	case x < 0.85:
		d.state = model.StateExpired
		d.tokExpires = now.Add(-day - jitter(59*day)).Truncate(time.Second)
		d.tokCreated = maxTime(d.created, d.tokExpires.Add(-7*day-jitter(23*day))).Truncate(time.Second)
	default:
		d.state = model.StateNone
		d.revision = 2 // created, then its token deleted
	}
	return d
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// SeedDemo makes demo data: it creates network name if missing and makes
// sure demo identities 0..n-1 exist in it, so a re-run never duplicates
// and a larger n tops the network up. The identities spread over all four
// states (about 40% enrolled, 25% pending, 20% expired, 15% none); pending
// ones hold real signed tokens. To stay fast, enrolled demo identities have
// a credential recorded but no certificate made, expired ones keep no JWT,
// and their sessions have no certificate. A demo name an admin already
// took is skipped.
func (s *Store) SeedDemo(ctx context.Context, name string, n int) (model.Network, error) {
	if err := model.ValidateName(name); err != nil {
		return model.Network{}, backend.Invalid("network name: %v", err)
	}
	if n < 0 || n > maxDemo {
		return model.Network{}, backend.Invalid("can't make %d demo identities: choose 0 to %d", n, maxDemo)
	}
	var out model.Network
	err := s.writeUnchecked(ctx, "making demo network "+quote(name), func(tx *sql.Tx, now time.Time) error {
		nw, err := scanNetwork(tx.QueryRowContext(ctx, `SELECT `+networkColumns+` FROM networks WHERE name = ?`, name))
		if errors.Is(err, sql.ErrNoRows) {
			nw, err = s.insertNetwork(ctx, tx, name, now)
		}
		if err != nil {
			return err
		}
		var seeded int
		if err := tx.QueryRowContext(ctx, `SELECT demo_seeded FROM networks WHERE id = ?`, nw.id).Scan(&seeded); err != nil {
			return err
		}
		if seeded < n {
			if err := seedDemo(ctx, tx, nw, seeded, n, now); err != nil {
				return err
			}
		}
		out, err = networkWithCount(ctx, tx, `WHERE id = ?`, nw.id)
		return err
	})
	return out, err
}

// seedDemo inserts demo identities from..to-1 in the caller's
// transaction. At 1,000,000 its CPU goes to making the rows (tokens
// signed) on one goroutine while another inserts them, 64 to a statement,
// in ID order (three fifths together), building the secondary indexes
// after them (a fifth) and the trigram index (a tenth).
func seedDemo(ctx context.Context, tx *sql.Tx, nw *network, from, to int, now time.Time) error {
	// The unique name index and the token and session keys take rows at
	// random places: with SQLite's default 2 MB page cache they spill to
	// the WAL and read back, taking several times as long. Grow the cache
	// for the batch.
	if _, err := tx.ExecContext(ctx, `PRAGMA cache_size = -131072`); err != nil {
		return err
	}
	defer tx.ExecContext(context.WithoutCancel(ctx), `PRAGMA cache_size = -2000`)
	// The trigram index is filled in one statement at the end: its
	// trigger would flush the index's buffer to disk on every insert.
	var lastRow int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(rowid), 0) FROM identities`).Scan(&lastRow); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DROP TRIGGER identities_text_insert`); err != nil {
		return err
	}
	rebuild, err := dropIndexesForSeed(ctx, tx, to-from)
	if err != nil {
		return err
	}
	// A name an admin already took in the network is skipped. Knowing
	// them here (the transaction holds the write lock) lets the rows go in
	// many to a statement.
	taken, err := takenNames(ctx, tx, nw.id)
	if err != nil {
		return err
	}
	ids := newMultiInsert(tx, `INSERT OR FAIL INTO identities
		(id, network_id, name, name_fold, name_key, email, email_fold, attributes, revision, created_at, enrolled_at,
		 has_credential, token_id, token_created_at, token_expires_at, active_sessions) VALUES `, 16)
	toks := newMultiInsert(tx, `INSERT OR FAIL INTO tokens (id, identity_id, jwt, created_at, expires_at, status) VALUES `, 5, `'current'`)
	sess := newMultiInsert(tx, `INSERT OR FAIL INTO sessions (id, identity_id, started_at, last_seen) VALUES `, 4)
	defer ids.close()
	defer toks.close()
	defer sess.close()
	// An identity's token and sessions go in after it (they refer to it).
	flush := func() error {
		for _, m := range []*multiInsert{ids, toks, sess} {
			if err := m.flush(ctx); err != nil {
				return err
			}
		}
		return nil
	}

	null := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return unixNano(t)
	}
	// Rows are made (IDs, JSON, token signatures) on another goroutine
	// while this one inserts: signing is a fair part of the work.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows := make(chan demoRow, 256)
	added := 0
	g := newGramCounter(nw.id)
	var genErr error
	go func() {
		defer close(rows)
		genErr = makeDemoRows(ctx, nw, from, to, now, taken, g, rows)
	}()
	for r := range rows {
		d := r.demoIdentity
		added++
		ids.add(r.id, nw.id, d.name, r.nameFold, r.nameKey, d.email, r.emailFold,
			r.attrsJSON, d.revision, unixNano(d.created), null(d.enrolled), d.state == model.StateEnrolled,
			r.tokID, null(d.tokCreated), null(d.tokExpires), d.sessions)
		if r.tokID != nil {
			toks.add(r.tokID, r.id, r.jwt, unixNano(d.tokCreated), unixNano(d.tokExpires))
		}
		for k, sid := range r.sessionIDs {
			started := now.Add(-time.Duration(k+1) * 17 * time.Minute)
			sess.add(sid, r.id, unixNano(started), unixNano(now))
		}
		if ids.rows() == multiRows {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if genErr != nil { // read after rows is closed: the producer is done
		return genErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	seedStep("rows")
	if len(rebuild) > 0 {
		// The sorts of CREATE INDEX may use a second core. Each sorter
		// holds up to the cache's size in memory before it merges runs
		// from a temporary file: a smaller cache keeps the process's
		// memory down at little cost.
		if _, err := tx.ExecContext(ctx, `PRAGMA threads = 2`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `PRAGMA cache_size = -32768`); err != nil {
			return err
		}
		defer tx.ExecContext(context.WithoutCancel(ctx), `PRAGMA threads = 0`)
	}
	for _, q := range rebuild {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("rebuilding an index after seeding: %w", err)
		}
		seedStep(q)
	}
	if err := g.flush(ctx, tx); err != nil {
		return err
	}
	seedStep("grams")
	if err := fillDemoText(ctx, tx, lastRow); err != nil {
		return err
	}
	seedStep("text index")
	if _, err := tx.ExecContext(ctx, textInsertTrigger); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE networks SET demo_seeded = ?, identities = identities + ? WHERE id = ?`, to, added, nw.id)
	return err
}

// demoRow is a demo identity ready to insert.
type demoRow struct {
	demoIdentity
	id         string
	nameFold   string
	nameKey    string
	emailFold  string
	attrsJSON  string
	tokID      any // string, or nil for no token
	jwt        any // string, or nil (expired demo tokens keep no JWT)
	sessionIDs []string
}

// makeDemoRows makes demo identities from..to-1 and sends them on out, in
// the order of their IDs: the identities table and its primary key index
// then grow at their ends instead of at random places.
func makeDemoRows(ctx context.Context, nw *network, from, to int, now time.Time, taken map[string]bool, g *gramCounter, out chan<- demoRow) error {
	// Demo IDs are name-based UUIDs within the network's: stable for a
	// network, distinct across networks.
	space, err := uuid.Parse(nw.id)
	if err != nil {
		return fmt.Errorf("network ID %q: %w", nw.id, err)
	}
	type keyed struct {
		id uuid.UUID
		i  int
	}
	order := make([]keyed, 0, to-from)
	for i := from; i < to; i++ {
		order = append(order, keyed{uuid.NewSHA1(space, fmt.Appendf(nil, "demo-%d", i)), i})
	}
	slices.SortFunc(order, func(a, b keyed) int { return bytes.Compare(a.id[:], b.id[:]) })
	for _, k := range order {
		i := k.i
		r := demoRow{demoIdentity: demo(i, now), id: k.id.String()}
		if taken[r.name] {
			continue
		}
		r.nameFold, r.nameKey, r.emailFold = strings.ToLower(r.name), model.NameKey(r.name), strings.ToLower(r.email)
		g.add(r.nameFold, r.emailFold)
		attrs, err := json.Marshal(r.attrs)
		if err != nil {
			return err
		}
		r.attrsJSON = string(attrs)
		if r.state == model.StatePending || r.state == model.StateExpired {
			jti := uuid.NewString()
			r.tokID = jti
			if r.state == model.StatePending {
				if r.jwt, err = nw.sign(r.id, jti, r.tokCreated, r.tokExpires); err != nil {
					return err
				}
			}
		}
		for k := range r.sessions {
			r.sessionIDs = append(r.sessionIDs, uuid.NewSHA1(space, fmt.Appendf(nil, "demo-%d-session-%d", i, k)).String())
		}
		select {
		case out <- r:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// seedStep is told when each step of seeding ends; profiling sets it.
var seedStep = func(step string) {}

// demoRebuildAt is the smallest batch for which seedDemo drops the
// secondary indexes and builds them again after the rows: one sort each
// instead of a million inserts at random places.
var demoRebuildAt = 20_000

// dropIndexesForSeed drops the secondary indexes of the tables seeding
// fills, when adding n rows costs more through them than building them
// again (n at least demoRebuildAt and at least as many as the rows there
// already), and returns the statements that make them again. The
// transaction's rollback brings them back if seeding fails.
func dropIndexesForSeed(ctx context.Context, tx *sql.Tx, n int) ([]string, error) {
	if n < demoRebuildAt {
		return nil, nil
	}
	var have int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(identities), 0) FROM networks`).Scan(&have); err != nil {
		return nil, err
	}
	if have > n {
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT name, sql FROM sqlite_schema
		WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('identities', 'tokens', 'sessions') ORDER BY rowid`)
	if err != nil {
		return nil, err
	}
	var names, create []string
	for rows.Next() {
		var name, q string
		if err := rows.Scan(&name, &q); err != nil {
			rows.Close()
			return nil, err
		}
		names, create = append(names, name), append(create, q)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, name := range names {
		if _, err := tx.ExecContext(ctx, `DROP INDEX `+quoteIdent(name)); err != nil {
			return nil, err
		}
	}
	return create, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// takenNames is the names of network id's identities, or nil when it has
// none.
func takenNames(ctx context.Context, tx *sql.Tx, id string) (map[string]bool, error) {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT identities FROM networks WHERE id = ?`, id).Scan(&n); err != nil || n == 0 {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT name FROM identities WHERE network_id = ?`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	taken := make(map[string]bool, n)
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		taken[name] = true
	}
	return taken, rows.Err()
}

// multiRows is how many rows a multiInsert statement carries at most.
const multiRows = 64

// multiInsert inserts rows several to a statement: a statement's own cost
// (binding, cursors, the driver's call) is most of a small row's.
type multiInsert struct {
	tx    *sql.Tx
	head  string // INSERT INTO t (...) VALUES
	cols  int    // parameters per row
	fixed string // what ends each row's values after the parameters ("" for nothing)
	args  []any
	stmts map[int]*sql.Stmt // by rows
}

func newMultiInsert(tx *sql.Tx, head string, cols int, fixed ...string) *multiInsert {
	m := &multiInsert{tx: tx, head: head, cols: cols, stmts: map[int]*sql.Stmt{}}
	if len(fixed) > 0 {
		m.fixed = ", " + strings.Join(fixed, ", ")
	}
	return m
}

func (m *multiInsert) add(vals ...any) { m.args = append(m.args, vals...) }

func (m *multiInsert) rows() int { return len(m.args) / m.cols }

// flush inserts the rows added since the last flush.
func (m *multiInsert) flush(ctx context.Context) error {
	n := m.rows()
	if n == 0 {
		return nil
	}
	st := m.stmts[n]
	if st == nil {
		var q strings.Builder
		q.WriteString(m.head)
		row := "(" + strings.Repeat("?, ", m.cols-1) + "?" + m.fixed + ")"
		for i := range n {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString(row)
		}
		var err error
		if st, err = m.tx.PrepareContext(ctx, q.String()); err != nil {
			return err
		}
		m.stmts[n] = st
	}
	_, err := st.ExecContext(ctx, m.args...)
	clear(m.args)
	m.args = m.args[:0]
	return err
}

func (m *multiInsert) close() {
	for _, st := range m.stmts {
		st.Close()
	}
}

// writeUnchecked is write on a connection with foreign keys off, for
// seeding, whose rows refer to one another by construction: an INSERT of
// many rows then looks no parent key up, and keeps no statement journal
// (SQLite keeps one to undo a statement whose foreign key check fails at
// its end, copying every page the statement changes).
func (s *Store) writeUnchecked(ctx context.Context, what string, fn func(tx *sql.Tx, now time.Time) error) error {
	if err := ctx.Err(); err != nil {
		return cancelled(what, err)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return s.fail(ctx, what, err)
	}
	defer conn.Close()
	// The pragma is a no-op inside a transaction: it is set before.
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return s.fail(ctx, what, err)
	}
	defer func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`); err != nil {
			// Don't hand a connection that checks no keys back to the pool.
			conn.Raw(func(any) error { return driver.ErrBadConn }) //nolint:errcheck
		}
	}()
	if s.unjournaled {
		// CreateDemo's file, which only this store knows: written without
		// a journal or syncs. Leaving WAL mode needs the only connection
		// to the file; a failure leaves the file broken, and CreateDemo
		// removes it.
		var mode string
		if err := conn.QueryRowContext(ctx, `PRAGMA journal_mode = OFF`).Scan(&mode); err != nil || mode != "off" {
			return s.fail(ctx, what, fmt.Errorf("can't write the new file without a journal (journal mode %q): %v", mode, err))
		}
		if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = OFF`); err != nil {
			return s.fail(ctx, what, err)
		}
	}
	return s.writeOn(ctx, conn, what, fn)
}

// fillDemoText adds the identities after rowid lastRow to the trigram
// index in one statement. The index writes what it holds in memory as a
// new segment each time it reaches its hash size (1 MB by default) and
// merges segments as it goes; for the load it holds more and merges
// later, then gets its defaults back.
func fillDemoText(ctx context.Context, tx *sql.Tx, lastRow int64) error {
	set := func(k string, v int) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO identities_text (identities_text, rank) VALUES (?, ?)`, k, v)
		return err
	}
	if err := set("hashsize", 64<<20); err != nil {
		return err
	}
	if err := set("automerge", 0); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO identities_text (rowid, name_fold, email_fold)
		SELECT rowid, name_fold, email_fold FROM identities WHERE rowid > ?`, lastRow); err != nil {
		return err
	}
	if err := set("hashsize", 1<<20); err != nil {
		return err
	}
	return set("automerge", 4)
}
