package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// bulkChunk is how many identities of a batch one set of statements
// changes: each statement of a reset (the identities' rows, their
// certificates, sessions and tokens) runs once for up to this many, so
// what a statement costs beyond its rows (database/sql's call, binding,
// SQLite's setup) is paid once for them, and the chunk has one savepoint
// where each identity had its own. A stop still keeps exactly the
// identities reported (see bulkWrite), so the chunk's size is no bound on
// how far a cancel goes.
const bulkChunk = 32

// chunkStatements are the statements of a chunk, prepared on the batch's
// transaction the first time a chunk of a given size needs them.
type chunkStatements struct {
	tx    *sql.Tx
	cache map[string]*sql.Stmt
}

func (c *chunkStatements) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := c.cache[query]; ok {
		return st, nil
	}
	st, err := c.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if c.cache == nil {
		c.cache = map[string]*sql.Stmt{}
	}
	c.cache[query] = st
	return st, nil
}

func (c *chunkStatements) close() {
	for _, st := range c.cache {
		st.Close()
	}
}

// placeholders is n comma-separated groups of "(?, ..., ?)" of k each, or
// n single "?" when k is 0.
func placeholders(n, k int) string {
	one := "?"
	if k > 0 {
		one = "(" + strings.TrimSuffix(strings.Repeat("?, ", k), ", ") + ")"
	}
	return strings.TrimSuffix(strings.Repeat(one+", ", n), ", ")
}

// padded is n rounded up to a multiple of bulkPad: the chunk's statements
// take that many values, the rest NULL (which matches no row), so that a
// run prepares a few statements of each kind rather than one per size.
func padded(n int) int { return (n + bulkPad - 1) / bulkPad * bulkPad }

const bulkPad = 8

// pad appends to args, which holds n rows of k values, the NULL values
// of the rows that make them padded(n).
func pad(args []any, n, k int) []any {
	for range (padded(n) - n) * k {
		args = append(args, nil)
	}
	return args
}

// chunkUpdate is the UPDATE of a chunk's identity rows: each row found at
// the rowid, ID and revision its candidate was read at (bulkGuard's
// condition, and bulkIdleGuard's for an idle reset), set to its new
// token. It returns the rows it changed.
func chunkUpdate(action model.Action, idle bool, n int) string {
	set := `token_id = c.column4, token_created_at = c.column5, token_expires_at = ?, revision = identities.revision + 1`
	cond := ``
	switch {
	case action == model.ActionReset && idle:
		set = `has_credential = 0, ` + set // active_sessions left as it is: see resetIdle
		cond = ` AND identities.active_sessions = 0`
	case action == model.ActionReset:
		set = `has_credential = 0, active_sessions = 0, ` + set
	}
	return `UPDATE identities SET ` + set + ` FROM (VALUES ` + placeholders(n, 5) + `) AS c
		WHERE identities.rowid = c.column1 AND identities.id = c.column2 AND identities.network_id = ?
		AND identities.revision = c.column3` + cond + ` RETURNING identities.id, identities.active_sessions`
}

// applyChunk changes the identities of chunk, inside the savepoint
// bulk_chunk its caller holds, and returns one result per candidate, in
// the chunk's order. The chunk is changed with one statement of each kind
// for all of it; an identity those don't find at its revision (changed,
// deleted, or an idle one that has a session now) then goes through
// bulkOne, which says why or changes it where it is now. Should one of
// the chunk's statements fail, the chunk is rolled back to the savepoint
// and every identity goes through bulkOne, which changes each completely
// or not at all and says which failed. fatal is an error after which the
// transaction can't go on.
func (s *Store) applyChunk(ctx context.Context, tx *sql.Tx, st *bulkStatements, cs *chunkStatements, n *network,
	chunk []bulkCandidate, action model.Action, expiresAt, now time.Time) (results []backend.BulkResult, fatal error) {
	results = make([]backend.BulkResult, len(chunk))
	var try []int // the candidates the chunk's statements change
	for i := range chunk {
		c := &chunk[i]
		results[i].Identity = c.ident
		switch stt := c.ident.State(now); {
		case c.signingErr != nil:
			results[i].Err = backend.Unavailable("%s: signing its token failed: %v", c.ident.Name, c.signingErr)
		case !model.Allows(stt, action):
			results[i].Err = s.fail(ctx, c.ident.Name, backend.Conflict("%s", wrongState(c.ident, stt, action)))
		default:
			try = append(try, i)
		}
	}
	if len(try) == 0 {
		return results, nil
	}
	changed, err := s.chunkChange(ctx, cs, n, chunk, try, action, expiresAt, now, results)
	if err != nil {
		if _, rerr := st.chunkRollback.ExecContext(ctx); rerr != nil {
			return nil, rerr // SQLite rolled the whole transaction back
		}
		changed = nil
	}
	for _, i := range try {
		if changed[i] {
			continue
		}
		r, fatal := s.bulkOne(ctx, tx, st, n, &chunk[i], action, expiresAt, now)
		if fatal != nil {
			return nil, fatal
		}
		results[i] = r
	}
	return results, nil
}

