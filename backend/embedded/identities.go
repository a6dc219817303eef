package embedded

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// defaultPageSize is the page size of a query with Limit 0.
const defaultPageSize = 50

const identityColumns = `id, network_id, name, email, attributes, revision, created_at, enrolled_at,
	has_credential, token_id, token_created_at, token_expires_at, active_sessions`

func scanIdentity(row interface{ Scan(...any) error }) (model.Identity, error) {
	var (
		x                              model.Identity
		attrs                          string
		created                        int64
		enrolled, tokCreated, tokExpir sql.NullInt64
		tokID                          sql.NullString
	)
	err := row.Scan(&x.ID, &x.NetworkID, &x.Name, &x.Email, &attrs, &x.Revision, &created, &enrolled,
		&x.HasCredential, &tokID, &tokCreated, &tokExpir, &x.ActiveSessions)
	if err != nil {
		return x, err
	}
	if err := json.Unmarshal([]byte(attrs), &x.Attributes); err != nil {
		return x, fmt.Errorf("identity %s's attributes: %w", x.ID, err)
	}
	x.CreatedAt = fromNano(created)
	x.EnrolledAt = fromNullNano(enrolled)
	if tokID.Valid {
		x.Enrollment = &model.Enrollment{ID: tokID.String, CreatedAt: fromNullNano(tokCreated), ExpiresAt: fromNullNano(tokExpir)}
	}
	return x, nil
}

// identityByID loads an identity of a network; an unknown network or ID is
// not found.
func identityByID(ctx context.Context, q querier, networkID, id string) (model.Identity, error) {
	x, err := scanIdentity(q.QueryRowContext(ctx, `SELECT `+identityColumns+` FROM identities WHERE network_id = ? AND id = ?`, networkID, id))
	if errors.Is(err, sql.ErrNoRows) {
		name, nerr := networkName(ctx, q, networkID)
		if nerr != nil {
			return x, nerr
		}
		return x, backend.NotFound("no identity with ID %q in network %s: check it with `idcon identity list`", id, name)
	}
	return x, err
}

// Identity returns one identity by ID.
func (s *Store) Identity(ctx context.Context, network, id string) (model.Identity, error) {
	var out model.Identity
	err := s.read(ctx, "reading identity "+quote(id), func(tx *sql.Tx, _ time.Time) error {
		var err error
		out, err = identityByID(ctx, tx, network, id)
		return err
	})
	return out, err
}

// IdentityByName returns the identity with exactly this name (case
// included).
func (s *Store) IdentityByName(ctx context.Context, network, name string) (model.Identity, error) {
	var out model.Identity
	err := s.read(ctx, "reading identity "+quote(name), func(tx *sql.Tx, _ time.Time) error {
		var err error
		out, err = scanIdentity(tx.QueryRowContext(ctx, `SELECT `+identityColumns+` FROM identities WHERE network_id = ? AND name = ?`, network, name))
		if errors.Is(err, sql.ErrNoRows) {
			netName, nerr := networkName(ctx, tx, network)
			if nerr != nil {
				return nerr
			}
			return backend.NotFound("no identity named %q in network %s: check the name with `idcon identity list`", name, netName)
		}
		return err
	})
	return out, err
}

// stateCondition is the SQL condition for identities in state st at the
// time bound to its one parameter (if any). See the schema for why.
func stateCondition(st model.State) (cond string, usesNow bool, err error) {
	switch st {
	case "":
		return "", false, nil
	case model.StatePending:
		return ` AND token_expires_at > ?`, true, nil
	case model.StateExpired:
		return ` AND token_expires_at <= ?`, true, nil
	case model.StateEnrolled:
		return ` AND has_credential = 1 AND token_expires_at IS NULL`, false, nil
	case model.StateNone:
		return ` AND has_credential = 0 AND token_expires_at IS NULL`, false, nil
	}
	return "", false, backend.Invalid("no state %q: use enrolled, pending, expired or none", st)
}

