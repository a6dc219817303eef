package embedded

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"modernc.org/sqlite"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

var _ backend.Bulker = (*Store)(nil)

// bulkBatch is how many identities the first transaction of a bulk
// action changes. Each commit writes every page the batch touched to the
// WAL, and identities of one batch share many pages, so larger batches
// make a bulk reset several times faster than one transaction per
// identity; each identity still gets its own savepoint, so it is changed
// completely or not at all, and a stop ends the batch right after the
// identity under way (see BulkApply), so a batch's size never delays one.
const bulkBatch = 500

// bulkBatchTime is how long a batch's transaction aims to hold the write
// lock: later batches are sized from how fast the ones before went (see
// nextBatchSize), so a batch keeps other processes' writes waiting about
// this long, well within their busyTimeout, on a fast machine or a slow
// one. Commits write the pages a batch shares (the ends of the token and
// expiry indexes, the pages of identities taken in ID order) once per
// batch, so fewer, larger batches write less.
const bulkBatchTime = 300 * time.Millisecond

// bulkBatchMax bounds a batch whatever the speed: its candidates and their
// signed tokens are held in memory, and the next batch's beside them.
const bulkBatchMax = 16_000

// nextBatchSize is the size of the batch after one of n identities whose
// transaction took took: as many as bulkBatchTime would hold at that pace,
// growing at most fourfold at a time.
func nextBatchSize(n int, took time.Duration) int {
	if n <= 0 {
		return bulkBatch
	}
	size := 4 * n
	if took > 0 {
		size = min(size, int(float64(n)*float64(bulkBatchTime)/float64(took)))
	}
	return max(bulkBatch/5, min(size, bulkBatchMax))
}

// stateCase is the SQL expression of an identity's state at the time bound
// to its one parameter (see the schema for the columns).
const stateCase = `CASE WHEN token_expires_at IS NULL THEN
		CASE WHEN has_credential = 1 THEN 'enrolled' ELSE 'none' END
	WHEN token_expires_at > ? THEN 'pending' ELSE 'expired' END`

// selectionWhere is the WHERE clause of a selection: the identities of the
// network it names (All: those matching the filter and state, less the
// exceptions; else those listed in ids, which is the chunk of sel.IDs at
// hand) and, if need is set, only those in state need.
func selectionWhere(network string, sel backend.Selection, ids []string, need model.State, now time.Time) (string, []any, error) {
	where := ` WHERE network_id = ?`
	args := []any{network}
	addState := func(st model.State) error {
		cond, usesNow, err := stateCondition(st)
		if err != nil {
			return err
		}
		where += cond
		if usesNow {
			args = append(args, unixNano(now))
		}
		return nil
	}
	if sel.All {
		if sel.Filter != "" {
			f := strings.ToLower(sel.Filter)
			where += ` AND (instr(name_fold, ?) > 0 OR instr(email_fold, ?) > 0)`
			args = append(args, f, f)
		}
		if err := addState(sel.State); err != nil {
			return "", nil, err
		}
		if len(sel.Except) > 0 {
			list, err := json.Marshal(sel.Except)
			if err != nil {
				return "", nil, err
			}
			where += ` AND id NOT IN (SELECT value FROM json_each(?))`
			args = append(args, string(list))
		}
	} else {
		list, err := json.Marshal(ids)
		if err != nil {
			return "", nil, err
		}
		where += ` AND id IN (SELECT value FROM json_each(?))`
		args = append(args, string(list))
	}
	if need != "" {
		if err := addState(need); err != nil {
			return "", nil, err
		}
	}
	return where, args, nil
}