// chunkChange runs the chunk's statements for the candidates try, filling
// in the results of those it changed (changed[i]); an error leaves the
// chunk to be rolled back.
func (s *Store) chunkChange(ctx context.Context, cs *chunkStatements, n *network, chunk []bulkCandidate, try []int,
	action model.Action, expiresAt, now time.Time, results []backend.BulkResult) (map[int]bool, error) {
	// The rows: idle resets (no session when read) apart, so that the
	// sessions index is left alone for them.
	byID := make(map[string]int, len(try))
	var groups [2][]int
	for _, i := range try {
		byID[chunk[i].ident.ID] = i
		g := 0
		if action == model.ActionReset && chunk[i].ident.ActiveSessions == 0 {
			g = 1
		}
		groups[g] = append(groups[g], i)
	}
	sessions := make(map[int]int, len(try)) // active_sessions as changed
	var done []int
	for g, idx := range groups {
		if len(idx) == 0 {
			continue
		}
		q, err := cs.get(ctx, chunkUpdate(action, g == 1, padded(len(idx))))
		if err != nil {
			return nil, err
		}
		// In the order the statement holds them: SET's expiry, the
		// VALUES, the network.
		args := make([]any, 0, 5*len(idx)+2)
		args = append(args, unixNano(expiresAt))
		for _, i := range idx {
			c := &chunk[i]
			args = append(args, c.rowid, c.ident.ID, c.ident.Revision, c.jti, unixNano(c.signedAt))
		}
		args = append(pad(args, len(idx), 5), n.id)
		rows, err := q.QueryContext(ctx, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			var active int
			if err := rows.Scan(&id, &active); err != nil {
				rows.Close()
				return nil, err
			}
			if i, ok := byID[id]; ok {
				sessions[i] = active
				done = append(done, i)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	changed := make(map[int]bool, len(done))
	if len(done) == 0 {
		return changed, nil
	}
	ids := make([]any, 0, padded(len(done)))
	for _, i := range done {
		ids = append(ids, chunk[i].ident.ID)
	}
	ids = pad(ids, len(done), 1)
	dropped := map[string]int{}
	if action == model.ActionReset {
		q, err := cs.get(ctx, `UPDATE certificates SET revoked_at = ? WHERE revoked_at IS NULL AND identity_id IN (`+placeholders(len(ids), 0)+`)`)
		if err != nil {
			return nil, err
		}
		if _, err := q.ExecContext(ctx, append([]any{unixNano(now)}, ids...)...); err != nil {
			return nil, err
		}
		q, err = cs.get(ctx, `DELETE FROM sessions WHERE identity_id IN (`+placeholders(len(ids), 0)+`) RETURNING identity_id`)
		if err != nil {
			return nil, err
		}
		rows, err := q.QueryContext(ctx, ids...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			dropped[id]++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	var retire []any
	for _, i := range done {
		if e := chunk[i].ident.Enrollment; e != nil {
			retire = append(retire, e.ID)
		}
	}
	if len(retire) > 0 {
		retire = pad(retire, len(retire), 1)
		q, err := cs.get(ctx, `UPDATE tokens SET status = 'replaced', jwt = NULL, ended_at = ? WHERE id IN (`+placeholders(len(retire), 0)+`)`)
		if err != nil {
			return nil, err
		}
		if _, err := q.ExecContext(ctx, append([]any{unixNano(now)}, retire...)...); err != nil {
			return nil, err
		}
	}
	q, err := cs.get(ctx, `INSERT INTO tokens (id, identity_id, jwt, status, created_at, expires_at)
		SELECT column1, column2, column3, 'current', column4, column5 FROM (VALUES `+placeholders(padded(len(done)), 5)+`)
		WHERE column1 IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	args := make([]any, 0, 5*padded(len(done)))
	for _, i := range done {
		c := &chunk[i]
		args = append(args, c.jti, c.ident.ID, c.jwt, unixNano(c.signedAt), unixNano(expiresAt))
	}
	args = pad(args, len(done), 5)
	if _, err := q.ExecContext(ctx, args...); err != nil {
		return nil, err
	}
	for _, i := range done {
		c := &chunk[i]
		x := c.ident
		x.ActiveSessions = sessions[i]
		d := dropped[x.ID]
		if action == model.ActionReset {
			x.HasCredential = false
		}
		x.Enrollment = &model.Enrollment{ID: c.jti, CreatedAt: fromNano(unixNano(c.signedAt)), ExpiresAt: fromNano(unixNano(expiresAt))}
		x.Revision++
		results[i] = backend.BulkResult{Identity: x, Token: backend.Token{Identity: x, JWT: c.jwt, ExpiresAt: expiresAt, SessionsDropped: d}}
		changed[i] = true
	}
	return changed, nil
}

// errReplay is the error of a chunk whose kept identities, applied again
// after the rest was rolled back, did not come out as reported.
var errReplay = errors.New("a stopped chunk came out differently the second time")

// sameOutcome says whether results, applied again, came out as reported:
// the same identities changed.
func sameOutcome(reported, again []backend.BulkResult) error {
	if len(reported) != len(again) {
		return errReplay
	}
	for i := range reported {
		if (reported[i].Err == nil) != (again[i].Err == nil) || reported[i].Identity.ID != again[i].Identity.ID {
			return fmt.Errorf("%w (%s)", errReplay, reported[i].Identity.Name)
		}
	}
	return nil
}