// segment is one run of a sort order: the identities matching cond, in
// order, read from index. A sort is one segment, or several laid end to
// end: by state, one per state in name order; by expiry, those with a
// token, then those without. Each segment is a range or an ordered scan
// of one index, so a page never sorts more than it holds.
type segment struct {
	cond    string // " AND ...", or "" for every identity
	usesNow bool   // cond's one parameter is now
	order   string
	index   string
}

// orderSegments lays out a sort. Ties are broken by ID, so pages never
// overlap.
func orderSegments(f model.SortField, desc bool) ([]segment, error) {
	asc, dsc := " ASC", " DESC"
	if desc {
		asc, dsc = dsc, asc
	}
	byName := ` ORDER BY name_key` + asc + `, id` + asc // model.NameKey
	switch f {
	case "", model.SortName:
		return []segment{{order: byName, index: "identities_by_name"}}, nil
	case model.SortCreated:
		return []segment{{order: ` ORDER BY created_at` + asc + `, id` + asc, index: "identities_by_created"}}, nil
	case model.SortSessions:
		// The most first: the index holds active_sessions descending.
		return []segment{{order: ` ORDER BY active_sessions` + dsc + `, name_key` + asc + `, id` + asc, index: "identities_by_sessions"}}, nil
	case model.SortExpires:
		// Identities without a token have no expiry: after the others,
		// by name, either way.
		return []segment{
			{cond: ` AND token_expires_at IS NOT NULL`, order: ` ORDER BY token_expires_at` + asc + `, id` + asc, index: "identities_by_expiry"},
			{cond: ` AND token_expires_at IS NULL`, order: ` ORDER BY name_key ASC, id ASC`, index: "identities_by_name"},
		}, nil
	case model.SortState:
		segs := make([]segment, 0, len(model.States))
		for _, st := range model.States {
			cond, usesNow, err := stateCondition(st)
			if err != nil {
				return nil, err
			}
			segs = append(segs, segment{cond: cond, usesNow: usesNow, order: byName, index: "identities_by_name"})
		}
		if desc {
			slices.Reverse(segs)
		}
		return segs, nil
	}
	return nil, backend.Invalid("can't sort by %q: use name, state, expires, sessions or created", f)
}

