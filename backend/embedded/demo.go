package embedded

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
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
	err := s.write(ctx, "making demo network "+quote(name), func(tx *sql.Tx, now time.Time) error {
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

// seedDemo inserts demo identities from..to-1 with prepared statements in
// the caller's transaction.
func seedDemo(ctx context.Context, tx *sql.Tx, nw *network, from, to int, now time.Time) error {
	// A big batch touches every index page at random (IDs are random):
	// with SQLite's default 2 MB page cache it spills to the WAL and reads
	// back, taking several times as long. Grow the cache for the batch.
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
	insID, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO identities
		(id, network_id, name, name_fold, name_key, email, email_fold, attributes, revision, created_at, enrolled_at,
		 has_credential, token_id, token_created_at, token_expires_at, active_sessions)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer insID.Close()
	insTok, err := tx.PrepareContext(ctx, `INSERT INTO tokens (id, identity_id, jwt, status, created_at, expires_at)
		VALUES (?, ?, ?, 'current', ?, ?)`)
	if err != nil {
		return err
	}
	defer insTok.Close()
	insSess, err := tx.PrepareContext(ctx, `INSERT INTO sessions (id, identity_id, started_at, last_seen) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer insSess.Close()

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
		genErr = makeDemoRows(ctx, nw, from, to, now, rows)
	}()
	for r := range rows {
		d := r.demoIdentity
		res, err := insID.ExecContext(ctx, r.id, nw.id, d.name, strings.ToLower(d.name), model.NameKey(d.name), d.email, strings.ToLower(d.email),
			r.attrsJSON, d.revision, unixNano(d.created), null(d.enrolled), d.state == model.StateEnrolled,
			r.tokID, null(d.tokCreated), null(d.tokExpires), d.sessions)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			continue // the name is taken
		}
		added++
		g.add(strings.ToLower(d.name), strings.ToLower(d.email))
		if r.tokID != nil {
			if _, err := insTok.ExecContext(ctx, r.tokID, r.id, r.jwt, unixNano(d.tokCreated), unixNano(d.tokExpires)); err != nil {
				return err
			}
		}
		for k, sid := range r.sessionIDs {
			started := now.Add(-time.Duration(k+1) * 17 * time.Minute)
			if _, err := insSess.ExecContext(ctx, sid, r.id, unixNano(started), unixNano(now)); err != nil {
				return err
			}
		}
	}
	if genErr != nil { // read after rows is closed: the producer is done
		return genErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := g.flush(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO identities_text (rowid, name_fold, email_fold)
		SELECT rowid, name_fold, email_fold FROM identities WHERE rowid > ?`, lastRow); err != nil {
		return err
	}
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
	attrsJSON  string
	tokID      any // string, or nil for no token
	jwt        any // string, or nil (expired demo tokens keep no JWT)
	sessionIDs []string
}

// makeDemoRows makes demo identities from..to-1 and sends them on out.
func makeDemoRows(ctx context.Context, nw *network, from, to int, now time.Time, out chan<- demoRow) error {
	// Demo IDs are name-based UUIDs within the network's: stable for a
	// network, distinct across networks.
	space, err := uuid.Parse(nw.id)
	if err != nil {
		return fmt.Errorf("network ID %q: %w", nw.id, err)
	}
	for i := from; i < to; i++ {
		r := demoRow{demoIdentity: demo(i, now), id: uuid.NewSHA1(space, fmt.Appendf(nil, "demo-%d", i)).String()}
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