// Summarize counts what a reset or reissue would do to sel: the selection
// by state and the sessions a reset would drop, in one snapshot.
func (s *Store) Summarize(ctx context.Context, network string, sel backend.Selection, action model.Action) (backend.BulkSummary, error) {
	need, err := backend.BulkState(action)
	if err != nil {
		return backend.BulkSummary{}, err
	}
	if err := sel.Validate(); err != nil {
		return backend.BulkSummary{}, err
	}
	sum := backend.BulkSummary{ByState: map[model.State]int{}}
	err = s.read(ctx, "counting the selected identities", func(tx *sql.Tx, now time.Time) error {
		if _, err := networkName(ctx, tx, network); err != nil {
			return err
		}
		from := ` FROM identities`
		if sel.All {
			from += ` INDEXED BY identities_by_name` // it holds every column needed: no table reads
		}
		where, args, err := selectionWhere(network, sel, dedupeIDs(sel.IDs), "", now)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+stateCase+`, count(*)`+from+where+` GROUP BY 1`,
			append([]any{unixNano(now)}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var st string
			var n int
			if err := rows.Scan(&st, &n); err != nil {
				return err
			}
			sum.ByState[model.State(st)] += n
			sum.Selected += n
		}
		if err := rows.Err(); err != nil {
			return err
		}
		sum.Eligible = sum.ByState[need]
		sum.Skipped = sum.Selected - sum.Eligible
		if action != model.ActionReset || sum.Eligible == 0 {
			return nil
		}
		where, args, err = selectionWhere(network, sel, dedupeIDs(sel.IDs), need, now)
		if err != nil {
			return err
		}
		var sessions int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(active_sessions), 0) FROM identities`+where, args...).Scan(&sessions); err != nil {
			return err
		}
		sum.Sessions = int(sessions)
		return nil
	})
	return sum, err
}

// bulkCandidate is an identity a bulk action will try, as read before its
// batch's transaction, with its new token signed ahead of it.
type bulkCandidate struct {
	ident      model.Identity
	rowid      int64 // where its row was, to find it again without the ID index
	jti, jwt   string
	signedAt   time.Time
	signingErr error
}

// BulkApply resets or reissues the identities of sel whose state allows
// it, bulkBatch identities in the first transactions, then as many as
// hold the write lock for about bulkBatchTime (up to bulkBatchMax),
// taken in bulkOrder. Before a batch's transaction its identities are
// read and their tokens signed (on every core), so the write lock is held
// only for the SQL. Inside it each identity's row is changed under a
// savepoint, guarded by the revision it was read at: if it changed since
// (its revision moved), was deleted, no longer allows the action, or any
// statement fails, it is rolled back to exactly what it was and reported,
// and the batch goes on.
//
// each sees every identity as soon as its savepoint is released, so a
// stop (each returning false, or ctx cancelled) ends the batch right after
// the identity under way: the batch is committed with exactly the
// identities reported, thanks to the savepoints, and none after. Should
// that commit fail, the error is a *backend.UndoneError naming them.
func (s *Store) BulkApply(ctx context.Context, network string, sel backend.Selection, action model.Action, expiresAt time.Time,
	each func(backend.BulkResult) bool) error {
	need, err := backend.BulkState(action)
	if err != nil {
		return err
	}
	if err := sel.Validate(); err != nil {
		return err
	}
	if sel.All && sel.State != "" && sel.State != need {
		return nil // nothing selected can take the action
	}
	if err := s.checkExpiry(s.now(), expiresAt); err != nil {
		return err
	}
	n, err := s.networkKeys(ctx, network)
	if err != nil {
		return err
	}
	retired := false // a batch written held an identity with a token, which the run retires
	wk := s.newWalKeeper(ctx)
	conn, err := s.bulkConn(ctx, wk.autoCheckpoint(), s.networkSize(ctx, network))
	if err != nil {
		wk.stop()
		return err
	}
	defer func() {
		// The WAL is cleared of the retired tokens once, when the run
		// ends however it ends, not after every batch: each truncation
		// copies the whole WAL back and syncs the file twice, which made
		// up a fifth of a large run. A truncation gives up at once if
		// another connection so much as reads, so it waits for every
		// other reader of the run's own: the background checkpoint
		// (wk.stop), an earlier run's copy of the log (copyBack, which
		// left a retired token in the log in 1 to 5 of 40 runs of
		// TestBulkRetiredTokensLeaveTheFile), and the statements that
		// give the bulk connection's cache back (0.1 s for 64 MB), which
		// come after it, once the run has returned. The connection stays
		// out of the pool until it is given back.
		wk.stop()
		giveBack := conn.release
		if s.exitAfterClose {
			giveBack = func() { conn.Close() } // the process exits next: its cache goes with it
		}
		if retired {
			s.copyBack.Wait() // an earlier run's: the truncation waits for no other
			s.forgetRetired()
			s.copyBack.Go(giveBack)
		} else {
			// No token was retired, so the log holds no secret the
			// database doesn't: copying it back is upkeep, done after
			// the run returns (Close waits for it). It was a fifth of a
			// run of 10,000.
			s.copyBack.Go(func() {
				s.forgetRetired()
				giveBack()
			})
		}
	}()
	ids := dedupeIDs(sel.IDs)
	var after keyset // where the last batch read ended, for All
	lo := 0          // where the next batch starts in ids
	// next reads the batch after the last one read, of size identities,
	// and signs its tokens in the background, so that the signing
	// overlaps the writing of the batch before. It reads on a connection
	// of its own, beside the writer.
	rconn, err := s.db.Conn(ctx)
	if err != nil {
		return s.fail(ctx, "starting the bulk action", err)
	}
	defer rconn.Close()
	next := func(size int) (readBatch, error) {
		var batchIDs []string
		if !sel.All {
			if lo >= len(ids) {
				return readBatch{end: true}, nil
			}
			batchIDs = ids[lo:min(lo+size, len(ids))]
			lo += len(batchIDs)
		}
		cands, k, err := s.bulkCandidates(ctx, rconn, network, sel, batchIDs, need, after, size)
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return readBatch{}, backend.Stopped(cerr)
			}
			return readBatch{}, err
		}
		after = k
		if sel.All && len(cands) == 0 {
			return readBatch{end: true}, nil
		}
		// The tokens are signed on the cores the writer leaves (it is one
		// goroutine), so that it never waits its turn behind the signing;
		// when it needs a chunk's tokens before they are signed, it signs
		// them too (signing.ready).
		workers := max(1, runtime.GOMAXPROCS(0)-1)
		return readBatch{cands: cands, signed: startSigning(n, cands, s.now(), expiresAt, workers)}, nil
	}
	// readAhead runs next on a goroutine of its own; what it returns comes
	// on the channel. One runs at a time: next's state (after, lo) passes
	// from one to the next through the channel.
	readAhead := func(size int) <-chan readBatch {
		ch := make(chan readBatch, 1)
		go func() {
			b, err := next(size)
			b.err = err
			if b.end {
				wk.ending() // the batch being written is the last
			}
			ch <- b
		}()
		return ch
	}
	if err := ctx.Err(); err != nil {
		return backend.Stopped(err)
	}
	size := bulkBatch // the next batch's size
	if s.bulkBatchCap > 0 {
		size = min(size, s.bulkBatchCap)
	}
	cur := <-readAhead(size)
	if cur.err != nil {
		return cur.err
	}
	for !cur.end {
		if err := ctx.Err(); err != nil {
			cur.abandon()
			return backend.Stopped(err)
		}
		if len(cur.cands) > 0 {
			if s.beforeBulkWrite != nil {
				s.beforeBulkWrite(len(cur.cands))
			}
			wk.beforeBatch(ctx, conn)
			for i := 0; i < len(cur.cands) && !retired; i++ {
				retired = cur.cands[i].ident.Enrollment != nil
			}
		}
		// The next batch is read while this one is written: its
		// identities are others, and each is checked again when written.
		// Its tokens are signed meanwhile; this one's are written a
		// chunk at a time as they are signed (bulkWrite). It is read
		// after the log's catch-up (beforeBatch), so that its snapshot
		// doesn't keep the log from starting over.
		aheadCh := readAhead(size)
		if len(cur.cands) > 0 {
			t0 := time.Now()
			more, runErr := s.bulkWrite(ctx, conn, n, cur.cands, cur.signed, action, expiresAt, each)
			wk.committed()
			conn.afterBatch(ctx)
			cur.abandon()
			if runErr != nil || !more {
				(<-aheadCh).abandon()
				return runErr
			}
			size = nextBatchSize(len(cur.cands), time.Since(t0))
			if s.bulkBatchCap > 0 {
				size = min(size, s.bulkBatchCap)
			}
		}
		cur = <-aheadCh
		if cur.err != nil {
			cur.abandon()
			return cur.err
		}
	}
	return nil
}

// readBatch is a batch read, its tokens being signed; end is true when
// there was none left to read.
type readBatch struct {
	cands  []bulkCandidate
	signed *signing
	end    bool
	err    error // the read failed: nothing else is set
}

// abandon stops signing the batch's tokens, once those under way are.
func (b readBatch) abandon() {
	if b.signed != nil {
		b.signed.abandon()
	}
}

// bulkConn is the connection a bulk run writes with, its page cache
// grown for the run: a batch touches index pages all over the file (the
// name index's), and with SQLite's default 2 MB cache they would spill to
// the WAL and be read back. Its temporary files are kept in memory: the
// journal of each identity's savepoint holds a copy of every page the
// identity's change touches, a few, which in a file cost a write system
// call each (4 s of a 100,000-identity reset). Both go back to what Open
// sets when the run ends.
type bulkConn struct {
	*sql.Conn
	s     *Store
	pages *int // the cache's size, in pages
}

// The bulk connection's cache holds the pages a batch dirties, so that
// they are not spilled to the WAL mid-batch and read back, and not many
// more: each page it grows by is memory the process had not touched,
// two page faults (a page and its header take an 8 KB slot of SQLite's
// allocator), and a page fault costs about 10 µs on the bench's virtual
// machine, several times what reading a page again from the file's
// mapping does. A batch dirties pages all over the two indexes a reset
// changes at random places (the name index, which carries the state
// columns, and the sessions index, where an identity with sessions moves
// to the end): together about one page for 16 identities of the network.
// So the cache starts at that share of the network (at least
// bulkCacheMin, at most bulkCacheMax, 64 MB), and goes to bulkCacheMax
// as soon as a batch spilled.
//
// On the bench's network of 100,000, a reset of 10,000 (figure 4) took
// 0.75 s with the 6,250 pages it starts with now and 0.84 s with 16,384
// (medians of six), which it filled with pages it never came back to. A
// reset of 100,000 on a network of 255,000 (figure 4b) keeps coming back
// to them: it starts at 16,384 as before, and started smaller it spilled
// and took longer.
const (
	bulkCacheMin = 2048
	bulkCacheMax = 16384
)

// bulkCachePages is the cache a bulk run starts with on a network of n
// identities.
func bulkCachePages(n int) int { return min(bulkCacheMax, max(bulkCacheMin, n/16)) }

func (s *Store) bulkConn(ctx context.Context, autoCheckpoint, networkSize int) (bulkConn, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return bulkConn{}, s.fail(ctx, "starting the bulk action", err)
	}
	pages := bulkCachePages(networkSize)
	if s.bulkCacheStart > 0 {
		pages = s.bulkCacheStart
	}
	for _, p := range []string{fmt.Sprintf(`PRAGMA cache_size = %d`, pages), fmt.Sprintf(`PRAGMA wal_autocheckpoint = %d`, autoCheckpoint), `PRAGMA temp_store = MEMORY`} {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			conn.Close()
			return bulkConn{}, s.fail(ctx, "starting the bulk action", err)
		}
	}
	c := bulkConn{Conn: conn, s: s, pages: &pages}
	c.spilled() // counted from here
	c.sized()
	return c, nil
}

// spilled is how many pages the connection spilled to the WAL before a
// commit since it was last asked, 0 when SQLite can't say.
func (c bulkConn) spilled() int {
	n := 0
	c.Raw(func(dc any) error { //nolint:errcheck // 0 is the answer when it can't
		if st, ok := dc.(sqlite.DBStatus); ok {
			if v, _, err := st.Status(sqlite.DBStatusCacheSpill, true); err == nil {
				n = v
			}
		}
		return nil
	})
	return n
}

// afterBatch grows the cache to bulkCacheMax if the batch just written
// spilled. A cache that stays small only costs time, so a failure to grow
// it is no error.
func (c bulkConn) afterBatch(ctx context.Context) {
	if c.spilled() == 0 || *c.pages >= bulkCacheMax {
		return
	}
	if _, err := c.ExecContext(ctx, fmt.Sprintf(`PRAGMA cache_size = %d`, bulkCacheMax)); err == nil {
		*c.pages = bulkCacheMax
		c.sized()
	}
}

// sized tells a test's hook the cache's size.
func (c bulkConn) sized() {
	if c.s.bulkCacheSized != nil {
		c.s.bulkCacheSized(*c.pages)
	}
}

// bulkCheckpoint is the WAL size, in pages, at which a bulk run's commit
// copies the WAL back into the database (SQLite's default is 1,000). A run
// changes the same index pages again and again: checkpointing less often
// copies each of them back once rather than once per few batches. At
// 16,384 pages (64 MB) a reset of 100,000 identities wrote 8.8 GB to the
// disk, at 65,536 (256 MB) 4.0 GB; the WAL is truncated when the run ends.
//
// The checkpoint runs in the commit that crosses the mark, on the writer.
// A PASSIVE checkpoint on another connection while the run writes (tried:
// it takes the copy and its fsyncs off the writer) never lets the WAL
// start over, as the writer has always committed more by the time it is
// done: the WAL grew to 930 MB for 100,000 identities, and the run slowed.
const bulkCheckpoint = 65536

// release sets the connection back as the store opens them, or, if it
// can't, drops it from the pool.
func (c bulkConn) release() {
	bg := context.Background()
	for _, p := range []string{`PRAGMA cache_size = -2000`, `PRAGMA wal_autocheckpoint = 1000`, `PRAGMA temp_store = DEFAULT`} { // as Open sets them
		if _, err := c.ExecContext(bg, p); err != nil {
			c.Raw(func(any) error { return driver.ErrBadConn }) //nolint:errcheck // the error is the point
			break
		}
	}
	c.Close()
}

// networkSize is how many identities the network holds, 0 when it can't
// be read: it only sizes a bulk run's cache.
func (s *Store) networkSize(ctx context.Context, id string) int {
	n := 0
	s.db.QueryRowContext(ctx, `SELECT identities FROM networks WHERE id = ?`, id).Scan(&n) //nolint:errcheck // 0 is the answer when it can't
	return n
}

// networkKeys reads a network with its keys.
func (s *Store) networkKeys(ctx context.Context, id string) (*network, error) {
	var n *network
	err := s.read(ctx, "reading the network", func(tx *sql.Tx, _ time.Time) error {
		var err error
		n, err = networkByID(ctx, tx, id)
		return err
	})
	return n, err
}

// keyset is the position after an identity in the order a bulk run takes
// them (bulkOrder): batches resume from it, so identities that failed
// (and are still eligible) are not met again.
type keyset struct {
	expires sql.NullInt64 // token_expires_at
	id      string
	set     bool
}

// bulkOrder is the order a bulk run of a whole selection takes its
// identities in: the expiry index's, which is by ID among the tokenless
// identities a reset takes (and by expiry, then ID, among the expired
// ones a reissue takes). The rows a reset changes besides the identity's
// own (its entries in the expiry index, its sessions and certificates,
// found by identity ID) then come in the order of their indexes, so a
// batch changes a few pages of each in a row rather than one page per
// identity all over the file; the name index, which the list reads in
// order, is the one changed at random.
const bulkOrder = ` ORDER BY token_expires_at, id`

// bulkCandidates reads the next batch: the listed ids, or the next
// size eligible identities in bulkOrder after the keyset. It reads on the
// bulk run's connection, whose page cache then holds the pages its batch
// will change.
func (s *Store) bulkCandidates(ctx context.Context, conn *sql.Conn, network string, sel backend.Selection, ids []string, need model.State, after keyset, size int) ([]bulkCandidate, keyset, error) {
	const what = "reading the selected identities"
	if err := ctx.Err(); err != nil {
		return nil, after, cancelled(what, err)
	}
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, after, s.fail(ctx, what, err)
	}
	defer tx.Rollback()
	out, next, err := readCandidates(ctx, tx, network, sel, ids, need, after, size, s.now())
	if err != nil {
		return nil, after, s.fail(ctx, what, err)
	}
	return out, next, nil
}

func readCandidates(ctx context.Context, tx *sql.Tx, network string, sel backend.Selection, ids []string, need model.State, after keyset, size int, now time.Time) ([]bulkCandidate, keyset, error) {
	where, args, err := selectionWhere(network, sel, ids, need, now)
	if err != nil {
		return nil, after, err
	}
	from := ` FROM identities`
	if sel.All {
		from += ` INDEXED BY identities_by_expiry`
		switch {
		case !after.set:
		case !after.expires.Valid:
			// The tokenless (a reset's): the state fixes the expiry.
			where += ` AND token_expires_at IS NULL AND id > ?`
			args = append(args, after.id)
		default:
			// A row value, which SQLite seeks to in the index; the same
			// condition spelt with OR scans the network from its start.
			where += ` AND (token_expires_at, id) > (?, ?)`
			args = append(args, after.expires.Int64, after.id)
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+identityColumns+`, rowid`+from+where+bulkOrder+` LIMIT ?`,
		append(args, size)...)
	if err != nil {
		return nil, after, err
	}
	defer rows.Close()
	out := make([]bulkCandidate, 0, size)
	next := after
	for rows.Next() {
		var rowid int64
		x, err := scanIdentity(scanFunc(func(dest ...any) error { return rows.Scan(append(dest, &rowid)...) }))
		if err != nil {
			return nil, after, err
		}
		out = append(out, bulkCandidate{ident: x, rowid: rowid})
		next = keyset{id: x.ID, set: true}
		if x.Enrollment != nil {
			next.expires = sql.NullInt64{Int64: unixNano(x.Enrollment.ExpiresAt), Valid: true}
		}
	}
	return out, next, rows.Err()
}

// scanFunc lets scanIdentity read rows that carry extra columns.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// signing signs a batch's new tokens: signing is the part of a reset
// that needs no lock. Its goroutines take the candidates one at a time,
// in order, and the writer, when it needs a chunk whose tokens are not
// signed yet (ready), signs them alongside them rather than idling. The
// token IDs are time-ordered UUIDs (version 7), made in the order the
// batch is written: each batch's new rows then sit together at the end of
// the tokens' ID index, where random IDs would change a page of it per
// identity.
type signing struct {
	n            *network
	cands        []bulkCandidate
	now, expires time.Time
	next         atomic.Int64  // the next candidate to sign
	signed       []atomic.Bool // each candidate's token is signed
	quit         atomic.Bool   // take no more (abandon)
	upTo         int           // the writer's: the candidates before it are signed
	wg           sync.WaitGroup
}

// startSigning starts signing cands on workers goroutines.
func startSigning(n *network, cands []bulkCandidate, now, expires time.Time, workers int) *signing {
	for i := range cands {
		id, err := uuid.NewV7()
		if err != nil {
			id = uuid.New()
		}
		cands[i].jti = id.String()
	}
	g := &signing{n: n, cands: cands, now: now, expires: expires, signed: make([]atomic.Bool, len(cands))}
	for range min(workers, len(cands)) {
		g.wg.Go(func() {
			for g.signOne() {
				// A token takes tens of microseconds: between two, the
				// writer, if it waits for a core, gets this one.
				runtime.Gosched()
			}
		})
	}
	return g
}

// signOne signs the next candidate not taken, if there is one.
func (g *signing) signOne() bool {
	if g.quit.Load() {
		return false
	}
	i := int(g.next.Add(1)) - 1
	if i >= len(g.cands) {
		return false
	}
	c := &g.cands[i]
	c.signedAt = g.now
	c.jwt, c.signingErr = g.n.sign(c.ident.ID, c.jti, g.now, g.expires)
	g.signed[i].Store(true)
	return true
}

// ready returns once the tokens of the candidates before hi are signed,
// signing those not taken yet; the few being signed elsewhere take tens of
// microseconds each. Only the writer calls it.
func (g *signing) ready(hi int) {
	for int(g.next.Load()) < hi && g.signOne() {
	}
	for ; g.upTo < hi; g.upTo++ {
		for !g.signed[g.upTo].Load() {
			runtime.Gosched()
		}
	}
}

// abandon stops the signing once the tokens under way are signed: a run
// that stops does not wait for the rest of the batch.
func (g *signing) abandon() {
	g.quit.Store(true)
	g.wg.Wait()
}

// bulkStatements are a batch's prepared statements.
type bulkStatements struct {
	getByID, revokeCerts, dropSessions, retireToken, insertToken, reset, resetIdle, reissue *sql.Stmt
	savepoint, rollbackTo, release                                                          *sql.Stmt
	chunkSavepoint, chunkRollback, chunkRelease                                             *sql.Stmt
}

// bulkGuard is the condition of the UPDATE that changes an identity in a
// bulk run: its row (rowid and ID, so a row renumbered by a VACUUM is
// not taken for another) at the revision its candidate was read at.
// Every change of its state columns moves the revision, so an identity
// the UPDATE finds is in the state it was selected in; one it doesn't
// find is read again to say why (bulkChange).
const bulkGuard = ` WHERE rowid = ? AND id = ? AND network_id = ? AND revision = ? RETURNING active_sessions`

// bulkIdleGuard is bulkGuard for an identity read without sessions, which
// must still have none (a session does not move the revision).
const bulkIdleGuard = ` WHERE rowid = ? AND id = ? AND network_id = ? AND revision = ? AND active_sessions = 0 RETURNING active_sessions`

func prepareBulk(ctx context.Context, tx *sql.Tx) (*bulkStatements, func(), error) {
	var st bulkStatements
	var all []*sql.Stmt
	closeAll := func() {
		for _, s := range all {
			s.Close()
		}
	}
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&st.getByID, `SELECT ` + bulkColumns + ` FROM identities WHERE network_id = ? AND id = ?`},
		{&st.savepoint, `SAVEPOINT bulk_one`},
		{&st.rollbackTo, `ROLLBACK TO bulk_one`},
		{&st.release, `RELEASE bulk_one`},
		{&st.chunkSavepoint, `SAVEPOINT bulk_chunk`},
		{&st.chunkRollback, `ROLLBACK TO bulk_chunk`},
		{&st.chunkRelease, `RELEASE bulk_chunk`},
		{&st.revokeCerts, `UPDATE certificates SET revoked_at = ? WHERE identity_id = ? AND revoked_at IS NULL`},
		{&st.dropSessions, `DELETE FROM sessions WHERE identity_id = ?`},
		{&st.retireToken, `UPDATE tokens SET status = 'replaced', jwt = NULL, ended_at = ? WHERE id = ?`},
		{&st.insertToken, `INSERT INTO tokens (id, identity_id, jwt, status, created_at, expires_at) VALUES (?, ?, ?, 'current', ?, ?)`},
		{&st.reset, `UPDATE identities SET has_credential = 0, active_sessions = 0, token_id = ?, token_created_at = ?,
			token_expires_at = ?, revision = revision + 1` + bulkGuard},
		// An identity without sessions keeps active_sessions as it is:
		// SQLite moves an identity's entry in every index holding a column
		// the UPDATE sets, changed or not, and the sessions index (in name
		// order, so at random in a run) holds it.
		{&st.resetIdle, `UPDATE identities SET has_credential = 0, token_id = ?, token_created_at = ?,
			token_expires_at = ?, revision = revision + 1` + bulkIdleGuard},
		{&st.reissue, `UPDATE identities SET token_id = ?, token_created_at = ?,
			token_expires_at = ?, revision = revision + 1` + bulkGuard},
	} {
		s, err := tx.PrepareContext(ctx, p.sql)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		*p.dst = s
		all = append(all, s)
	}
	return &st, closeAll, nil
}

// bulkWrite changes a batch in one transaction, reporting each identity to
// each as soon as it is changed or has failed. It stops right after the
// identity under way once ctx ends or each returns false (more is then
// false), committing exactly those reported. The transaction runs on a
// context that is never cancelled: cancelling must stop the run between
// identities, not roll back the ones already done.
func (s *Store) bulkWrite(ctx context.Context, conn bulkConn, n *network, cands []bulkCandidate, sig *signing, action model.Action, expiresAt time.Time,
	each func(backend.BulkResult) bool) (more bool, err error) {
	what := "bulk " + string(action)
	dctx := context.WithoutCancel(ctx)
	tx, err := conn.BeginTx(dctx, nil)
	if err != nil {
		return false, s.fail(ctx, what, err)
	}
	defer tx.Rollback()
	now := s.now()
	if err := s.checkExpiry(now, expiresAt); err != nil {
		return false, err // the chosen date passed while the run went on
	}
	st, closeStmts, err := prepareBulk(dctx, tx)
	if err != nil {
		return false, s.fail(ctx, what, err)
	}
	defer closeStmts()

	cs := &chunkStatements{tx: tx}
	defer cs.close()

	changed := make([]backend.BulkResult, 0, len(cands)) // reported done, kept once committed
	var stop error
	more = true
	for lo := 0; lo < len(cands) && more && stop == nil; lo += bulkChunk {
		if err := ctx.Err(); err != nil {
			stop = backend.Stopped(err)
			break
		}
		hi := min(lo+bulkChunk, len(cands))
		sig.ready(hi)
		chunk := cands[lo:hi]
		lost := func(err error) (bool, error) {
			// The transaction itself is gone, and what it held with it.
			err = s.fail(ctx, what, err)
			each(backend.BulkResult{Identity: chunk[0].ident, Err: fmt.Errorf("not changed: %w", err)})
			return false, undone(changed, err)
		}
		if _, err := st.chunkSavepoint.ExecContext(dctx); err != nil {
			return lost(err)
		}
		results, fatal := s.applyChunk(dctx, tx, st, cs, n, chunk, action, expiresAt, now)
		if fatal != nil {
			return lost(fatal)
		}
		// Each result is reported in turn; a stop (ctx ended before it, or
		// each returning false after it) keeps exactly those reported.
		kept := len(results)
		for i, r := range results {
			if err := ctx.Err(); err != nil {
				stop, kept = backend.Stopped(err), i
				break
			}
			if r.Err == nil {
				changed = append(changed, r)
			}
			if !each(r) {
				more, kept = false, i+1
				break
			}
		}
		if kept < len(results) {
			// The chunk is done again for those reported only, as it was
			// the first time: the same candidates, tokens and time, on the
			// same rows, under the same write lock.
			if _, err := st.chunkRollback.ExecContext(dctx); err != nil {
				return lost(err)
			}
			again, fatal := s.applyChunk(dctx, tx, st, cs, n, chunk[:kept], action, expiresAt, now)
			if fatal == nil {
				fatal = sameOutcome(results[:kept], again)
			}
			if fatal != nil {
				return false, undone(changed, s.fail(ctx, what, fatal))
			}
		}
		if _, err := st.chunkRelease.ExecContext(dctx); err != nil {
			return lost(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, undone(changed, s.fail(ctx, what, err))
	}
	return more, stop
}

// undone is the error of a batch whose transaction was lost: err, or, when
// changes had been reported, an UndoneError naming them.
func undone(changed []backend.BulkResult, err error) error {
	if len(changed) == 0 {
		return err
	}
	return &backend.UndoneError{Results: changed, Err: err}
}

// bulkOne changes one identity under a savepoint. A refusal or a failed
// statement rolls the identity back and is its result; fatal is an error
// after which the transaction can't go on.
func (s *Store) bulkOne(ctx context.Context, tx *sql.Tx, st *bulkStatements, n *network, c *bulkCandidate,
	action model.Action, expiresAt, now time.Time) (r backend.BulkResult, fatal error) {
	r.Identity = c.ident
	if c.signingErr != nil {
		r.Err = backend.Unavailable("%s: signing its token failed: %v", c.ident.Name, c.signingErr)
		return r, nil
	}
	if _, err := st.savepoint.ExecContext(ctx); err != nil {
		return r, err
	}
	after, dropped, err := bulkChange(ctx, st, n, c, action, expiresAt, now)
	if err != nil {
		if _, rerr := st.rollbackTo.ExecContext(ctx); rerr != nil {
			return r, rerr // SQLite rolled the whole transaction back
		}
		if _, rerr := st.release.ExecContext(ctx); rerr != nil {
			return r, rerr
		}
		r.Err = s.fail(ctx, c.ident.Name, err) // a classed error passes as it is
		return r, nil
	}
	if _, err := st.release.ExecContext(ctx); err != nil {
		return r, err
	}
	r.Identity = after
	r.Token = backend.Token{Identity: after, JWT: c.jwt, ExpiresAt: expiresAt, SessionsDropped: dropped}
	return r, nil
}

// bulkChange is the reset or reissue of one identity, in the same steps as
// ResetEnrollment and ReissueEnrollment. The identity's row is changed
// first, guarded by the revision its candidate was read at (bulkGuard):
// when that finds it, the candidate is the identity as it is, and no
// read is needed; when it doesn't, the row is read to say why.
func bulkChange(ctx context.Context, st *bulkStatements, n *network, c *bulkCandidate, action model.Action,
	expiresAt, now time.Time) (model.Identity, int, error) {
	x := c.ident
	if stt := x.State(now); !model.Allows(stt, action) {
		return x, 0, backend.Conflict("%s", wrongState(x, stt, action))
	}
	update := st.reissue
	if action == model.ActionReset {
		update = st.reset
	}
	change := func(rowid int64) error {
		return update.QueryRowContext(ctx, c.jti, unixNano(c.signedAt), unixNano(expiresAt), rowid, x.ID, n.id, x.Revision).Scan(&x.ActiveSessions)
	}
	var err error
	if action == model.ActionReset && x.ActiveSessions == 0 {
		err = st.resetIdle.QueryRowContext(ctx, c.jti, unixNano(c.signedAt), unixNano(expiresAt), c.rowid, x.ID, n.id, x.Revision).Scan(&x.ActiveSessions)
		if errors.Is(err, sql.ErrNoRows) {
			err = change(c.rowid) // it has a session now, or changed
		}
	} else {
		err = change(c.rowid)
	}
	if errors.Is(err, sql.ErrNoRows) {
		cur, rowid, rerr := scanBulk(st.getByID.QueryRowContext(ctx, n.id, x.ID), c.ident)
		switch {
		case errors.Is(rerr, sql.ErrNoRows):
			return x, 0, backend.NotFound("%s was deleted while the bulk %s ran", x.Name, action)
		case rerr != nil:
			return x, 0, rerr
		case cur.Revision != x.Revision:
			return cur, 0, backend.Conflict("%s changed while the bulk %s ran (revision %d, now %d): it was left as it is; check it and try again",
				cur.Name, action, x.Revision, cur.Revision)
		}
		err = change(rowid) // its row moved (a VACUUM renumbers rows)
	}
	if err != nil {
		return x, 0, err
	}
	dropped := 0
	if action == model.ActionReset {
		if _, err := st.revokeCerts.ExecContext(ctx, unixNano(now), x.ID); err != nil {
			return x, 0, err
		}
		res, err := st.dropSessions.ExecContext(ctx, x.ID)
		if err != nil {
			return x, 0, err
		}
		d, err := res.RowsAffected()
		if err != nil {
			return x, 0, err
		}
		dropped = int(d)
		x.HasCredential = false
	}
	if x.Enrollment != nil {
		if _, err := st.retireToken.ExecContext(ctx, unixNano(now), x.Enrollment.ID); err != nil {
			return x, 0, err
		}
	}
	if _, err := st.insertToken.ExecContext(ctx, c.jti, x.ID, c.jwt, unixNano(c.signedAt), unixNano(expiresAt)); err != nil {
		return x, 0, err
	}
	x.Enrollment = &model.Enrollment{ID: c.jti, CreatedAt: fromNano(unixNano(c.signedAt)), ExpiresAt: fromNano(unixNano(expiresAt))}
	x.Revision++
	return x, dropped, nil
}

// bulkColumns are the columns of an identity that change after it is
// created, which a bulk write reads again: its ID, name, email, creation
// time and attributes never change, so they are taken from its candidate.
const bulkColumns = `rowid, revision, enrolled_at, has_credential, token_id, token_created_at, token_expires_at, active_sessions`

// scanBulk reads bulkColumns into a copy of the candidate's identity.
func scanBulk(row *sql.Row, cand model.Identity) (model.Identity, int64, error) {
	var (
		rowid                          int64
		enrolled, tokCreated, tokExpir sql.NullInt64
		tokID                          sql.NullString
	)
	x := cand
	if err := row.Scan(&rowid, &x.Revision, &enrolled, &x.HasCredential, &tokID, &tokCreated, &tokExpir, &x.ActiveSessions); err != nil {
		return x, 0, err
	}
	x.EnrolledAt = fromNullNano(enrolled)
	x.Enrollment = nil
	if tokID.Valid {
		x.Enrollment = &model.Enrollment{ID: tokID.String, CreatedAt: fromNullNano(tokCreated), ExpiresAt: fromNullNano(tokExpir)}
	}
	return x, rowid, nil
}

// dedupeIDs keeps the first of each ID, in order.
func dedupeIDs(ids []string) []string {
	seen := make(map[string]struct{}, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, ok := seen[id]; !ok {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out
}