// Identities returns one page of a network's identities matching q, and
// how many match in all. The filter is literal text matched against the
// lower-cased name and email; the state filter uses the state at now.
//
// The query plan is chosen here rather than left to SQLite, which can't
// know how many rows a filter matches. A text filter of three or more
// characters is answered by the trigram index (textindex.go): counted
// there alone when nothing else narrows the list and the network holds
// every identity of the file, else by looking its matches up; a shorter
// one is counted from identity_grams, or else on the name index alone (it
// carries the folded text and the state columns). A page is read in its
// sort order from that order's index, checking each row and stopping once
// full, unless the matches are too few for that to end soon (sparse):
// then they alone are looked up and sorted. A sort of several segments
// (orderSegments) counts each, then reads the page from those it spans.
func (s *Store) Identities(ctx context.Context, network string, q model.ListQuery) (model.Page, error) {
	switch {
	case q.Offset < 0:
		return model.Page{}, backend.Invalid("offset %d is negative: pages start at offset 0", q.Offset)
	case q.Limit < 0:
		return model.Page{}, backend.Invalid("limit %d is negative: use 0 for the default page size", q.Limit)
	}
	limit := q.Limit
	if limit == 0 {
		limit = defaultPageSize
	}
	limit = min(limit, model.MaxPageSize)
	stateCond, usesNow, err := stateCondition(q.State)
	if err != nil {
		return model.Page{}, err
	}
	segs, err := orderSegments(q.Sort, q.Desc)
	if err != nil {
		return model.Page{}, err
	}

	out := model.Page{Items: []model.Identity{}}
	err = s.read(ctx, "listing identities", func(tx *sql.Tx, now time.Time) error {
		var size int
		err := tx.QueryRowContext(ctx, `SELECT identities FROM networks WHERE id = ?`, network).Scan(&size)
		if errors.Is(err, sql.ErrNoRows) {
			return noNetwork(network)
		}
		if err != nil {
			return err
		}
		// where is every condition but the text filter's, which is
		// added as a condition checked on each row (scan) or as the rows
		// the trigram index gives (indexed): see textindex.go.
		where := ` WHERE network_id = ?` + stateCond
		args := []any{network}
		if usesNow {
			args = append(args, unixNano(now))
		}
		text := q.Filter != ""
		tf := newTextFilter(q.Filter)
		var version []byte // the text index's, for what s.texts keeps
		if text {
			if version, err = textVersion(ctx, tx); err != nil {
				return err
			}
		}
		scanCond, scanArgs := tf.scanCond()
		indexCond, indexArgs := tf.indexCond()
		// Each segment's condition and arguments, and how many it holds.
		segWhere := make([]string, len(segs))
		segArgs := make([][]any, len(segs))
		counts := make([]int, len(segs))
		for i, sg := range segs {
			segWhere[i] = where + sg.cond
			segArgs[i] = slices.Clip(args)
			if sg.usesNow {
				segArgs[i] = append(segArgs[i], unixNano(now))
			}
		}
		unfiltered := !text && q.State == ""
		whole := len(segs) == 1 && segs[0].cond == "" && q.State == "" // the count is the filter's alone
		switch {
		case text && whole && tf.gram:
			err := tx.QueryRowContext(ctx, `SELECT identities FROM identity_grams WHERE network_id = ? AND gram = ?`, network, tf.fold).Scan(&counts[0])
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			out.Total = counts[0]
		case text && whole && tf.phrase != "" && s.holdsAll(ctx, tx, size):
			// The network holds every identity of the file: the index's
			// count is the network's, and no row need be read.
			n, err := s.phraseCount(ctx, tx, version, tf.phrase)
			if err != nil {
				return err
			}
			counts[0] = n
			out.Total = counts[0]
		case text:
			// Every segment counted in one pass over the matches: the
			// index's rows looked up, or the name index scanned (it
			// carries the folded text and the state columns).
			var sel []string
			var selArgs []any
			for _, sg := range segs {
				if sg.cond == "" {
					sel = append(sel, `count(*)`)
					continue
				}
				sel = append(sel, `count(*) FILTER (WHERE `+strings.TrimPrefix(sg.cond, " AND ")+`)`)
				if sg.usesNow {
					selArgs = append(selArgs, unixNano(now))
				}
			}
			dest := make([]any, len(segs))
			for i := range counts {
				dest[i] = &counts[i]
			}
			from, cond, condArgs := ` FROM identities INDEXED BY identities_by_name`, scanCond, scanArgs
			if tf.phrase != "" {
				from, cond, condArgs = ` FROM identities NOT INDEXED`, indexCond, indexArgs
			}
			query := `SELECT ` + strings.Join(sel, ", ") + from + where + cond
			if err := tx.QueryRowContext(ctx, query, slices.Concat(selArgs, args, condArgs)...).Scan(dest...); err != nil {
				return err
			}
			for _, n := range counts {
				out.Total += n
			}
		case unfiltered && len(segs) > 1:
			// Every identity is in one segment: the total is known, and a
			// segment is counted below only as far as the page needs.
			out.Total = size
		default:
			for i := range segs {
				switch {
				case unfiltered && i == len(segs)-1:
					counts[i] = size - out.Total // the rest: no need to count
				default:
					if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM identities`+segWhere[i], segArgs[i]...).Scan(&counts[i]); err != nil {
						return err
					}
				}
				out.Total += counts[i]
			}
		}
		if q.Offset >= out.Total {
			return nil
		}
		out.Items = make([]model.Identity, 0, min(limit, out.Total-q.Offset))
		offset := q.Offset
		for i, sg := range segs {
			if unfiltered && len(segs) > 1 {
				// How many of the segment come before the page's end, at
				// most: a segment wholly before the page is counted
				// whole, one the page starts in only up to the page.
				upTo := offset + limit - len(out.Items)
				if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM identities`+segWhere[i]+` LIMIT ?)`,
					append(segArgs[i], upTo)...).Scan(&counts[i]); err != nil {
					return err
				}
			}
			if offset >= counts[i] {
				offset -= counts[i]
				continue
			}
			want := limit - len(out.Items)
			from, cond, condArgs := ` FROM identities INDEXED BY `+sg.index, "", []any(nil)
			switch {
			case !text:
			case tf.phrase != "" && sparse(offset+want, counts[i], size):
				// Few matches for the rows to skip: look them up from
				// the trigram index and sort only them.
				from, cond, condArgs = ` FROM identities NOT INDEXED`, indexCond, indexArgs
			case tf.phrase != "":
				// Dense enough that reading the order's index, checking
				// each row, fills the page sooner.
				cond, condArgs = scanCond, scanArgs
			case counts[i]*10 < size:
				// A short filter with sparse matches: in sort order they
				// could be far apart, so the name index (which carries
				// the text) is scanned and only they are sorted.
				from, cond, condArgs = ` FROM identities INDEXED BY identities_by_name`, scanCond, scanArgs
			default:
				cond, condArgs = scanCond, scanArgs
			}
			// A filtered list in name order starts at the filter's first
			// match, or a shorter filter's, when s.texts knows it: the
			// names before hold no match.
			byName := text && len(segs) == 1 && sg.index == "identities_by_name" && !q.Desc && q.State == ""
			var from0 nameAt
			exact, known := false, false
			if byName {
				if from0, exact, known = s.firstMatch(version, network, tf.fold); known {
					cond += ` AND (name_key, id) >= (?, ?)`
					condArgs = append(slices.Clip(condArgs), from0.key, from0.id)
				}
			}
			first := len(out.Items)
			if err := readIdentities(ctx, tx, &out.Items, `SELECT `+identityColumns+from+segWhere[i]+cond+sg.order+` LIMIT ? OFFSET ?`,
				slices.Concat(segArgs[i], condArgs, []any{want, offset})...); err != nil {
				return err
			}
			if byName && !exact && offset == 0 && len(out.Items) > first {
				// The stored key, which is what the order compares.
				k := nameAt{id: out.Items[first].ID}
				if err := tx.QueryRowContext(ctx, `SELECT name_key FROM identities WHERE id = ?`, k.id).Scan(&k.key); err != nil {
					return err
				}
				s.learnFirst(version, network, tf.fold, k)
			}
			offset = 0
			if len(out.Items) >= limit {
				break
			}
		}
		return nil
	})
	return out, err
}

// sparse says whether a page ending at the end-th of n matches among
// size identities is read sooner by looking the n matches up and sorting
// them than by scanning the order's index until end matches have passed,
// about end*size/n entries. A lookup and its share of the sort cost a few
// index entries' scan.
func sparse(end, n, size int) bool {
	if n == 0 {
		return true
	}
	return int64(end)*int64(size) > 4*int64(n)*int64(n)
}

// holdsAll says whether the network's size is every identity's in the
// file, so that an index over all of them counts the network's alone.
func (s *Store) holdsAll(ctx context.Context, tx *sql.Tx, size int) bool {
	var all int
	err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(identities), 0) FROM networks`).Scan(&all)
	return err == nil && all == size
}

// readIdentities appends the identities a query returns to items.
func readIdentities(ctx context.Context, tx *sql.Tx, items *[]model.Identity, query string, args ...any) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		x, err := scanIdentity(rows)
		if err != nil {
			return err
		}
		*items = append(*items, x)
	}
	return rows.Err()
}
